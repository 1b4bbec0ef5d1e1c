"""Building blocks shared by the feed-forward networks."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def tensor(array: np.ndarray | None) -> torch.Tensor | None:
    return None if array is None else torch.from_numpy(np.array(array, dtype=np.float32))


class ReflectConv(nn.Module):
    """Reflect-pad by k // 2, then convolve: the 'same' padding of the Magenta networks."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None = None, stride: int = 1):
        super().__init__()
        self.weight = nn.Parameter(tensor(weight), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(tensor(bias), requires_grad=False)
        self.stride = stride
        self.pad = weight.shape[-1] // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pad,) * 4, mode="reflect")
        return F.conv2d(x, self.weight, self.bias, self.stride)


def upsample2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


def instance_normalize(x: torch.Tensor, eps: float, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) per image and channel (biased variance), then * scale + shift,
    with scale and shift (B, C) per image. group_norm with one group per channel is instance norm,
    and on CPU runs several times faster than var_mean or instance_norm."""
    if scale.shape[0] == 1:  # one style for the whole batch: group_norm applies it in the same pass
        return F.group_norm(x, x.shape[1], scale[0], shift[0], eps)
    return torch.addcmul(shift[:, :, None, None], F.group_norm(x, x.shape[1], eps=eps), scale[:, :, None, None])


def activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return x.relu_()
    return x.sigmoid_() if activation == "sigmoid" else x


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad the bottom and right so both sides divide by `multiple`; returns the original size."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, (h, w)
