"""Blending paintings of one scene without dulling them.

Two paintings of a frame (the network's fresh one, and the last output or the key warped onto it)
carry close strokes, not the same ones, and a blend of two textures has weaker strokes than either
(Heitz and Neyret 2018, "High-performance by-example noise using a histogram-preserving blending
operator"). Consistency blends every frame into the next, so the loss compounds: the output would
settle at a duller picture than the network paints (on the rest of chaplin, 0.94 of the per-frame
render's gradient energy). `keep_detail` scales a blend's fine detail (its difference from its 3x3
mean) back up to the spread of the fresh painting's; the colours (the 3x3 means) stay the blend's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


# A blend of two independent textures keeps at least half their mean square, and the mode's
# painting falls short of the network's by up to ~2 (render/consistency.py's gain): the detail is
# at most doubled (renders need 1.5x the mean square at most: the pan 1.47, chaplin 1.11, the
# bunny 1.11). Unbounded, a nearly flat blend's speck of detail took the whole frame's shortfall.
MOST = 4.0


# Where the key has not moved since it was painted, it is a blend of many paintings of one place,
# dulled unevenly: flat parts of the picture lose more of their detail than busy ones, and one gain
# for the frame left a still camera's wall duller than the network paints it (Intel's bottles: 0.937
# of the per-frame render's gradient energy). There the detail is matched tile by tile, TILE px a
# side (measured on every STRIDE-th pixel, as the frame's). Where the key has moved, a shearing flow
# may have stretched its strokes into streaks, which a tile's match strengthens (the cockatoo's Gram
# distance 1.215x against 1.132x): one gain for the frame there.
TILE = 33  # a whole number of STRIDEs


def keep_detail(blended: torch.Tensor, fresh: torch.Tensor, weight: torch.Tensor, gain: float = 1.0,
                least: float = 0.25, unmoved: torch.Tensor | None = None) -> torch.Tensor:
    """`blended` ((B,C,H,W) in [0, 1]: `fresh` blended with other paintings by `weight`, (B,1,H,W))
    with its fine detail, where the blend took anything, as strong as the fresh painting's there
    (its mean square, measured where the blend took more than `least`, times `gain`, where that
    painting is itself duller than the target): one gain for the frame, never below 1 (where the
    others had more detail, the blend keeps it) nor above MOST; `unmoved` ((B,1,H,W) bool): where
    the key has not moved, the gain of each tile, as bounded."""
    fine, fresh_fine = fine_detail(blended), fine_detail(fresh)
    fresh_spread, blended_spread = spreads(fresh_fine, fine, weight > least)
    fresh_spread *= gain
    flat = blended_spread >= fresh_spread or blended_spread == 0  # (a flat blend has no detail to strengthen)
    frames = 0.0 if flat else min(fresh_spread / blended_spread, MOST) ** 0.5 - 1
    if unmoved is not None:
        boost = torch.where(unmoved, tiles_boost(fresh_fine, fine, gain), frames).mul_(weight > 0)
    elif flat:
        return blended
    else:
        boost = (weight > 0).to(blended.dtype).mul_(frames)
    return blended.addcmul(boost.to(blended.dtype), fine).clamp_(0, 1)


def tiles_boost(fresh_fine: torch.Tensor, fine: torch.Tensor, gain: float) -> torch.Tensor:
    """(B,1,H,W): what a blend's fine detail is strengthened by, tile by tile: the square root of the
    fresh painting's mean square over the blend's in each TILE px tile (times `gain`, from 1 to
    MOST; a tile of the blend without detail left as it is), less 1, bilinear between the tiles."""
    height, width = fine.shape[-2:]
    if min(height, width) <= 2:  # no pixel measured: no detail to match
        return fine.new_zeros((fine.shape[0], 1, height, width))
    side = TILE // STRIDE  # a tile's samples a side
    rows, cols = -(-height // TILE) * side, -(-width // TILE) * side

    def squares(x: torch.Tensor) -> torch.Tensor:  # each tile's mean square (the last tiles' samples repeated)
        sampled = picked(x).square()
        sampled = F.pad(sampled, (0, cols - sampled.shape[-1], 0, rows - sampled.shape[-2]), mode="replicate")
        return F.avg_pool2d(sampled, side).sum(1, keepdim=True)

    wanted, held = squares(fresh_fine) * gain, squares(fine)
    ratio = torch.where(held > 0, wanted / held.clamp_min(1e-12), 1.0).clamp_(1, MOST)
    boost = F.interpolate(ratio.sqrt_().sub_(1), scale_factor=TILE, mode="bilinear", align_corners=False)
    return boost[..., :height, :width]


# The fine detail is measured on every STRIDE-th pixel of every STRIDE-th row. Not every fourth:
# the networks decode from features a quarter of the size, so the detail of their paintings
# repeats every 4 pixels (0.7x to 1.6x the mean square by its place in that period, `arbitrary` on
# chaplin), and every fourth pixel sees one place of it. A blend keeps some places' detail better
# than others, so measured at one, a painting that had lost 14% of its detail looked whole.
STRIDE = 3


def detail_spreads(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor) -> tuple[float, float]:
    """The mean squares of two pictures' fine details where `where` holds, on every third pixel of
    every third row: every place of that period."""
    return spreads(fine_detail(a), fine_detail(b), where)


def spreads(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor) -> tuple[float, float]:
    """detail_spreads of two fine details. Found whole and summed over every STRIDE-th pixel: on the
    CPU OpenCV finds a whole picture's in less time than torch takes for a ninth of it."""
    where = picked(where).to(a.dtype)
    count, *sums = torch.stack([where.sum() * a.shape[1], picked(a).square().mul_(where).sum(),
                                picked(b).square().mul_(where).sum()]).tolist()  # one wait for a GPU
    return (sums[0] / count, sums[1] / count) if count else (0.0, 0.0)


def picked(x: torch.Tensor) -> torch.Tensor:
    """Every STRIDE-th pixel of every STRIDE-th row, the frame's edge left out."""
    return x[..., 1:-1:STRIDE, 1:-1:STRIDE]


def fine_detail(image: torch.Tensor) -> torch.Tensor:
    """Each pixel's difference from its 3x3 mean, the frame's edge repeated: OpenCV's box filter on
    the CPU (~0.25 ms a 640x360 plane, a pixel's channels at once where they lie together), torch's
    pooling elsewhere."""
    if image.device.type != "cpu" or image.dtype != torch.float32:
        return image - F.avg_pool2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), 3, 1)
    import cv2

    # a picture of one channel is channels-last too: it goes plane by plane, as a picture of more than four
    together = image.is_contiguous(memory_format=torch.channels_last) and 1 < image.shape[1] <= 4
    planes = image.permute(0, 2, 3, 1) if together else image.contiguous().flatten(0, 1)  # (B,H,W,C) or (B*C,H,W)
    # laid out afresh, not like `planes`: torch calls a tensor contiguous whatever the strides of its dimensions of
    # size 1 (a row of pixels, a 1x1 picture), and OpenCV refuses to write into an array with such strides
    fine = torch.empty(planes.shape, dtype=planes.dtype)
    for plane, out in zip(planes.numpy(), fine.numpy()):
        cv2.blur(plane, (3, 3), dst=out, borderType=cv2.BORDER_REPLICATE)
    torch.sub(planes, fine, out=fine)
    return fine.permute(0, 3, 1, 2) if together else fine.view_as(image)
