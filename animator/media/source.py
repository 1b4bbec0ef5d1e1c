"""Sources yield Frames: a still image, a video file (decoded by PyAV), or a folder of images.
Opening a source checks that it can be read, so bad input fails before any output exists. A
renderer that wants decoding beside its own work runs the source in a thread of its own."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import imageio.v3 as iio
import numpy as np
from PIL import Image

from animator.errors import MediaError
from animator.media.frame import Frame

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
FOLDER_FPS = Fraction(24)


# Pillow modes whose samples are deeper than 8 bits: read as they are and scaled here, because
# Pillow's own conversion to RGB clips them instead of scaling.
DEEP_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}


def read_image(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB: EXIF orientation applied, alpha dropped, CMYK, palette
    and grey converted, 16-bit and float samples scaled to 8 bits (read by Pillow through imageio)."""
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    try:
        with iio.imopen(path, "r", plugin="pillow") as file:
            mode = file.metadata(index=0)["mode"]
            image = file.read(index=0, rotate=True, mode=None if mode in DEEP_MODES else "RGB")
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        raise MediaError(f"{path}: not a readable image (expected PNG, JPEG, BMP, TIFF or WebP)") from None
    if mode in DEEP_MODES:
        scaled = np.clip(image.astype(np.float64) * (255 / DEEP_MODES[mode]), 0, 255).round().astype(np.uint8)
        image = np.repeat(scaled[..., None], 3, axis=2)  # Pillow's deep modes are single-channel
    return np.ascontiguousarray(image)


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
    has_audio = False

    def __init__(self, path: Path, fps: Fraction = FOLDER_FPS):
        self.path, self.fps = path, fps
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        self.frame_count = len(self.files)
        if not self.files:
            raise MediaError(f"{path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")

    def first(self) -> np.ndarray:
        return read_image(self.files[0])

    def __iter__(self) -> Iterator[Frame]:
        shape = None
        for i, file in enumerate(self.files):
            image = read_image(file)
            if shape is not None and image.shape != shape:
                raise MediaError(f"{file}: {image.shape[1]}x{image.shape[0]}, where the folder's first image is "
                                 f"{shape[1]}x{shape[0]}: a folder's images make one video, so they share one size")
            shape = image.shape
            yield Frame(i, i / self.fps, image)


class VideoSource:
    """Frames of the first video stream within [start, start + duration), upright (rotation
    metadata applied), indexed from 0 at the source's frame rate."""

    def __init__(self, path: Path, start: float = 0.0, duration: float | None = None):
        self.path, self.start, self.duration = path, start, duration
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise MediaError(f"{path}: has no video stream")
                stream = container.streams.video[0]
                self.fps = Fraction(stream.average_rate or stream.guessed_rate or FOLDER_FPS)
                seconds = float(stream.duration * stream.time_base) if stream.duration else (
                    container.duration / 1e6 if container.duration else None)
                self.has_audio = bool(container.streams.audio)
        except av.FFmpegError as exc:
            raise MediaError(f"{path}: not a readable video ({exc.strerror or exc})") from None
        if seconds is not None and start >= seconds:
            raise MediaError(f"{path}: video.start {start} s is past the end ({seconds:.2f} s)")
        end = seconds if duration is None else min(seconds or start + duration, start + duration)
        self.frame_count = round((end - start) * self.fps) if end is not None else None

    def _decode(self) -> Iterator[Frame]:
        end = None if self.duration is None else self.start + self.duration
        half = 0.5 / self.fps  # frame times are compared to the span with half a frame of slack
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                if self.start > 0:
                    container.seek(int(self.start / stream.time_base), stream=stream)
                index = 0
                for frame in container.decode(stream):
                    time = frame.time if frame.time is not None else self.start + index / self.fps
                    if time < self.start - half:
                        continue
                    if end is not None and time >= end - half:
                        break
                    image = frame.to_ndarray(format="rgb24")
                    if frame.rotation:
                        image = np.ascontiguousarray(np.rot90(image, round(frame.rotation / 90) % 4))
                    yield Frame(index, index / self.fps, image)
                    index += 1
                else:  # the stream ran out before the span did
                    if self.frame_count is not None and index < self.frame_count - 1:
                        raise MediaError(f"{self.path}: the video ends after {index} frames where it declares "
                                         f"{self.frame_count}: it is cut short or damaged")
        except av.FFmpegError as exc:
            raise MediaError(f"{self.path}: decoding failed ({exc.strerror or exc})") from None

    def first(self) -> np.ndarray:
        for frame in self._decode():
            return frame.image
        raise MediaError(f"{self.path}: video has no frames" + (f" after {self.start} s" if self.start else ""))

    def __iter__(self) -> Iterator[Frame]:
        return self._decode()


Source = ImageSource | ImageFolderSource | VideoSource


def open_source(path: Path, start: float = 0.0, duration: float | None = None) -> Source:
    if path.is_dir():
        return ImageFolderSource(path)
    if not path.exists():
        raise MediaError(f"{path}: file not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoSource(path, start, duration)
