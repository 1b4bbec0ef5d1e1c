"""Sinks encode Frames into files: MP4 (H.264) and WebM (VP9 or AV1) for the web, MOV (ProRes
422 HQ) for editing, animated WebP, APNG and GIF for previews, and PNG frames (the sound the
videos carry: soundcopy.py; a preview's contact sheet: sheet.py).

Every sink writes under a hidden temporary name and renames on success, so an interrupted or
failed render never leaves a file that looks complete. `encoding` feeds all the sinks of a
render from one background thread in one pass.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import math
import os
import platform
import shutil
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import cv2
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc, Colorspace, Interpolation

from animator import faults
from animator.errors import MediaError
from animator.files import write_file
from animator.media.container import file_name
from animator.media.frame import Frame, output_size, resize
from animator.media.pipeline import Worker
from animator.media.soundcopy import MOV_AUDIO, MP4_AUDIO, WEBM_AUDIO, AudioCopy, AudioRules, AudioSpan

# swscale approximates RGB -> YUV in fixed point unless asked to round accurately
ACCURATE_BILINEAR = Interpolation.BILINEAR | Interpolation.ACCURATE_RND


def partial_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def abandoned_partials(path: Path) -> list[Path]:
    """The partials of `path` that lock-free writers (stylize, preview) killed before they finished
    left: named by a process that no longer runs."""
    found = []
    for partial in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
        pid = partial.name[len(path.name) + 2:-len(".partial")]
        if pid.isdigit() and 0 < int(pid) < PID_LIMIT and not running(int(pid)):
            found.append(partial)
    return found


PID_LIMIT = 1 << 22  # Linux's largest pid_max: a number past it names no process (and overflows os.kill)


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal: whether there is such a process
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Sink:
    """Base: sizes frames for this output and manages the temporary name."""

    even = False  # chroma subsampled across columns (and rows) needs even sides

    def __init__(self, path: Path, size: int | None = None, unlocked: bool = False):
        """`unlocked`: written without a render's lock on the name (stylize's picture, a preview's
        sheet), under a partial name of this process's own: `.melt.png.partial` is a render's of
        `melt`, and each would have published the other's picture."""
        self.path, self.size, self.unlocked = path, size, unlocked
        self.partial = path.with_name(f".{path.name}.{os.getpid()}.partial") if unlocked else partial_path(path)
        self.shape: tuple[int, int] | None = None  # (width, height) once the first frame arrives

    def write(self, frame: Frame) -> None:
        if self.shape is None:
            height, width = frame.image.shape[:2]
            self.shape = output_size(width, height, self.size, 2 if self.even else 1) if self.size else (width, height)
            try:
                for partial in [self.partial, *(abandoned_partials(self.path) if self.unlocked else [])]:
                    remove(partial)
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.open(*self.shape)
            except (OSError, av.FFmpegError) as exc:
                raise MediaError(f"{self.path}: cannot write ({getattr(exc, 'strerror', None) or exc})") from None
        self.encode(frame, resize(frame.image, *self.shape))

    def finish(self, publish: bool = True) -> Path:
        """Close the file; with `publish`, move it from its partial name into place (a render
        publishes all its outputs together instead: render/outputs.py)."""
        self.close()
        if publish:  # a file named for it is replaced; a folder in its way is refused, not removed
            if self.path.is_dir() and not self.path.is_symlink() and not self.partial.is_dir():
                raise MediaError(f"{self.path}: is a folder, where this file goes; move it, or name another file")
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


# x264's speed names, for the encoders that count speed instead: libvpx's cpu-used (0 slowest ..
# 5, in its "good" mode) and SVT-AV1's preset (0 slowest .. 13).
SPEEDS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
VP9_CPU_USED = dict(zip(SPEEDS, (5, 5, 5, 4, 4, 3, 2, 1, 0)))
SVT_PRESET = dict(zip(SPEEDS, (12, 11, 10, 9, 8, 7, 6, 4, 2)))


