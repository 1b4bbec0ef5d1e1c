"""Video stylization: each source frame is stylized, and made consistent with the previous
output, which optical flow warps onto it; the consistency mask says where that warp holds.
`temporal.flow: none` is the per-frame baseline; render/consistency.py holds the ways a
network's frame is made consistent, render/temporal_loss.py the optimization method's (and
render/multipass.py its multi-pass option).

The stages run in threads of their own behind bounded queues, named after them: `decode` (the
source), `motion` (resizing and optical flow), `stylize` (the network, two frames at once on the
CPU); consistency is applied in order as the frames come back (on a pan, with what something
crossing it uncovers painted as the per-frame render paints it: render/band.py), and the engine's
`encode` thread writes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from animator import faults
from animator.clock import Clock, When
from animator.controls import life
from animator.device import flow_workers, frame_workers, threads_shared_by
from animator.media.frame import Frame, fit_size, resize, to_tensor
from animator.media.pipeline import background, ordered_map
from animator.methods import FeedForward, Method, StyleTrack
from animator.motion.flow import find_motion, make_backend
from animator.motion.lock import PanLock, Shift, placed, shifted_back
from animator.nets.layers import NormRecord
from animator.preset.resolve import temporal_settings
from animator.preset.schema import Num, TemporalConfig
from animator.render.band import Band, encoded_crops, paints_band, uncovered_painting
from animator.render.consistency import consistency
from animator.render.multipass import multi_pass
from animator.render.renderer import Loaded, Rendered, Resume
from animator.render.temporal_loss import TemporalLoss


class VideoRenderer:
    def __init__(self, loaded: Loaded):
        self.loaded = loaded

    def frames(self, resume: Resume | None = None) -> Iterator[Rendered]:
        loaded, preset = self.loaded, self.loaded.preset
        decoded = background(loaded.source, name="decode")
        return stylize_video(loaded.method, decoded, size=preset.size, temporal=temporal_settings(preset), device=loaded.device,
                             styles=loaded.styles, clock=loaded.clock, original_colors=preset.original_colors,
                             resume=resume)


@dataclass
class Prepared:
    index: int
    image: np.ndarray  # at the render size
    motion: tuple[torch.Tensor, torch.Tensor] | None  # (warp from the previous frame, trust mask)
    shift: Shift = Shift()  # where the frame is painted from (motion/lock.py); the output goes back by it
    uncovered: torch.Tensor | None = None  # what something crossing a pan uncovered (render/band.py)


def prepare(frames: Iterable[Frame], size: int, temporal: TemporalConfig, skip_before: int,
            device: torch.device, lock: PanLock | None = None) -> Iterator[Prepared]:
    """Resize each frame and find its motion from the previous one (the masks on the render
    device). Runs in threads of its own, so the next frames' flow is found while this one is
    stylized; where the CPU is free (a GPU render), several frame pairs at once. With a `lock`,
    each frame is then shifted onto the network's lattice, in order."""
    resized = ((frame.index, resize(frame.image, *fit_size(frame.image.shape[1], frame.image.shape[0], size)))
               for frame in frames)
    if temporal.flow == "none":
        yield from (Prepared(index, image, None) for index, image in resized)
        return
    engines = threading.local()  # a flow engine keeps state between calls: one per thread

    def motion(pair: tuple[int, np.ndarray, np.ndarray | None]) -> Prepared:
        index, image, previous = pair
        if previous is None or index < skip_before:
            return Prepared(index, image, None)
        if not hasattr(engines, "backend"):
            engines.backend = make_backend(temporal.flow, temporal.flow_preset)
        return Prepared(index, image, find_motion(engines.backend, previous, image, temporal, device))

    found = ordered_map(motion, with_previous(resized), flow_workers(torch.device(device)), name="motion")
    yield from found if lock is None else (Prepared(item.index, item.image, *lock.next(item.motion)) for item in found)


