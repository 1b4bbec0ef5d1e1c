"""Colour coherence: a frame's colour statistics pulled towards a reference's.

`lab` matches each CIELAB channel's mean and standard deviation (Reinhard et al. 2001): LAB
separates lightness from colour, so neither washes out the other. `histogram` maps each RGB
channel's values onto the reference's distribution (quantile matching); in RGB, because matching
LAB channels one by one combines them into colours outside the RGB gamut, and clipping those
undid up to 7 units of the match. Images are 1x3xHxW RGB in [0, 1]; LAB assumes sRGB, D65 white.
"""

from __future__ import annotations

import numpy as np
import torch

RGB_TO_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                           [0.2126729, 0.7151522, 0.0721750],
                           [0.0193339, 0.1191920, 0.9503041]])
WHITE = torch.tensor([0.95047, 1.0, 1.08883])
DELTA = 6 / 29
QUANTILES = 256


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = torch.einsum("ij,bjhw->bihw", RGB_TO_XYZ.to(rgb), linear) / WHITE.to(rgb)[:, None, None]
    f = torch.where(xyz > DELTA**3, xyz.clamp_min(1e-12) ** (1 / 3), xyz / (3 * DELTA**2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f > DELTA, f**3, 3 * DELTA**2 * (f - 4 / 29)) * WHITE.to(lab)[:, None, None]
    linear = torch.einsum("ij,bjhw->bihw", torch.linalg.inv(RGB_TO_XYZ).to(lab), xyz).clamp(0, 1)
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055).clamp(0, 1)


class ColorReference:
    """What a match needs of the reference image: each LAB channel's mean and spread, and each
    RGB channel's quantiles."""

    def __init__(self, image: torch.Tensor):
        lab = rgb_to_lab(image).flatten(2)[0]  # (3, N)
        self.mean, self.std = lab.mean(1), lab.std(1)
        sorted_values = image.flatten(2)[0].sort(dim=1).values
        at = torch.linspace(0, sorted_values.shape[1] - 1, QUANTILES, device=image.device).round().long()
        self.quantiles = sorted_values[:, at]  # (3, QUANTILES)


def cohere(image: torch.Tensor, reference: ColorReference, match: str, strength: float) -> torch.Tensor:
    """image moved towards the reference's colours by `strength` (0: unchanged, 1: matched)."""
    if strength <= 0 or match == "none":
        return image
    matched = lab_to_rgb(_match_stats(rgb_to_lab(image), reference)) if match == "lab" else _match_histogram(image, reference)
    return torch.lerp(image, matched, strength)


# The least spread of a LAB channel that is scaled to the reference's (a hundredth of a unit): a flat
# frame's float32 mean is 1e-5 off its pixels, and divided by 1e-6 that came out white or black
FLAT = 1e-2


def _match_stats(lab: torch.Tensor, reference: ColorReference) -> torch.Tensor:
    mean, std = lab.mean(dim=(2, 3), keepdim=True), lab.std(dim=(2, 3), keepdim=True)
    return (lab - mean) / std.clamp_min(FLAT) * reference.std[None, :, None, None] + reference.mean[None, :, None, None]


def _match_histogram(rgb: torch.Tensor, reference: ColorReference) -> torch.Tensor:
    """Each value replaced by the reference's value at the same rank (linearly between quantiles).
    Equal values share one rank, the middle of their run: ranked one by one in sort order, a flat
    area (a clipped highlight, a plain background) came out as a spread of colours."""
    b, c, h, w = rgb.shape
    flat = rgb.reshape(b * c, -1)  # each picture's channels on their own
    ordered, order = sort_rows(flat)
    ranks = torch.empty_like(flat).scatter_(1, order, shared_ranks(ordered) * ((QUANTILES - 1) / max(flat.shape[1] - 1, 1)))
    low = ranks.floor().long().clamp(max=QUANTILES - 2)
    frac = ranks - low
    q = reference.quantiles.repeat(b, 1)
    values = torch.lerp(q.gather(1, low), q.gather(1, low + 1), frac)
    return values.reshape(b, c, h, w)


def sort_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row sorted ascending, and the places its values came from. On the CPU by NumPy's
    argsort (its SIMD sort: a 384x256 picture's three channels in 3.5 ms on the 2-core Xeon with
    AMX, where torch's sort took 12, a fifth of a looping step at that size). Equal values may come
    in another order than torch's, and share one rank either way, so the match is the same."""
    if rows.device.type != "cpu" or rows.dtype not in (torch.float32, torch.float64):
        return rows.sort(dim=1)
    order = torch.from_numpy(np.argsort(rows.detach().numpy(), axis=1))  # the gather below keeps any gradient
    return rows.gather(1, order), order


def shared_ranks(ordered: torch.Tensor) -> torch.Tensor:
    """Each place of rows sorted ascending, as the middle place of its run of equal values."""
    n = ordered.shape[1]
    places = torch.arange(n, device=ordered.device).expand_as(ordered)
    differs = ordered[:, 1:] != ordered[:, :-1]
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[:, 1:] = differs
    ends = torch.ones_like(starts)
    ends[:, :-1] = differs
    first = torch.where(starts, places, 0).cummax(1).values
    last = torch.where(ends, places, n - 1).flip(1).cummin(1).values.flip(1)
    return (first + last).to(ordered.dtype) / 2
