"""Image files read as pictures: one picture as HxWx3 uint8 RGB (read by Pillow), its size and
format from its header, how many frames a file holds. What Pillow warns of is told once, naming
the file."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import ExifTags, Image

from animator.errors import MediaError
from animator.files import why_unreadable
from animator.media import png
from animator.media.frame import on_white

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

# Pillow refuses images over twice this as possible decompression bombs, and warns over it. Its
# default (89 million) refused a 200-megapixel phone photo; this takes one (600 MB decoded).
Image.MAX_IMAGE_PIXELS = 200_000_000

# Pillow modes whose samples are deeper than 8 bits: read as they are and scaled here, because
# Pillow's own conversion to RGB clips them instead of scaling.
DEEP_MODES = {"I;16": 65535, "I;16L": 65535, "I;16B": 65535, "I;16N": 65535, "I": 65535, "F": 1.0}


_TOLD: set[tuple[str, str]] = set()
_TELLING = threading.RLock()


@contextlib.contextmanager
def pillow_told(path: Path) -> Iterator[None]:
    """Pillow reading `path`: what it warns of (damaged EXIF data, which it reads past) is one
    WARNING naming the file, once a run, where Python printed its own two lines, naming Pillow's
    source, each time the file was opened. Its warning of a large image is not one: read_image
    takes what Pillow warns of. One thread at a time: `catch_warnings` swaps the module's state,
    and two threads inside it at once could leave one's recorder in place, swallowing every later
    warning."""
    with _TELLING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            yield
        finally:
            pillow = [w for w in caught if f"{os.sep}PIL{os.sep}" in w.filename]
    for w in caught:
        if w not in pillow:  # another thread's, caught in passing: as it would have been shown
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for message in dict.fromkeys(" ".join(str(w.message).split()) for w in pillow):
        if (str(path), message) not in _TOLD:
            _TOLD.add((str(path), message))
            log.warning("%s: %s", path, message)


def read_image(path: Path) -> np.ndarray:
    """An image file as HxWx3 uint8 RGB: EXIF orientation applied, transparency laid over white,
    CMYK, palette and grey converted, 16-bit and float samples scaled to 8 bits (read by Pillow
    through imageio; 16-bit colour by OpenCV)."""
    if not path.is_file():
        raise MediaError(f"{path}: {'a folder, where an image file goes' if path.is_dir() else why_unreadable(path)}")
    try:
        with pillow_told(path), iio.imopen(path, "r", plugin="pillow") as file:
            metadata = file.metadata(index=0)
            mode = metadata["mode"]
            see_through = mode in ALPHA_MODES or "transparency" in metadata  # a palette's transparent colour too
            image = file.read(index=0, rotate=True, mode=None if mode in DEEP_MODES else "RGBA" if see_through else "RGB")
            decoded = getattr(file, "_image", None)  # Pillow's picture as decoded (imageio keeps it open)
            rows_missing = decoded is not None and decoded.format == "PNG" and png.rows_missing(path, bottom_row(decoded))
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        bomb = exc if isinstance(exc, Image.DecompressionBombError) else exc.__cause__  # imageio wraps it
        if isinstance(bomb, Image.DecompressionBombError):  # Pillow's guard against files that unpack to gigabytes
            pixels = int(re.search(r"\((\d+) pixels\)", str(bomb)).group(1))
            raise MediaError(f"{path}: {pixels / 1e6:.3g} megapixels, more than the {2 * Image.MAX_IMAGE_PIXELS / 1e6:.3g} "
                             "the image reader takes; scale it down first") from None
        if isinstance(exc, PermissionError) or isinstance(exc.__cause__, PermissionError):
            raise MediaError(f"{path}: permission denied") from None
        if kind := image_format(path):  # its header read, its pictures not: a download stopped part-way, say
            raise MediaError(f"{path}: a {kind} image that cannot be decoded: it is cut short or damaged") from None
        raise MediaError(f"{path}: not a readable image (expected PNG, JPEG, BMP, TIFF or WebP)") from None
    if rows_missing:  # Pillow leaves them black without a word
        raise MediaError(f"{path}: a PNG image whose picture data ends before its last row: it is cut short or damaged")
    if mode in DEEP_COLOUR_MODES and (deep := sixteen_bit_colour(path)) is not None:
        image = on_white(deep, 65535) if deep.shape[2] == 4 else (deep / 257).round().astype(np.uint8)
    elif mode in DEEP_MODES:
        low, high = float(image.min()), float(image.max())
        if low < 0 or high > DEEP_MODES[mode] or not math.isfinite(high - low):  # clipped, it would be a flat picture
            kind = "floating-point" if mode == "F" else "integer"
            raise MediaError(f"{path}: {kind} samples from {low:g} to {high:g}, where {kind} images are read from 0 to "
                             f"{DEEP_MODES[mode]:g} (it would come out flat); save it as an 8- or 16-bit image")
        scaled = np.clip(image.astype(np.float64) * (255 / DEEP_MODES[mode]), 0, 255).round().astype(np.uint8)
        image = np.repeat(scaled[..., None], 3, axis=2)  # Pillow's deep modes are single-channel
    elif see_through:
        image = on_white(image)
    return np.ascontiguousarray(image)


def bottom_row(picture: Image.Image) -> bytes:
    """The last row of a picture as Pillow decoded it, before any conversion or turn."""
    width, height = picture.size
    return picture.crop((0, height - 1, width, height)).tobytes()


def image_format(path: Path) -> str | None:
    """The format Pillow finds in an image file's header (PNG, JPEG, ...); None where it finds none.
    Pillow opens a WebP only whole (libwebp reads its RIFF chunk's whole length): one cut short is
    known by its signature."""
    try:
        with pillow_told(path), Image.open(path) as image:
            return image.format
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        with open(path, "rb") as file:
            head = file.read(12)
        return "WebP" if head[:4] == b"RIFF" and head[8:12] == b"WEBP" else None


ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
DEEP_COLOUR_MODES = {"RGB", "RGBA", "LA"}  # what Pillow calls a PNG's or TIFF's 16-bit colour, read as 8 bits

# EXIF orientation -> the numpy steps that show the picture upright (Pillow's exif_transpose)
UPRIGHT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
           8: lambda a: np.rot90(a)}


def sixteen_bit_colour(path: Path) -> np.ndarray | None:
    """A PNG's or TIFF's 16-bit colour samples as HxWx3 or HxWx4 uint16 RGB(A), shown upright;
    None where they are not 16-bit. Pillow has no 16-bit colour mode: it reads them as 8 bits,
    cut rather than rounded (a level low in a quarter of the samples). OpenCV reads them whole."""
    import cv2

    with pillow_told(path), Image.open(path) as image:
        if not any(";16" in str(tile.args) for tile in image.tile):
            return None
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # as stored: EXIF orientation is not applied
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3:
        return None
    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return UPRIGHT.get(orientation, lambda a: a)(pixels)


def shown_size(path: Path) -> tuple[int, int]:
    """An image's width and height as read_image gives it (EXIF orientation applied), from its
    header alone."""
    try:
        with pillow_told(path), Image.open(path) as image:
            turned = image.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
            return image.size[::-1] if turned else image.size
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        height, width = read_image(path).shape[:2]  # which fails with what is wrong
        return width, height


def animated(path: Path) -> bool:
    """Whether Pillow finds a second frame (without counting them all, as `frames_in` does); a file
    it cannot read is left to the video decoder. (Pillow's GIF reader raises IndexError at a file
    cut after an image's header, struct.error at one cut inside it.)"""
    try:
        with pillow_told(path), Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, Image.DecompressionBombError):
        return True


def frames_in(path: Path) -> int:
    """How many frames an image file holds (an animated PNG or WebP has several); 0 for a file
    Pillow cannot open (a video under an image's name, or no picture at all, which read_image
    then reports)."""
    try:
        with pillow_told(path), Image.open(path) as image:
            return getattr(image, "n_frames", 1)
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, Image.DecompressionBombError):
        return 0
