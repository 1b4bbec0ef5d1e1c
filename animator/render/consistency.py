"""Temporal consistency of a feed-forward network's video, applied in frame order.

Each frame's network pass (`paint`) may run ahead, several frames at once; `next` then makes the
frame consistent with the one before, given the optical flow from it and the mask of where that
flow holds (render/video.py finds both).

- `blend` (the first way): the network's output, blended with the previous output warped onto
  it (bilinear) by `weight` where the flow holds. Warping and blending again and again smears.
- `features` (the default): the network is split where it has encoded the frame (its residual
  blocks' output, at a quarter of the size); those features are blended with the previous
  frame's, warped, by `weight` where the flow holds, and the decoder paints from them, so it
  draws sharp strokes where the last frame had them instead of averaging two pictures; then a
  lighter blend of the output (`output_weight`, bicubic) settles what the features leave.
- `long_term` (either mode, 0.9 by default): an earlier output, the key, is warped straight onto
  each frame by the flow composed since it was shown, so it is resampled once instead of once a
  frame, and blended in where the composed mask holds. Strokes keep their sharpness on slow
  motion (a pan, a handheld camera) instead of fading a little with every warp; the composed
  flow's errors add up, so the key is replaced by the current output once it covers less than
  REFRESH of the frame.
  Where the key is blended in, the output keeps the fine detail of the network's painting of
  the frame (render/detail.py): averaged strokes are weaker strokes, and a blend repeated every
  frame would settle at a duller picture than the network paints.

`repaint` paints part of the frame over the last output, the next frame's to be consistent with:
on a pan, the band something crossing it uncovers (render/band.py).

bench/temporal.py measures both against the per-frame render: steadiness, detail and style.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
import torch.nn.functional as F

from animator.clock import When
from animator.media.frame import LUMA
from animator.methods import FeedForward
from animator.motion.warp import sample, sampling_grid, warp
from animator.preset.schema import Num, TemporalConfig
from animator.motion.flow import CUT_ERROR
from animator.nets.layers import Norms
from animator.render.band import Region
from animator.render.detail import detail_spreads, keep_detail

Motion = tuple[torch.Tensor, torch.Tensor] | None  # (backward flow, trust mask) from the previous frame


def at_features(motion: tuple[torch.Tensor, torch.Tensor], shape: torch.Size, painting: tuple[int, int]):
    """The flow and mask brought to the features' grid: the painting (h, w) padded to a multiple of
    4 and pooled to a quarter; vectors in the features' pixels."""
    backward, mask = motion
    h, w = painting
    if backward.shape[-2:] != (h, w):  # the network paints at a stroke scale
        scale = backward.new_tensor([w / backward.shape[-1], h / backward.shape[-2]]).view(1, 2, 1, 1)
        backward = F.interpolate(backward, size=(h, w), mode="area") * scale
        mask = F.interpolate(mask, size=(h, w), mode="area")
    height, width = shape[-2] * 4, shape[-1] * 4
    pad = (0, width - w, 0, height - h)
    pool = lambda x: F.avg_pool2d(F.pad(x, pad, mode="replicate") if any(pad) else x, 4)  # noqa: E731
    return pool(backward) / 4, pool(mask)


