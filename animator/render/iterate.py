"""Iterated style transfer: x[t+1] = (1 - blend) m(x[t]) + blend f(style, n(m(x[t]))), then
colour coherence. m is the feedback step: the motion, then the controls that keep a loop alive
(anchor, contrast and saturation, sharpening: controls/life.py); n adds noise.

With `style: self` the style is the current frame itself, so a feed-forward network, which does
not return its input, drifts further every step into the "psychedelic regime". The bare loop
settles into flat colour or one pattern; the controls (each a schedule if wanted) keep it moving
without draining, blurring or freezing. In-between frames, if asked for, are made between iterates.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch

from animator.clock import Clock, at_frame
from animator.controls import life
from animator.controls.color import ColorReference, cohere
from animator.media.frame import covering, fitted, to_image, to_tensor
from animator.media.image import read_image
from animator.methods import Method, StyleTrack
from animator.motion import feedback
from animator.motion.flow import make_backend
from animator.motion.interpolate import inbetweens
from animator.preset.schema import IterateConfig, Num
from animator.render.renderer import Loaded, Rendered, Resume


class IterateRenderer:
    """Iterate t is written as frame t k, k = `interpolate`, with its in-betweens before it."""

    def __init__(self, loaded: Loaded):
        self.loaded, self.config = loaded, loaded.preset.iterate
        self.reference = self._color_reference()
        anchor = self.config.anchor.image
        height, width = loaded.first.shape[-2:]  # the anchor is pulled toward pixel by pixel: the frame's size
        self.anchor = loaded.first if anchor == "input" else to_tensor(covering(read_image(anchor), width, height), loaded.device)

    def frames(self, resume: Resume | None = None) -> Iterator[Rendered]:
        loaded, k = self.loaded, self.config.interpolate
        steps = iterate(loaded.method, loaded.first, config=self.config, styles=loaded.styles, clock=loaded.clock,
                        reference=self.reference, anchor=self.anchor, original_colors=loaded.preset.original_colors,
                        resume=None if resume is None else (resume[0] // k, resume[1]))
        if k == 1:
            return steps
        previous = None if resume is None else resume[1]["x"].to(loaded.device)
        # `steps: auto` ends with the sound, inside the last iterate's in-betweens
        frames = tweened(steps, k, self.config.interpolate_with, previous)
        return frames if loaded.frames is None else itertools.takewhile(lambda frame: frame[0] < loaded.frames, frames)

    def _color_reference(self) -> torch.Tensor | None:
        """The colour coherence reference, when it is known before the loop runs."""
        color, loaded = self.config.color, self.loaded
        if color.match == "none" or color.reference == "first":
            return None
        if color.reference == "input":
            return loaded.first
        return fitted(read_image(color.reference), loaded.preset.size, loaded.device)


def quantized(image: torch.Tensor) -> torch.Tensor:
    """The image as its 8-bit frame: what a resumed render can know of it."""
    return to_tensor(to_image(image), image.device)


def feedback_step(x: torch.Tensor, step: IterateConfig, anchor: torch.Tensor) -> torch.Tensor:
    """m(x): the picture the next step starts from."""
    x = feedback.move(x, step.motion)
    x = life.anchor(x, anchor, step.anchor.amount)
    x = life.tone(x, step.contrast, step.saturation)
    return life.sharpen(x, step.sharpen.amount, step.sharpen.radius)


def iterate(
    method: Method, x0: torch.Tensor, *, config: IterateConfig, styles: StyleTrack, clock: Clock,
    reference: torch.Tensor | None = None, anchor: torch.Tensor | None = None, original_colors: Num = 0.0,
    resume: tuple[int, dict] | None = None,
) -> Iterator[Rendered]:
    """Yields (t, x[t], state) for each step t of the clock (`steps: auto` is resolved there),
    from after `resume` if given. `reference` is the colour reference image; None with colour
    matching on means the first frame the loop makes. `anchor` is the picture the anchor pulls
    toward (default x0)."""
    anchor = x0 if anchor is None else anchor
    color = config.color
    if resume is None:
        start, x = 0, x0
        yield 0, x0, {"x": x0, "reference": reference}
    else:
        start, state = resume
        x, reference = state["x"].to(x0.device), state.get("reference")
        reference = reference.to(x0.device) if reference is not None else None
    target_colors = ColorReference(reference) if reference is not None else None
    for t in range(start + 1, clock.count):
        when = clock.at(t)
        step = at_frame(config, when)
        moved = feedback_step(x, step, anchor)
        seen = moved
        if step.color.noise > 0:
            seen = (moved + step.color.noise * torch.randn(moved.shape, generator=when.rng).to(moved.device)).clamp(0, 1)
        seen = life.octave_noise(seen, step.noise.amount, step.noise.scale, step.noise.octaves, when.rng)
        stylized = method.transfer(styles.at(seen, when), seen, init=seen, when=when)
        stylized = life.original_colors(stylized, seen, when.value(original_colors))
        x = torch.lerp(moved, stylized, step.blend)
        if color.match != "none":
            if target_colors is None:
                reference = quantized(x)
                target_colors = ColorReference(reference)
            x = cohere(x, target_colors, color.match, step.color.strength)
        yield t, x, {"x": x, "reference": reference}


def tweened(steps: Iterator[Rendered], k: int, how: str, previous: torch.Tensor | None = None) -> Iterator[Rendered]:
    """Iterate t becomes frame t k, with k - 1 in-betweens before it (which carry no state: a
    render resumes from iterates). `previous` is the iterate before the first one yielded."""
    backend = make_backend("dis", "medium") if how == "flow" else None
    for t, x, state in steps:
        if previous is not None:
            for j, frame in enumerate(inbetweens(previous, x, k, backend), start=1):
                yield (t - 1) * k + j, frame, None
        yield t * k, x, state
        previous = x
