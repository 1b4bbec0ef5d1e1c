"""A preview's contact sheet: tiles of a render's frames in one PNG, marked as a preview's, with
the render's loudness and beats in a strip under them.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from animator.files import write_file
from animator.media.frame import Frame
from animator.media.image import pillow_told
from animator.media.sink import Sink


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
