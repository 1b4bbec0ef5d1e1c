"""The one interface of every mode's renderer, and what a loaded render hands it.

A renderer yields (index, image, state) for each frame it writes, from the start or from a
resume point: the index and state of a frame it yielded before. Its state is whatever it needs
to go on from that frame (frames without one, such as in-betweens, are not resume points).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from animator.clock import Clock
from animator.media.source import Source
from animator.methods import Method, StyleTrack
from animator.preset.schema import Preset

Rendered = tuple[int, torch.Tensor, Any]  # (frame index, image, state to resume from, or None)
Resume = tuple[int, Any]  # (frame index, its state)


@dataclass(frozen=True)
class Loaded:
    """A render's parts, loaded: its preset, input, method and the style of every frame."""

    preset: Preset
    source: Source
    first: torch.Tensor  # the input's first frame at the render size, on the device
    device: torch.device
    method: Method
    styles: StyleTrack
    clock: Clock
    frames: int | None = None  # the frames written, where known before the render (a loop's)


class Renderer(Protocol):
    def __init__(self, loaded: Loaded): ...

    def frames(self, resume: Resume | None = None) -> Iterator[Rendered]:
        """Every frame from the start, or those after `resume`."""
