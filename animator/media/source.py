"""Sources yield Frames: a still image, a video file (decoded by PyAV), or a folder of images.
Opening a source checks that it can be read, so bad input fails before any output exists. A
renderer that wants decoding beside its own work runs the source in a thread of its own."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from animator.errors import MediaError
from animator.files import why_unreadable
from animator.media.container import (FOLDER_FPS, decodes, demuxed_seconds, frame_rate, is_png, is_still,
                                       open_container, picture_stream, read_first_packet, timeline_origin,
                                       video_seconds)
from animator.media.display import Display, deinterlaced
from animator.media.frame import Frame
from animator.media.image import IMAGE_SUFFIXES, frames_in, read_image, shown_size

log = logging.getLogger(__name__)

SEEK_MARGIN = 10.0  # seconds before `start` to seek to when a seek to `start` lands past it
JUMP_BACK = 0.5  # seconds a frame's timestamp may fall below the last one's end before it is a second timeline
TIE = 1e-6  # of a place: a time that near a place's middle is taken to be at it


def places(seconds: float, fps: Fraction, to_end: bool = False) -> int:
    """The places at `fps` within `seconds`: those whose middle comes before its end, a place whose
    middle is the end itself left out, as `VideoSource` places frames (a frame that begins at a
    middle is the next place's). Not Python's `round`, which takes an exact half to the even side:
    0.5 s at 25 fps was 12 frames and 0.7 s 18. A span `to_end` of the video counts that place:
    the video's last frame begins at the middle before it, so it shows there (the last 0.5 s of a
    25 fps video, 12.5 places, shows 13 frames)."""
    if to_end:
        return max(0, math.floor(seconds * fps + 0.5 + TIE))
    return max(0, math.ceil(seconds * fps - 0.5 - TIE))


def image_files(folder: Path) -> list[Path]:
    """The images in a folder in the order their names count (frame2 before frame10: many tools
    number frames without leading zeros)."""
    def counted(path: Path) -> tuple:
        parts = [(0, int(part), "") if part.isdecimal() else (1, 0, part) for part in re.split(r"(\d+)", path.name) if part]
        return parts, path.name  # frame01 and frame1 count alike: then by name, so the order is always one

    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=counted)
    for path in files:
        if not path.is_file():  # a folder named like a frame, a link to nothing: a frame missing, not skipped
            raise MediaError(f"{path}: is {'a folder' if path.is_dir() else 'a link to nothing'}, where the folder's "
                             "frames are images")
    return files


def numbering_fault(files: list[Path]) -> str | None:
    """What is wrong with a folder's numbering, where its frames' names differ in their last number
    alone (frame_0001.png ... frame_0048.png): a number missing, or one given twice (f_1, f_01).
    None for names that differ otherwise (photos)."""
    named = [re.fullmatch(r"(.*?)(\d+)(\D*)", path.name) for path in files]
    if not named or not all(named) or len({(m.group(1), m.group(3)) for m in named}) > 1:
        return None
    numbered = sorted((int(m.group(2)), path.name) for m, path in zip(named, files))
    for (number, name), (after, later) in zip(numbered, numbered[1:]):
        if after == number:
            return f"frame {number} is there twice ({name}, {later})"
        if after > number + 1:
            missing = sum(b - a - 1 for (a, _), (b, _) in zip(numbered, numbered[1:]) if b > a + 1)
            return f"frame {number + 1} is missing" + (f" (and {missing - 1} more)" if missing > 1 else "")
    return None


class ImageSource:
    frame_count, has_audio = 1, False

    def __init__(self, path: Path):
        self.path = path
        self.fps = FOLDER_FPS
        self._image = read_image(path)

    def first(self) -> np.ndarray:
        return self._image

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(0, Fraction(0), self._image)


class ImageFolderSource:
    """A folder of images as a video at `fps`, within [start, start + duration) as a video file's
    span is."""

    has_audio = False

    def __init__(self, path: Path, start: float = 0.0, duration: float | None = None, fps: Fraction = FOLDER_FPS):
        self.path, self.fps = path, fps
        files = image_files(path)
        if not files:
            raise MediaError(f"{path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        first = places(start, fps)  # place 0's file: the last to begin before its middle
        if first >= len(files):
            raise MediaError(f"{path}: video.start {start} s is past the end ({len(files)} images at "
                             f"{float(fps):g} fps: {len(files) / float(fps):.2f} s)")
        self.files = files[first:] if duration is None else files[first:first + places(duration, fps)]
        self.frame_count = len(self.files)
        if not self.files:
            raise MediaError(f"{path}: video.duration {duration} s is half a frame or less at {float(fps):g} fps")
        size = shown_size(self.files[0])  # every header read now: a bad frame fails before any output exists
        for file in self.files[1:]:
            _same_size(file, shown_size(file), size)

    def first(self) -> np.ndarray:
        return read_image(self.files[0])

    def __iter__(self) -> Iterator[Frame]:
        size = None
        for i, file in enumerate(self.files):
            image = read_image(file)
            size = size or image.shape[1::-1]
            _same_size(file, image.shape[1::-1], size)  # as its header said, unless it changed since
            yield Frame(i, i / self.fps, image)


def _same_size(file: Path, size: tuple[int, int], first: tuple[int, int]) -> None:
    if tuple(size) != tuple(first):
        raise MediaError(f"{file}: {size[0]}x{size[1]}, where the folder's first image is {first[0]}x{first[1]}: "
                         "a folder's images make one video, so they share one size")


class VideoSource:
    """Frames of the first video stream within [start, start + duration), as a player shows them
    (display.py), indexed from 0 at the source's frame rate.

    Each place on that rate, counted from the stream's first timestamp (an MPEG-TS clip starts at
    1.4 s, say), shows the last frame that began by the place's middle: over a variable-rate
    video's slow stretch a frame is held, of a fast stretch's frames the later in each place is
    kept, and a frame off its time by less than half a place (a phone's jitter) keeps its place,
    so the render lasts as long as the source and stays with its sound, and a constant-rate video
    maps one to one."""

    def __init__(self, path: Path, start: float = 0.0, duration: float | None = None):
        self.path, self.start, self.duration = path, start, duration
        self.head_missing = 0.0  # seconds of the span before its first decodable frame, once decoded
        try:
            with open_container(path) as container:
                stream = picture_stream(container)
                if stream is None:
                    cover = "a sound file with a cover picture, not a video"
                    raise MediaError(f"{path}: {cover if container.streams.video else 'has no video stream'}")
                if stream.codec_context is None:  # a codec this FFmpeg has no decoder for (or a damaged codec id)
                    raise MediaError(f"{path}: its video stream's codec cannot be decoded here")
                self.origin = timeline_origin(container)  # before packets are read: a Matroska's start time moved with them
                self.fps = frame_rate(container, stream)
                self.display = Display(stream)
                self.has_audio = bool(container.streams.audio)
                seconds = video_seconds(container, stream, self.origin)
            self.counted = seconds is None  # the file does not say: its packets do (this reads them all, once)
            if self.counted:
                seconds = demuxed_seconds(path, self.fps)
        except av.FFmpegError as exc:
            raise MediaError(f"{path}: not a readable video ({exc.strerror or exc})") from None
        if path.suffix.lower() == ".gif":
            whole_gif(path)
        elif is_png(path):
            whole_apng(path)
        if seconds is not None and start >= seconds:
            raise MediaError(f"{path}: video.start {start} s is past the end ({seconds:.2f} s)")
        end = seconds if duration is None else min(seconds or start + duration, start + duration)
        # a duration past the video's end is a span to its end: its last frame shows, as without one
        to_end = duration is None or seconds is not None and (start + duration - seconds) * self.fps > TIE
        self.frame_count = places(end - start, self.fps, to_end=to_end) if end is not None else None
        if self.frame_count == 0 and duration is not None:
            cut = f"video.duration {duration:g} s is" if end == start + duration else \
                f"video.start {start:g} s leaves {end - start:.2f} s of the video,"
            raise MediaError(f"{path}: {cut} half a frame or less at {float(self.fps):g} fps")
        if seconds is not None and duration is not None and start + duration > seconds + 0.5 / self.fps:
            log.warning("%s: video.duration %g s runs past the end of the video (%.2f s from video.start %g s): "
                        "the render ends with it", path, duration, seconds - start, start)

    def _decode(self) -> Iterator[Frame]:
        count, damage = 0, Damage()
        try:
            for count, frame in enumerate(self._on_rate(damage), 1):
                yield frame
        except av.FFmpegError as exc:  # nothing decoded from the top (or a read failing part-way)
            if not self._packets_short():  # a cut file's refusal comes below, with the frames it gave
                raise MediaError(f"{self.path}: decoding failed ({exc.strerror or exc})") from None
        # short of what it declares; or of its packets, where pictures among them were refused
        if self.frame_count is not None and count < self.frame_count - 1 and (not self.counted or damage.refused_any):
            if self.head_missing:  # a recording cut between keyframes: what comes before the first cannot be decoded
                raise MediaError(f"{self.path}: its first {self.head_missing:.2f} s cannot be decoded (it starts between "
                                 f"keyframes, as a cut recording does): set video.start to "
                                 f"{math.ceil((self.start + self.head_missing) * 100) / 100:.2f}")  # on or after the keyframe
            # which says all: the damage of its last picture, cut part-way, goes untold
            raise MediaError(f"{self.path}: the video ends after {count} frames where it declares "
                             f"{self.frame_count}: it is cut short or damaged")
        damage.tell()

    def _packets_short(self) -> bool:
        """Whether the file's packets end a frame or more before the span it declares: it is cut.
        Its refusal then says so, whether or not the decoder could read its last picture (cut
        part-way, or damaged too: which, an encoder's threads decide)."""
        if self.frame_count is None or self.counted:
            return False
        try:
            seconds = demuxed_seconds(self.path, self.fps)
        except av.FFmpegError:  # its packets cannot all be read
            return True
        return seconds is None or seconds < self.start + (self.frame_count - 1) / self.fps

    def _on_rate(self, damage: Damage) -> Iterator[Frame]:
        """The span's frames on the source's rate: place i (at start + i / fps) shows the last frame
        that began before its middle. Which frame a place shows depends on that place alone, so the
        parts of a split render show the whole render's frames, fast and slow stretches included."""
        half, tie = 0.5 / self.fps, 1e-6  # a frame that begins at a middle is the next place's
        # a span, or a length counted from packets (no frame past what schedules were checked on), is a
        # limit; else the count is the file's estimate
        limit = self.frame_count if self.duration is not None or self.counted else None
        origin, index, shown, image, before, until = self.start, 0, None, None, None, None
        latest = -math.inf  # the latest frame time so far
        for seen, (time, frame) in enumerate(self._timed(half, damage)):
            time = time if time is not None else seen / self.fps  # no timestamps: one a place, decoded from the top
            # Judged by start times: an MP4's frame durations follow decode order, so with B-frames a
            # pause's length may be a neighbour's. Far back is not jitter: a second clock.
            if time < latest - max(JUMP_BACK, 2 / self.fps):
                raise MediaError(f"{self.path}: its timestamps go back from {latest:.2f} s to {time:.2f} s (recordings "
                                 "joined end to end?): remux it first (ffmpeg -i IN -c copy OUT.mp4 joins the timelines)")
            latest = max(latest, time)
            if time < self.start - half:
                before = frame
                continue
            if shown is None:
                if time > self.start + half and before is None:  # nothing decodable before it (a cut recording): the span starts with it
                    self.head_missing, origin = (time - self.start if time > self.start + 1.5 / self.fps else 0.0), time
                # a frame that begins at place 0's middle is place 1's: place 0 shows the one before (a
                # slow stretch's frame, still showing), else the next place showed it again
                late = time > self.start + half - tie
                shown = before if late and before is not None else frame
            while time > origin + (index + 0.5) / self.fps - tie:  # the places that end with `shown` on screen
                if limit is not None and index >= limit:
                    return
                image = self.display.image(shown) if image is None else image
                yield Frame(index, index / self.fps, image)
                index += 1
            if frame is not shown:
                shown, image = frame, None
            lasts = getattr(frame, "duration", None)  # not every PyAV the project allows gives frames one
            until = time + (float(lasts * frame.time_base) if lasts else 1 / self.fps)
        if shown is not None and image is None and (limit is None or index < limit):  # the last frame, once
            image = self.display.image(shown)
            yield Frame(index, index / self.fps, image)
            index += 1
        while image is not None and (self.frame_count is None or index < self.frame_count) and (
                origin + (index + 0.5) / self.fps < until - tie):  # and for as long as it lasts
            yield Frame(index, index / self.fps, image)
            index += 1

    def _timed(self, half: float, damage: Damage) -> Iterator[tuple[float | None, av.VideoFrame]]:
        """(seconds from the stream's first timestamp, frame), in order, from about `start` on. A
        seek that lands past `start` (MPEG-TS seeks by bytes, and can miss) is tried again further
        back, then made good by decoding from the top (where the seek itself fails, as in a raw
        H.264 stream with no index). Decoded without threads: on frame threads how H.264's decoder
        conceals damage, whether it marks a damaged last picture (26 of 40 reads beside a busy core,
        where a damaged last picture then went untold), and which frames PyAV drops as one refuses a
        picture depend on the threads' timing; on slice threads it conceals nothing and marks
        nothing. (A 1280x720 frame: 2.0 ms on one thread, 1.4 on frame threads.)"""
        for target in (self.start, self.start - SEEK_MARGIN, 0.0) if self.start > 0 else (0.0,):
            if target < 0:
                continue
            with open_container(self.path) as container:
                stream = picture_stream(container)
                stream.thread_type = "NONE"
                if target > 0:
                    read_first_packet(container, stream)
                    try:
                        container.seek(int((self.origin + target) / stream.time_base), stream=stream)
                    except av.FFmpegError:
                        continue
                landed = target == 0  # a seek has landed once a frame at or before `start` comes out
                for frame in deinterlaced(decoded(container, stream, damage, target > 0), stream):
                    time = frame.time - self.origin if frame.time is not None else None
                    if not landed:
                        if time is None or time > self.start + half:
                            break
                        landed = True
                    yield time, frame
                if landed:
                    return

    def first(self) -> np.ndarray:
        for frame in self._decode():
            return frame.image
        raise MediaError(f"{self.path}: video has no frames" + (f" after {self.start} s" if self.start else ""))

    def __iter__(self) -> Iterator[Frame]:
        return self._decode()


def whole_gif(path: Path) -> None:
    """A GIF cut short decodes without a word: its last frame part painted, the rest of it the
    frame before. Its blocks are walked instead: each image's data must end where its length
    says. (A GIF whose last image is whole but whose trailer byte is missing is read, as players
    read it.)"""
    data = path.read_bytes()
    if not data.startswith(b"GIF8"):  # named .gif, another format inside: FFmpeg read it by its content
        return
    at = 13 + (3 << ((data[10] & 7) + 1) if len(data) > 10 and data[10] & 0x80 else 0)  # header, screen, global colours
    images = 0

    def sub_blocks(at: int) -> int:
        while at < len(data) and data[at]:
            at += data[at] + 1
        return at + 1  # past the zero-length block that ends them

    while at < len(data) and data[at] != 0x3B:  # the trailer
        if data[at] == 0x21:  # an extension: its label, then data blocks
            at = sub_blocks(at + 2)
        elif data[at] == 0x2C:  # an image: its descriptor, its own colours, the LZW code size, data blocks
            flags = data[at + 9] if at + 9 < len(data) else 0
            at = sub_blocks(at + 11 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0))
            images += 1
        else:
            raise MediaError(f"{path}: a damaged GIF (a block of no known kind after {images} whole frames)")
    if at > len(data):
        raise MediaError(f"{path}: the GIF is cut short (its data ends after {images - 1} whole frames): it is "
                         "damaged or was not copied whole")


def whole_apng(path: Path) -> None:
    """An animated PNG cut short decodes without a word (with threads, FFmpeg's error on the cut
    frame is dropped): it ended where its data did. Its chunks are walked instead: each must end
    where its length says, up to the end chunk, and there must be as many frames as its animation
    control declares. (A cut that falls between chunks, even between the chunks of one frame's
    data, leaves whole chunks: only the missing end chunk tells.)"""
    data = path.read_bytes()
    at, declared, frames, ended = 8, None, 0, False
    while at + 12 <= len(data):  # a chunk: its data's length, its type, its data, a CRC
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if at + 12 + length > len(data):
            break
        if kind == b"acTL":
            declared = int.from_bytes(data[at + 8:at + 12], "big")
        frames += kind == b"fcTL"  # a frame's control, its data after it
        if kind == b"IEND":
            ended = True
            break
        at += 12 + length
    if declared is not None and not ended:
        raise MediaError(f"{path}: the animated PNG is cut short (its data ends before its end chunk; it declares "
                         f"{declared} frames): it is damaged or was not copied whole")
    if declared is not None and frames < declared:
        raise MediaError(f"{path}: a damaged animated PNG (it declares {declared} frames and holds {frames})")


ALPHA_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}


