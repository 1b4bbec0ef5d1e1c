"""Sinks encode Frames into files: MP4 (H.264), GIF (global palette, loops forever), PNG.

Every sink writes under a hidden temporary name and renames on success, so an interrupted or
failed render never leaves a file that looks complete. `encoding` feeds all the sinks of a
render from one background thread in one pass.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import cv2
import numpy as np

from animator.errors import MediaError
from animator.media.frame import Frame, fit_size, resize
from animator.media.pipeline import Worker

log = logging.getLogger("animator")


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Sink:
    """Base: sizes frames for this output and manages the temporary name."""

    def __init__(self, path: Path, size: int | None = None):
        self.path, self.size = path, size
        self.partial = partial_path(path)
        self.shape: tuple[int, int] | None = None  # (width, height) once the first frame arrives

    def write(self, frame: Frame) -> None:
        if self.shape is None:
            height, width = frame.image.shape[:2]
            self.shape = fit_size(width, height, self.size) if self.size else (width, height)
            try:
                remove(self.partial)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.open(*self.shape)
            except (OSError, av.FFmpegError) as exc:
                raise MediaError(f"{self.path}: cannot write ({getattr(exc, 'strerror', None) or exc})") from None
        self.encode(frame, resize(frame.image, *self.shape))

    def finish(self, publish: bool = True) -> Path:
        """Close the file; with `publish`, move it from its partial name into place (a render
        publishes all its outputs together instead: render/outputs.py)."""
        self.close()
        if publish:
            remove(self.path)
            self.partial.rename(self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
        with contextlib.suppress(OSError):
            remove(self.partial)

    def open(self, width: int, height: int) -> None: ...
    def encode(self, frame: Frame, image: np.ndarray) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class AudioSpan:
    """The audio of a source file between start and start + duration seconds (None: to the end)."""

    path: Path
    start: float = 0.0
    duration: float | None = None


MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}  # remuxed; anything else becomes AAC


class Mp4Sink(Sink):
    def __init__(self, path: Path, fps: Fraction, crf: int = 18, size: int | None = None, audio: AudioSpan | None = None,
                 preset: str = "medium"):
        super().__init__(path, size)
        self.fps, self.crf, self.audio, self.preset = fps, crf, audio, preset
        self.container = None

    def open(self, width: int, height: int) -> None:
        self.container = av.open(str(self.partial), "w", format="mp4")
        self.stream = self.container.add_stream("libx264", rate=self.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.stream.time_base = 1 / self.fps
        self.stream.options = {"crf": str(self.crf), "preset": self.preset}
        self.audio_copy = AudioCopy(self.audio, self.container) if self.audio else None

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        video_frame.pts, video_frame.time_base = frame.index, 1 / self.fps
        self.container.mux(self.stream.encode(video_frame))

    def close(self) -> None:
        if self.container is not None:
            container, self.container = self.container, None
            try:
                container.mux(self.stream.encode(None))  # flush delayed frames
                if self.audio_copy is not None:
                    self.audio_copy.copy()
            finally:
                container.close()


class AudioCopy:
    """Carries a source's audio for the rendered span into an output container: packets are
    remuxed when the codec fits MP4, otherwise decoded and re-encoded to AAC. A broken audio
    stream is dropped with a warning; the video still renders."""

    def __init__(self, span: AudioSpan, container):
        self.span, self.output, self.stream = span, container, None
        try:
            self.source = av.open(str(span.path))
            source_stream = self.source.streams.audio[0]
            next(self.source.decode(source_stream))  # fail now, before the stream exists, if it cannot decode
            self.source.seek(0)
            self.remux = source_stream.codec_context.codec.canonical_name in MP4_AUDIO
            if self.remux:
                self.stream = container.add_stream_from_template(source_stream)
            else:
                self.stream = container.add_stream("aac", rate=source_stream.codec_context.sample_rate)
                self.stream.layout = source_stream.codec_context.layout
        except (av.FFmpegError, StopIteration, IndexError) as exc:
            log.warning("%s: audio dropped, it cannot be read (%s)", span.path, exc)
            self.stream = None
            if hasattr(self, "source"):
                self.source.close()

    def copy(self) -> None:
        if self.stream is None:
            return
        source_stream = self.source.streams.audio[0]
        start, end = self.span.start, None if self.span.duration is None else self.span.start + self.span.duration
        try:
            if start:
                self.source.seek(int(start / source_stream.time_base), stream=source_stream)
            if self.remux:
                self._remux(source_stream, start, end)
            else:
                self._reencode(source_stream, start, end)
        except av.FFmpegError as exc:
            log.warning("%s: audio cut short, the stream is damaged (%s)", self.span.path, exc)
        finally:
            self.source.close()

    def _remux(self, source_stream, start: float, end: float | None) -> None:
        offset = int(start / source_stream.time_base)
        for packet in self.source.demux(source_stream):
            if packet.dts is None:  # the demuxer's empty flush packet
                continue
            time = float(packet.pts * source_stream.time_base)
            if time < start - 1e-3:
                continue
            if end is not None and time >= end:
                break
            packet.pts -= offset
            packet.dts -= offset
            packet.stream = self.stream
            self.output.mux(packet)

    def _reencode(self, source_stream, start: float, end: float | None) -> None:
        for frame in self.source.decode(source_stream):
            time = frame.time
            if time is None or time < start - 1e-3:
                continue
            if end is not None and time >= end:
                break
            frame.pts = None
            self.output.mux(self.stream.encode(frame))
        self.output.mux(self.stream.encode(None))


class GifSink(Sink):
    """GIF through ffmpeg's palettegen/paletteuse, so colours do not band.

    The palette is computed over the whole clip, so the filter graph holds the (small) GIF-sized
    frames until the end; GIF outputs are meant to be previews at a reduced size.
    """

    def __init__(self, path: Path, fps: Fraction, size: int | None = None):
        super().__init__(path, size)
        self.fps = fps
        self.container = None

    def open(self, width: int, height: int) -> None:
        self.container = av.open(str(self.partial), "w", format="gif", options={"loop": "0"})
        self.stream = self.container.add_stream("gif", rate=self.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "pal8"
        self.graph = av.filter.Graph()
        source = self.graph.add_buffer(width=width, height=height, format="rgb24", time_base=1 / self.fps)
        split = self.graph.add("split")
        # Counting colours at 6 bits a channel makes palettegen ~4x faster on busy frames (the
        # histogram of full 24-bit colour is huge) for ~0.1 dB of the GIF's PSNR.
        six_bits = self.graph.add("lutrgb", ":".join(f"{c}=bitand(val\\,252)" for c in "rgb"))
        palette = self.graph.add("palettegen", "stats_mode=full")
        apply = self.graph.add("paletteuse", "dither=sierra2_4a")
        out = self.graph.add("buffersink")
        source.link_to(split)
        split.link_to(six_bits, 0, 0)
        six_bits.link_to(palette)
        split.link_to(apply, 1, 0)
        palette.link_to(apply, 0, 1)
        apply.link_to(out)
        self.graph.configure()

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        video_frame.pts, video_frame.time_base = frame.index, 1 / self.fps
        self.graph.push(video_frame)

    def close(self) -> None:
        if self.container is not None:
            container, self.container = self.container, None
            try:
                self.graph.push(None)
                while True:
                    try:
                        container.mux(self.stream.encode(self.graph.pull()))
                    except (av.EOFError, BlockingIOError):
                        break
                container.mux(self.stream.encode(None))
            finally:
                container.close()


class PngSink(Sink):
    """One PNG for a single-frame render, else a folder of numbered PNGs."""

    def __init__(self, path: Path, size: int | None = None):
        super().__init__(path, size)

    def open(self, width: int, height: int) -> None:
        if self.path.suffix != ".png":
            self.partial.mkdir(parents=True)

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        target = self.partial if self.path.suffix == ".png" else self.partial / f"{frame.index:06d}.png"
        ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        data.tofile(target)


class SheetSink(Sink):
    """A contact sheet: every `every`-th frame (and the last) as a numbered tile of one PNG."""

    def __init__(self, path: Path, every: int, size: int | None = None):
        super().__init__(path, size)
        self.every, self.tiles, self.latest = every, [], None

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        self.latest = (frame.index, image.copy())
        if frame.index % self.every == 0:
            self.tiles.append(self.latest)

    def close(self) -> None:
        if self.latest is None:
            return
        if self.tiles[-1][0] != self.latest[0]:
            self.tiles.append(self.latest)
        columns = math.ceil(math.sqrt(len(self.tiles)))
        height, width = self.tiles[0][1].shape[:2]
        sheet = np.full((-(-len(self.tiles) // columns) * height, columns * width, 3), 255, np.uint8)
        for i, (index, tile) in enumerate(self.tiles):
            top, left = (i // columns) * height, (i % columns) * width
            sheet[top:top + height, left:left + width] = tile
            for colour, thickness in (((0, 0, 0), 3), ((255, 255, 255), 1)):  # white on a black outline
                cv2.putText(sheet, str(index), (left + 4, top + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, thickness, cv2.LINE_AA)
        cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))[1].tofile(self.partial)
        self.latest = None


@contextlib.contextmanager
def encoding(sinks: list[Sink], written: Callable[[Frame, object], None] | None = None,
             maxsize: int = 8, publish: bool = True) -> Iterator[Callable[..., None]]:
    """Yields `put(frame, extra=None)`. The encoder thread writes each frame to every sink, then
    calls `written(frame, extra)` (the render's checkpoint, so it never runs ahead of the
    outputs). On success finishes every sink (moved into place unless `publish` is False); on
    any failure removes every partial file."""

    def write_all(item: tuple[Frame, object]) -> None:
        frame, extra = item
        for sink in sinks:
            sink.write(frame)
        if written is not None:
            written(frame, extra)

    worker = Worker(write_all, maxsize)
    try:
        yield lambda frame, extra=None: worker.put((frame, extra))
        worker.close()
        for sink in sinks:
            sink.finish(publish)
    except BaseException:
        with contextlib.suppress(BaseException):
            worker.close()
        for sink in sinks:
            sink.abort()
        raise
