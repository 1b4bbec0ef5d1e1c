"""Video stylization: each source frame is stylized, and made consistent with the previous
output, which optical flow warps onto it; the consistency mask says where that warp holds.
`temporal.flow: none` is the per-frame baseline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from animator.media.frame import Frame, fit_size, resize, to_tensor
from animator.methods import Method, Styles, Temporal
from animator.motion.flow import make_backend, pair_flows
from animator.motion.warp import consistency_mask, motion_boundaries, warp
from animator.preset.schema import TemporalConfig
from animator.render.iterate import frame_generator


def stylize_video(
    method: Method, frames: Iterable[Frame], *, size: int, temporal: TemporalConfig, device: torch.device,
    styles: Styles | None = None, seed: int = 0, resume: tuple[int, torch.Tensor] | None = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yields (index, output) per source frame; from a resume, frames up to its index are skipped
    (the last of them still feeds the flow) and its state is the previous output."""
    backend = None if temporal.flow == "none" else make_backend(temporal.flow, temporal.flow_preset)
    fixed = method.prepare_style(styles) if styles is not None else None
    previous_image, previous_output = None, None
    for frame in frames:
        image = resize(frame.image, *fit_size(frame.image.shape[1], frame.image.shape[0], size))
        if resume is not None and frame.index <= resume[0]:
            if frame.index == resume[0]:
                previous_image, previous_output = image, resume[1].to(device)
            continue
        x = to_tensor(image, device)
        guide = None
        if backend is not None and previous_output is not None:
            backward, forward = pair_flows(backend, previous_image, image, temporal.flow_scale, device)
            mask = consistency_mask(backward, forward) * motion_boundaries(backward)
            guide = Temporal(warp(previous_output, backward), mask, temporal.weight)
        target = fixed if fixed is not None else method.prepare_style([(x, 1.0)])
        output = method.transfer(target, x, rng=frame_generator(seed, frame.index), temporal=guide)
        yield frame.index, output
        previous_image, previous_output = image, output
