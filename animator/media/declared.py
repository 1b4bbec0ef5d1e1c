"""How long a sound file says its sound runs. A file cut short (a download stopped part-way)
keeps its header, and FFmpeg decodes what is left without a word: the decoder's length held to
what the file declares finds it (media/audio.py)."""

from __future__ import annotations

import re
from pathlib import Path

import av

# Ogg codecs whose first frames FFmpeg places by their pages' granules: FLAC in Ogg starting past
# granule 0 is decoded from 0, so its sound would look short of its last page by that start
OGG_TIMED = frozenset({"opus", "vorbis"})


def told_seconds(container: av.container.InputContainer, stream: av.AudioStream, origin: float) -> float | None:
    """How long the file says its sound runs, in seconds from the timeline's origin, where that
    can be trusted; None where it cannot.
    - Matroska (WebM, MKA): the track's DURATION tag; without it, the file's duration where the
      sound is all it holds, or where the file's bytes end before its Segment does (beside a
      video, the file's duration is its longest stream's, which a whole file's sound may fall
      short of).
    - Ogg Opus and Vorbis: where the last page says (FFmpeg reads it off the file's end); FFmpeg
      drops a page whose CRC does not match, or stops at a damaged page header, without a word.
    - AIFF: its header's count of samples; WAV: its data chunk's size (wav_seconds), which FFmpeg
      trims to the bytes the file holds.
    - MP3: where its first frame is a Xing, Info or VBRI header counting its frames, and FFmpeg's
      length is the header's (without one, or where the file holds more bytes than the header
      counts, it is an estimate from a frame's bit rate).
    - FLAC: its STREAMINFO's count of samples, where it counts them.
    - MP4, M4A and MOV: their index (one written after the sound is lost with a cut, and the file
      cannot be read at all).
    - None elsewhere (an ADTS AAC or a raw AC-3 says nothing but an estimate from its bit rate)."""
    ogg = container.format.name == "ogg" and stream.codec_context.name in OGG_TIMED
    if (ogg or container.format.name == "aiff") and stream.duration is not None:
        # FFmpeg counts an Ogg's duration from granule 0, not from its first page's: the smaller,
        # where the two differ, is never past the end
        start = min(stream.start_time or 0, 0)
        return float((start + stream.duration) * stream.time_base) - origin
    if container.format.name == "mp3" and stream.duration is not None and \
            (counted := mp3_counted_seconds(Path(container.name))) is not None:
        # FFmpeg's length is the header's count less the encoder's delay and padding (LAME's tag: 12 bits
        # each, and the decoder's 529 samples); where the file holds more than the header says (a tag
        # of cover art appended, files joined end to end) it takes an estimate from the bit rate
        # instead, which is not to be held against the sound
        seconds, slack = float(stream.duration * stream.time_base), (2 * 4095 + 529) / (stream.sample_rate or 8000)
        if counted - slack <= seconds <= counted + 1e-3:
            return float(((stream.start_time or 0) + stream.duration) * stream.time_base) - origin  # after the delay
        return None
    if container.format.name == "wav":
        return wav_seconds(Path(container.name))
    if container.format.name == "flac" and (counted := flac_counted_seconds(Path(container.name))) is not None:
        return float((stream.start_time or 0) * stream.time_base) + counted - origin
    if "mp4" in container.format.name.split(",") and stream.duration is not None:  # its index, before the data or after
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base) - origin
    if "matroska" not in container.format.name.split(","):
        return None
    if match := re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?)", stream.metadata.get("DURATION", "").strip()):
        hours, minutes, rest = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + float(rest) - origin
    if container.duration and (len(container.streams) == 1 or segment_cut_short(Path(container.name))):
        return ((container.start_time or 0) + container.duration) / 1e6 - origin
    return None


def segment_cut_short(path: Path) -> bool:
    """Whether a Matroska file's bytes end before its Segment does (a download stopped part-way).
    A live recording's Segment has no size: never."""
    with open(path, "rb") as file:
        head = file.read(64)

    def number(at: int, marker_kept: bool) -> tuple[int | None, int]:  # an EBML variable-length number, and its end
        length = 9 - head[at].bit_length() if at < len(head) and head[at] else 9
        if length > 8 or at + length > len(head):
            return None, at
        value = int.from_bytes(head[at:at + length], "big")
        if not marker_kept:
            value &= (1 << (7 * length)) - 1
            value = None if value == (1 << (7 * length)) - 1 else value  # all ones: size unknown
        return value, at + length

    header, at = number(0, True)
    size, at = number(at, False)
    if header != 0x1A45DFA3 or size is None:
        return False
    segment, at = number(at + size, True)
    size, at = number(at, False)
    return segment == 0x18538067 and size is not None and path.stat().st_size < at + size