def decoded(container: av.container.InputContainer, stream: av.VideoStream, damage: Damage,
            sought: bool = False) -> Iterator[av.VideoFrame]:
    """The stream's frames. A WebM's VP8 or VP9 with transparency (its `alpha_mode` tag: a sticker,
    an overlay) carries the alpha plane beside the picture, where FFmpeg's own decoders drop it and
    show the colours under the transparent part; libvpx's decoders read it, so the frame is laid
    over white as any other picture with transparency. Picture data a decoder refuses before the
    first frame of a stream that starts between keyframes, or after a seek (`sought`), is passed
    over without a word: those pictures lean on others that are not in what is read (a VP9
    recording cut part-way is then told where its pictures begin). Damage anywhere else, whether
    the decoder conceals it from the pictures around it and marks it (H.264's decoder does, VP8's
    does not) or refuses the picture (left out, the picture before it shown on), is told once, as
    a warning (`damage`): players show such a file, so it renders as they show it. (A file cut
    short, whose last picture is cut part-way, is refused for the frames it lacks; where nothing
    decodes from the top, the first refusal is raised.)"""
    tags = {key.lower(): value for key, value in stream.metadata.items()}
    decoder = ALPHA_DECODERS.get(stream.codec_context.name) if tags.get("alpha_mode") == "1" else None
    alpha = decoder is not None and decoder in av.codecs_available
    context = av.CodecContext.create(decoder, "r") if alpha else stream.codec_context
    part_way, started, at_keyframe, latest, refused = sought, False, False, None, None
    for i, packet in enumerate(container.demux(stream)):  # its last packet, empty, flushes the decoder
        if packet.size:
            damage.tell()  # the file goes on past the damage: not a cut file's last picture
        part_way = part_way or (i == 0 and not packet.is_keyframe)
        at_keyframe = at_keyframe or (i == 0 and packet.is_keyframe)  # a seek's landing too: its picture is whole
        try:
            frames = context.decode(packet) if alpha else stream.decode(packet)
        except av.FFmpegError as exc:  # its data damaged (InvalidDataError; an APNG's zlib stream: an "external" error)
            refused = refused or exc
            if started or not part_way:  # told as after the last picture decoded
                damage.seen(container, stream, latest, refused=True)
            continue
        if (started or not part_way or at_keyframe) and any(frame.is_corrupt for frame in frames):
            damage.seen(container, stream, next(frame for frame in frames if frame.is_corrupt).time)
        started = started or bool(frames)
        latest = max((frame.time for frame in frames if frame.time is not None), default=latest)
        yield from frames
    if refused is not None and not started and not sought:  # nothing decodes (a feature this FFmpeg lacks, say)
        raise refused


