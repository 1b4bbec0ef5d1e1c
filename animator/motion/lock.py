"""Holding a panning picture's place on the network's lattice (`temporal.pan_lock`).

The feed-forward networks paint from features a quarter of the size, so their strokes sit on a
lattice of 4 pixels (4 / `stroke_scale` of the frame's): a picture shifted by a fraction of that
is painted with other strokes, not the same strokes shifted. On a pan every frame lands at another
place on the lattice, and the consistency has to warp strokes the network would not paint there,
by sub-pixel amounts, again and again. While the whole frame moves as one (the camera pans), each
frame is shifted by what the pan has travelled, less whole lattice periods, so the picture keeps
its place on the lattice; the output is shifted back once. The flow found between the frames is
carried into those shifted frames, where the part of the picture that moves with the pan moves by
whole periods: its vectors are set to exactly that, so what is warped there is not resampled.

With the camera's motion known, what moves across the pan stands out: where its flow compresses
(the trailing edge of an object crossing the frame) the background is coming out from behind it.
DIS spreads the object's motion a few pixels over that band, so the forward-backward check trusts
most of it, and the consistency would drag the object's strokes into it and hold them there as a
trail for dozens of frames; the band is doubted instead, so it is painted afresh, and handed on
for the network to paint as the per-frame render does (render/band.py).

Frames whose motion is not one translation (a handheld camera turning, footage whose subject
moves on a still background) are left where they are: the shift then stays what it was.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from animator.motion.warp import warp

# The frame pans when COHERENT of its pixels move within NEAR px of the median motion and that
# motion is STILL px or more. The project's pan: 0.84-0.88 of its pixels; handheld footage
# (imageio's office and cockatoo clips) 0.03-0.10 in the median, 0.33 at its 90th percentile.
# A still camera's frame can bob as one by a fifth of a pixel, up and down (Intel's `book` clip:
# 0.17-0.24 px on 6 of its 108 frames; `car-detection` 0.24): shifted after it, such frames lost
# detail to the resampling and gained nothing, so STILL lies above that.
COHERENT, NEAR, STILL = 0.5, 0.5, 0.25
SNAP = 0.25  # px: vectors this close to the pan's are the pan's, set to whole periods
# Uncovered: where the flow moves ASTRAY px or more off the pan's and its divergence is below
# -COMPRESSED (px a px; an object 3 px a frame faster than the pan, spread by DIS over ~8 px,
# compresses by ~0.4), grown by SPREAD px, the width over which DIS smooths a motion's edge.
ASTRAY, COMPRESSED, SPREAD = 0.5, 0.1, 3


@dataclass(frozen=True)
class Shift:
    """Where a frame is sampled from (`offset`, in px: frame pixel p shows source pixel p + offset),
    and the pan travelled up to it (`travel`, the lock's state)."""

    offset: tuple[float, float] = (0.0, 0.0)
    travel: tuple[float, float] = (0.0, 0.0)


class PanLock:
    """Applied to the frames in order: each frame's shift, from the flow found from the one before."""

    def __init__(self, period: float, travel: tuple[float, float] = (0.0, 0.0)):
        self.period = period
        self.last = self.shift(travel)

    def shift(self, travel: tuple[float, float]) -> Shift:
        offset = tuple(t - self.period * self.periods(t) for t in travel)
        return Shift(offset, travel)

    def periods(self, travel: float) -> int:
        """Whole lattice periods in a travel: the shift is what is left (within half a period)."""
        return round(travel / self.period)

    def next(self, motion: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[tuple[torch.Tensor, torch.Tensor] | None, Shift,
                                                                           torch.Tensor | None]:
        """The frame's motion from the last, carried into the shifted frames, the frame's shift, and
        where something crossing the pan has uncovered the background (`uncovered`, in the shifted
        frame; None where nothing has)."""
        before = self.last
        if motion is None:  # the first frame, or one before a resume point: where the last was
            return None, before, None
        backward, held = motion
        pan = panning(backward)
        whole = None  # how far the pan's own pixels move between the shifted frames: whole periods
        if not held.any():  # a cut: the new shot starts where frames are not shifted
            now = self.shift((0.0, 0.0))
        elif pan is None:
            now = before
        else:
            now = self.shift((before.travel[0] + pan[0], before.travel[1] + pan[1]))
            whole = tuple(-self.period * (self.periods(n) - self.periods(b)) for n, b in zip(now.travel, before.travel))
        self.last = now
        flow, mask, band = carried(backward, held, before, now, whole)
        return (flow, mask), now, band


def placed(image: np.ndarray, shift: Shift) -> np.ndarray:
    """The frame (HxWx3 uint8) as it is painted: sampled at each pixel + the shift (bicubic)."""
    if shift.offset == (0.0, 0.0):
        return image
    matrix = np.float32([[1, 0, shift.offset[0]], [0, 1, shift.offset[1]]])
    return cv2.warpAffine(image, matrix, image.shape[1::-1], flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def panning(backward: torch.Tensor) -> tuple[float, float] | None:
    """How far the picture moved (px, x then y) when the frame moves as one; None when it does not.
    From every 4th pixel of every 4th row: the median of a pan is the same."""
    vectors = backward[0, :, ::4, ::4].reshape(2, -1).float()
    median = vectors.median(dim=1).values
    together = (vectors - median[:, None]).square().sum(0).le(NEAR ** 2).float().mean()
    dx, dy, share = torch.cat([median, together[None]]).tolist()  # one wait for a GPU
    return (-dx, -dy) if share >= COHERENT and math.hypot(dx, dy) >= STILL else None


def carried(backward: torch.Tensor, held: torch.Tensor, before: Shift, now: Shift,
            whole: tuple[float, float] | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The flow and mask found between the unshifted frames, between the shifted ones; with `whole`
    (a pan), the vectors near it set to it, and the background coming out from behind what crosses
    it doubted, and returned (None where there is none)."""
    flow, mask, band = backward, held, None
    if now.offset != (0.0, 0.0) or before.offset != (0.0, 0.0):  # (neither frame shifted: nothing to carry)
        offset = backward.new_tensor(now.offset).view(1, 2, 1, 1).expand_as(backward)
        flow = warp(backward, offset)  # each shifted pixel's source pixel's vector
        mask = warp(held, offset).gt_(0.5).to(held.dtype)
        moved = [n - b for n, b in zip(now.offset, before.offset)]
        flow += flow.new_tensor(moved).view(1, 2, 1, 1)
    if whole is not None:  # the pan's own pixels: exactly that (whole pixels at 4 px: not resampled)
        vector = flow.new_tensor(whole).view(1, 2, 1, 1)
        off = (flow - vector).square_().sum(1, keepdim=True)
        flow = torch.where(off.le(SNAP ** 2), vector, flow)
        band = uncovered(flow, off >= ASTRAY ** 2)
        mask = mask.masked_fill(band, 0)
        band = band if band.any() else None
    return flow, mask, band


def uncovered(flow: torch.Tensor, astray: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) bool: where the background comes out from behind something crossing the pan:
    the backward flow compresses (central differences) where it is `astray` from the pan's, grown
    by SPREAD px."""
    padded = F.pad(flow, (1, 1, 1, 1), mode="replicate")
    divergence = (padded[:, :1, 1:-1, 2:] - padded[:, :1, 1:-1, :-2] + padded[:, 1:, 2:, 1:-1] - padded[:, 1:, :-2, 1:-1]) / 2
    return grown((divergence < -COMPRESSED) & astray, SPREAD)


def grown(mask: torch.Tensor, by: int) -> torch.Tensor:
    """A (B,1,H,W) bool mask grown by `by` px (a square): OpenCV's dilation on the CPU (0.05 ms a
    640x360 mask, where torch's max pooling takes 10), max pooling elsewhere."""
    if mask.device.type != "cpu":
        return F.max_pool2d(mask.float(), 2 * by + 1, 1, by) > 0
    kernel = np.ones((2 * by + 1, 2 * by + 1), np.uint8)
    return torch.from_numpy(np.stack([cv2.dilate(m.numpy().view(np.uint8), kernel) for m in mask[:, 0]]))[:, None].bool()


def shifted_back(output: torch.Tensor, shift: Shift) -> torch.Tensor:
    """The painted frame, shifted back to where the frame is (bicubic, once)."""
    if shift.offset == (0.0, 0.0):
        return output
    offset = output.new_tensor([-shift.offset[0], -shift.offset[1]], dtype=torch.float32).view(1, 2, 1, 1)
    return warp(output, offset.expand(output.shape[0], 2, *output.shape[-2:]), "bicubic")