# WAV format tags whose bytes a second are exact: PCM, floats, A-law, mu-law, and the extensible
# header (PCM or floats in practice); a compressed WAV's (MP3 in WAV) is its average bit rate
CONSTANT_RATE = frozenset({0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE})


# A data size from here on is a writer's stand-in for one not yet known: arecord streaming to a pipe
# writes 2 GiB (0x80000000, or 0x7FFFFF00), others 0x7FFFFFFF; no WAV cut short in a download
STREAMED = 0x7FFF0000


def wav_seconds(path: Path) -> float | None:
    """The seconds a WAV's data chunk declares, from its header: its bytes over the bytes a
    second. None where the sizes are not known (a WAV streamed as written says 0, 0xFFFFFFFF or
    about 2 GiB; an RF64's are elsewhere), the samples are compressed, or the header cannot be
    read (FFmpeg's to judge). The bytes a second are the sample rate times a frame's bytes (its
    block align), as FFmpeg reads them, or the header's own count where that is more: a writer
    that counted them wrong (its valid bits, not the bytes that hold them) made a whole file look
    cut short."""
    with open(path, "rb") as file:
        if file.read(4) != b"RIFF" or len(file.read(4)) != 4 or file.read(4) != b"WAVE":
            return None
        per_second = None
        while len(head := file.read(8)) == 8:
            kind, size = head[:4], int.from_bytes(head[4:], "little")
            if kind == b"fmt ":
                body = file.read(size)
                constant = len(body) >= 12 and int.from_bytes(body[:2], "little") in CONSTANT_RATE
                rate, told, align = (int.from_bytes(body[at:at + n], "little") for at, n in ((4, 4), (8, 4), (12, 2)))
                per_second = max(rate * align, told) if constant else None  # the fewer, the longer it looks
                file.seek(size % 2, 1)  # chunks are padded to an even length
            elif kind == b"data":
                return size / per_second if per_second and 0 < size < STREAMED else None
            else:
                file.seek(size + size % 2, 1)
    return None


MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # MPEG-1, 2, 2.5


def mp3_counted_seconds(path: Path) -> float | None:
    """The seconds an MP3's first frame, after its ID3v2 tags, counts where it is a header that
    counts the file's frames (LAME's and FFmpeg's Xing (VBR) or Info (CBR) with its frame count, or
    Fraunhofer's VBRI): its frames times a frame's samples, the encoder's delay and padding
    included. None where there is none where it belongs (FFmpeg's length is then an estimate)."""
    with open(path, "rb") as file:
        file.seek(past_id3(file))
        frame = file.read(4 + 32 + 18)
    if len(frame) < 54 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0 or frame[1] & 0x06 != 0x02:  # layer III
        return None
    version, rate_index = frame[1] >> 3 & 3, frame[2] >> 2 & 3  # MPEG-1, 2 or 2.5; its sample rate
    if version not in MP3_RATES or rate_index == 3:  # reserved
        return None
    rate, mpeg1, mono = MP3_RATES[version][rate_index], version == 3, frame[3] >> 6 == 3
    side = 4 + ((17 if mono else 32) if mpeg1 else (9 if mono else 17))  # the header, then the side information
    if frame[side:side + 4] in (b"Xing", b"Info") and frame[side + 7] & 1:  # its flags: the frame count is there
        frames = int.from_bytes(frame[side + 8:side + 12], "big")
    elif frame[36:40] == b"VBRI" and frame[40:42] == b"\x00\x01":  # its version, then delay, quality, bytes, frames
        frames = int.from_bytes(frame[50:54], "big")
    else:
        return None
    return frames * (1152 if mpeg1 else 576) / rate


def past_id3(file) -> int:
    """Where a file's data begins after the ID3v2 tags before it (an MP3's, a FLAC's a tagger put
    there). FFmpeg reads tag after tag, as taggers leave them."""
    at = 0
    file.seek(0)
    while len(tag := file.read(10)) == 10 and tag[:3] == b"ID3":
        size = sum((b & 0x7F) << 7 * (3 - i) for i, b in enumerate(tag[6:10]))  # seven bits a byte ("syncsafe")
        at += 10 + size + (10 if tag[5] & 0x10 else 0)  # and a footer, where it has one
        file.seek(at)
    return at


def flac_counted_seconds(path: Path) -> float | None:
    """The seconds a FLAC's STREAMINFO block counts (its first, after the "fLaC" marker): its
    samples over its rate. None where it does not count them (0: a stream's encoder did not know)."""
    with open(path, "rb") as file:
        file.seek(past_id3(file))
        head = file.read(4 + 4 + 34)  # the marker, the block's header (its type, its length), STREAMINFO
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0:
        return None
    packed = int.from_bytes(head[18:26], "big")  # after the block and frame sizes: 20 bits of rate, 3 of
    rate, samples = packed >> 44, packed & ((1 << 36) - 1)  # channels, 5 of bits a sample, 36 of samples
    return samples / rate if rate and samples else None
