"""The sound an output carries: a source's audio for the rendered span, remuxed where the
container takes its codec, else decoded and encoded again, cut where the picture ends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from animator.media.audio import GAP, played_frames, silence, told_gap
from animator.media.container import open_media, sound_stream, timeline_origin

log = logging.getLogger("animator")


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
            next(played_frames(self.source, source_stream))  # fail now, before the stream exists, if nothing decodes
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
        for frame, after_refused in played_frames(self.source, source_stream):
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
            # a gap in the timestamps, or a refused packet's place (Opus's 20 ms is no more than GAP): silence, as played
            if at - written > GAP * frame.sample_rate or after_refused and at > written:
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
