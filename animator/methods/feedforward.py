"""The feed-forward networks as methods: `arbitrary` (Ghiasi et al. 2017, any image is a style
through a 100-number vector) and `multistyle` (Dumoulin et al. 2017, 26 built-in styles)."""

from __future__ import annotations

import math

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from animator.clock import When, at_frame
from animator.methods.base import Temporal, keep_previous
from animator.methods.scale import at_stroke_scale, scaled_size, shrink
from animator.nets import arbitrary, multistyle, tiled
from animator.nets.layers import Norms, StylizationNetwork
from animator.preset.schedule import Schedule
from animator.preset.schema import ArbitraryOptions, MultistyleOptions


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

    options: ArbitraryOptions | MultistyleOptions
    net: StylizationNetwork
    dtype: torch.dtype

    @torch.inference_mode()
    def network(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        """The network's output for content (Bx3xHxW in [0, 1]) at its own size, float32; `norms`:
        its instance norms' statistics recorded, or given (nets/layers.py)."""
        return tiled.run(self.net, content.to(self.dtype), target, norms).float()

    def stylize(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        """The stylized content, painted at `stroke_scale` of its size (see scale.py)."""
        scale = self.options.stroke_scale
        if scale >= 1:
            return self.network(target, content, norms)
        return at_stroke_scale(lambda small: self.network(target, small, norms), content, scale)

    # The network in two halves, for consistency in the features a frame is painted from:
    # encode(content) -> features (at a quarter of the painting's size); decode -> the frame.

    def painting_size(self, content: torch.Tensor) -> tuple[int, int]:
        return scaled_size(*content.shape[-2:], self.options.stroke_scale)

    @torch.inference_mode()
    def encode(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        size = self.painting_size(content)
        small = content if size == tuple(content.shape[-2:]) else shrink(content, size)
        return tiled.encode(self.net, small.to(self.dtype), target, norms)

    @torch.inference_mode()
    def decode(self, target: list, features: torch.Tensor, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        """The frame that features paint, at content's size."""
        size = self.painting_size(content)
        if size == tuple(content.shape[-2:]):
            return tiled.decode(self.net, features, target, size, norms).float()
        return at_stroke_scale(lambda small: tiled.decode(self.net, features, target, size, norms).float(), content,
                               self.options.stroke_scale)

    def transfer(self, target: list, content: torch.Tensor, init: torch.Tensor | None = None,
                 when: When | None = None, temporal: Temporal | None = None) -> torch.Tensor:
        return keep_previous(self.stylize(target, content), temporal)


class ArbitraryMethod(FeedForward):
    def __init__(self, options: ArbitraryOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        self.options, self.dtype = options, dtype
        # The style predictor stays float32: in bfloat16 it is no faster and its vector drifts.
        self.predictor = arbitrary.load_predictor(device)
        self.net = arbitrary.load_transformer(device).to(dtype)
        self.mixed: tuple[list, list | None] = ([], None)  # the last mix: its codes and their target

    @torch.inference_mode()
    def encode_style(self, image: torch.Tensor) -> torch.Tensor:
        """The style's 100-number vector."""
        return self.predictor(center_square(image, self.options.style_size))

    @torch.inference_mode()
    def mix_styles(self, codes: Sequence[tuple[torch.Tensor, float]], when: When | None = None) -> list:
        """The weighted mean of the style vectors, turned into every norm layer's (scale, shift). The
        same vectors at the same weights give the same target, made once: most mixes never change,
        and the video key tells a still style by it without comparing numbers (a wait on a GPU)."""
        last, target = self.mixed
        if len(last) == len(codes) and all(v is u and w == x for (v, w), (u, x) in zip(codes, last)):
            return target
        vectors = torch.cat([vector for vector, _ in codes])
        total = math.fsum(w for _, w in codes)  # in float64: weights of 1e-50 are 0 in float32, and 0 / 0 NaN
        weights = torch.tensor([w / total for _, w in codes], device=vectors.device, dtype=vectors.dtype)
        vector = (weights @ vectors).unsqueeze(0)
        target = self.net.condition(vector.to(self.dtype))
        self.mixed = (list(codes), target)
        return target


class MultistyleMethod(FeedForward):
    def __init__(self, options: MultistyleOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        self.options, self.device, self.dtype = options, device, dtype
        self.net = multistyle.load_multistyle(device).to(dtype)
        scheduled = any(isinstance(weight, Schedule) for weight in options.style)
        self.fixed = None if scheduled else self._conditions(options.style)  # most mixes never change
        self.mixed: tuple[tuple[float, ...], list] | None = None

    def encode_style(self, image: torch.Tensor) -> None:
        return None  # the style is a mix of the built-in ones: f(x, x) is g(x)

    def mix_styles(self, codes: Sequence[tuple[Any, float]], when: When | None = None) -> list:
        if self.fixed is not None:
            return self.fixed
        weights = tuple(at_frame(self.options, when).style)
        mixed = self.mixed  # the last scheduled mix, read once (frame workers call this at once)
        if mixed is not None and mixed[0] == weights:
            return mixed[1]  # a schedule that holds: the same target, as arbitrary's (the key need not compare)
        target = self._conditions(weights)
        self.mixed = (weights, target)
        return target

    @torch.inference_mode()
    def _conditions(self, weights: Sequence[float]) -> list:
        total = math.fsum(weights)  # in float64, as mix_styles
        return self.net.condition(torch.tensor([w / total for w in weights], device=self.device).to(self.dtype))
