"""Optical flow between two source frames, with OpenCV's DIS (default) or Farneback, and the mask
of where it holds (`find_motion`).

A backend is anything with `flow(a, b) -> (H,W,2)` in pixels such that b(p) ~ a(p + flow(p))
... that is, the flow that warps `a` onto `b` with warp.warp; a torch flow network can be added
the same way. Flow is computed on greyscale frames, optionally at a reduced scale.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
import torch

from animator.motion.warp import inside, returns_home, sample, sampling_grid, smooth_motion, warp
from animator.preset.schema import TemporalConfig

DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


class FlowBackend(Protocol):
    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """HxW uint8 greyscale frames -> (H,W,2) float32: b(p) is a(p + flow(p))."""


class DIS:
    def __init__(self, preset: str = "medium"):
        self.engine = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.engine.calc(b, a, None)  # OpenCV's flow maps its first frame into its second


class Farneback:
    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return cv2.calcOpticalFlowFarneback(b, a, None, 0.5, 4, 21, 5, 7, 1.5, 0)


def make_backend(name: str, preset: str = "medium") -> FlowBackend:
    return DIS(preset) if name == "dis" else Farneback()


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


# DIS crashes the process (a segmentation fault in OpenCV 4) on frames under 16 px high and 48 px
# or more wide, and Farneback's pyramid wants as much: flow is found on frames of 16 px a side at least.
FLOW_MIN_SIDE = 16


def pair_flows(backend: FlowBackend, previous: np.ndarray, current: np.ndarray, scale: float = 1.0,
               device: torch.device | str = "cpu", forward: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(backward, forward) flows as (1,2,H,W) tensors at full size: backward samples the previous
    frame for each pixel of the current one; forward the other way (None unless asked for)."""
    a, b = grey(previous), grey(current)
    h, w = a.shape
    size = (max(FLOW_MIN_SIDE, round(w * scale)), max(FLOW_MIN_SIDE, round(h * scale)))
    if size != (w, h):
        shrinking = size[0] * size[1] < w * h
        a, b = (cv2.resize(x, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR) for x in (a, b))
    flows = []
    for source, target in ((a, b), (b, a))[:2 if forward else 1]:
        f = backend.flow(source, target)
        if size != (w, h):
            f = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR) * np.array([w / f.shape[1], h / f.shape[0]], np.float32)
        flows.append(torch.from_numpy(np.ascontiguousarray(f.transpose(2, 0, 1)))[None].to(device))
    return flows[0], flows[1] if forward else None


# Two frames are of different shots (a cut) when the forward-backward check holds on less than
# NEW_SHOT of the frame: across a cut it still passes on a few pixels (flat, dark areas where DIS
# finds a flow that returns home), and a consistency that trusted them would carry the last shot's
# painting into the new one. Between frames of different clips it holds on 1.7% of the frame in
# the median and 14.6% at most (142 pairs at 384 px); within a shot on 26% at least (a car passing
# close under a still camera; a bird turning its head 36%, chaplin 76%).
NEW_SHOT = 0.2
# Without the backward check (`flow_check: boundaries`) the mask holds on most of a cut (0.74 in
# the median), so there the earlier frame warped onto this one tells: across a cut it is 0.134 off
# at least (0.254 in the median; the mean absolute difference of grey levels, 0-1), within a shot
# 0.035 at most (the same road, the bird 0.034, chaplin 0.017). It is asked with the check too:
# a cut to or from a flat frame passes the check (its flow returns home), 0.31 off.
CUT_ERROR = 0.06


def find_motion(backend: FlowBackend, earlier: np.ndarray, image: np.ndarray, temporal: TemporalConfig,
                device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The flow that warps an earlier frame onto this one, and the mask of where it holds: nowhere
    when the frames are of different shots (a cut). Decided on the device: no wait for a GPU."""
    checked = temporal.flow_check == "forward-backward"
    backward, forward = pair_flows(backend, earlier, image, temporal.flow_scale, device, forward=checked)
    greys = torch.from_numpy(np.stack([grey(earlier), grey(image)]))[None].to(device, torch.float32).div_(255)
    grid = sampling_grid(backward)
    # the forward flow and the earlier frame's grey, where each pixel came from: one pass for both
    there = sample(torch.cat([forward, greys[:, :1]], 1) if checked else greys[:, :1], grid)
    # Two frames are of one shot when the earlier one, warped, looks like this one (the mean
    # absolute difference of grey levels, 0-1), whatever the check: a flat frame (a fade to black,
    # a white flash) has a flow that returns home everywhere, and Farneback's holds on a quarter of
    # a cut.
    one_shot = (there[:, -1:] - greys[:, 1:]).abs_().mean() <= CUT_ERROR
    held = inside(grid) & smooth_motion(backward)
    if checked:
        held &= returns_home(backward, there[:, :2])
        one_shot &= held.float().mean() >= NEW_SHOT
    return backward, held.float() * one_shot


def different_shots(earlier: np.ndarray, image: np.ndarray, backward: torch.Tensor, held: torch.Tensor) -> bool:
    """find_motion's test of a cut, for a mask of one's own (the metrics' check): the flow holds on
    less than NEW_SHOT of the frame, or the earlier frame warped onto this one is CUT_ERROR off."""
    a, b = (torch.from_numpy(grey(x)).to(backward.device, torch.float32)[None, None] / 255 for x in (earlier, image))
    return bool(held.mean() < NEW_SHOT or (warp(a, backward) - b).abs_().mean() > CUT_ERROR)
