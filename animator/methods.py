"""The Method protocol every renderer calls, and the registry of methods.

A method is a style transfer function f(style, content, init) -> image, split in two so that a
fixed style is prepared once per render while a self-style loop prepares it every step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from animator.nets import arbitrary, multistyle
from animator.preset.schema import ArbitraryOptions, MethodOptions, MultistyleOptions
from animator.style.gatys import GatysMethod

Styles = Sequence[tuple[torch.Tensor, float]]  # (1x3xHxW image, weight) pairs


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
    def prepare_style(self, styles: Styles) -> Any:
        """The method's own style target (a vector, Gram matrices, ...), from weighted images."""

    def transfer(self, target: Any, content: torch.Tensor, init: torch.Tensor | None = None,
                 rng: torch.Generator | None = None, temporal: Temporal | None = None) -> torch.Tensor:
        """Stylize content (Bx3xHxW in [0, 1]) towards a prepared target; same shape out. `init` is
        where an optimizing method starts (the previous frame in a loop); `rng` draws this frame's
        random numbers (the feed-forward networks use neither); `temporal`, in video, asks for
        consistency with the previous output."""


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
                 rng: torch.Generator | None = None, temporal: Temporal | None = None) -> torch.Tensor:
        return keep_previous(self.stylize(target, content), temporal)


class ArbitraryMethod(FeedForward):
    def __init__(self, options: ArbitraryOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        self.options, self.dtype = options, dtype
        # The style predictor stays float32: in bfloat16 it is no faster and its vector drifts.
        self.predictor = arbitrary.load_predictor(device)
        self.transformer = arbitrary.load_transformer(device).to(dtype)

    @torch.inference_mode()
    def prepare_style(self, styles: Styles) -> list:
        """The weighted mean of the styles' vectors, turned into every norm layer's (scale, shift)."""
        batch = torch.cat([center_square(image, self.options.style_size) for image, _ in styles])
        weights = torch.tensor([w for _, w in styles], device=batch.device, dtype=batch.dtype)
        vector = (weights @ self.predictor(batch) / weights.sum()).unsqueeze(0)
        return self.transformer.condition(vector.to(self.dtype))

    @torch.inference_mode()
    def stylize(self, target: list, content: torch.Tensor) -> torch.Tensor:
        return self.transformer.stylize(content.to(self.dtype), target).float()


class MultistyleMethod(FeedForward):
    def __init__(self, options: MultistyleOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        self.dtype = dtype
        self.net = multistyle.load_multistyle(device).to(dtype)
        with torch.inference_mode():
            self.conditions = self.net.condition(torch.tensor(options.style, device=device, dtype=dtype))

    def prepare_style(self, styles: Styles) -> list:
        return self.conditions  # a fixed mix of the built-in styles: f(x, x) is g(x)

    @torch.inference_mode()
    def stylize(self, target: list, content: torch.Tensor) -> torch.Tensor:
        return self.net.stylize(content.to(self.dtype), target).float()


REGISTRY = {"arbitrary": ArbitraryMethod, "multistyle": MultistyleMethod, "gatys": GatysMethod}


def build_method(options: MethodOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0) -> Method:
    return REGISTRY[options.name](options, device, dtype, seed)
