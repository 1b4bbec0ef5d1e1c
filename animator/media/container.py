"""What a media file holds, read from its container before a frame is decoded: its picture and
sound streams, the rate its frames are placed on, how long its picture runs and where its time 0
lies. Files are opened here by name, as FFmpeg is to read them."""

from __future__ import annotations

import contextlib
import functools
import math
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from animator.media.image import animated

FOLDER_FPS = Fraction(24)  # a folder of images' rate, and a stream's that gives none
MAX_FPS = 240  # above it a stream's "rate" is its clock, and the frames' own spacing is measured
# Frames a quarter of a second apart or more (in the median) are pictures shown in turn (a GIF, a
# slideshow), not motion: the rate gives the one shown for the shortest time a place of its own.
# On the median's rate, or the average's, a picture shown 0.2 s between pictures shown 1 s fell
# between two places and was lost.
SLIDESHOW = 0.25
# At most: a picture shown for less than a tenth of a second (a flash; a browser shows a GIF's
# shortest delays as a tenth) may be left out, rather than a slideshow of 2 s pictures with one of
# 0.03 s rendered at 30 fps, 58 times the frames.
SLIDESHOW_MAX_FPS = Fraction(10)
# Video streams with no container (a camera's raw H.264, say): no timestamps, and no rate but their own headers'
ELEMENTARY = {"h264", "hevc", "vvc", "m4v", "mpegvideo", "cavsvideo"}
COMMON_RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(50),
                Fraction(60000, 1001), Fraction(60), Fraction(120)]


def file_name(path: Path) -> str:
    """A path as FFmpeg is to open it: absolute, so that a name with a colon (`12:30.mp4`,
    `file:x.mp4`) is that file and not a protocol's address."""
    return str(Path(path).absolute())


def open_media(path: Path, format: str | None = None) -> av.container.InputContainer:
    """A media file opened for reading. Its tags (a title, an encoder's name) are text in any
    encoding, or damaged: bytes that are not UTF-8 are read as replacement characters, where
    PyAV's default raised UnicodeDecodeError as the file opened."""
    return av.open(file_name(path), format=format, metadata_errors="replace")


def open_container(path: Path) -> av.container.InputContainer:
    """The file opened for decoding. An animated PNG is read as one: FFmpeg's probe takes a PNG
    for a single image (png_pipe) and would decode its first frame alone. What its name says is
    only believed of a file that starts as a PNG does."""
    return open_media(path, format="apng" if path.suffix.lower() == ".png" and is_png(path) else None)


def is_png(path: Path) -> bool:
    with contextlib.suppress(OSError), open(path, "rb") as file:
        return file.read(8) == b"\x89PNG\r\n\x1a\n"
    return False


def decodes(path: Path) -> bool:
    """Whether FFmpeg decodes a first frame of the file."""
    try:
        with open_container(path) as container:
            return next(container.decode(video=0), None) is not None
    except (av.FFmpegError, IndexError):
        return False


def is_still(path: Path) -> bool:
    """A file that FFmpeg reads as one picture whatever its name: an image (a PNG named clip.mp4:
    FFmpeg's image pipes), a GIF of one frame (which its demuxer would make a tenth of a second
    of video), or a stream that says it has one frame (an AVIF or HEIF still, a video of one)."""
    try:
        with open_container(path) as container:  # a stream is read while its container is open (PyAV 18.1.1 asserts it)
            stream = picture_stream(container)
            name, one = container.format.name, stream is not None and stream.frames == 1
    except (av.FFmpegError, OSError):
        return False  # not readable as media at all: the video source says so
    return name.endswith("_pipe") or name == "image2" or (name == "gif" and not animated(path)) or one


def picture_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first video stream that moves: a music file's cover picture (an MP3's, an M4A's) is a
    video stream of one frame, and so may be a film's poster beside its picture."""
    return next((stream for stream in container.streams.video
                 if not stream.disposition & av.stream.Disposition.attached_pic), None)