class PerFrame:
    """No consistency (`flow: none`): each frame is the network's own painting, made whole in the
    workers, so the decoder does not wait its turn in frame order."""

    def __init__(self, method: FeedForward):
        self.method = method

    def paint(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        return self.method.stylize(target, content, norms)

    def next(self, painted: torch.Tensor, target: list, content: torch.Tensor, motion: Motion, when: When,
             norms: Norms | None = None) -> torch.Tensor:
        return painted

    def state(self) -> Any:
        return {}  # nothing carries over, and every frame is a point to resume from (None is none)


class Blend:
    def __init__(self, method: FeedForward, temporal: TemporalConfig, state: Any = None):
        self.method, self.temporal = method, temporal
        self.previous = state

    def paint(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        return self.method.stylize(target, content, norms)  # (the statistics of the whole pass)

    def next(self, painted: torch.Tensor, target: list, content: torch.Tensor, motion: Motion, when: When,
             norms: Norms | None = None) -> torch.Tensor:
        self.painting = painted
        if motion is not None and self.previous is not None:
            backward, mask = motion
            painted = lerp(painted, warp(self.previous, backward), when.value(self.temporal.weight) * mask)
        self.previous = painted
        return painted

    def repaint(self, regions: list[Region]) -> torch.Tensor:
        """The last output with `regions` painted onto it, made consistent with from now on."""
        for region in regions:
            region.paint_onto(self.previous)
        return self.previous

    def state(self) -> Any:
        return self.previous


class Features:
    def __init__(self, method: FeedForward, temporal: TemporalConfig, state: Any = None):
        self.method, self.temporal = method, temporal
        self.previous, self.features = (state["output"], state["features"]) if state is not None else (None, None)

    def paint(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        return self.method.encode(target, content, norms)

    def next(self, painted: torch.Tensor, target: list, content: torch.Tensor, motion: Motion, when: When,
             norms: Norms | None = None) -> torch.Tensor:
        features = painted
        if motion is not None and self.features is not None:
            flow, mask = at_features(motion, painted.shape, self.method.painting_size(content))
            # Sampled in float32: a bfloat16 grid places a sample up to a pixel off (8 bits for
            # -1..1), and torch's bfloat16 grid_sample on channels-last CPU tensors reads past the
            # border of a grid that rounds beyond it (NaN, so black frames). Brought back in the
            # features' own layout (channels last): a blend of two layouts took 4x as long.
            kept = torch.empty_like(painted).copy_(sample(self.features.float(), sampling_grid(flow)))
            features = torch.lerp(painted, kept, (when.value(self.temporal.weight) * mask).to(painted.dtype))
        output = self.painting = self.method.decode(target, features, content, norms)
        self.warped = None  # the previous output warped onto the frame, when there is one
        if motion is not None and self.previous is not None:
            backward, mask = motion
            self.warped = warp(self.previous, backward, "bicubic")
            output = lerp(output, self.warped, when.value(self.temporal.output_weight) * mask)
        self.features, self.previous = features, output
        return output

    repaint = Blend.repaint

    def state(self) -> Any:
        return {"output": self.previous, "features": self.features}


class LongTerm:
    """A mode, then the key: an earlier output warped once, by the flow composed since, onto the
    frame. The mode's next frame starts from the output with the key in it.

    The composed mask is the product of every frame's mask since the key, so it gathers each pixel
    the flow check ever doubted (film grain, the flow's noise) as a speck of fresh painting in the
    key: speckles that flicker. Averaged over 3x3 where it is applied, a lone doubted pixel takes
    the key (8/9 of its share) and a real occlusion's edge is soft; inside it the painting is fresh.
    Blended in, the key's strokes weaken the frame's own a little, and the output becomes the next
    key, so the output keeps the fine detail of the network's painting of the frame
    (render/detail.py; `detail_gain`), tile by tile where the key has not moved."""

    REFRESH = 0.8  # the share of the frame the key must still cover; below it the current output is the key
    SAMPLED = 8  # frames between two measures of the detail the mode's painting falls short by
    # The key holds a still shot's painting for good (its 0.9 against the mode's fresh share), so
    # it must let go where the picture changes without moving: where the frame's luminance is
    # CHANGED away from that of the frame the key was painted from (a dissolve, a fade, light
    # coming on), and wholly when the style differs from the key's by STYLE_MOVED (a morph) or the
    # frame, where the key is held, is on average as far from the key's as a cut's frames are from
    # each other (flow.CUT_ERROR: a dissolve of dark pictures). After those, and where change more
    # than motion has taken the key below REFRESH, the next key waits SETTLE frames, for the mode
    # to paint what the frame has become: taken at once, it would hold what the mode had not yet
    # let go of.
    CHANGED = 0.2
    STYLE_MOVED = 0.02  # of the style conditions' norm
    SETTLE = 48
    # The detail is measured where the key's share is above this much of its weight: where the key
    # holds more than 2.5 of a pixel's 9 neighbours (a share of 0.25 at the default 0.9). Relative
    # to the weight, so a lighter key (`long_term` 0.25 or less) keeps the detail too, where 0.25
    # itself was measured nowhere and kept none.
    MEASURED = 0.25 / 0.9
    UNMOVED = 1.0  # px: where the key's composed flow is shorter, it has not moved (render/detail.py)

    def __init__(self, mode: Blend | Features, weight: Num, state: Any = None, watch_style: bool = True):
        self.mode, self.weight = mode, weight
        self.watch_style = watch_style  # not where the style is the frame itself, which moves with it
        # the key: the output and the luminance of its frame (4 channels, warped together); the
        # trail: the flow composed since the key (2 channels) and the product of the masks (1)
        self.key, self.trail = (state["key"], state["trail"]) if state is not None else (None, None)
        self.style, self.wait, self.made, self.faded = (state["style"], state["wait"], state["made"], state["faded"]) \
            if state is not None else (None, 0, False, 0.0)
        self.gain, self.unsampled = (state["gain"], state["unsampled"]) if state is not None else (1.0, 0)
        self.target = None  # the target the key was painted with: a style that has not moved is the same object

    def paint(self, target: list, content: torch.Tensor, norms: Norms | None = None) -> torch.Tensor:
        return self.mode.paint(target, content, norms)

    def next(self, painted: torch.Tensor, target: list, content: torch.Tensor, motion: Motion, when: When,
             norms: Norms | None = None) -> torch.Tensor:
        last_output_is_key, self.made = self.made, False  # the key was made last frame
        output = self.mode.next(painted, target, content, motion, when, norms)
        if self.key is not None and self.style_moved(target):
            self.key, self.wait = None, self.SETTLE
        changed, left = False, 1.0
        if motion is not None and self.key is not None:
            # A key made last frame has come this frame's flow alone, as `features` warped the
            # last output: that warp is the key's (a quarter of the frames).
            shared = getattr(self.mode, "warped", None) if last_output_is_key else None
            output, changed, left = self.hold(output, shared, painted, target, content, motion, when)
            self.mode.previous = output
        if changed:
            self.key, self.wait = None, self.SETTLE
        elif self.wait > 0:
            self.wait -= 1
        elif motion is None or self.key is None or left < self.REFRESH:
            self.make_key(output, target, content)
        return output

    def repaint(self, regions: list[Region]) -> torch.Tensor:
        if self.made:  # the key is this output
            for region in regions:
                region.paint_onto(self.key)
        return self.mode.repaint(regions)

    def style_moved(self, target: list) -> bool:
        """Whether the frame's style has moved from the key's (a morph)."""
        if not self.watch_style or target is self.target:
            return False
        moved = style_distance(conditions(target), self.style)
        if moved == 0:
            self.target = target  # the key's style (a resumed render's): not compared again
        return moved > self.STYLE_MOVED

    def hold(self, output: torch.Tensor, shared: torch.Tensor | None, painted: torch.Tensor, target: list,
             content: torch.Tensor, motion: tuple[torch.Tensor, torch.Tensor], when: When) -> tuple[torch.Tensor, bool, float]:
        """The output with the key blended in where it is held (`shared`: the key's picture already
        warped onto the frame), whether the picture has changed away from the key's, and the
        share of the frame the key still covers."""
        backward, mask = motion
        self.trail = warp(self.trail, backward)  # the flow and the mask carried on in one pass
        self.trail[:, :2] += backward  # to the previous frame, then on to the key
        self.trail[:, 2:] *= mask
        flow, held = self.trail[:, :2], self.trail[:, 2:]
        if shared is None:
            key = warp(self.key, flow, "bicubic")
            shared, seen = key[:, :3], key[:, 3:]
        else:  # its frame's luminance alone
            seen = warp(self.key[:, 3:], flow, "bicubic")
        change = (seen - luminance(content)).abs_()
        # the mean change where the key is held, as a cut is told (flow.CUT_ERROR): a dissolve
        # between dark pictures or of like brightness, which few pixels' change shows
        drift = (change * held).sum() / held.sum().clamp_min(1)
        before = held.mean()
        held.masked_fill_(change > self.CHANGED, 0)
        covered, left, drift = torch.stack([before, held.mean(), drift]).tolist()  # one wait for a GPU
        self.faded += covered - left  # the share of the frame the key has lost to change, not to motion
        changed = drift > CUT_ERROR or left < self.REFRESH and self.faded > (1 - left) / 2
        key = when.value(self.weight)
        weight, least = (key * mean3x3(held)).to(output.dtype), key * self.MEASURED
        output = lerp(output, shared, weight)
        gain = self.detail_gain(target, painted, content, weight, least)
        unmoved = flow[:, :1].square().add_(flow[:, 1:].square()) < self.UNMOVED ** 2  # (a sum over channels: 3x as long)
        return keep_detail(output, self.mode.painting, weight, gain, least, unmoved), changed, left

    def make_key(self, output: torch.Tensor, target: list, content: torch.Tensor) -> None:
        self.key, self.made = torch.cat([output, luminance(content).to(output.dtype)], 1), True
        self.style, self.target = (conditions(target), target) if self.watch_style else (None, None)
        self.faded = 0.0
        # float32: a composed flow is hundreds of pixels, and bfloat16 would lose them
        self.trail = output.new_zeros((output.shape[0], 3, *output.shape[-2:]), dtype=torch.float32)
        self.trail[:, 2:] = 1

    def detail_gain(self, target: list, painted: torch.Tensor, content: torch.Tensor, weight: torch.Tensor,
                    least: float) -> float:
        """How much finer the network's painting of the frame is than the mode's (render/detail.py's
        spreads, where the key's share is above `least`): the detail the output keeps is the mode's
        painting's times this. `features` paints blended features, with less fine detail than the
        network's own painting of the frame (the per-frame render's: 1.2-1.9x the mean square on
        the pan); that painting is a second decode, half of `arbitrary`'s network, so the gain is
        measured every SAMPLED frames and carried between them (+2% of a 640x360 render's time)."""
        if not isinstance(self.mode, Features):
            return 1.0  # the mode's painting is the network's own
        self.unsampled -= 1
        if self.unsampled <= 0:
            own = self.mode.method.decode(target, painted, content)
            fine, blended = detail_spreads(own, self.mode.painting, weight > least)
            self.gain, self.unsampled = fine / blended if blended else 1.0, self.SAMPLED
        return self.gain

    def state(self) -> Any:
        return {"mode": self.mode.state(), "key": self.key, "trail": self.trail, "style": self.style, "wait": self.wait,
                "made": self.made, "faded": self.faded, "gain": self.gain, "unsampled": self.unsampled}


def conditions(target: list) -> torch.Tensor:
    """A frame's style conditions (each norm layer's scale and shift) as one vector."""
    return torch.cat([c.float().flatten() for layer in target if layer is not None for c in layer] or [torch.zeros(0)])


def style_distance(now: torch.Tensor, then: torch.Tensor | None) -> float:
    """How far one frame's style conditions are from another's, relative to their size."""
    return math.inf if then is None else float((now - then).norm() / then.norm().clamp_min(1e-12))


def luminance(image: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W): the weighted sum of the channels, as scaled planes added: over a channels-last frame
    (the networks' input) a product and a sum over the channels took 1.6 ms at 640x360 on the CPU,
    this 0.65."""
    red, green, blue = LUMA
    return (image[:, 0:1] * red).add_(image[:, 1:2], alpha=green).add_(image[:, 2:3], alpha=blue)


def lerp(start: torch.Tensor, end: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """torch.lerp of two pictures by a one-channel weight, spread over their channels first where
    they are channels-last (the networks' paintings, the bicubic warps): there torch's lerp with
    the weight broadcast took 2 ms at 640x360 on the CPU, 0.6 ms spread; over a picture laid out
    plane by plane broadcasting is the faster (0.8 ms against 1.2). The same values either way."""
    if not start.is_contiguous(memory_format=torch.channels_last) or start.shape[1] == 1:
        return torch.lerp(start, end, weight)
    return torch.lerp(start, end, weight.expand_as(start).contiguous(memory_format=torch.channels_last))


def mean3x3(image: torch.Tensor) -> torch.Tensor:
    """Each pixel's mean over its 3x3 neighbourhood within the frame, as `F.avg_pool2d(image, 3, 1,
    1, count_include_pad=False)` gives it, from shifted sums: on the CPU avg_pool2d takes 2-4 ms for
    a 640x360 mask, these 0.4 ms."""
    return sums3x3(image).div_(neighbours(*image.shape[-2:], image.device, image.dtype))


def sums3x3(x: torch.Tensor) -> torch.Tensor:
    padded = F.pad(x, (1, 1, 1, 1))
    rows = padded[..., :-2] + padded[..., 1:-1] + padded[..., 2:]
    return rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]


@functools.lru_cache(maxsize=8)
def neighbours(height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(1,1,H,W): how many of each pixel's 3x3 neighbourhood lie within the frame."""
    return sums3x3(torch.ones((1, 1, height, width), device=device, dtype=dtype))


MODES = {"blend": Blend, "features": Features}


def consistency(method: FeedForward, temporal: TemporalConfig, state: Any = None,
                style_is_frame: bool = False) -> PerFrame | Blend | Features | LongTerm:
    """The preset's consistency, from a resumed render's state if given; `style_is_frame`:
    `style: self`, whose style moves with every frame."""
    if temporal.flow == "none":
        return PerFrame(method)
    if temporal.long_term == 0:
        return MODES[temporal.mode](method, temporal, state)
    mode = MODES[temporal.mode](method, temporal, state["mode"] if state is not None else None)
    return LongTerm(mode, temporal.long_term, state, watch_style=not style_is_frame)
