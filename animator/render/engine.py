"""Loads a planned render and runs it. The mode's renderer is chosen here, once; its frames go to
the sinks through the `encode` thread, the resume checkpoint stores each after the sinks have it,
and when all are written the outputs are published together with the render's record."""

from __future__ import annotations

import errno
import math
import os
import shutil
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from animator import faults, interrupt
from animator.clock import Clock
from animator.device import select_dtype
from animator.errors import MediaError, RenderError
from animator.media.frame import Frame, fitted, to_image
from animator.media.sink import Sink, encoding
from animator.media.image import read_image
from animator.methods import Styles, StyleTrack, build_method
from animator.preset.resolve import method_options, style_weights
from animator.preset.schema import Num, Preset
from animator.render.iterate import IterateRenderer
from animator.render.outputs import Began, check_destinations, make_sinks, publish, standing
from animator.render.plan import Plan, check_fits, device_of
from animator.render.record import split_work_path
from animator.render.renderer import Loaded, Renderer
from animator.render.resume import Checkpoint
from animator.render.still import StillRenderer
from animator.render.video import VideoRenderer

Progress = Callable[[int, int | None], None]  # (frames done, frames in all if known)

RENDERERS: dict[str, type[Renderer]] = {"iterate": IterateRenderer, "video": VideoRenderer, "still": StillRenderer}


def load_styles(preset: Preset, device: torch.device) -> Styles | None:
    if preset.style == "self":
        return None
    images = [read_image(style.image) for style in preset.style]
    return [(fitted(image, style_side(preset, image), device), weight)
            for image, weight in zip(images, style_weights(preset.style))]


def style_side(preset: Preset, image: np.ndarray) -> int:
    """The long side a style image is read at: the render's; for `arbitrary`, at least what keeps its
    short side at the `style_size` its network sees a style at, as far as the image has it (a 64 px
    render saw it at 64 px, blown up: a blur of the style, 0.29 of the style vector away)."""
    if preset.method.name != "arbitrary":
        return preset.size
    short, long = sorted(image.shape[:2])
    return max(preset.size, min(long, math.ceil(preset.method.style_size * long / short)))


def load_inject(preset: Preset, device: torch.device) -> tuple[torch.Tensor, Num] | None:
    inject = preset.iterate.inject
    if preset.mode != "iterate" or inject.image is None:
        return None
    image = read_image(inject.image)  # a style of the mix too (base.StyleTrack): read as one
    return fitted(image, style_side(preset, image), device), inject.weight


