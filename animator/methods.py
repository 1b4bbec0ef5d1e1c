"""The Method protocol every renderer calls, and the registry of methods.

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
import torch.nn.functional as F

from animator.clock import When, at_frame
from animator.nets import arbitrary, multistyle
from animator.preset.schedule import Schedule
from animator.preset.schema import ArbitraryOptions, MethodOptions, MultistyleOptions, Num
from animator.style.gatys import GatysMethod

Styles = Sequence[tuple[torch.Tensor, Num]]  # (1x3xHxW image, weight) pairs; weights may be schedules


@dataclass(frozen=True)
class Temporal:
    """What the previous output says about this frame, for temporal consistency in video."""

    previous: torch.Tensor  # the previous output warped onto this frame by optical flow
    mask: torch.Tensor  # (1,1,H,W): 1 where the flow is trustworthy, 0 occluded
    weight: float


def keep_previous(stylized: torch.Tensor, temporal: Temporal | None) -> torch.Tensor:
    """The feed-forward networks' consistency: where the flow holds, blend the warped previous
    output back in by `weight`; elsewhere (occlusions, new content) keep the fresh stylization."""
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
    schedules (a morph); or, with `style: self`, each frame itself."""

    def __init__(self, method: Method, styles: Styles | None):
        self.method = method
        self.codes = None if styles is None else [(method.encode_style(image), weight) for image, weight in styles]

    def at(self, frame: torch.Tensor, when: When) -> Any:
        if self.codes is None:
            return self.method.mix_styles([(self.method.encode_style(frame), 1.0)], when)
        return self.method.mix_styles([(code, when.value(weight)) for code, weight in self.codes], when)


def center_square(image: torch.Tensor, side: int) -> torch.Tensor:
    """The largest centred square, resized to side x side: how the style predictor sees a style."""
    h, w = image.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    square = image[..., top:top + s, left:left + s]
    return F.interpolate(square, size=(side, side), mode="bilinear", antialias=True, align_corners=False)


class FeedForward:
    """A network: a frame's stylization depends on that frame (and the style) alone, so a video
    renderer may stylize several frames at once and make them consistent afterwards, in order."""

    def stylize(self, target: list, content: torch.Tensor) -> torch.Tensor:
        """The network's output for content (Bx3xHxW in [0, 1]), float32."""
        raise NotImplementedError

    def transfer(self, target: list, content: torch.Tensor, init: torch.Tensor | None = None,
                 when: When | None = None, temporal: Temporal | None = None) -> torch.Tensor:
        return keep_previous(self.stylize(target, content), temporal)


class ArbitraryMethod(FeedForward):
    def __init__(self, options: ArbitraryOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        self.options, self.dtype = options, dtype
        # The style predictor stays float32: in bfloat16 it is no faster and its vector drifts.
        self.predictor = arbitrary.load_predictor(device)
        self.transformer = arbitrary.load_transformer(device).to(dtype)

    @torch.inference_mode()
    def encode_style(self, image: torch.Tensor) -> torch.Tensor:
        """The style's 100-number vector."""
        return self.predictor(center_square(image, self.options.style_size))

    @torch.inference_mode()
    def mix_styles(self, codes: Sequence[tuple[torch.Tensor, float]], when: When | None = None) -> list:
        """The weighted mean of the style vectors, turned into every norm layer's (scale, shift)."""
        vectors = torch.cat([vector for vector, _ in codes])
        weights = torch.tensor([w for _, w in codes], device=vectors.device, dtype=vectors.dtype)
        vector = (weights @ vectors / weights.sum()).unsqueeze(0)
        return self.transformer.condition(vector.to(self.dtype))

    @torch.inference_mode()
    def stylize(self, target: list, content: torch.Tensor) -> torch.Tensor:
        return self.transformer.stylize(content.to(self.dtype), target).float()


class MultistyleMethod(FeedForward):
    def __init__(self, options: MultistyleOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        self.options, self.device, self.dtype = options, device, dtype
        self.net = multistyle.load_multistyle(device).to(dtype)
        scheduled = any(isinstance(weight, Schedule) for weight in options.style)
        self.fixed = None if scheduled else self._conditions(options.style)  # most mixes never change

    def encode_style(self, image: torch.Tensor) -> None:
        return None  # the style is a mix of the built-in ones: f(x, x) is g(x)

    def mix_styles(self, codes: Sequence[tuple[Any, float]], when: When | None = None) -> list:
        return self.fixed if self.fixed is not None else self._conditions(at_frame(self.options, when).style)

    @torch.inference_mode()
    def _conditions(self, weights: Sequence[float]) -> list:
        weights = torch.tensor(weights, device=self.device, dtype=torch.float32)
        return self.net.condition((weights / weights.sum()).to(self.dtype))

    @torch.inference_mode()
    def stylize(self, target: list, content: torch.Tensor) -> torch.Tensor:
        return self.net.stylize(content.to(self.dtype), target).float()


REGISTRY = {"arbitrary": ArbitraryMethod, "multistyle": MultistyleMethod, "gatys": GatysMethod}


def build_method(options: MethodOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0) -> Method:
    return REGISTRY[options.name](options, device, dtype, seed)
