"""How consistent a stylized video is over time, against its source's motion.

The warping error of Lai et al. 2018: output t against output t-1 warped by the *source's* flow,
on the pixels the forward-backward check keeps (frames across a cut left out, as a render starts
afresh there); and its long-term twin (Ruder et al. 2016), t against t-k with the flow computed
directly between source frames t-k and t. Everything streams: a clip is read once and only the
last k frames are held.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Motion:
    """How frame t relates to frame t - lag of the source."""

    lag: int
    backward: torch.Tensor  # (1,2,H,W): frame t at p is frame t - lag at p + backward(p)
    mask: torch.Tensor  # (1,1,H,W): 1 where the forward-backward check keeps p


def source_motion(sources: Iterable[np.ndarray], size: tuple[int, int], lags: tuple[int, ...], flow: str = "dis",
                  device: torch.device | str = "cpu") -> Iterator[list[Motion]]:
    """For each source frame (resized to size = (width, height)), its motion from each earlier
    frame `lag` frames back that exists (`lags` from 1 up). Across a cut nothing is kept: there
    is no flicker to measure where a render starts afresh (the check kept 40% of a cut's pixels,
    and a clip measured against itself had 6x a temporal render's error)."""
    from animator.media.frame import resize
    from animator.motion.flow import different_shots, make_backend, pair_flows
    from animator.motion.warp import consistency_mask

    backend, seen, since_cut = make_backend(flow), deque(maxlen=max(lags)), math.inf
    for source in sources:
        source = resize(source, *size)
        motions = []
        for lag in lags:
            if lag <= len(seen):
                backward, forward = pair_flows(backend, seen[-lag], source, device=device)
                mask = consistency_mask(backward, forward)
                if lag == 1 and different_shots(seen[-1], source, backward, mask):
                    since_cut = 0
                motions.append(Motion(lag, backward, mask if lag <= since_cut else torch.zeros_like(mask)))
        seen.append(source)
        since_cut += 1
        yield motions


@dataclass
class WarpTrack:
    """The warping errors of one clip, frame by frame, at every lag it is given."""

    errors: dict[int, list[float]] = field(default_factory=dict)
    flicker: dict[int, list[float]] = field(default_factory=dict)
    history: deque = field(default_factory=lambda: deque(maxlen=16))

    def add(self, image: torch.Tensor, motions: list[Motion]) -> None:
        """image: 1x3xHxW in [0, 1], the clip's next frame."""
        from animator.motion.warp import warp

        for motion in motions:
            if self.history.maxlen < motion.lag:
                self.history = deque(self.history, maxlen=motion.lag)
            if not motion.mask.any():  # nothing to compare (a cut): left out, not an error of 0
                continue
            difference = (image - warp(self.history[-motion.lag], motion.backward)) * motion.mask
            kept = motion.mask.sum().clamp_min(1) * 3
            self.errors.setdefault(motion.lag, []).append(float(difference.square().sum() / kept))
            self.flicker.setdefault(motion.lag, []).append(float(difference.abs().sum() / kept * 255))
        self.history.append(image)

    def error(self, lag: int) -> float:
        return float(np.mean(self.errors[lag])) if self.errors.get(lag) else float("nan")


class MovingAverage:
    """The flow-free baseline y[t] = (1 - w) s[t] + w y[t-1]: it needs no motion at all, and it
    blurs, so a consistency that does not beat it is not worth its flow."""

    def __init__(self, weight: float):
        self.weight, self.value = weight, None

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        self.value = image if self.value is None else torch.lerp(image, self.value, self.weight)
        return self.value


def warping_error(outputs: Iterable[np.ndarray], sources: Iterable[np.ndarray], flow: str = "dis") -> dict[str, Any]:
    """Temporal consistency of a stylized clip (Lai et al. 2018): the mean over t of the squared
    difference between output t and output t-1 warped by the *source's* flow, on the pixels the
    consistency check keeps (images in [0, 1]); and a flicker figure, the mean absolute warped
    difference in /255 units; `per_frame` the error of each frame by its index (frames 1, 2, ...,
    those after a cut left out). Streams both clips; sources are resized to the outputs' size."""
    from animator.media.frame import to_tensor

    outputs = iter(outputs)
    first = next(outputs, None)
    if first is None:
        raise ValueError("warping error needs at least two frames")
    track, per_frame = WarpTrack(), {}
    motions = source_motion(sources, (first.shape[1], first.shape[0]), (1,), flow)
    for frame, (output, motion) in enumerate(zip(_chain(first, outputs), motions)):
        measured = len(track.errors.get(1, ()))
        track.add(to_tensor(output), motion)
        if len(track.errors.get(1, ())) > measured:
            per_frame[frame] = track.errors[1][-1]
    if not track.errors:
        raise ValueError("warping error needs at least two frames")
    return {"warping_error": track.error(1), "flicker": float(np.mean(track.flicker[1])), "frames": frame + 1,
            "per_frame": per_frame}


def _chain(first, rest):
    yield first
    yield from rest
