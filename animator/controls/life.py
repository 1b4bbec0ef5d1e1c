"""What keeps a feedback loop alive, applied to x[t] before each step (render/iterate.py), and the
content's colours for any method. Each acts on a (B,3,H,W) picture in [0, 1] with its frame's
values (schedules already evaluated) and returns a new one; random draws come from the frame's
generator, so a resumed render draws the same.

Measured on the bundled loops with metrics/loop.py (README, "Loops that stay alive").
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from animator.media.frame import luminance
from animator.style.functional import keep_colors


def anchor(x: torch.Tensor, picture: torch.Tensor, amount: float) -> torch.Tensor:
    """A pull of x toward `picture`: the loop comes back toward something recognisable."""
    return torch.lerp(x, picture, amount) if amount > 0 else x


def tone(x: torch.Tensor, contrast: float, saturation: float) -> torch.Tensor:
    """Contrast about the picture's mean luminance, saturation about each pixel's grey: against
    pictures that drain into grey or flatten into one colour."""
    if contrast == 1 and saturation == 1:
        return x
    grey = luminance(x)
    x = torch.lerp(grey, x, saturation) if saturation != 1 else x
    return torch.lerp(grey.mean((-2, -1), keepdim=True), x, contrast).clamp(0, 1) if contrast != 1 else x.clamp(0, 1)


def sharpen(x: torch.Tensor, amount: float, radius: float) -> torch.Tensor:
    """Unsharp masking: x + amount (x - blur(x)), against the blur that warping and blending add."""
    if amount <= 0:
        return x
    half = min(math.ceil(3 * radius), min(x.shape[-2:]) - 1)  # reflected padding needs less than the picture's side
    kernel = gaussian_kernel(2 * half + 1, radius, x.dtype, x.device).expand(x.shape[-3], 1, 2 * half + 1, 2 * half + 1)
    # channels-last: oneDNN's depthwise convolution of a 3-channel picture takes half the time
    # there (0.8 ms against 1.9 at 384x256), the same sums
    padded = F.pad(x, (half,) * 4, mode="reflect").contiguous(memory_format=torch.channels_last)
    blurred = F.conv2d(padded, kernel, groups=x.shape[-3])
    return (x + amount * (x - blurred)).clamp(0, 1)


@functools.lru_cache(maxsize=8)  # a scheduled radius makes one a step
def gaussian_kernel(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The size x size Gaussian, summing to 1, made as torchvision's gaussian_blur makes it (the
    same numbers to the bit), once a loop: torchvision's import alone costs ~1.5 s of start-up."""
    x = torch.linspace(-(size - 1) / 2, (size - 1) / 2, steps=size, dtype=dtype, device=device)
    pdf = torch.exp(-0.5 * (x / sigma).pow(2))
    line = pdf / pdf.sum()
    return torch.mm(line[:, None], line[None, :])


def octave_noise(x: torch.Tensor, amount: float, scale: float, octaves: int, rng: torch.Generator) -> torch.Tensor:
    """x plus coloured noise with structure `scale` pixels wide and `octaves` finer layers, each
    half as strong: blotches the network turns into new shapes, where per-pixel noise is
    smoothed away."""
    if amount <= 0:
        return x
    h, w = x.shape[-2:]
    noise = torch.zeros_like(x)
    for k in range(octaves):
        cell = max(scale / 2 ** k, 1.0)
        grid = (x.shape[0], 3, max(round(h / cell), 1), max(round(w / cell), 1))
        draw = torch.randn(grid, generator=rng).to(x)
        noise += 0.5 ** k * F.interpolate(draw, size=(h, w), mode="bicubic", align_corners=False)
    return (x + amount * noise).clamp(0, 1)


def original_colors(stylized: torch.Tensor, content: torch.Tensor, strength: float) -> torch.Tensor:
    """The stylized luminance with `strength` of the content's colours."""
    if strength <= 0:
        return stylized
    return torch.lerp(stylized, keep_colors(stylized, content), strength)
