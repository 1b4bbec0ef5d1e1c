"""Wires one render together: source -> renderer -> sinks, with checkpoints for resume."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from animator.clock import Clock
from animator.device import select_device, select_dtype
from animator.media.frame import Frame, fit_size, resize, to_image, to_tensor
from animator.media.sink import AudioSpan, Sink, encoding
from animator.media.source import open_source, read_image
from animator.methods import Styles, StyleTrack, build_method
from animator.preset.load import check_schedules
from animator.preset.schema import RENDER_FPS, Preset, style_weights
from animator.render.iterate import Rendered, iterate, tweened
from animator.render.outputs import make_sinks
from animator.render.record import write_record
from animator.render.resume import Checkpoint
from animator.render.video import stylize_video
from animator.style.gatys import still_objective

Progress = Callable[[int, int | None], None]  # (frames done, frames in all if known)


def fitted(image: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    """An 8-bit image at the render size (long side `size`, sides multiples of 8) on the device."""
    return to_tensor(resize(image, *fit_size(image.shape[1], image.shape[0], size)), device)


def load_styles(preset: Preset, device: torch.device) -> Styles | None:
    if preset.style == "self":
        return None
    return [(fitted(read_image(style.image), preset.size, device), weight)
            for style, weight in zip(preset.style, style_weights(preset.style))]


def frames_of(job: Job, resume: tuple[int, Any] | None) -> Iterator[Rendered]:
    """The renderer for the preset's mode: (index, image, state) from where a resume left off."""
    preset, method, x0 = job.preset, job.method, job.x0
    if preset.mode == "video":
        yield from stylize_video(method, job.source, size=preset.size, temporal=preset.video.temporal,
                                 device=job.device, styles=job.styles, clock=job.clock, resume=resume)
        return
    if preset.mode == "still":
        when = job.clock.at(0)
        yield 0, method.transfer(job.styles.at(x0, when), x0, when=when), None
        return
    k = preset.iterate.interpolate
    steps = iterate(method, x0, config=preset.iterate, styles=job.styles, clock=job.clock, reference=job.color_reference,
                    resume=None if resume is None else (resume[0] // k, resume[1]))
    if k == 1:
        yield from steps
    else:
        yield from tweened(steps, k, preset.iterate.interpolate_with, None if resume is None else resume[1]["x"].to(x0.device))


class Job:
    """A render with its inputs read and its method loaded: what can fail on bad input has failed."""

    def __init__(self, preset: Preset):
        self.preset = preset
        self.device = select_device(preset.device)
        self.source = open_source(preset.input, preset.video.start, preset.video.duration)
        self.x0 = fitted(self.source.first(), preset.size, self.device)
        self.dtype = select_dtype(preset.precision, self.device)
        options = preset.method
        if preset.mode == "still" and options.name == "gatys":
            options = still_objective(options, preset.still)
        self.method = build_method(options, self.device, self.dtype, preset.seed)
        self.styles = StyleTrack(self.method, load_styles(preset, self.device))
        self.clock = self._clock()
        self.color_reference = self._color_reference()

    def _clock(self) -> Clock:
        """Schedules run per iterate step in iterate mode, per source frame in video mode; a
        video's schedules are checked here, once its frame count is known."""
        preset = self.preset
        if preset.mode == "video":
            count = self.source.frame_count or 1
            check_schedules(preset, count, 1 / float(self.fps))
            return Clock(count, 1 / float(self.fps), preset.seed)
        if preset.mode == "still":
            return Clock(1, 0.0, preset.seed)
        return Clock(preset.iterate.steps + 1, preset.iterate.interpolate / float(self.fps), preset.seed)

    def _color_reference(self) -> torch.Tensor | None:
        """The colour coherence reference, when it is known before the loop runs."""
        color = self.preset.iterate.color
        if self.preset.mode != "iterate" or color.match == "none" or color.reference == "first":
            return None
        return self.x0 if color.reference == "input" else fitted(read_image(color.reference), self.preset.size, self.device)

    @property
    def engine(self) -> str:
        """Device type and compute type: with the preset, what decides the frames."""
        return f"{self.device.type}/{str(self.dtype).removeprefix('torch.')}"

    @property
    def fps(self) -> Fraction:
        """The render's frame rate: the source's in video mode."""
        return self.source.fps if self.preset.mode == "video" else RENDER_FPS

    @property
    def frame_count(self) -> int | None:
        return self.preset.frame_count or self.source.frame_count

    def audio(self) -> AudioSpan | None:
        video = self.preset.video
        if self.preset.mode == "video" and video.audio and self.source.has_audio:
            return AudioSpan(self.preset.input, video.start, video.duration)
        return None

    def run(self, out_dir: Path, *, fresh: bool = False, progress: Progress | None = None,
            sinks: list[Sink] | None = None, record: bool = True) -> list[Path]:
        """Render into out_dir and return the written outputs (the preset's, unless `sinks` are
        given, and then with their record: see record.py). Resumes unless `fresh`."""
        preset, fps, total, started = self.preset, self.fps, self.frame_count, time.perf_counter()
        checkpoint = Checkpoint(out_dir / f".{preset.name}.work", preset, self.engine)
        if fresh:
            checkpoint.clear()
        resume = checkpoint.load()
        own = sinks is None
        sinks = make_sinks(preset, out_dir, fps, self.audio()) if own else sinks
        done = resume[0] + 1 if resume else 0
        try:
            with encoding(sinks, written=checkpoint.save) as put:
                if resume is not None:
                    for frame in checkpoint.frames(resume[0], fps):
                        put(frame)
                if progress:
                    progress(done, total)
                for index, image, state in frames_of(self, resume):
                    put(Frame(index, index / fps, to_image(image)), state)
                    done = index + 1
                    if progress:
                        progress(done, total)
        except BaseException:
            checkpoint.keep()
            raise
        checkpoint.clear()
        outputs = [sink.path for sink in sinks]
        if own and record:
            write_record(preset, out_dir, outputs, done, time.perf_counter() - started)
        return outputs