def with_previous(frames: Iterable[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    previous = None
    for index, image in frames:
        yield index, image, previous
        previous = image


def stylize_video(
    method: Method, frames: Iterable[Frame], *, size: int, temporal: TemporalConfig, device: torch.device,
    styles: StyleTrack, clock: Clock, original_colors: Num = 0.0, resume: tuple[int, Any] | None = None,
) -> Iterator[tuple[int, torch.Tensor, Any]]:
    """Yields (index, output, state) per source frame; from a resume, frames up to its index are
    skipped (the last of them still feeds the flow) and its state is where consistency goes on
    from. `original_colors` gives the outputs the source's colours (consistency works on the
    stylized ones)."""
    colored = lambda output, x, when: life.original_colors(output, x, when.value(original_colors))  # noqa: E731
    first = resume[0] + 1 if resume is not None else 0
    state = on_device(resume[1], device) if resume is not None else None
    locking = isinstance(method, FeedForward) and temporal.flow != "none" and temporal.pan_lock
    if locking:  # the state: the consistency's, and how far the pan has travelled
        lock = PanLock(4 / method.options.stroke_scale, *([tuple(state["pan"])] if state is not None else []))
        state = state["consistency"] if state is not None else None
    prepared = background(prepare(frames, size, temporal, first, device, lock if locking else None), maxsize=4,
                          name="motion")
    items = (item for item in prepared if item.index >= first)

    if isinstance(method, FeedForward):  # frames painted concurrently, made consistent in order
        keeper = consistency(method, temporal, state, style_is_frame=styles.codes is None)
        kept = (lambda item: {"consistency": keeper.state(), "pan": item.shift.travel}) if locking \
            else (lambda item: keeper.state())

        def paint(item: Prepared) -> tuple[Prepared, When, list, torch.Tensor, torch.Tensor, torch.Tensor, Band | None]:
            x, when = to_tensor(placed(item.image, item.shift), device), clock.at(item.index)
            frame = x if item.shift.offset == (0.0, 0.0) else to_tensor(item.image, device)  # unshifted
            target = styles.at(x, when)
            if item.uncovered is None or not paints_band(method):
                return item, when, target, x, frame, keeper.paint(target, x), None
            norms = NormRecord()  # the frame's statistics, for the band's crops: encoded here, painted in order
            painted = keeper.paint(target, x, norms)
            crops = encoded_crops(method, target, frame, item.shift, item.uncovered, norms)
            return item, when, target, x, frame, painted, Band(norms, crops) if crops else None

        workers = frame_workers(device)
        with threads_shared_by(workers):
            for item, when, target, x, frame, painted, band in ordered_map(paint, items, workers):
                output = keeper.next(painted, target, x, item.motion, when, band.norms if band else None)
                if band is not None:
                    output = keeper.repaint(uncovered_painting(method, target, band.crops, item.shift, band.norms))
                faults.point("stylize")
                yield item.index, colored(shifted_back(output, item.shift), frame, when), kept(item)  # back where the frame is
        return
    if temporal.passes > 1 and temporal.flow != "none":  # no frame is final before the last pass: none is a resume point
        frames = ((item.index, item.image, item.motion) for item in items)
        for index, image, output in multi_pass(method, frames, temporal, device, styles, clock):
            yield index, colored(output, to_tensor(image, device), clock.at(index)), None
        return
    held = TemporalLoss(temporal, device, state)
    for item in items:
        x, when = to_tensor(item.image, device), clock.at(item.index)
        output = method.transfer(styles.at(x, when), x, when=when, temporal=held.guide(item.image, item.motion, when))
        held.keep(output, item.image)
        yield item.index, colored(output, x, when), held.state()


def on_device(state: Any, device: torch.device) -> Any:
    if isinstance(state, dict):
        return {key: on_device(value, device) for key, value in state.items()}
    return state.to(device) if isinstance(state, torch.Tensor) else state
