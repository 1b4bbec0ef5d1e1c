"""The Frame that flows from sources to sinks, and the one place images change representation.

Inside the engine an image is a float32 tensor 1x3xHxW, RGB in [0, 1], on the render device;
at the media boundary it is an HxWx3 uint8 array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    import torch

MULTIPLE = 8  # H.264 with yuv420p needs even sides; the networks want multiples of 4
MIN_SIDE = 16  # VGG19's four poolings before relu5_1 need 16 px; a thinner image is stretched to it
LUMA = (0.299, 0.587, 0.114)  # BT.601's weights of R, G and B in a picture's luminance


@dataclass(frozen=True)
class Frame:
    index: int
    time: Fraction  # seconds from the start of the render
    image: np.ndarray  # HxWx3 uint8 RGB


def fit_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(width, height) with the long side near `long_side`, aspect kept, both multiples of 8 and
    at least MIN_SIDE."""
    scale = long_side / max(width, height)
    return (
        max(MIN_SIDE, round(width * scale / MULTIPLE) * MULTIPLE),
        max(MIN_SIDE, round(height * scale / MULTIPLE) * MULTIPLE),
    )


def output_size(width: int, height: int, long_side: int, multiple: int = 1) -> tuple[int, int]:
    """An output's own (width, height): the long side `long_side` as asked, the short one to the
    aspect, both rounded to `multiple` (2 where a codec subsamples colour). The render's size
    rule (fit_size) is the networks'; an output is only resampled."""
    # halves up, whatever the parity (Python's round takes them to the even side: 75 was 76, 33 was 32)
    nearest = lambda x: max(multiple, math.floor(x / multiple + 0.5) * multiple)  # noqa: E731
    long_side = nearest(long_side)  # the short side follows the long one written
    scale = long_side / max(width, height)
    return tuple(nearest(side * scale) for side in (width, height))


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width * height < image.shape[0] * image.shape[1]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def covering(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """The image scaled to cover width x height, its shape kept, the overflow cropped evenly from
    both sides: a picture to compare with a frame pixel by pixel."""
    scale = max(width / image.shape[1], height / image.shape[0])
    scaled = resize(image, max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    top, left = (scaled.shape[0] - height) // 2, (scaled.shape[1] - width) // 2
    return scaled[top:top + height, left:left + width]


def on_white(image: np.ndarray, full: int = 255) -> np.ndarray:
    """An HxWx4 RGBA image (samples from 0 to `full`) over white as uint8, as a web page shows it:
    with its alpha dropped instead, a transparent pixel showed whatever colour it hid (a logo's
    background came out bright green)."""
    alpha = image[..., 3:].astype(np.float32) / full
    return ((image[..., :3] * alpha + full * (1 - alpha)) * (255 / full)).round().astype(np.uint8)


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float32 in [0, 1] on `device`."""
    import torch  # here, so that reading media and checking renders does not load torch

    t = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    return t.permute(2, 0, 1).unsqueeze(0).float().div_(255)


def fitted(image: np.ndarray, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """An 8-bit image at a render size (long side `size`, sides multiples of 8) as a tensor."""
    return to_tensor(resize(image, *fit_size(image.shape[1], image.shape[0], size)), device)


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """1x3xHxW float in [0, 1] -> HxWx3 uint8 (rounded, clamped) on the CPU."""
    import torch

    t = tensor.detach()[0].clamp(0, 1).mul(255).round_().to(torch.uint8)
    return t.permute(1, 2, 0).contiguous().cpu().numpy()


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W): the luminance of a (B,3,H,W) image."""
    return (image * image.new_tensor(LUMA)[None, :, None, None]).sum(1, keepdim=True)