_DAMAGED: set[str] = set()  # the files whose damaged pictures have been told of


class Damage:
    """The first picture of a file whose damage its decoder concealed or refused, told once: as
    soon as the file goes on past it, else once the file has ended whole. A file cut short ends
    in a picture cut part-way, and its refusal says all."""

    def __init__(self):
        self.file, self.at, self.refused = None, "", False
        self.refused_any = False  # whether the decoder refused a picture, told or not

    def seen(self, container: av.container.InputContainer, stream: av.VideoStream, time: float | None,
             refused: bool = False) -> None:
        """`time`: the damaged picture's, else (`refused`) the last picture's decoded before it."""
        self.refused_any = self.refused_any or refused
        if self.file is None and container.name not in _DAMAGED:
            self.file, self.refused = container.name, refused
            if time is None:
                self.at = " at its start" if refused else ""
            else:
                self.at = f" {'after' if refused else 'at'} {time - float((stream.start_time or 0) * stream.time_base):.2f} s"

    def tell(self) -> None:
        if self.file is not None and self.file not in _DAMAGED:
            _DAMAGED.add(self.file)
            shown = "a picture the decoder cannot read left out, the one before it shown on" if self.refused else \
                "the damage concealed from the pictures around it"
            log.warning("%s: picture data damaged%s (and perhaps later): rendered as players show it, %s", self.file,
                        self.at, shown)
        self.file = None



