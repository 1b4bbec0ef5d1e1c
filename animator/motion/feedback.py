"""Feedback motion: how x[t] moves before each step of an iterate loop (zoom, rotation,
translation, perspective tilt), as one homography about the image centre, sampled with
grid_sample on the render device. Where the moved picture leaves the frame the border fills in
by reflection, by repeating the edge, or by wrapping around."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from animator.preset.schema import MotionConfig

PADDING = {"reflect": "reflection", "replicate": "border"}
WRAP_PAD = {"bilinear": 1, "bicubic": 2}  # pixels of the far side a sample may read beyond an edge


def is_still(motion: MotionConfig) -> bool:
    return motion.zoom == 1 and not any((motion.angle, motion.translate_x, motion.translate_y, motion.tilt_x, motion.tilt_y))


def homography(motion: MotionConfig, width: int, height: int) -> np.ndarray:
    """3x3, from a pixel of the moved picture to where it comes from in the picture before
    (pixel coordinates, y down). The picture zooms about its centre, turns counter-clockwise
    by `angle` degrees on screen, tilts about its horizontal (tilt_x) and vertical (tilt_y) axis
    as a plane seen by a camera with a 53-degree field of view, then shifts."""
    cx, cy = (width - 1) / 2, (height - 1) / 2
    focal = max(width, height)
    a, tx, ty = math.radians(motion.angle), math.radians(motion.tilt_x), math.radians(motion.tilt_y)
    centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]])
    lens = np.diag([focal, focal, 1.0])
    tilt_x = np.array([[1, 0, 0], [0, math.cos(tx), -math.sin(tx)], [0, math.sin(tx), math.cos(tx)]])
    tilt_y = np.array([[math.cos(ty), 0, math.sin(ty)], [0, 1, 0], [-math.sin(ty), 0, math.cos(ty)]])
    turned = tilt_y @ tilt_x
    # The picture is a plane at the focal distance, turned about its own axes: K [r1 r2 t].
    tilt = lens @ np.column_stack([turned[:, 0], turned[:, 1], [0, 0, focal]]) / focal
    turn = np.array([[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]])
    zoom = np.diag([motion.zoom, motion.zoom, 1.0])
    back = np.array([[1, 0, cx + motion.translate_x], [0, 1, cy + motion.translate_y], [0, 0, 1]])
    forward = back @ zoom @ turn @ tilt @ centre
    return np.linalg.inv(forward)


def move(image: torch.Tensor, motion: MotionConfig) -> torch.Tensor:
    """image (B,C,H,W) moved by one step of `motion` (its values already resolved to numbers)."""
    if is_still(motion):
        return image
    h, w = image.shape[-2:]
    matrix = torch.as_tensor(homography(motion, w, h), dtype=torch.float32, device=image.device)
    ys, xs = torch.meshgrid(torch.arange(h, device=image.device, dtype=torch.float32),
                            torch.arange(w, device=image.device, dtype=torch.float32), indexing="ij")
    points = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1) @ matrix.T
    source = points[..., :2] / points[..., 2:].clamp_min(1e-6)  # behind the camera: far away
    moved = _border(image, source, motion)
    behind = points[..., 2] <= 1e-6
    if motion.border != "replicate" and bool(behind.any()):
        # Nothing lies behind the camera (a strong tilt on both axes): the edge repeated, as far
        # away; reflected or wrapped, those far points were a scatter of arbitrary pixels.
        moved = torch.where(behind, _sample(image, source, w, h, "border", motion.resample), moved)
    return moved


def _border(image: torch.Tensor, source: torch.Tensor, motion: MotionConfig) -> torch.Tensor:
    """The picture sampled at `source` (pixels), filled beyond its edges as `motion.border` says."""
    h, w = image.shape[-2:]
    if motion.border == "wrap":
        # Wrapped coordinates plus a circular pad wide enough for the sampler's whole footprint
        # (bilinear reads one neighbour on a side, bicubic two), so sampling across the seam is right.
        pad = WRAP_PAD[motion.resample]
        padded = F.pad(image, (pad, pad, pad, pad), mode="circular")
        source = torch.stack([source[..., 0].remainder(w), source[..., 1].remainder(h)], dim=-1) + pad
        return _sample(padded, source, w + 2 * pad, h + 2 * pad, "border", motion.resample)
    return _sample(image, source, w, h, PADDING[motion.border], motion.resample)


def _sample(image: torch.Tensor, source: torch.Tensor, width: int, height: int, padding: str, mode: str) -> torch.Tensor:
    scale = source.new_tensor([2 / max(width - 1, 1), 2 / max(height - 1, 1)])
    grid = (source * scale - 1).unsqueeze(0).expand(image.shape[0], -1, -1, -1)
    moved = F.grid_sample(image, grid, mode=mode, padding_mode=padding, align_corners=True)
    return moved.clamp(0, 1) if mode == "bicubic" else moved  # bicubic overshoots
