"""The background something crossing a pan uncovers, painted as the per-frame render paints it.

The pan lock (motion/lock.py) paints each frame where it places it on the network's lattice, and
doubts the band that something crossing the pan uncovers, so the consistency paints that band
afresh: but with the strokes of the lock's place on the lattice, not the per-frame render's (on
the project's pan at 384 px, 22.8 dB from them). So the network paints a crop of the frame,
unshifted, about each part of the band once more, each of its instance norms given the statistics
of the frame's own passes (nets/layers.py: the encoder's from the frame as the lock places it,
the decoder's from the features `features` blended, or `blend`'s whole pass), and the band takes
that painting, shifted to where the lock places the frame. The consistency keeps it as its output
(`repaint`), so the next frames carry those strokes on as they carry the rest, until the locked
strokes about them take over.

On the pan (`arbitrary`, `features` 0.7, the key 0.9) the band is 31.3 dB from the per-frame
render; the price is steadiness, as the band's strokes give way to the locked ones (a warping
error of 0.104x against 0.088x, judged by the pan's true motion 0.179x against 0.154x), and a crop
pass on each frame something crosses the pan in (the pan at 640x384: 1.19x the wall time), its
encoder in the frame's worker beside the frame's own encoding, its decoder in frame order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from animator.methods import FeedForward
from animator.motion.lock import Shift, grown
from animator.motion.warp import warp
from animator.nets.layers import NormRecord, NormsGiven

# painting px about the band: nearer its edges the crop is painted otherwise than the frame (with the
# frame's statistics: 43-54 dB from its painting with 32, 39 with 24, 29-31 with 16)
HALO = 32
# px the band is grown by: DIS's spread leaves its edge a pixel or two short (on the pan the band is
# 29.4 dB ungrown, 31.3 grown by 1 px, 32.7 by 2 for a warping error of 0.107x and 0.117x)
GROW = 1
# px from the frame's edges where nothing is painted so: there the pan brings new picture in, and
# DIS's patches reach past the frame, so the lock doubts strips along it that nothing uncovered (a
# crop as tall as the frame for each)
EDGE = 16
# Parts of the band under this share of the frame are left as the lock paints them: specks where
# DIS errs in the picture's texture, each a crop pass of its own (7 ms however small, 78 for a
# whole 640x384 frame); the pan's band is 31.3 dB from the per-frame render with them or without.
LEAST = 0.001
# Crops a frame at most: past that many, one about them all (a crop pass costs 7 ms however small,
# so many apart could cost more than one over the whole frame, 78 ms at 640x384)
MOST = 4


@dataclass(frozen=True)
class Region:
    """A painting of part of a frame: `picture` goes where `where` holds, from (top, left)."""

    top: int
    left: int
    picture: torch.Tensor  # (B,3,h,w)
    where: torch.Tensor  # (B,1,h,w) bool

    def paint_onto(self, image: torch.Tensor) -> None:
        """Onto a whole frame (B,C>=3,H,W), in place."""
        h, w = self.picture.shape[-2:]
        part = image[:, :3, self.top:self.top + h, self.left:self.left + w]
        part.copy_(torch.where(self.where, self.picture.to(part.dtype), part))


def paints_band(method: FeedForward) -> bool:
    """Whether the band is painted so: not where the network paints at a fraction of the frame's
    size (`stroke_scale`), whose strokes of 8 px and more, painted per frame in the band, give way
    to the locked ones around it with a flicker (the pan at 320 px, `stroke_scale: 0.5`: the band
    23.5 dB from the per-frame render painted so 28.0, for a warping error of 0.113x against 0.062x)."""
    return method.options.stroke_scale >= 1


@dataclass(frozen=True)
class Crop:
    """A part of the band, encoded in the frame's worker: a crop of the unshifted frame from (top,
    left), on the network's lattice, its features, and where the band is in it."""

    top: int
    left: int
    content: torch.Tensor  # (B,3,h,w)
    features: torch.Tensor
    where: torch.Tensor  # (B,1,h,w) bool