def sound_stream(container: av.container.InputContainer) -> av.AudioStream | None:
    """The audio stream a player plays: the one flagged default (a film's second language may come
    first), else the first."""
    streams = container.streams.audio
    return next((stream for stream in streams if stream.disposition & av.stream.Disposition.default),
                streams[0] if streams else None)


def timeline_origin(container: av.container.InputContainer) -> float:
    """Where a file's time 0 lies on its streams' clocks: its video's first timestamp (an MPEG-TS
    clip's is 1.4 s, say), or a sound file's audio's. Frames and sound are both counted from it,
    so they stay together."""
    for stream in (container.streams.video[0] if container.streams.video else None, sound_stream(container)):
        if stream is not None and stream.start_time is not None:
            return float(stream.start_time * stream.time_base)
    return 0.0


def frame_rate(container: av.container.InputContainer, stream: av.VideoStream) -> Fraction:
    """The rate frames are placed on: the stream's average, unless its frames keep a finer one
    (a phone's 30 fps with a hiccup averages 28, and placed on that drops a frame now and then;
    an animated GIF's quick frames among slow ones) or the average is a clock's tick instead
    (over 240 fps: a browser's WebM recording says 1000)."""
    average = Fraction(stream.average_rate or stream.guessed_rate or FOLDER_FPS)
    if container.format.name in ELEMENTARY and stream.guessed_rate:  # FFmpeg's average is its 25 fps placeholder
        average = Fraction(stream.guessed_rate)  # the rate the stream's own headers give (a 60 fps one played 2.4x slow)
    measured, own = measured_rate(container, stream, average)
    if measured is None:  # no spacing to tell by (one frame, or pictures shown for equal times)
        return average if average <= MAX_FPS else FOLDER_FPS
    return measured if own or average > MAX_FPS or measured > 1.01 * average else average


def measured_rate(container: av.container.InputContainer, stream: av.VideoStream, average: Fraction,
                  packets: int = 120) -> tuple[Fraction | None, bool]:
    """The frame rate the first packets' timestamps keep (one over their median spacing), the
    common rate it is within 3% of if there is one; and whether it is the frames' own, to be
    taken over the average: read off a coarse clock's rounding, or a slideshow's (its pictures'
    rate, where a flash counted in the average would move every picture after it). Spacings a tick apart are that rounding, not two rates: a GIF counts hundredths, so
    its 24 fps is 4, 4, 4, 4, 4, 5, and the rate is the one whose frame times round to them (the
    median, 4, is 25 fps, as FFmpeg's `average` says too, and would add a frame in 25). The clock
    may be coarser than the stream's time base (an MP4 re-times a recording's milliseconds to
    16ths of them), and a stall between frames (a variable-rate recording's) is no rounding: the
    rest of the spacings tell."""
    times = np.sort([p.pts for p, _ in zip((p for p in container.demux(stream) if p.pts is not None), range(packets))])
    spacings = np.diff(times)
    tick = int(np.gcd.reduce(spacings)) if len(spacings) else 0  # the clock's tick, in time-base units
    if tick <= 0:
        return None, False
    median = np.median(spacings)
    if median * stream.time_base >= SLIDESHOW:  # pictures rather than motion: a place for each, the shortest too
        shown = spacings[spacings * stream.time_base >= 1 / SLIDESHOW_MAX_FPS]  # a flash is left out, not paid for
        shortest = shown.min()
        if shortest >= 0.75 * np.median(shown) and len(shown) == len(spacings):  # equal times (a 3 fps clip's jitter aside)
            return None, False  # the average's rate
        # the briefest picture's rate: each has a place, and a flash left out moves none after it (the
        # average counted it: every picture after it shifted)
        return Fraction(1 / (int(shortest) * stream.time_base)).limit_denominator(1000), True
    regular = np.abs(spacings - median) <= tick  # within a tick of the usual spacing
    kept = spacings[regular]
    # a clock's rounding: two spacings a tick apart, each several ticks long (3003 and 6006 on a
    # 90 kHz clock is a dropped frame), and most of them
    rounded = regular.mean() >= 0.75 and kept.max() - kept.min() == tick and kept.min() >= 2 * tick
    spacing = float((kept.mean() if rounded else median) * stream.time_base)
    if not 0 < spacing < 1:
        return None, False
    if rounded:  # the rate whose frame times round to these ticks: the stream's average if it is one (a
        # WebM's 30000/1001 on its millisecond clock), else a whole one first (it cannot tell 24 from 24000/1001)
        runs = np.split(times, np.flatnonzero(~regular) + 1)  # the frames between stalls, each run on the rate's grid
        whole = [Fraction(math.floor(1 / spacing)), Fraction(math.ceil(1 / spacing))]
        fits = [rate for rate in [average, *whole, *COMMON_RATES] if rate > 0 and all(np.abs(
            run - run[0] - np.arange(len(run)) / float(rate * stream.time_base)).max() < tick for run in runs)]  # under a tick
        if fits:
            return fits[0], True
    nearest = min(COMMON_RATES, key=lambda rate: abs(float(rate) * spacing - 1))
    return (nearest if abs(float(nearest) * spacing - 1) < 0.03 else Fraction(1 / spacing).limit_denominator(100)), rounded


