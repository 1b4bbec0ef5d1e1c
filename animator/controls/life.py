"""What keeps a feedback loop alive, applied to x[t] before each step (render/iterate.py), and the
content's colours for any method. Each acts on a (B,3,H,W) picture in [0, 1] with its frame's
values (schedules already evaluated) and returns a new one; random draws come from the frame's
generator, so a resumed render draws the same.

Measured on the bundled loops with metrics/loop.py (README, "Loops that stay alive").
"""

from __future__ import annotations

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
    # Imported here: torchvision's import costs ~1.5 s of every render's start-up (it pulls in
    # torch._dynamo), and only loops that sharpen need it.
    from torchvision.transforms.functional import gaussian_blur

    half = min(math.ceil(3 * radius), min(x.shape[-2:]) - 1)  # reflected padding needs less than the picture's side
    size = 2 * half + 1
    return (x + amount * (x - gaussian_blur(x, [size, size], [radius, radius]))).clamp(0, 1)


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