Source = ImageSource | ImageFolderSource | VideoSource


def open_source(path: Path, start: float = 0.0, duration: float | None = None, fps: Fraction | None = None,
                moving: bool = False) -> Source:
    """`fps`: a folder of images' rate (FOLDER_FPS if None); a video file keeps its own. An
    animated PNG is a video; `moving` (video mode, metrics) refuses a still image, which would make
    a video of one frame, and an animation the video decoder cannot read (animated WebP), which
    would make one of its first frame."""
    if problem := why_unreadable(path):
        raise MediaError(f"{path}: {problem}")
    if path.is_dir():
        return ImageFolderSource(path, start, duration, fps or FOLDER_FPS)
    if path.suffix.lower() not in IMAGE_SUFFIXES and not (moving and is_still(path)):
        return VideoSource(path, start, duration)
    frames = frames_in(path)
    if frames > 1 and decodes(path):  # FFmpeg reads an animated PNG, not an animated WebP
        return VideoSource(path, start, duration)
    ffmpeg_reads = frames == 0 and decodes(path)  # what Pillow cannot read, whatever its name: a video named x.png
    if ffmpeg_reads and not is_still(path):
        return VideoSource(path, start, duration)
    if frames > 1 and moving:
        raise MediaError(f"{path}: an animation of {frames} frames that the video decoder cannot read; "
                         "convert it to a GIF or a video first")
    if moving:
        if frames == 0 and not ffmpeg_reads:
            read_image(path)  # what is wrong with a file nothing reads
        raise MediaError(f"{path}: a still image, where a moving picture is needed: a video, an animated GIF or PNG, "
                         "or a folder of images")
    return ImageSource(path)


