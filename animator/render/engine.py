"""Wires one render together: source -> renderer -> sinks, with checkpoints for resume."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from animator.device import select_device, select_dtype
from animator.media.frame import Frame, fit_size, resize, to_image, to_tensor
from animator.media.sink import AudioSpan, GifSink, Mp4Sink, PngSink, Sink, encoding
from animator.media.source import open_source, read_image
from animator.methods import Styles, build_method
from animator.preset.schema import Preset
from animator.render.iterate import frame_generator, iterate
from animator.style.gatys import still_objective
from animator.render.resume import Checkpoint
from animator.render.video import stylize_video

Progress = Callable[[int, int | None], None]  # (frames done, frames in all if known)
DEFAULT_FPS = Fraction(24)


def make_sinks(preset: Preset, out_dir: Path, fps: Fraction, audio: AudioSpan | None = None) -> list[Sink]:
    """The preset's outputs; `fps` is the render's own rate, for outputs that do not set one."""
    sinks: list[Sink] = []
    for output in preset.outputs:
        base = out_dir / preset.name
        if output.format == "mp4":
            sinks.append(Mp4Sink(base.with_suffix(".mp4"), output.fps or fps, output.crf, output.size, audio, output.preset))
        elif output.format == "gif":
            sinks.append(GifSink(base.with_suffix(".gif"), output.fps or fps, output.size))
        else:
            single = preset.frame_count == 1
            sinks.append(PngSink(base.with_suffix(".png") if single else out_dir / f"{preset.name}_frames", output.size))
    return sinks


def fitted(image: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    """An 8-bit image at the render size (long side `size`, sides multiples of 8) on the device."""
    return to_tensor(resize(image, *fit_size(image.shape[1], image.shape[0], size)), device)


def load_styles(preset: Preset, device: torch.device) -> Styles | None:
    if preset.style == "self":
        return None
    return [(fitted(read_image(style.image), preset.size, device), style.weight) for style in preset.style]


def frames_of(job: "Job", resume: tuple[int, torch.Tensor] | None) -> Iterator[tuple[int, torch.Tensor]]:
    """The renderer for the preset's mode, as (index, state) pairs from where a resume left off."""
    preset, method, x0, styles = job.preset, job.method, job.x0, job.styles
    if preset.mode == "video":
        yield from stylize_video(method, job.source, size=preset.size, temporal=preset.video.temporal,
                                 device=job.device, styles=styles, seed=preset.seed, resume=resume)
        return
    if preset.mode == "still":
        target = method.prepare_style(styles or [(x0, 1.0)])
        yield 0, method.transfer(target, x0, rng=frame_generator(preset.seed, 0))
        return
    start, x = resume if resume else (0, x0)
    if resume is None:
        yield 0, x0
    yield from iterate(method, x.to(x0.device), steps=preset.iterate.steps, blend=preset.iterate.blend,
                       styles=styles, start=start, seed=preset.seed)


class Job:
    """A render with its inputs read and its method loaded: what can fail on bad input has failed."""

    def __init__(self, preset: Preset):
        self.preset = preset
        self.device = select_device(preset.device)
        self.source = open_source(preset.input, preset.video.start, preset.video.duration)
        self.x0 = fitted(self.source.first(), preset.size, self.device)
        self.styles = load_styles(preset, self.device)
        self.dtype = select_dtype(preset.precision, self.device)
        options = preset.method
        if preset.mode == "still" and options.name == "gatys":
            options = still_objective(options, preset.still)
        self.method = build_method(options, self.device, self.dtype, preset.seed)

    @property
    def engine(self) -> str:
        """Device type and compute type: with the preset, what decides the frames."""
        return f"{self.device.type}/{str(self.dtype).removeprefix('torch.')}"

    @property
    def fps(self) -> Fraction:
        """The render's frame rate: the source's in video mode."""
        return self.source.fps if self.preset.mode == "video" else DEFAULT_FPS

    @property
    def frame_count(self) -> int | None:
        return self.preset.frame_count or self.source.frame_count

    def audio(self) -> AudioSpan | None:
        video = self.preset.video
        if self.preset.mode == "video" and video.audio and self.source.has_audio:
            return AudioSpan(self.preset.input, video.start, video.duration)
        return None

    def run(self, out_dir: Path, *, fresh: bool = False, progress: Progress | None = None) -> list[Path]:
        """Render into out_dir and return the written outputs. Resumes unless `fresh`."""
        preset, fps, total = self.preset, self.fps, self.frame_count
        checkpoint = Checkpoint(out_dir / f".{preset.name}.work", preset, self.engine)
        if fresh:
            checkpoint.clear()
        resume = checkpoint.load()
        sinks = make_sinks(preset, out_dir, fps, self.audio())
        try:
            with encoding(sinks, written=checkpoint.save) as put:
                if resume is not None:
                    for frame in checkpoint.frames(resume[0], fps):
                        put(frame)
                if progress:
                    progress(resume[0] + 1 if resume else 0, total)
                for index, state in frames_of(self, resume):
                    put(Frame(index, index / fps, to_image(state)), state)
                    if progress:
                        progress(index + 1, total)
        except BaseException:
            checkpoint.keep()
            raise
        checkpoint.clear()
        return [sink.path for sink in sinks]

