"""Sources yield Frames: a still image, a video file (decoded by PyAV in its own thread), or a
folder of images. Opening a source checks that it can be read, so bad input fails before any
output exists."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from animator.errors import MediaError
from animator.media.frame import Frame
from animator.media.pipeline import background

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our MediaError says it in one line

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
FOLDER_FPS = Fraction(24)


def read_image(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB (EXIF orientation applied, alpha dropped)."""
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    data = np.fromfile(path, dtype=np.uint8)  # imdecode, unlike imread, takes any path
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaError(f"{path}: not a readable image (expected PNG, JPEG, BMP, TIFF or WebP)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class ImageSource:
    def __init__(self, path: Path):
        self.path = path
        self.fps: Fraction | None = None
        self._image = read_image(path)

    def first(self) -> np.ndarray:
        return self._image

    def __iter__(self) -> Iterator[Frame]:
        yield Frame(0, Fraction(0), self._image)


class ImageFolderSource:
    def __init__(self, path: Path, fps: Fraction = FOLDER_FPS):
        self.path, self.fps = path, fps
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise MediaError(f"{path}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")

    def first(self) -> np.ndarray:
        return read_image(self.files[0])

    def __iter__(self) -> Iterator[Frame]:
        for i, file in enumerate(self.files):
            yield Frame(i, i / self.fps, read_image(file))


class VideoSource:
    """Frames of the first video stream, upright (rotation metadata applied), at the source rate."""

    def __init__(self, path: Path):
        self.path = path
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise MediaError(f"{path}: has no video stream")
                stream = container.streams.video[0]
                self.fps = Fraction(stream.average_rate or stream.guessed_rate or FOLDER_FPS)
                self.frame_count = stream.frames or None
        except av.FFmpegError as exc:
            raise MediaError(f"{path}: not a readable video ({exc.strerror or exc})") from None

    def _decode(self) -> Iterator[Frame]:
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for i, frame in enumerate(container.decode(stream)):
                    image = frame.to_ndarray(format="rgb24")
                    if frame.rotation:
                        image = np.ascontiguousarray(np.rot90(image, round(frame.rotation / 90) % 4))
                    yield Frame(i, i / self.fps, image)
        except av.FFmpegError as exc:
            raise MediaError(f"{self.path}: decoding failed ({exc.strerror or exc})") from None

    def first(self) -> np.ndarray:
        for frame in self._decode():
            return frame.image
        raise MediaError(f"{self.path}: video has no frames")

    def __iter__(self) -> Iterator[Frame]:
        return background(self._decode())


def open_source(path: Path) -> ImageSource | ImageFolderSource | VideoSource:
    if path.is_dir():
        return ImageFolderSource(path)
    if not path.exists():
        raise MediaError(f"{path}: file not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path)
    return VideoSource(path)