class Render:
    """A planned render with its method loaded and its renderer chosen: ready to run."""

    def __init__(self, plan: Plan):
        preset = self.preset = plan.preset
        self.plan = plan
        self.device = device_of(preset)
        if self.device.type == "cpu":  # (a GPU's memory is its own, and its out-of-memory error one line)
            check_fits(preset, plan.first)
        self.dtype = select_dtype(preset.precision, self.device)
        self.threads = torch.get_num_threads()
        method = build_method(method_options(preset), self.device, self.dtype, preset.seed)
        line = plan.timeline
        self.loaded = Loaded(preset, plan.source, fitted(plan.first, preset.size, self.device), self.device, method,
                             StyleTrack(method, load_styles(preset, self.device), load_inject(preset, self.device)),
                             Clock(line.steps, line.seconds_per_step, preset.seed, plan.features and plan.features.at,
                                   line.first), line.frames)
        self.renderer = RENDERERS[preset.mode](self.loaded)

    @property
    def engine(self) -> str:
        """Device type, compute type and, on the CPU, the thread count (on a GPU, its model): with
        the preset, what decides the frames. Threads split a sum in other places, and a loop feeds
        the last bit's difference back (`melt` on 1 and 2 threads: 3 levels apart after 30 frames),
        so a render resumed on other threads would not be the one begun; another GPU model runs
        other kernels (TF32 convolutions from Ampere on, float32 before)."""
        where = f"/{self.threads} threads" if self.device.type == "cpu" else f" ({torch.cuda.get_device_name(self.device)})"
        return f"{self.device.type}/{str(self.dtype).removeprefix('torch.')}{where}"

    @property
    def fps(self) -> Fraction:
        return self.plan.fps

    @property
    def frame_count(self) -> int | None:
        return self.plan.frame_count

    def run(self, out_dir: Path, *, fresh: bool = False, progress: Progress | None = None,
            sinks: list[Sink] | None = None, record: bool = True, resumable: bool = True,
            started: Callable[[], None] = lambda: None) -> list[Path]:
        """Render into out_dir and return the written outputs (the preset's, published with
        their record unless `record` is False; or the `sinks` given). Resumes unless `fresh`.
        Not `resumable` where out_dir goes when the call returns (a preview's temporary folder):
        a failure then names no frames kept to resume from. `started` is called once nothing
        stands in the render's way (its outputs' places checked, its work folder locked)."""
        preset, began = self.preset, time.perf_counter()
        own = sinks is None
        gpu = None if self.device.type != "cuda" else torch.cuda.current_device() if self.device.index is None \
            else self.device.index
        sinks = make_sinks(preset, out_dir, self.fps, self.plan.audio(), gpu) if own else sinks
        at_start = check_destinations(preset, out_dir, sinks, record=own and record)
        checkpoint = Checkpoint(out_dir / f".{preset.name}.work", preset, self.engine, self.plan.part)
        checkpoint.lock()
        started()
        try:
            if fresh:
                checkpoint.clear()
            frames = self._render(checkpoint, sinks, progress)
            faults.point("finish")
            interrupt.check()  # the outputs are whole, but the user asked to stop: they stay unpublished
            outputs = publish({sink.path: sink.partial for sink in sinks}, out_dir, at_start, preset if own and record else None,
                              frames, time.perf_counter() - began, part=self.plan.part)
        except BaseException as exc:
            disk = isinstance(exc, OSError) and exc.errno in WRITE_ERRORS  # the user's disk, not a bug
            checkpoint.keep(quiet=disk)
            checkpoint.release(done=False)
            if not resumable:  # finished outputs waiting to be published: nothing will publish them
                for sink in sinks:
                    sink.abort()
            if disk:
                what = kept(sinks, at_start, checkpoint if resumable else None)
                raise MediaError(f"{exc.filename or out_dir}: {os.strerror(exc.errno).lower()} ({what})") from None
            raise
        split = split_work_path(preset, out_dir)
        if own and record and split.is_dir() and not split.is_symlink():  # a batch's split of it, left off part-way:
            shutil.rmtree(split, ignore_errors=True)  # its outputs are this render's now (removed under the lock)
        checkpoint.release(done=True)
        return outputs

    def _render(self, checkpoint: Checkpoint, sinks: list[Sink], progress: Progress | None) -> int:
        """Every frame into the sinks (the stored ones replayed first); returns the frame count."""
        fps = self.fps
        resume = checkpoint.load()
        done = resume[0] + 1 if resume else 0
        with encoding(sinks, written=checkpoint.save, publish=False) as put:
            if resume is not None:
                for frame in checkpoint.frames(resume[0], fps):
                    put(frame)
            if progress:
                progress(done, self.frame_count)
            for index, image, state in self.renderer.frames(resume):
                interrupt.check()
                put(Frame(index, index / fps, self.picture(index, image)), state)
                done = index + 1
                if progress:
                    progress(done, self.frame_count)
        return done

    def picture(self, index: int, image: torch.Tensor):
        """The frame in 8 bits. NaN or infinity would be written as black with exit 0: it stops
        the render instead, before its outputs are published."""
        low, high = image.aminmax()  # NaN and infinity reach the extremes: a tenth of isfinite's time
        if not bool(low.isfinite() & high.isfinite()):
            fixes = ["precision: float32"] if self.dtype != torch.float32 else []
            if self.preset.method.name == "gatys":  # L-BFGS diverging under a large target, whatever the precision
                adam = ["optimizer adam"] if self.preset.method.optimizer != "adam" else []
                fixes = [*adam, "smaller weights or Gram-transform values", *fixes]
            hint = f" ({', or '.join(fixes)} may avoid it)" if fixes else ""
            raise RenderError(f"{self.preset.name}: frame {index} came out of the render as NaN or infinity "
                              f"({self.engine}); nothing was published{hint}")
        return to_image(image)


WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def kept(sinks: list[Sink], at_start: Began, checkpoint: Checkpoint | None) -> str:
    """What a failed render leaves the user: the outputs as they were (or the new ones, where the
    publish had moved them into place: its record failed), and frames to resume from."""
    what = [f"{sink.path.name} as it was" if standing(sink.path) == at_start.places.get(sink.path) else
            f"the new {sink.path.name}" for sink in sinks if sink.path.exists()]
    if checkpoint is not None and checkpoint.segments:
        what.append(f"the frames made so far in {checkpoint.folder}, to resume from")
    return "kept: " + (", ".join(what) or "nothing was written")


def load(plan: Plan | Preset) -> Render:
    """A render ready to run, its method's weights loaded: what can fail on bad input has failed."""
    return Render(plan if isinstance(plan, Plan) else Plan(plan))
