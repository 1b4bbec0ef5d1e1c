"""In-between frames, so N iterates play smoothly as (N - 1) k + 1 frames.

`flow`: DIS flow both ways between two iterates; the frame at time u in (0, 1) pulls from both
along the intermediate flows of Jiang et al. 2018 ("Super SloMo"), whose linear approximation
is exact for steady motion, weighted by time and by where each side is visible (the
forward-backward check, and being inside the frame). Where neither side holds it cross-fades,
and so does the whole frame when the flow holds on less than half the picture: a step of a
psychedelic loop can change too much to track. `crossfade` always cross-fades.
"""

from __future__ import annotations

import torch

from animator.media.frame import to_image
from animator.motion.flow import FlowBackend, pair_flows
from animator.motion.warp import consistency_mask, sample, sampling_grid

TRACKABLE = 0.5  # the least share of the picture the flow must hold on, both ways


def crossfade(a: torch.Tensor, b: torch.Tensor, k: int) -> list[torch.Tensor]:
    return [torch.lerp(a, b, j / k) for j in range(1, k)]


def inbetweens(a: torch.Tensor, b: torch.Tensor, k: int, backend: FlowBackend | None) -> list[torch.Tensor]:
    """The k - 1 frames between a and b (1x3xHxW each); cross-fades when backend is None."""
    if k <= 1:
        return []
    if backend is None:
        return crossfade(a, b, k)
    to_b, to_a = pair_flows(backend, to_image(a), to_image(b), device=a.device)  # warp(a, to_b) ~ b; warp(b, to_a) ~ a
    seen_a, seen_b = consistency_mask(to_a, to_b), consistency_mask(to_b, to_a)  # a's pixels found in b, and b's in a
    if min(seen_a.mean().item(), seen_b.mean().item()) < TRACKABLE:
        return crossfade(a, b, k)
    frames = []
    for j in range(1, k):
        u = j / k
        from_a = sampling_grid(-(1 - u) * u * to_a + u * u * to_b)  # where frame u's pixels are in a
        from_b = sampling_grid((1 - u) ** 2 * to_a - u * (1 - u) * to_b)  # and in b
        weight_a = (1 - u) * sample(seen_a, from_a) * inside(from_a)
        weight_b = u * sample(seen_b, from_b) * inside(from_b)
        total = weight_a + weight_b
        pulled = (weight_a * sample(a, from_a) + weight_b * sample(b, from_b)) / total.clamp_min(1e-6)
        frames.append(torch.where(total > 1e-3, pulled, torch.lerp(a, b, u)))
    return frames


def inside(grid: torch.Tensor) -> torch.Tensor:
    return (grid.abs().amax(-1) <= 1).unsqueeze(1).float()
