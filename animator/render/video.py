"""Video stylization: each source frame is stylized, and made consistent with the previous
output, which optical flow warps onto it; the consistency mask says where that warp holds.
`temporal.flow: none` is the per-frame baseline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from animator.media.frame import Frame, fit_size, resize, to_tensor
from animator.media.pipeline import background
from animator.methods import Method, Styles, Temporal
from animator.motion.flow import make_backend, pair_flows
from animator.motion.warp import consistency_mask, motion_boundaries, warp
from animator.preset.schema import TemporalConfig
from animator.render.iterate import frame_generator


@dataclass
class Prepared:
    index: int
    image: np.ndarray  # at the render size
    motion: tuple[torch.Tensor, torch.Tensor] | None  # (warp from the previous frame, trust mask)


def prepare(frames: Iterable[Frame], size: int, temporal: TemporalConfig, skip_before: int) -> Iterator[Prepared]:
    """Resize each frame and find its motion from the previous one. Runs in its own thread, so
    flow for the next frame is computed while the current one is being stylized."""
    backend = None if temporal.flow == "none" else make_backend(temporal.flow, temporal.flow_preset)
    previous = None
    for frame in frames:
        image = resize(frame.image, *fit_size(frame.image.shape[1], frame.image.shape[0], size))
        motion = None
        if backend is not None and previous is not None and frame.index >= skip_before:
            backward, forward = pair_flows(backend, previous, image, temporal.flow_scale)
            motion = backward, consistency_mask(backward, forward) * motion_boundaries(backward)
        previous = image
        yield Prepared(frame.index, image, motion)


def stylize_video(
    method: Method, frames: Iterable[Frame], *, size: int, temporal: TemporalConfig, device: torch.device,
    styles: Styles | None = None, seed: int = 0, resume: tuple[int, torch.Tensor] | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yields (index, output) per source frame; from a resume, frames up to its index are skipped
    (the last of them still feeds the flow) and its state is the previous output."""
    fixed = method.prepare_style(styles) if styles is not None else None
    first = resume[0] + 1 if resume is not None else 0
    previous = resume[1].to(device) if resume is not None else None
    for item in background(prepare(frames, size, temporal, first), maxsize=4):
        if item.index < first:
            continue
        x = to_tensor(item.image, device)
        guide = None
        if item.motion is not None and previous is not None:
            backward, mask = (t.to(device) for t in item.motion)
            guide = Temporal(warp(previous, backward), mask, temporal.weight)
        target = fixed if fixed is not None else method.prepare_style([(x, 1.0)])
        previous = method.transfer(target, x, rng=frame_generator(seed, item.index), temporal=guide)
        yield item.index, previous