def video_seconds(container: av.container.InputContainer, stream: av.VideoStream, origin: float) -> float | None:
    """How long the picture runs from its first frame: the stream's own duration where the file
    says it (MP4), else Matroska's DURATION tag (where the track ends), else where the file ends.
    A Matroska file's duration is its longest track's: a recording whose sound runs on, or starts
    first, would declare frames its picture does not have. An AVI's header counts its frames, where
    FFmpeg's duration is of the packets it found: a cut file's, its index lost, is as long as
    what is left, and the file would be read short without a word."""
    if stream.duration:
        seconds = float(stream.duration * stream.time_base)
        if container.format.name == "avi" and stream.frames and stream.average_rate:
            return max(seconds, stream.frames / float(stream.average_rate))
        return seconds
    if match := re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", stream.metadata.get("DURATION", "").strip()):
        hours, minutes, rest = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(rest) - origin
    if container.duration:
        return ((container.start_time or 0) + container.duration) / 1e6 - origin
    return None


def demuxed_seconds(path: Path, fps: Fraction) -> float | None:
    """How long the picture runs, read from its packets, for a file that does not say (a raw H.264
    stream; a live WebM, as a browser's recorder writes it): from its first keyframe (what comes
    before it cannot be decoded) to where its last packet ends (one without a duration lasting a
    frame at `fps`), or, without timestamps, a frame a packet. Without it a schedule was checked
    at frame 0 alone and `T` was 1. Read once a file: a split batch opens its clip once a chunk."""
    stat = path.stat()
    return _demuxed_seconds(str(path.resolve()), (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns), fps)


@functools.lru_cache(maxsize=8)
def _demuxed_seconds(path: str, identity: tuple, fps: Fraction) -> float | None:
    count, first, end = 0, None, None
    with open_container(Path(path)) as container:
        for packet in container.demux(picture_stream(container)):
            if not packet.size or (not count and not packet.is_keyframe):
                continue
            count += 1
            if packet.pts is not None:
                at = float(packet.pts * packet.time_base)
                lasts = float(packet.duration * packet.time_base) if packet.duration else 1 / float(fps)
                first, end = (at, at + lasts) if first is None else (min(first, at), max(end, at + lasts))
    if end is not None:
        return end - first
    return float(count / fps) if count else None


def read_first_packet(container: av.container.InputContainer, stream: av.VideoStream) -> None:
    """Give the decoder the stream's first packet before a seek, as playing from the top would.
    FFmpeg's H.264 decoder reads the encoder's version from the SEI that x264 writes into its
    first frame, and decodes the streams of versions with known bugs accordingly (4:4:4 before
    core 151); one that starts at a later keyframe never sees it and turns such a stream into
    green blocks from there on (imageio's cockatoo.mp4 from 4 s), differently on every run.
    The seek drops what was decoded."""
    with contextlib.suppress(av.FFmpegError):
        for packet in container.demux(stream):
            stream.codec_context.decode(packet)
            return