@dataclass(frozen=True)
class Band:
    """A frame's band on its way through the render: the statistics of the frame's passes (the
    encoder's recorded in its worker, the decoder's in frame order) and its crops, encoded."""

    norms: NormRecord
    crops: list[Crop]


def encoded_crops(method: FeedForward, target: list, frame: torch.Tensor, shift: Shift, uncovered: torch.Tensor,
                  norms: NormRecord) -> list[Crop]:
    """A crop of the unshifted `frame` about each part of `uncovered` (the band, in the frame as the
    lock places it; parts whose crops would overlap together), encoded with the statistics of the
    frame's own encoding (`norms`); none where it recorded none (a frame run in tiles). Its
    decoding waits for the statistics of the frame's decoding (`uncovered_painting`)."""
    encoded, _ = method.net.norm_counts()
    if len(norms.stats) < encoded:
        return []
    where = grown(uncovered, GROW)
    where[..., :EDGE, :] = where[..., -EDGE:, :] = where[..., :EDGE] = where[..., -EDGE:] = False
    margin = math.ceil(HALO + max(map(abs, shift.offset))) + 2  # (+ the bicubic shift's reach)
    least = math.ceil(LEAST * where.shape[-2] * where.shape[-1])
    crops = []
    for top, left, bottom, right in boxes(where[0, 0].cpu().numpy(), margin, least):
        top, left = top // 4 * 4, left // 4 * 4  # on the lattice, as the whole frame's pass starts
        content = frame[..., top:bottom, left:right]
        features = method.encode(target, content, NormsGiven(norms.stats[:encoded]))
        crops.append(Crop(top, left, content, features, inside(where, (top, left, bottom, right), margin)))
    return crops


def inside(where: torch.Tensor, box: tuple[int, int, int, int], margin: int) -> torch.Tensor:
    """The mask within a crop, `margin` px or more from the crop's edges but where they are the
    frame's: nearer, the crop is painted otherwise than the frame (a speck left out, or another
    part's edge, may lie there)."""
    (top, left, bottom, right), (height, width) = box, where.shape[-2:]
    kept = torch.zeros_like(where[..., top:bottom, left:right])
    kept[..., margin if top else 0:bottom - top - (margin if bottom < height else 0),
         margin if left else 0:right - left - (margin if right < width else 0)] = True
    return where[..., top:bottom, left:right] & kept


def uncovered_painting(method: FeedForward, target: list, crops: list[Crop], shift: Shift, norms: NormRecord) -> list[Region]:
    """The crops painted, with the statistics of the frame's own decoding too, and placed as the lock
    places the frame: the regions the output takes; none where the frame's passes recorded no
    statistics (a frame run in tiles)."""
    encoded, decoded = method.net.norm_counts()
    if len(norms.stats) != encoded + decoded:
        return []
    regions = []
    for crop in crops:
        painted = method.decode(target, crop.features, crop.content, NormsGiven(norms.stats[encoded:]))
        offset = painted.new_tensor(shift.offset).view(1, 2, 1, 1).expand(painted.shape[0], 2, *painted.shape[-2:])
        regions.append(Region(crop.top, crop.left, warp(painted, offset, "bicubic"), crop.where))
    return regions


def boxes(where: np.ndarray, margin: int, least: int = 1) -> list[tuple[int, int, int, int]]:
    """(top, left, bottom, right) about each connected part of a mask of `least` px or more, grown
    by `margin` within the frame; boxes that overlap made one, and more than MOST one about all."""
    height, width = where.shape
    _, _, parts, _ = cv2.connectedComponentsWithStats(where.view(np.uint8))
    found = [(max(0, y - margin), max(0, x - margin), min(height, y + h + margin), min(width, x + w + margin))
             for x, y, w, h, area in parts[1:].tolist() if area >= least]
    found = merged(found)
    if len(found) <= MOST:
        return found
    return [(min(b[0] for b in found), min(b[1] for b in found), max(b[2] for b in found), max(b[3] for b in found))]


def merged(found: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Boxes that overlap made one, till none does."""
    for i, a in enumerate(found):
        for j in range(i + 1, len(found)):
            b = found[j]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                union = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                return merged([union, *found[:i], *found[i + 1:j], *found[j + 1:]])
    return found
