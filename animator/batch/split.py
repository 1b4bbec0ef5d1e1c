"""A long video preset cut into chunks that render in parallel, then joined into one render.

Chunk i owns the source frames [s_i, s_i+1) and starts `overlap` frames early, so its temporal
consistency is warm by the time its own frames begin. Its early frames are also the end of chunk
i-1: there the join cross-fades from chunk i-1 (warm) to chunk i, so no seam shows. Chunks render
lossless PNG frames; the join streams them into the preset's own outputs, with the audio of the
whole span, and records the render as one.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from animator.batch.task import Result, Task
from animator.errors import MediaError
from animator.media.frame import Frame
from animator.media.sink import encoding
from animator.media.source import open_source
from animator.media.image import read_image
from animator.preset import Preset
from animator.preset.resolve import Part, follows_clip, soundtrack
from animator.preset.resolve import chunk as chunk_of
from animator.render.outputs import check_destinations, make_sinks, publish
from animator.render.record import split_work_path, up_to_date


def split_of(preset: Preset, parts: int, overlap: int) -> tuple[int, int] | None:
    """(parts, overlap) where a batch asked for chunks and the preset follows a clip, else None
    (rendered whole)."""
    return (parts, overlap) if parts > 1 and follows_clip(preset) else None


@dataclass(frozen=True)
class Chunk:
    start: int  # the first frame it owns
    end: int  # past the last frame it owns
    warm: int  # the first frame it renders (start - overlap, or 0)


def cut(frames: int, parts: int, overlap: int) -> list[Chunk]:
    """At most `parts` chunks, each owning more frames than the overlap."""
    parts = max(1, min(parts, frames // (overlap + 1)))
    bounds = [round(i * frames / parts) for i in range(parts + 1)]
    return [Chunk(a, b, max(0, a - overlap)) for a, b in zip(bounds, bounds[1:])]


class Split:
    """One video preset as chunk tasks, and the join once they have all rendered."""

    def __init__(self, preset: Preset, out_dir: Path, parts: int, overlap: int):
        self.preset, self.out_dir, self.asked = preset, out_dir, (parts, overlap)
        source = open_source(preset.input, preset.video.start, preset.video.duration, preset.video.fps, moving=True)
        self.fps, self.frames, self.has_audio = source.fps, source.frame_count, source.has_audio
        if self.frames is None:
            raise MediaError(f"{preset.input}: its length is unknown, so it cannot be split")
        # held until the join has published: a render of the preset into out_dir meanwhile (or
        # another batch's split of it) stops at once, rather than mixing its outputs with the join's;
        # taken before the outputs' places are looked at, which a render finishing meanwhile changes
        from animator.render.resume import Checkpoint  # torch loads here: a batch's planning does without

        self.lock = Checkpoint(out_dir / f".{preset.name}.work", preset)
        self.lock.lock()
        try:
            self.began = check_destinations(preset, out_dir)
        except BaseException:
            self.lock.release(done=False)
            raise
        self.chunks = cut(self.frames, parts, overlap)
        self.work = split_work_path(preset, out_dir)

    def tasks(self, fresh: bool = False) -> tuple[list[Task], list[Result]]:
        """The chunks to render, as tasks; and the results of those an earlier run of the batch
        finished (one whose worker died, or whose join failed), whose frames are up to date;
        `fresh` (--force): every chunk is rendered, none taken as up to date."""
        tasks, finished = [], []
        video = self.preset.video
        for i, chunk in enumerate(self.chunks):
            start = video.start + float(Fraction(chunk.warm) / self.fps)
            # Counted in frames, as the whole span is: seconds from the chunk's own start would round
            # to a frame more or less. A span to the clip's end runs to its real end, not an estimate.
            to_the_end = chunk is self.chunks[-1] and video.duration is None
            duration = None if to_the_end else float(Fraction(chunk.end - chunk.warm) / self.fps)
            task = Task(chunk_of(self.preset, i, start, duration), self.work, Part(chunk.warm, self.frames))
            if fresh or (record := up_to_date(task.preset, self.work, part=task.part)) is None:
                tasks.append(task)
            else:
                finished.append(Result(task.name, "up to date", record.get("frames"), 0.0, record.get("outputs", [])))
        return tasks, finished

    def join(self, results: list[Result]) -> Result:
        """The chunks' frames, cross-faded over each overlap, into the preset's outputs."""
        joined = None
        try:
            joined = self._join(results)
            return joined
        finally:  # done: a whole render of the preset left off part-way is replaced by the join
            self.lock.release(done=joined is not None and not joined.failed)

    def _join(self, results: list[Result]) -> Result:
        started = time.perf_counter()
        failed = [r for r in results if r.failed]
        if failed:
            chunk = failed[0]  # its message may name it already (a worker that died)
            return Result(self.preset.name, "failed", error=f"{chunk.name}: {chunk.error.removeprefix(f'{chunk.name}: ')}")
        audio = soundtrack(self.preset, self.has_audio, float(self.frames / self.fps))
        sinks = make_sinks(self.preset, self.out_dir, self.fps, audio)
        frames = 0
        try:
            with encoding(sinks, publish=False) as put:
                for index, image in enumerate(self._frames()):
                    put(Frame(index, index / self.fps, image))
                    frames = index + 1
            seconds = sum(r.seconds for r in results) + time.perf_counter() - started
            outputs = publish({sink.path: sink.partial for sink in sinks}, self.out_dir, self.began, self.preset, frames,
                              seconds, self.asked)
        except OSError as exc:  # a full disk: one line, as a render's, and the batch goes on
            from animator.render.engine import WRITE_ERRORS, kept  # (torch is loaded: the lock's import)

            if exc.errno not in WRITE_ERRORS:
                raise
            raise MediaError(f"{exc.filename or self.out_dir}: {os.strerror(exc.errno).lower()} "
                             f"({kept(sinks, self.began, None)})") from None
        shutil.rmtree(self.work, ignore_errors=True)
        return Result(self.preset.name, "rendered", frames, seconds, [str(o.relative_to(self.out_dir)) for o in outputs])

    def _frames(self) -> Iterator[np.ndarray]:
        held: list[np.ndarray] = []  # the end of the previous chunk, where the next one warms up
        for i, chunk in enumerate(self.chunks):
            following = self.chunks[i + 1] if i + 1 < len(self.chunks) else None
            files = sorted((self.work / f"{self.preset.name}.part{i}_frames").iterdir())
            if (following is not None or self.preset.video.duration is not None) and len(files) != chunk.end - chunk.warm:
                raise MediaError(f"{self.preset.input}: chunk {i} decoded {len(files)} frames where {chunk.end - chunk.warm} "
                                 "were expected; a source with a varying frame rate cannot be split exactly")
            fresh = []
            for index, file in enumerate(files, start=chunk.warm):
                image = read_image(file)
                if index < chunk.start:  # warming up: cross-fade from the previous chunk
                    weight = (index - chunk.warm + 1) / (chunk.start - chunk.warm + 1)
                    image = np.rint(held[index - chunk.warm] * (1 - weight) + image * weight).astype(np.uint8)
                if following is not None and index >= following.warm:
                    fresh.append(image)  # also rendered by the next chunk: joined there
                else:
                    yield image
            held = fresh
