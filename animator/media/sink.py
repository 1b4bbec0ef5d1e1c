"""Sinks encode Frames into files: MP4 (H.264) and WebM (VP9 or AV1) for the web, MOV (ProRes
422 HQ) for editing, animated WebP, APNG and GIF for previews, PNG frames and contact sheets.

Every sink writes under a hidden temporary name and renames on success, so an interrupted or
failed render never leaves a file that looks complete. `encoding` feeds all the sinks of a
render from one background thread in one pass.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import io
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import cv2
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc, Colorspace, Interpolation
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from animator import faults
from animator.errors import MediaError
from animator.files import write_file
from animator.media.audio import GAP, silence, told_gap
from animator.media.frame import Frame, output_size, resize
from animator.media.pipeline import Worker
from animator.media.source import file_name, open_media, sound_stream, timeline_origin
from animator.media.image import pillow_told

log = logging.getLogger("animator")

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


@dataclass(frozen=True)
class AudioSpan:
    """The audio of a source file between start and start + duration seconds (None: to the end)."""

    path: Path
    start: float = 0.0
    duration: float | None = None


@dataclass(frozen=True)
class AudioRules:
    """What audio a container takes: codecs remuxed as they are, and the encoder for the rest, with
    the channel layouts it takes by channel count where it does not take every one."""

    remux: frozenset[str]
    encoder: str
    layouts: dict[int, str] | None = None
    # An edit list (MP4, MOV) hides the part of a remuxed first packet that starts before the span:
    # the sound starts at its first sample, and the packet is the decoder's pre-roll besides.
    edit_list: bool = False
    rates: dict[str, frozenset[int]] = field(default_factory=dict)  # a remuxed codec's rates the container takes
    most_channels: int | None = None  # the encoder's; more are mixed down to stereo

    def remuxes(self, codec: str, rate: int) -> bool:
        # PCM the container takes is written again as it is, sample for sample, so that it is cut
        # where the picture ends: a WAV's packets (4096 samples) cannot be cut
        return codec in self.remux and not codec.startswith("pcm_") and rate in self.rates.get(codec, (rate,))

    def layout(self, layout: av.AudioLayout) -> av.AudioLayout | str:
        """The layout to encode a source's sound in: its own where the encoder takes it (named,
        where it came without its channels' order), else the encoder's of as many channels."""
        named = named_layout(layout)
        if self.most_channels is not None and len(layout.channels) > self.most_channels:
            return "stereo"
        if self.layouts is None or getattr(named, "name", named) in self.layouts.values():
            return named
        return self.layouts.get(len(layout.channels), "stereo")


# libopus takes Vorbis's channel orders only: 5.1(side), what AC3 and DTS decode to, is refused
OPUS_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}
# MP3 in MP4 at the rates of MPEG-1 and 2 alone (FFmpeg's muxer refuses 2.5's 8-12 kHz); AAC to 7.1
MP4_AUDIO = AudioRules(frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}), "aac", edit_list=True,
                       rates={"mp3": frozenset({16000, 22050, 24000, 32000, 44100, 48000})}, most_channels=8)
WEBM_AUDIO = AudioRules(frozenset({"opus", "vorbis"}), "libopus", OPUS_LAYOUTS)
MOV_AUDIO = AudioRules(frozenset({"aac", "alac", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"}), "pcm_s16le",
                       edit_list=True)

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
        options = {"crf": str(self.crf), "preset": self.preset}
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


NEEDS_PREROLL = frozenset({"opus", "vorbis"})  # codecs remuxed only from a stream's start
PREROLL = 0.2  # seconds decoded and dropped before a span that starts part-way (Opus: 80 ms)


class AudioCopy:
    """Carries a source's audio for the rendered span into an output container: packets are
    remuxed when the codec is one the container takes, otherwise decoded and re-encoded with the
    container's encoder. A broken audio stream is dropped with a warning; the video still renders."""

    def __init__(self, span: AudioSpan, container, rules: AudioRules = MP4_AUDIO):
        self.span, self.output, self.stream, self.edit_list = span, container, None, rules.edit_list
        try:
            self.source = open_media(span.path)
            source_stream = sound_stream(self.source)
            if source_stream is None:
                raise LookupError("no audio stream")
            start = timeline_origin(self.source) + span.start
            end = None if span.duration is None else start + span.duration
            with open_media(span.path) as looked:  # apart: the decode below reads from the top
                silent = not sounds_within(looked, sound_stream(looked), start, end)
            if silent:  # a clip whose sound ends before the span or starts after it, or a track of none
                self.source.close()
                return
            next(self.source.decode(source_stream))  # fail now, before the stream exists, if it cannot decode
            codec = source_stream.codec_context.codec.canonical_name
            # Opus decodes a stream's packets from part-way only after 80 ms of pre-roll (RFC 7845):
            # remuxed from there, its sound fades in or bursts past full scale; decoded, the span's
            # sound comes whole from a decoder that started earlier
            cold = bool(span.start) and codec in NEEDS_PREROLL
            self.remux = rules.remuxes(codec, source_stream.codec_context.sample_rate) and not cold
            if self.remux:
                self.stream = container.add_stream_from_template(source_stream)
            else:
                encoder = codec if codec in rules.remux and codec.startswith("pcm_") else rules.encoder  # (as it was)
                rate = _encoder_rate(encoder, source_stream.codec_context.sample_rate)
                self.stream = container.add_stream(encoder, rate=rate)
                self.stream.layout = rules.layout(source_stream.codec_context.layout)
            # Opened again to copy from the top: a seek back to 0 in a Matroska file lands on the
            # packet after one that starts before 0 (an Opus stream's priming), and its sound is lost.
            self.source.close()
            self.source = open_media(span.path)
        except (av.FFmpegError, StopIteration, LookupError) as exc:
            log.warning("%s: audio dropped, it cannot be read (%s)", span.path, exc)
            self.stream = None
            if hasattr(self, "source"):
                self.source.close()

    def discard(self) -> None:
        """Close the source unread (the container it was for is given up)."""
        if hasattr(self, "source"):
            self.source.close()

    def copy(self, picture_seconds: float) -> None:
        """The span's sound, cut where the picture ends (a clip's sound may run on past its last frame)."""
        if self.stream is None:
            return
        source_stream = sound_stream(self.source)
        start = timeline_origin(self.source) + self.span.start  # on the stream's clock, as the frames are cut
        end = start + min(picture_seconds, self.span.duration or picture_seconds)
        try:
            if self.span.start:  # decoded from a little earlier, so that the decoder is warm at `start`
                earlier = start if self.remux else max(start - PREROLL, timeline_origin(self.source))
                self.source.seek(int(earlier / source_stream.time_base), stream=source_stream)
            if self.remux:
                self._remux(source_stream, start, end)
            else:
                self._reencode(source_stream, start, end)
        except av.FFmpegError as exc:
            log.warning("%s: audio cut short, the stream is damaged (%s)", self.span.path, exc)
        finally:
            self.source.close()

    def _remux(self, source_stream, start: float, end: float) -> None:
        offset = int(start / source_stream.time_base)
        for packet in self.source.demux(source_stream):
            if packet.dts is None:  # the demuxer's empty flush packet
                continue
            # A packet cannot be cut: the one the span starts in is kept whole where an edit list hides
            # its head (an MP3's or AAC's priming, or the sound before the span; the decoder needs it),
            # else the sound keeps the packet boundaries nearest the span's ends (an Opus stream's
            # first packet, its priming, starts before 0 once seeked)
            middle = float((packet.pts + (packet.duration or 0) / 2) * source_stream.time_base)
            packet_end = float((packet.pts + (packet.duration or 0)) * source_stream.time_base)
            if (packet_end if self.edit_list else middle) < start - 1e-3:
                continue
            if middle > end:
                break
            packet.pts -= offset
            packet.dts -= offset
            packet.stream = self.stream
            self.output.mux(packet)

    def _reencode(self, source_stream, start: float, end: float) -> None:
        written = None  # samples from `start`; the first frame's own offset kept (a sound that starts late)
        for frame in self.source.decode(source_stream):
            time, rate = frame.time, frame.sample_rate
            if time is None or time + frame.samples / rate <= start + 1e-3:
                continue
            if time >= end:
                break
            first = max(0, round((start - time) * rate))  # an Opus stream's first frame starts before 0 once seeked
            last = min(frame.samples, round((end - time) * rate))  # cut where the picture ends
            if last <= first:  # less than half a sample inside the span
                continue
            if (first, last) != (0, frame.samples):
                frame, time = samples_of(frame, first, last), time + first / rate
            at = max(0, round((time - start) * frame.sample_rate))
            if written is None:
                written = at
            if at - written > GAP * frame.sample_rate:  # a gap in the timestamps: silence, as played
                told_gap(Path(self.source.name), start + written / frame.sample_rate, (at - written) / frame.sample_rate)
                self._silence(frame, written, at)
                written = at
            frame.pts, frame.time_base = written, Fraction(1, frame.sample_rate)  # the encoder's priming goes before 0
            written += frame.samples
            self.output.mux(self.stream.encode(frame))
        self.output.mux(self.stream.encode(None))

    def _silence(self, like: av.AudioFrame, start: int, end: int) -> None:
        """Silence from sample `start` to `end` (at `like`'s rate), a second at a time."""
        for at in range(start, end, like.sample_rate):
            gap = silence(like, min(end - at, like.sample_rate))
            gap.pts, gap.time_base = at, Fraction(1, like.sample_rate)
            self.output.mux(self.stream.encode(gap))


