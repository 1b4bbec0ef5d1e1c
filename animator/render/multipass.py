"""The optimization method's multi-pass video (Ruder et al. 2016): the clip is painted `passes`
times, forward and backward in turn, the method's steps shared among the passes.

The first pass is the single pass (render/temporal_loss.py, the key included). Each later pass
starts every frame from its last painting averaged, where the flow holds, with the neighbour it
has just painted (the previous frame going forward, the next going back) warped onto it, and
holds it to that neighbour by the temporal loss. So a frame's painting reaches the frames before
it as well as after, and every frame is painted again with its neighbours' newest in view.

Every frame is held until the last pass: the source frames at the render size and the outputs
stay in the machine's memory, not a GPU's (about 1.3 MB a frame at 384x216: the output in
float32, the frame in 8 bits), and
a frame is final only when every pass is done, so a killed render starts its passes over (it
comes to the same frames). The flow is found again in each pass: milliseconds beside a frame's
steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

from animator.clock import Clock
from animator.media.frame import to_tensor
from animator.methods import StyleTrack, Temporal
from animator.methods.gatys import GatysMethod
from animator.motion.flow import find_motion, make_backend
from animator.motion.warp import warp
from animator.preset.schema import TemporalConfig
from animator.render.consistency import Motion
from animator.render.temporal_loss import TemporalLoss


def multi_pass(method: GatysMethod, frames: Iterable[tuple[int, np.ndarray, Motion]], temporal: TemporalConfig,
               device: torch.device, styles: StyleTrack, clock: Clock) -> Iterator[tuple[int, np.ndarray, torch.Tensor]]:
    """(index, image, output) for each of `frames` ((index, image at the render size, motion from the
    previous frame)), once every pass is done."""
    share = [len(range(n, method.options.steps, temporal.passes)) for n in range(temporal.passes)]  # 20 in 3: 7, 7, 6
    indices, images, outputs = [], [], []
    held, first = TemporalLoss(temporal, device), method.with_steps(share[0])
    for index, image, motion in frames:  # the first pass: the single pass, with its share of the steps
        x, when = to_tensor(image, device), clock.at(index)
        painted = first.transfer(styles.at(x, when), x, when=when, temporal=held.guide(image, motion, when))
        held.keep(painted, image)
        outputs.append(painted.cpu())  # in the machine's memory: a long clip would fill a GPU's
        indices.append(index)
        images.append(image)
    backend = make_backend(temporal.flow, temporal.flow_preset)
    for n in range(1, temporal.passes):
        later = method.with_steps(share[n], refine=True)
        order = range(len(images)) if n % 2 == 0 else range(len(images) - 1, -1, -1)
        neighbour = None
        for i in order:
            x, when = to_tensor(images[i], device), clock.at(indices[i])
            start, guide = outputs[i].to(device), None
            if neighbour is not None:
                flow, mask = find_motion(backend, images[neighbour], images[i], temporal, device)
                warped = warp(outputs[neighbour].to(device), flow)
                start, guide = (start + mask * warped) / (1 + mask), Temporal(warped, mask, when.value(temporal.weight))
            outputs[i] = later.transfer(styles.at(x, when), x, init=start, when=when, temporal=guide).cpu()
            neighbour = i
    yield from zip(indices, images, outputs)