class EncodedSink(Sink):
    """A video stream encoded by PyAV, with the source's audio where the container takes it.

    Subclasses name the container, codec and pixel format. `bt709` sinks convert RGB to YUV
    here with the BT.709 matrix in limited (tv) range and tag all four colour properties, so
    players do not guess (most guess BT.709 for HD and BT.601 below it).
    """

    container_format: str
    codec: str
    pix_fmt: str
    bt709 = False
    tick: Fraction | None = None  # a container that counts frame times in coarse ticks
    audio_rules: AudioRules | None = None

    def __init__(self, path: Path, fps: Fraction, size: int | None = None, audio: AudioSpan | None = None):
        super().__init__(path, size)
        self.fps, self.audio = fps, audio
        self.container = self.audio_copy = None
        self.shown = 0  # frames of the picture on this output's clock: where its sound is cut

    def container_options(self) -> dict[str, str]:
        return {}

    def codec_options(self) -> dict[str, str]:
        return {}

    def open(self, width: int, height: int) -> None:
        if self.even:
            width, height = width - width % 2, height - height % 2  # the odd last column or row is cropped
        self.container = av.open(file_name(self.partial), "w", format=self.container_format, options=self.container_options())
        self.stream = self.container.add_stream(self.codec, rate=self.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, self.pix_fmt
        self.stream.time_base = 1 / self.fps
        if self.bt709:
            context = self.stream.codec_context
            context.colorspace, context.color_range = Colorspace.ITU709, ColorRange.MPEG
            context.color_primaries, context.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
        self.stream.options = self.codec_options()
        if self.audio and self.audio_rules:
            self.audio_copy = AudioCopy(self.audio, self.container, self.audio_rules)

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        width, height = self.stream.width, self.stream.height
        if image.shape[:2] != (height, width):
            image = np.ascontiguousarray(image[:height, :width])
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        if self.bt709:
            video_frame = video_frame.reformat(format=self.pix_fmt, dst_colorspace=Colorspace.ITU709,
                                               dst_color_range=ColorRange.MPEG, interpolation=ACCURATE_BILINEAR)
            # ProRes writes each frame's own primaries and transfer into its header, not the stream's
            video_frame.color_primaries, video_frame.color_trc = ColorPrimaries.BT709, ColorTrc.BT709
        video_frame.pts, video_frame.time_base = frame.index, 1 / self.fps
        self.container.mux(self._timed(self.stream.encode(video_frame)))
        self.shown = frame.index + 1

    def _timed(self, packets: list[av.Packet]) -> list[av.Packet]:
        return packets if self.tick is None else on_clock(packets, self.fps, self.tick)

    def close(self) -> None:
        if self.container is not None:
            container, self.container = self.container, None
            try:
                container.mux(self._timed(self.stream.encode(None)))  # flush delayed frames
                if self.audio_copy is not None:
                    self.audio_copy.copy(float(self.shown / self.fps))
            finally:
                container.close()


NVENC_PRESET = dict(zip(SPEEDS, ("p1", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p7")))


@functools.cache
def nvenc_available() -> bool:
    """Whether NVIDIA's H.264 encoder opens here: PyAV lists it wherever its FFmpeg was built with
    it, but it runs only with an NVIDIA GPU and driver."""
    if "h264_nvenc" not in av.codecs_available:
        return False
    try:
        context = av.CodecContext.create("h264_nvenc", "w")
        context.width, context.height, context.pix_fmt, context.time_base = 256, 256, "yuv420p", Fraction(1, 24)
        context.open()
    except av.FFmpegError:
        return False
    return True


def h264_encoder(gpu: bool) -> str:
    """The GPU's encoder for a render on a GPU that has one, else x264."""
    return "h264_nvenc" if gpu and nvenc_available() else "libx264"


FALLBACK = "libx264"  # where the GPU's encoder will not open at the render's size (over its 4096 px a side),
# or its sessions are all taken (consumer cards run a few at once: a batch's jobs, several MP4 outputs)


@functools.cache
def x264_instructions() -> dict[str, str]:
    """x264 without its AVX-512 routines where the CPU has them: they make another stream of the
    same frames now and then, by what the memory they read held (at 192x96, 73 of 200 encodes of
    four frames; at 160x96 and 176x144 too; at 320x192 none), where its AVX2 ones make one, as
    fast (a render resumed, or made again, is then the same MP4). x264 takes the instruction sets
    it is told unchecked, so AVX2 is named only beside AVX-512 (every CPU with AVX-512 has AVX2,
    FMA3 and BMI2); numpy's check is x264's: AVX-512 F, CD, BW, DQ and VL, and the OS's support."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy 1
        from numpy.core._multiarray_umath import __cpu_features__

    x86 = platform.machine().lower() in ("x86_64", "amd64")
    return {"x264-params": "asm=AVX2"} if x86 and __cpu_features__.get("AVX512_SKX") else {}


class Mp4Sink(EncodedSink):
    """H.264 for the web: High profile (the encoder picks the lowest level that fits the size and
    rate; `preset: ultrafast` turns off what High adds, and x264 calls it Constrained Baseline), BT.709, and the index (moov) before the media, so a browser starts playing at once.
    With `gpu` (the render's GPU, by its index), NVIDIA's encoder on it where it runs (lossless,
    crf 0, stays with x264, as does a picture NVENC will not open)."""

    container_format, codec, pix_fmt, bt709, even, audio_rules = "mp4", "libx264", "yuv420p", True, True, MP4_AUDIO

    def __init__(self, path: Path, fps: Fraction, crf: int = 18, size: int | None = None, audio: AudioSpan | None = None,
                 preset: str = "medium", bitrate: int | None = None, gpu: int | None = None):
        super().__init__(path, fps, size, audio)
        self.crf, self.preset, self.bitrate, self.gpu = crf, preset, bitrate, gpu
        self.codec = h264_encoder(gpu is not None and crf > 0)

    def container_options(self) -> dict[str, str]:
        return {"movflags": "+faststart"}

    def open(self, width: int, height: int) -> None:
        super().open(width, height)
        if self.codec == "h264_nvenc":
            try:  # opened now rather than at the first frame, so that x264 can take over
                self.stream.codec_context.open()
            except av.FFmpegError:
                self.container.close()
                if self.audio_copy is not None:
                    self.audio_copy.discard()
                self.codec = FALLBACK
                super().open(width, height)

    def codec_options(self) -> dict[str, str]:
        if self.codec == "h264_nvenc":  # constant quality (cq, on crf's scale) under an optional cap
            options = {"preset": NVENC_PRESET[self.preset], "tune": "hq", "rc": "vbr", "cq": str(self.crf), "b": "0",
                       "profile": "high", "gpu": str(self.gpu)}
            return options | ({"maxrate": str(self.bitrate), "bufsize": str(2 * self.bitrate)} if self.bitrate else {})
        options = {"crf": str(self.crf), "preset": self.preset} | x264_instructions()
        if self.crf > 0:  # crf 0 is lossless, which only the High 4:4:4 profile allows
            options["profile"] = "high"
        if self.bitrate:  # capped quality: crf, but never above the bitrate over a 2 s buffer
            options |= {"maxrate": str(self.bitrate), "bufsize": str(2 * self.bitrate)}
        return options


class WebmSink(EncodedSink):
    """VP9 (libvpx) or AV1 (SVT-AV1) with Opus audio: open formats every browser plays; AV1 is
    smaller at the same quality and slower to encode."""

    container_format, pix_fmt, bt709, even, audio_rules = "webm", "yuv420p", True, True, WEBM_AUDIO
    CODECS = {"vp9": "libvpx-vp9", "av1": "libsvtav1"}
    DEFAULT_CRF = {"vp9": 31, "av1": 35}

    def __init__(self, path: Path, fps: Fraction, codec: str = "vp9", crf: int | None = None, size: int | None = None,
                 audio: AudioSpan | None = None, preset: str = "medium", bitrate: int | None = None):
        super().__init__(path, fps, size, audio)
        self.codec, self.video_codec = self.CODECS[codec], codec
        self.crf = self.DEFAULT_CRF[codec] if crf is None else crf
        self.preset, self.bitrate = preset, bitrate

    def container_options(self) -> dict[str, str]:
        return {"fflags": "+bitexact"}  # the Matroska muxer draws random track and segment ids otherwise

    def open(self, width: int, height: int) -> None:
        if self.video_codec == "av1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole configuration to stderr otherwise
        super().open(width, height)

    def codec_options(self) -> dict[str, str]:
        if self.video_codec == "av1":
            options = {"crf": str(self.crf), "preset": str(SVT_PRESET[self.preset])}
            return options | ({"maxrate": str(self.bitrate)} if self.bitrate else {})
        # crf with b = 0 is constant quality; with a bitrate, constrained quality under that rate
        return {"crf": str(self.crf), "b": str(self.bitrate or 0), "deadline": "good",
                "cpu-used": str(VP9_CPU_USED[self.preset]), "row-mt": "1"}


class MovSink(EncodedSink):
    """ProRes 422 HQ, 10-bit, in a QuickTime file: an intermediate for editors (After Effects,
    Premiere, Resolve) that survives grading; ~25x the size of the MP4 at crf 18. Audio as PCM
    (AAC remuxed when the source has it)."""

    container_format, codec, pix_fmt, bt709, even, audio_rules = "mov", "prores_ks", "yuv422p10le", True, True, MOV_AUDIO

    def container_options(self) -> dict[str, str]:
        return {"movflags": "+faststart"}

    def codec_options(self) -> dict[str, str]:
        return {"profile": "3", "vendor": "apl0"}  # 3 is 422 HQ; apl0 is the vendor tag Apple's tools expect


class WebpSink(EncodedSink):
    """Animated WebP in full colour that loops forever: a GIF's place on the web, several times
    smaller and without the 256-colour palette. Frame durations are whole milliseconds.

    Each frame is a whole picture (libwebp, put together by the webp muxer). libwebp's animation
    encoder instead keeps pixels that changed less than its quality allows from the previous
    frame and merges frames it finds alike, so a slow feedback loop drifts away under it (melt
    at quality 90: 39 dB at the first frame, 23 dB by frame 40) and loses frames."""

    container_format, codec, pix_fmt, tick = "webp", "libwebp", "bgra", Fraction(1, 1000)

    def __init__(self, path: Path, fps: Fraction, size: int | None = None, quality: int = 90, lossless: bool = False):
        super().__init__(path, fps, size)
        self.quality, self.lossless = quality, lossless

    def container_options(self) -> dict[str, str]:
        return {"loop": "0"}

    def codec_options(self) -> dict[str, str]:
        return {"quality": str(self.quality), "lossless": str(int(self.lossless))}


class ApngSink(EncodedSink):
    """Animated PNG that loops forever: lossless, 24-bit, large; for short loops and stills with
    motion where exact colours matter."""

    container_format, codec, pix_fmt = "apng", "apng", "rgb24"

    def container_options(self) -> dict[str, str]:
        return {"plays": "0"}


# A new GIF scene starts when this share of the picture's colours (counted at 4 bits a channel)
# has moved out of the colours of the scene's first frame.
SCENE_CHANGE = 0.5


def colour_histogram(image: np.ndarray) -> np.ndarray:
    """The share of pixels in each of 4096 colour cells (4 bits a channel)."""
    cells = (image >> 4).astype(np.int32)
    index = (cells[..., 0] << 8) | (cells[..., 1] << 4) | cells[..., 2]
    return np.bincount(index.ravel(), minlength=4096) / index.size


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation between two colour histograms: 0 the same colours, 1 none in common."""
    return 0.5 * float(np.abs(a - b).sum())


def on_clock(packets: list[av.Packet], fps: Fraction, tick: Fraction) -> list[av.Packet]:
    """Packets of frames 1/fps long timed on a coarse clock (a GIF's hundredths, a WebP's
    milliseconds): each frame from its start to the next one's, both rounded to the nearest tick,
    so the delays add up to the clip's length. The muxers take the last frame's delay from its
    duration rounded down (5 frames at 12 fps lasted 0.41 s, not 0.42)."""
    for packet in packets:
        begins = packet.pts * packet.time_base
        start, end = (math.floor(t / tick + Fraction(1, 2)) for t in (begins, begins + 1 / fps))
        packet.time_base, packet.pts, packet.dts, packet.duration = tick, start, start, end - start
    return packets


class GifSink(Sink):
    """GIF through ffmpeg's palettegen/paletteuse, so colours do not band; loops forever.

    `palette: clip` chooses one palette over the whole clip, so the filter graph holds the
    (small) GIF-sized frames until the end; `scene` starts a new palette whenever the colours
    have moved away from the scene's first frame (a cut, or a feedback loop's drift), so each
    scene gets its own palette and only one scene is held at a time.
    """

    def __init__(self, path: Path, fps: Fraction, size: int | None = None, palette: str = "clip",
                 dither: str = "sierra2_4a", max_colors: int = 256):
        super().__init__(path, size)
        self.fps, self.palette, self.dither, self.max_colors = fps, palette, dither, max_colors
        self.container = self.graph = self.first_colours = None

    def open(self, width: int, height: int) -> None:
        self.container = av.open(file_name(self.partial), "w", format="gif", options={"loop": "0"})
        self.stream = self.container.add_stream("gif", rate=self.fps)
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "pal8"

    def _palette_graph(self) -> av.filter.Graph:
        graph = av.filter.Graph()
        source = graph.add_buffer(width=self.stream.width, height=self.stream.height, format="rgb24", time_base=1 / self.fps)
        split = graph.add("split")
        # Counting colours at 6 bits a channel makes palettegen ~4x faster on busy frames (the
        # histogram of full 24-bit colour is huge) for ~0.1 dB of the GIF's PSNR. Rounded to the
        # nearest step, 255 kept: cut to it, every colour came out 1.5 levels dark and white 252.
        six_bits = graph.add("lutrgb", ":".join(f"{c}=clip(4*round(val/4)\\,0\\,255)" for c in "rgb"))
        palette = graph.add("palettegen", f"max_colors={self.max_colors}:reserve_transparent=0:stats_mode=full")
        apply = graph.add("paletteuse", f"dither={self.dither}")
        out = graph.add("buffersink")
        source.link_to(split)
        split.link_to(six_bits, 0, 0)
        six_bits.link_to(palette)
        split.link_to(apply, 1, 0)
        palette.link_to(apply, 0, 1)
        apply.link_to(out)
        graph.configure()
        return graph

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        if self.palette == "scene":
            colours = colour_histogram(image)
            if self.first_colours is None or colour_distance(colours, self.first_colours) > SCENE_CHANGE:
                self._end_scene()
                self.first_colours = colours
        if self.graph is None:
            self.graph = self._palette_graph()
        video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        video_frame.pts, video_frame.time_base = frame.index, 1 / self.fps
        self.graph.push(video_frame)

    def _end_scene(self) -> None:
        """Choose the palette of the frames pushed so far, and write them with it."""
        if self.graph is None:
            return
        graph, self.graph = self.graph, None
        graph.push(None)
        while True:
            try:
                self._mux(self.stream.encode(graph.pull()))
            except (av.EOFError, BlockingIOError):
                break

    def _mux(self, packets: list[av.Packet]) -> None:
        self.container.mux(on_clock(packets, self.fps, Fraction(1, 100)))

    def close(self) -> None:
        if self.container is not None:
            try:
                self._end_scene()
                self._mux(self.stream.encode(None))
            finally:
                container, self.container = self.container, None
                container.close()


class PngSink(Sink):
    """One PNG for a single-frame render, else a folder of numbered PNGs (at `fps`, their number
    on its clock: None, the render's)."""

    def __init__(self, path: Path, size: int | None = None, fps: Fraction | None = None, unlocked: bool = False):
        super().__init__(path, size, unlocked)
        if fps is not None:
            self.fps = fps

    def open(self, width: int, height: int) -> None:
        if self.path.suffix != ".png":
            self.partial.mkdir(parents=True)

    def encode(self, frame: Frame, image: np.ndarray) -> None:
        target = self.partial if self.path.suffix == ".png" else self.partial / f"{frame.index:06d}.png"
        ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_file(target, data)  # not data.tofile: it reports a full disk as a short write, no errno


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
        faults.point("frame")
        if written is not None:
            written(frame, extra)

    worker = Worker(write_all, maxsize)
    try:
        yield lambda frame, extra=None: worker.put((frame, extra))
        worker.close()
        for sink in sinks:
            sink.finish(publish)
    except BaseException:
        if worker.abandon():  # ended before the sinks it writes are closed; else they stay, hidden partials
            for sink in sinks:
                sink.abort()
        raise