def sounds_within(container, stream, start: float, end: float | None) -> bool:
    """Whether `stream` has a packet of sound after `start` (and before `end`, where given), in
    seconds on its clock. A muxer keeps the stream it was given whether or not a packet comes
    (Matroska: a sound track 0 s long), so a span without sound gets none."""
    if start > 0:
        container.seek(int(start / stream.time_base), stream=stream)
    for packet in container.demux(stream):
        if packet.dts is None:  # the demuxer's empty flush packet
            continue
        if packet.pts is None:  # untimed: it may be within
            return True
        begins = float(packet.pts * stream.time_base)
        if begins + float((packet.duration or 0) * stream.time_base) > start + 1e-3 or begins >= start:
            return end is None or begins < end - 1e-3
    return False


def samples_of(frame: av.AudioFrame, first: int, last: int) -> av.AudioFrame:
    """The frame's samples first..last-1, as a frame of their own. Copied plane by plane, not
    through numpy: PyAV 18 counts 9 planes in a planar frame of 8 channels (7.1), and reading the
    ninth ended the process on a segfault."""
    channels = len(frame.layout.channels)
    size = frame.format.bytes * (1 if frame.format.is_planar else channels)  # bytes a sample takes in a plane
    cut = av.AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=last - first)
    for plane, source in zip(cut.planes, frame.planes[:channels if frame.format.is_planar else 1]):
        plane.update(bytes(source)[first * size:last * size])
    cut.sample_rate = frame.sample_rate
    return cut


