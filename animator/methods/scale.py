"""Stroke scale: a feed-forward network paints strokes of a fixed size in pixels, so a large frame
gets a fine, regular grid of tiny strokes. Run at a fraction of the frame's size it paints larger
ones, at a fraction of the cost, but upsampling them alone is soft. The way back up here adds the
detail the small pass never saw: the content's luminance minus that of its shrunken copy (its
high frequencies), to every channel of the bicubically upsampled painting. The strokes keep their
size and the content's edges stay sharp. Images are Bx3xHxW in [0, 1].

Measured on a 1920x1080 frame of the bunny clip with `arbitrary` and the Hubble style: at 0.35,
the Gram distance to the style (at 384 px) is 0.89 of a 384 px render's, and the gradient energy
2.2 times that of the 384 px render upscaled with Lanczos (bicubic alone: 0.84 and 1.7; a guided
filter fit of the painting to the content: 1.02 and 1.4, its windows smooth the strokes away).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from animator.media.frame import luminance


def scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    return max(8, round(height * scale)), max(8, round(width * scale))


def shrink(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)


def at_stroke_scale(paint: Callable[[torch.Tensor], torch.Tensor], content: torch.Tensor, scale: float) -> torch.Tensor:
    """paint(content shrunk by `scale`), brought back to content's size with its lost detail."""
    small = shrink(content, scaled_size(*content.shape[-2:], scale))
    up = lambda x: F.interpolate(x, size=content.shape[-2:], mode="bicubic", align_corners=False)  # noqa: E731
    detail = luminance(content) - up(luminance(small))
    return (up(paint(small)) + detail).clamp(0, 1)
