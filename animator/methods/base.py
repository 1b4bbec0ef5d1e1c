"""What every method offers the renderers: the Method protocol, the style of every frame
(StyleTrack) and what the previous output says about a frame of video (Temporal).

A method is a style transfer function f(style, content, init) -> image, split in three: what it
keeps of each style image is computed once per image (`encode_style`), mixed by each frame's
weights into a target (`mix_styles`, cheap: weights may follow schedules, so styles morph), and
applied (`transfer`). A self-style loop encodes the frame itself every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from animator.clock import When
from animator.preset.schema import Num

Styles = Sequence[tuple[torch.Tensor, Num]]  # (1x3xHxW image, weight) pairs; weights may be schedules


@dataclass(frozen=True)
class Temporal:
    """What the previous output says about this frame, for temporal consistency in video; and, for
    an optimizing method, an earlier output (the key) where the previous one could not see."""

    previous: torch.Tensor  # the previous output warped onto this frame by optical flow
    mask: torch.Tensor  # (1,1,H,W): 1 where the flow is trustworthy, 0 occluded
    weight: float
    key: torch.Tensor | None = None  # the key warped onto this frame
    key_mask: torch.Tensor | None = None  # where the key holds and the previous output does not
    key_weight: float = 0.0

    def held(self) -> tuple[tuple[torch.Tensor, torch.Tensor, float], ...]:
        """(image, mask, weight) for each output the frame is held to."""
        return ((self.previous, self.mask, self.weight),) + (((self.key, self.key_mask, self.key_weight),) if self.key is not None else ())

    def start(self, content: torch.Tensor) -> torch.Tensor:
        """Where optimizing starts: each pixel from the nearest output that saw it, else the content."""
        start = content if self.key is None else torch.where(self.key_mask > 0, self.key, content)
        return torch.where(self.mask > 0, self.previous, start)


def keep_previous(stylized: torch.Tensor, temporal: Temporal | None) -> torch.Tensor:
    """The feed-forward networks' `transfer` given `temporal` (a video makes their frames consistent
    in render/consistency.py): where the flow holds, blend the warped previous output back in by
    `weight`; elsewhere (occlusions, new content) keep the fresh stylization."""
    if temporal is None:
        return stylized
    return torch.lerp(stylized, temporal.previous, temporal.weight * temporal.mask)


class Method(Protocol):
    def encode_style(self, image: torch.Tensor) -> Any:
        """What the method keeps of one style image (a style vector, VGG19 representations, ...)."""

    def mix_styles(self, codes: Sequence[tuple[Any, float]], when: When | None = None) -> Any:
        """The style target of one frame: encoded styles with that frame's weights."""

    def transfer(self, target: Any, content: torch.Tensor, init: torch.Tensor | None = None,
                 when: When | None = None, temporal: Temporal | None = None) -> torch.Tensor:
        """Stylize content (Bx3xHxW in [0, 1]) towards a target; same shape out. `init` is where
        an optimizing method starts (the previous frame in a loop); `when` is the frame: its
        schedules' values and random numbers (the feed-forward networks use neither);
        `temporal`, in video, asks for consistency with the previous output."""


def prepare_style(method: Method, styles: Styles, when: When | None = None) -> Any:
    """The target for weighted style images, encoded on the spot: for a single use."""
    when_value = when.value if when is not None else (lambda w: w)
    return method.mix_styles([(method.encode_style(image), when_value(weight)) for image, weight in styles], when)


class StyleTrack:
    """The style of every frame of a render: fixed images, encoded once, whose weights may follow
    schedules (a morph); or, with `style: self`, each frame itself. An injected image takes its
    (scheduled) share of the whole, the rest keeping their proportions."""

    def __init__(self, method: Method, styles: Styles | None, inject: tuple[torch.Tensor, Any] | None = None):
        self.method = method
        self.codes = None if styles is None else [(method.encode_style(image), weight) for image, weight in styles]
        self.inject = None if inject is None else (method.encode_style(inject[0]), inject[1])

    def at(self, frame: torch.Tensor, when: When) -> Any:
        if self.codes is None:
            codes = [(self.method.encode_style(frame), 1.0)]
        else:
            codes = [(code, when.value(weight)) for code, weight in self.codes]
        if self.inject is not None and (share := when.value(self.inject[1])) > 0:
            total = sum(weight for _, weight in codes)
            codes = [(code, weight * (1 - share)) for code, weight in codes] + [(self.inject[0], share * total)]
        return self.method.mix_styles(codes, when)
