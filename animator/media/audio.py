"""Sound files in and out: any container PyAV reads, decoded to mono float samples at one rate;
and samples written as a compressed audio file (AAC in .m4a, Opus in .ogg or .opus).

Decoding checks what a user can get wrong (no such file, not audio, no audio stream, nothing in
it) and says so in one MediaError line, so a render fails before its first frame.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from animator.errors import MediaError
from animator.media.container import file_name, open_media, sound_stream, timeline_origin
from animator.media.declared import told_seconds

ANALYSIS_RATE = 22050  # Hz: enough for band energies up to 11 kHz and onsets to a few ms


@dataclass(frozen=True)
class Sound:
    samples: np.ndarray  # float32, mono; full scale 1 (a mix of many channels, or damage, may pass it)
    rate: int  # samples a second

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def decode_audio(path: Path, rate: int = ANALYSIS_RATE) -> Sound:
    """The audio stream of `path` a player plays (container.sound_stream), mixed down to mono and
    resampled to `rate`, on the file's own timeline (container.timeline_origin, where a render's
    copy of the sound is cut from): sound that starts late (a capture's audio 0.3 s after its
    video) begins with that much silence, a gap in its timestamps (or a packet the decoder
    refuses) is silence too, and sound before the file's time 0 is left out, so a beat heard is a
    beat seen. Where the mix cancels what the channels carry (a channel in opposite phase; a 5.1
    track's low-frequency channel, which FFmpeg's mix leaves out), the loudest channel is heard
    instead."""
    if not path.is_file():
        problem = "a folder, where an audio file goes" if path.is_dir() else \
            "audio file not found" if not path.exists() else "not a regular file, where an audio file goes"
        raise MediaError(f"{path}: {problem}")
    samples, loudest = _decoded(path, rate)
    if loudest is not None:
        samples, _ = _decoded(path, rate, loudest)
    if samples.size == 0:
        raise MediaError(f"{path}: expected sound, found an audio stream of length 0")
    return Sound(samples, rate)


log = logging.getLogger(__name__)

CANCELLED = 0.01  # the mix's energy, of its loudest channel's, below which the mix has lost the sound
GAP = 0.02  # seconds a frame starts after the sound placed before it, taken as a gap: a clock's jitter (an MKV's
# milliseconds, a capture's) is not


def played_frames(container: av.container.InputContainer,
                  stream: av.AudioStream) -> Iterator[tuple[av.AudioFrame, bool]]:
    """The sound stream's frames as a player plays them, each with whether a packet before it was
    passed over: one its decoder refuses (damaged data, a cut file's last fragment) is left out,
    and the sound goes on after it, its place a gap in the timestamps (silence, as played). Where
    nothing decodes at all, the first refusal is raised."""
    refused, skipped, decoded = None, False, False
    for packet in container.demux(stream):  # its last packet, empty, flushes the decoder
        try:
            frames = stream.decode(packet)
        except av.FFmpegError as exc:
            refused, skipped = refused or exc, True
            continue
        for frame in frames:
            yield frame, skipped
            skipped, decoded = False, True
    if refused is not None and not decoded:
        raise refused


def _decoded(path: Path, rate: int, channel: int | None = None) -> tuple[np.ndarray, int | None]:
    """The stream's sound at `rate` on the file's timeline: the mono mix, or one `channel`; and,
    for the mix, the channel to hear instead where the mix cancels it (None: the mix holds)."""
    try:
        container = open_media(path)
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: not a readable audio file ({exc.strerror or exc})") from None
    with container:
        if not container.streams.audio:
            found = "a video stream only" if container.streams.video else "no streams"
            raise MediaError(f"{path}: expected an audio stream, found {found}")
        if channel is None:
            channels_readable(path, container)
        stream = sound_stream(container)
        if stream.codec_context is None:  # a codec this FFmpeg has no decoder for (or a damaged codec id)
            raise MediaError(f"{path}: its audio stream's codec cannot be decoded here")
        origin = timeline_origin(container)
        ends = declared_end(container, stream)
        mix = av.AudioResampler(format="flt", layout="mono", rate=rate)
        # the channels as they are: their energies, or the one heard; packed, as PyAV 18 counts 9 planes in
        # a planar frame of 8 channels (7.1) and reads the ninth from nowhere (the process ends on a segfault)
        apart = av.AudioResampler(format="flt", rate=rate)
        chunks, energies, late, placed = [], np.zeros(1), None, 0.0  # placed: seconds of sound from `late` on

        def hear(frame: av.AudioFrame | None) -> None:  # None: what the resamplers hold back
            nonlocal energies
            if channel is None:
                chunks.extend(f.to_ndarray().reshape(-1) for f in mix.resample(frame))
            for piece in apart.resample(frame):
                planes = piece.to_ndarray().reshape(-1, len(piece.layout.channels)).T
                energies = energies + np.square(planes, dtype=np.float64).sum(axis=1)
                if channel is not None:
                    chunks.append(planes[channel])

        try:
            for frame, after_refused in played_frames(container, stream):
                if frame.time is not None:
                    late = frame.time - origin if late is None else late
                    gap = frame.time - origin - late - placed
                    # a gap in the timestamps, or a refused packet's place (Opus's 20 ms is no more than GAP): silence,
                    missing = round(gap * frame.sample_rate) if gap > GAP or after_refused and gap > 0 else 0
                    if missing:
                        told_gap(path, late + placed, gap)
                    for at in range(0, missing, frame.sample_rate):  # as played, a second at a time
                        hear(silence(frame, min(frame.sample_rate, missing - at)))
                    placed += missing / frame.sample_rate
                placed += frame.samples / frame.sample_rate
                hear(frame)
            hear(None)
            failed = None
        except av.FFmpegError as exc:  # a file whose packets cannot be read, or whose sound nothing decodes
            failed = exc
        told, heard = told_seconds(container, stream, origin), (late or 0.0) + placed
        if told is not None and heard < told - CUT_SHORT:
            raise MediaError(f"{path}: the sound ends after {heard:.2f} s where the file declares {told:.2f} s: it is "
                             "cut short or damaged")
        if failed is not None:
            raise MediaError(f"{path}: audio stream cannot be decoded ({failed.strerror or failed})")
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    loudest = None
    if channel is None and np.square(samples, dtype=np.float64).sum() < CANCELLED * energies.max():
        loudest = int(np.argmax(energies))
    shift = round((late or 0.0) * rate)
    samples = np.concatenate([np.zeros(shift, np.float32), samples]) if shift > 0 else samples[-shift:]
    if ends is not None:  # an AAC's last frame decodes whole, its padding too: the sound ends where the file says
        declared, padding = round((ends[0] - origin) * rate), round(ends[1] * rate)
        if 0 < declared < samples.size <= declared + padding:  # more than a frame's padding: the index is not to be trusted
            samples = samples[:declared]
    return samples, loudest


# FFmpeg reads the channel-layout chunk of a 7.1 AIFF or CAF (7.1 and 7.1(wide-side)) as a custom
# order of channels, and PyAV 18 frees such a layout twice as soon as anything reads the channels
# (the stream's layout or count, a decoded frame's layout): glibc ends the process. Which chunks
# FFmpeg reads so is its own business, so a process of its own reads them first (0.1 s).
CHUNKED_LAYOUTS = ("aiff", "caf")
READ_CHANNELS = """
import sys, av
try:
    with av.open(sys.argv[1], metadata_errors="replace") as container:
        for stream in container.streams.audio:
            stream.layout.name
            for frame in container.decode(stream):
                frame.layout.name
                break
except av.FFmpegError:
    pass  # damage: the render's own reading says what it is
"""


def channels_readable(path: Path, container: av.container.InputContainer) -> None:
    """Refuses, in one line, a sound whose channel layout would end the process as it is read."""
    if container.format.name not in CHUNKED_LAYOUTS:
        return
    if subprocess.run([sys.executable, "-c", READ_CHANNELS, file_name(path)], capture_output=True).returncode < 0:
        raise MediaError(f"{path}: its channel layout cannot be read here (PyAV crashes on the custom channel "
                         "order FFmpeg reads from a 7.1 AIFF or CAF): convert it to WAV or FLAC")


def silence(like: av.AudioFrame, samples: int) -> av.AudioFrame:
    """`samples` of silence in the format, layout and rate of `like`. Written plane by plane, not
    through numpy: PyAV 18 counts 9 planes in a planar frame of 8 channels (7.1)."""
    frame = av.AudioFrame(format=like.format.name, layout=like.layout.name, samples=samples)
    level = bytes([128 if like.format.name in ("u8", "u8p") else 0])  # unsigned 8-bit samples are silent in the middle
    for plane in frame.planes[:len(like.layout.channels) if like.format.is_planar else 1]:
        plane.update(level * plane.buffer_size)
    frame.sample_rate = like.sample_rate
    return frame


_GAPS: set[Path] = set()  # the files whose gaps have been told of


def told_gap(path: Path, at: float, gap: float) -> None:
    """A file's first gap in its sound's timestamps, told once: a recording that dropped some, or
    a damaged file whose decoder dropped what it could not read (an Ogg's page whose checksum does
    not match), where the sound goes on later than it would have."""
    if path not in _GAPS:
        _GAPS.add(path)
        log.warning("%s: its sound skips %.2f s at %.2f s (a recording's dropout, or damage): heard as silence there",
                    path, gap, at)


CUT_SHORT = 0.25  # seconds of sound a file may declare past its last packet (a codec's frame: 128 ms of AAC at 8 kHz)


def declared_end(container: av.container.InputContainer, stream: av.AudioStream) -> tuple[float, float] | None:
    """Where an MP4's or MOV's sound ends on its own clock, as its index (and edit list) says, and
    the most its last frame's padding lasts (seconds): FFmpeg hides an AAC's priming there but
    decodes the padding of its last frame (up to 1024 samples: 128 ms at 8 kHz, 3 frames at 24
    fps), which no player plays. None for other containers, whose durations may be estimates (an
    ADTS stream's, from its bit rate), and for codecs without frames of a fixed size."""
    frame = stream.codec_context.frame_size
    if "mp4" not in container.format.name.split(",") or stream.duration is None or stream.start_time is None or not frame:
        return None
    return float((stream.start_time + stream.duration) * stream.time_base), frame / stream.codec_context.sample_rate


CODECS = {".m4a": ("aac", "fltp", 44100), ".mp4": ("aac", "fltp", 44100), ".ogg": ("libopus", "flt", 48000),
          ".opus": ("libopus", "flt", 48000)}


def write_audio(path: Path, sound: Sound, bit_rate: int = 96_000) -> None:
    """Mono samples as a compressed file; the codec comes from the suffix (see CODECS)."""
    if path.suffix not in CODECS:
        raise MediaError(f"{path}: expected one of {', '.join(CODECS)} for an audio file")
    codec, sample_format, rate = CODECS[path.suffix]
    try:
        _write(path, sound, codec, sample_format, rate, bit_rate)
    except (OSError, av.FFmpegError) as exc:
        raise MediaError(f"{path}: cannot be written ({(exc.strerror or str(exc)).lower()})") from None


def _write(path: Path, sound: Sound, codec: str, sample_format: str, rate: int, bit_rate: int) -> None:
    with av.open(file_name(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout, stream.format, stream.bit_rate = "mono", sample_format, bit_rate
        resampler = av.AudioResampler(format=sample_format, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(np.clip(sound.samples, -1, 1).astype(np.float32)[None], format="flt",
                                           layout="mono")
        frame.rate, frame.pts, frame.time_base = sound.rate, 0, Fraction(1, sound.rate)
        for converted in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
