"""What a render keeps so that a killed render resumes and ends with the same frames.

A hidden work folder beside the outputs holds every finished frame as a lossless PNG and the
float state of the last one. Re-running replays the stored frames into fresh sinks and continues
from that state; a preset whose fingerprint changed starts over.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import torch

from animator import __version__
from animator.media.frame import Frame
from animator.media.source import read_image
from animator.preset.convert import to_plain
from animator.preset.schema import Preset


FAST_PNG = [cv2.IMWRITE_PNG_COMPRESSION, 1]


def fingerprint(preset: Preset, engine: str = "") -> str:
    """What decides the frames: the preset less its cosmetic keys, the engine (device type and
    compute type, as resolved on this machine) and the animator version."""
    plain = to_plain(preset)
    for cosmetic in ("description", "outputs", "source", "device", "precision"):
        plain.pop(cosmetic, None)
    return hashlib.sha256(json.dumps([plain, engine, __version__], sort_keys=True).encode()).hexdigest()


class Checkpoint:
    def __init__(self, folder: Path, preset: Preset, engine: str = ""):
        self.folder, self.key = folder, fingerprint(preset, engine)
        self.state_file = folder / "state.pt"

    def load(self) -> tuple[int, torch.Tensor] | None:
        """(index, state) of the last finished frame, or None to start from the beginning."""
        if not self.state_file.is_file():
            return None
        try:
            saved = torch.load(self.state_file, map_location="cpu", weights_only=True)
        except Exception:  # a torn or foreign file: start over rather than fail
            return None
        if saved.get("fingerprint") != self.key:
            return None
        return int(saved["index"]), saved["state"]

    def frames(self, last: int, fps: Fraction) -> Iterator[Frame]:
        for index in range(last + 1):
            yield Frame(index, index / fps, read_image(self._frame_path(index)))

    def save(self, frame: Frame, state: torch.Tensor) -> None:
        """Store the frame, then the state: the state never points past a stored frame."""
        (self.folder / "frames").mkdir(parents=True, exist_ok=True)
        image = cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR)
        # Compression level 1: the frames are lossless either way and this runs once per frame.
        _atomic(self._frame_path(frame.index), lambda tmp: cv2.imencode(".png", image, FAST_PNG)[1].tofile(tmp))
        payload = {"fingerprint": self.key, "index": frame.index, "state": state.detach().cpu()}
        _atomic(self.state_file, lambda tmp: torch.save(payload, tmp))

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _frame_path(self, index: int) -> Path:
        return self.folder / "frames" / f"{index:06d}.png"


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
