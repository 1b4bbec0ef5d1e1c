"""The optimization method's temporal consistency, after Ruder et al. 2016: the frame is held to
earlier outputs by its loss, not blended with them.

- Short-term: each frame starts from the previous output warped onto it by optical flow (the
  content where the flow does not hold), and weight x mask x (x - warped)^2 holds it there.
- Long-term (`long_term` > 0): each pixel is held to the nearest earlier output that saw it.
  The key, an earlier output, is warped onto the frame by the flow found straight between the
  two frames, and held by weight x long_term where that flow holds and the previous frame's does
  not: what a passing object covered comes back as it was before. The flow must be found
  straight, not composed through the frames between, since a pixel the last frame did not see
  cannot be followed through it. Ruder's frames are at fixed distances (1, 10, 20, 40); here the
  key is kept while its flow holds on REFRESH of the frame, then the output becomes the key: one
  flow pair more a frame, small beside a frame's optimization.
- What is held is let go once the frame is as far from what its paint was made from as a cut's
  frames are from each other (flow.CUT_ERROR, the mean over what is held): a dissolve or a fade
  on a still camera moves nothing, and the first picture's painting was held through it for good.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from animator.clock import When
from animator.media.frame import to_tensor
from animator.methods import Temporal
from animator.motion.flow import CUT_ERROR, find_motion, make_backend
from animator.motion.warp import warp
from animator.preset.schema import TemporalConfig
from animator.render.consistency import Motion, luminance


class TemporalLoss:
    REFRESH = 0.8  # the share of the frame the key's flow must still hold on; below it the output is the key

    def __init__(self, temporal: TemporalConfig, device: torch.device, state: Any = None):
        self.temporal, self.device = temporal, device
        self.previous, self.key, self.key_source = (state["previous"], state["key"], state["key_source"]) if state else (None, None, None)
        # the luminance of the frame each pixel of the previous output, and of the key, was painted from
        self.source, self.key_painted = (state["source"], state["key_painted"]) if state else (None, None)
        self.backend = make_backend(temporal.flow, temporal.flow_preset) if temporal.flow != "none" else None
        self.coverage, self.carried = 0.0, None

    def guide(self, image: np.ndarray, motion: Motion, when: When) -> Temporal | None:
        """What the earlier outputs say about this frame (`image`, the source at the render size)."""
        self.coverage, self.carried = 0.0, None
        if motion is None or self.previous is None:
            return None
        backward, mask = motion
        carried, now = warp(self.source, backward), luminance(to_tensor(image, self.device))
        mask = mask * unchanged(carried, now, mask)
        self.carried = torch.where(mask > 0, carried, now)
        weight, long_term = when.value(self.temporal.weight), when.value(self.temporal.long_term)
        guide = Temporal(warp(self.previous, backward), mask, weight)
        if self.key is None:
            return guide
        key_source = self.key_source.cpu().numpy()
        flow, held = find_motion(self.backend, key_source, image, self.temporal, self.device)
        held = held * unchanged(warp(self.key_painted, flow), now, held)
        self.coverage = float(held.mean())
        if not long_term:
            return guide
        return Temporal(guide.previous, mask, weight, warp(self.key, flow, "bicubic"), (held - mask).clamp_(min=0), weight * long_term)

    def keep(self, output: torch.Tensor, image: np.ndarray) -> None:
        """The frame's output, the next frame's previous output and, once the key holds on too
        little of the frame, the key."""
        self.previous = output
        self.source = self.carried if self.carried is not None else luminance(to_tensor(image, self.device))
        if self.temporal.long_term and self.coverage < self.REFRESH:
            self.key, self.key_source, self.key_painted = output, torch.from_numpy(image), self.source

    def state(self) -> Any:
        return {"previous": self.previous, "key": self.key, "key_source": self.key_source, "source": self.source,
                "key_painted": self.key_painted}


def unchanged(painted: torch.Tensor, now: torch.Tensor, held: torch.Tensor) -> torch.Tensor:
    """1 while the frame's luminance `now`, where paint is `held`, is on average as close to the
    luminance that paint was made from as a shot's frames are to each other (flow.CUT_ERROR), else
    0. Frame by frame, the test of a cut; since the paint was made, that of a dissolve or a fade.
    A test pixel by pixel (consistency.LongTerm's) let go of chaplin's grain and flicker, each
    pixel let go painted afresh: its warping error rose 35%."""
    weights = held.sum().clamp_min(1)
    return (((painted - now).abs_() * held).sum() / weights <= CUT_ERROR).to(now.dtype)