# FFmpeg's default layout for each channel count
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def named_layout(layout: av.AudioLayout) -> av.AudioLayout | str:
    """A channel layout an encoder takes: a WAV's or a camera's MOV's channels may come without
    their order ("1 channels"), which the AAC encoder refuses; they get the default one."""
    unordered = layout.name.endswith(" channels")
    return DEFAULT_LAYOUTS.get(len(layout.channels), layout) if unordered else layout


def _encoder_rate(encoder: str, rate: int) -> int:
    """The source's sample rate if the encoder takes it, else the encoder's highest (Opus: 48 kHz)."""
    rates = av.codec.Codec(encoder, "w").audio_rates
    return rate if not rates or rate in rates else max(rates)


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


@dataclass(frozen=True)
class SoundStrip:
    """A render's sound for the strip under its contact sheet: per written frame, its loudness
    (0..1), and the frames with a beat."""

    loud: np.ndarray
    beats: np.ndarray
    label: str = "loudness and beats"


STRIP_HEIGHT = 44
LOUD_GREY, BEAT_RED, TILE_BLACK = (170, 170, 170), (215, 35, 35), (0, 0, 0)


def draw_sound_strip(width: int, sound: SoundStrip, tiles: list[int]) -> np.ndarray:
    """Loudness as a grey area over the render's frames from left to right, a red line at each
    beat, and a black tick at the top for each frame the sheet shows."""
    strip = np.full((STRIP_HEIGHT, width, 3), 255, np.uint8)
    last = max(len(sound.loud) - 1, 1)
    column = lambda frame: min(width - 1, round(frame * (width - 1) / last))  # noqa: E731
    loud = np.interp(np.linspace(0, last, width), np.arange(len(sound.loud)), sound.loud)
    tops = STRIP_HEIGHT - np.round(np.clip(loud, 0, 1) * (STRIP_HEIGHT - 14)).astype(int)
    strip[np.arange(STRIP_HEIGHT)[:, None] >= tops[None, :]] = LOUD_GREY
    for frame in sound.beats:
        strip[12:, column(frame)] = BEAT_RED
    for frame in tiles:
        strip[:5, column(frame)] = TILE_BLACK
    cv2.putText(strip, sound.label, (4, 10), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (60, 60, 60), 1, cv2.LINE_AA)
    return strip


class SheetSink(Sink):
    """A contact sheet: every `every`-th frame (and the last) as a numbered tile of one PNG, and
    under it, given the render's `sound`, its loudness and beats (draw_sound_strip)."""

    def __init__(self, path: Path, every: int, size: int | None = None, sound: SoundStrip | None = None):
        super().__init__(path, size, unlocked=True)  # a preview takes no lock
        self.every, self.tiles, self.latest, self.sound = every, [], None, sound

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
        if self.sound is not None:
            sheet = np.vstack([sheet, draw_sound_strip(sheet.shape[1], self.sound, [index for index, _ in self.tiles])])
        data = io.BytesIO()
        Image.fromarray(sheet).save(data, "png", pnginfo=sheet_mark())
        write_file(self.partial, data.getbuffer())
        self.latest = None


SHEET_MARK = ("Software", "animator preview")  # a PNG text chunk: the sheet a preview may replace


def sheet_mark() -> PngInfo:
    info = PngInfo()
    info.add_text(*SHEET_MARK)
    return info


def is_sheet(path: Path) -> bool:
    """Whether the file at `path` is a contact sheet a preview wrote (a picture too large for Pillow
    to open is none)."""
    try:
        with pillow_told(path), Image.open(path) as image:
            return image.format == "PNG" and image.info.get(SHEET_MARK[0]) == SHEET_MARK[1]
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


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
