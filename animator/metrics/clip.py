"""Every figure of a stylized clip in one streamed pass: its consistency over time (warping error
at t-1 and t-k), and, given the per-frame render of the same clip (the reference), what the
consistency cost: detail, style and a perceptual distance, beside the flow-free moving average of
the reference at the same weight. Memory does not grow with the clip."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from animator.metrics.fidelity import GramDistance, Judge, gradient_energy, perceptual_distance
from animator.metrics.video import MovingAverage, WarpTrack, source_motion

LONG_TERM = 10  # frames back for the long-term error


class Mismatch(ValueError):
    """Clips that cannot be measured together; `whose` is the one at fault: "renders", "source"
    or "reference"."""

    def __init__(self, whose: str, message: str):
        super().__init__(message)
        self.whose = whose


class Figures:
    """One clip's running figures."""

    def __init__(self, judged: bool):
        self.track, self.energy = WarpTrack(), []
        self.grams = GramDistance() if judged else None

    def add(self, image: torch.Tensor, motions, features: dict | None) -> None:
        self.track.add(image, motions)
        self.energy.append(gradient_energy(image))
        if features is not None:
            self.grams.add(features)

    def summary(self, style: dict | None, long_term: int) -> dict:
        figures = {"warping_error": self.track.error(1), "long_term_error": self.track.error(long_term),
                   "flicker": float(np.mean(self.track.flicker.get(1, [np.nan]))), "gradient_energy": float(np.mean(self.energy))}
        if style is not None and self.grams is not None:
            figures["gram_distance"] = self.grams.distance(style)
        return figures


def measure_clip(outputs: Iterable[np.ndarray], sources: Iterable[np.ndarray], references: Iterable[np.ndarray] | None = None,
                 style: torch.Tensor | None = None, **options) -> dict:
    """Figures of `outputs` (HxWx3 uint8 frames) against their `sources` (resized to match) and,
    if given, the per-frame `references` (as many frames, the same size) and a `style` image (1x3xHxW in [0, 1]). The Gram
    distance is to the style image, or without one to the reference's own style (the mean Gram
    of its frames). The VGG19 figures look at every `every`-th frame. `relative` holds the ratios
    to the reference: warping errors below 1 are steadier, detail and style below 1 and above 1
    are lost."""
    return measure_clips({"clip": outputs}, sources, references, style, **options)["clip"]


def measure_clips(outputs: dict[str, Iterable[np.ndarray]], sources: Iterable[np.ndarray],
                  references: Iterable[np.ndarray] | None = None, style: torch.Tensor | None = None, *, weight: float = 0.7,
                  long_term: int = LONG_TERM, flow: str = "dis", every: int = 1, device: torch.device | str = "cpu",
                  judge: Judge | None = None) -> dict[str, dict]:
    """measure_clip's figures for several renders of the same clip (frame for frame, the same
    size), by name: the source's flow, the reference's figures, the moving average and the
    style's targets are found once for all of them."""
    from animator.media.frame import to_tensor

    names, streams = list(outputs), [iter(o) for o in outputs.values()]
    firsts = [next(stream, None) for stream in streams]
    if any(first is None for first in firsts):
        raise Mismatch("renders", "no frames to measure")
    size = (firsts[0].shape[1], firsts[0].shape[0])
    if any(first.shape != firsts[0].shape for first in firsts):
        raise Mismatch("renders", f"renders of different sizes: {', '.join(f'{n} {f.shape[1]}x{f.shape[0]}' for n, f in zip(names, firsts))}")
    judged = references is not None or style is not None
    judge = judge or (Judge(device) if judged else None)
    clips, reference, average = [Figures(judged) for _ in names], Figures(judged), Figures(judged)
    moving, perceptual, frames = MovingAverage(weight), [[] for _ in names], 0
    motions = source_motion(shaped(sources, size), size, (1, long_term), flow, device)
    images = lockstep([itertools.chain([first], stream) for first, stream in zip(firsts, streams)])
    for t, (renders, motion, ref) in enumerate(beside(images, motions, references, size)):
        frames += 1
        look = judged and t % every == 0
        seen = []
        for image, figures in zip(renders, clips):
            x = to_tensor(image, device)
            seen.append(judge.features(x) if look else None)
            figures.add(x, motion, seen[-1])
        if ref is None:
            continue
        r = to_tensor(ref, device)
        reference_features = judge.features(r) if look else None
        reference.add(r, motion, reference_features)
        smoothed = moving(r)
        average.add(smoothed, motion, judge.features(smoothed) if look else None)
        if look:
            for distances, features in zip(perceptual, seen):
                distances.append(perceptual_distance(features, reference_features))
    if frames < 2:
        raise Mismatch("renders", "warping error needs at least two frames")
    target = judge.style_target(style.to(device)) if style is not None else reference.grams.mean_gram() if references is not None else None
    shared = None if references is None else {"reference": reference.summary(target, long_term),
                                              "moving_average": {"weight": weight, **average.summary(target, long_term)}}
    return {name: summary(frames, figures.summary(target, long_term), distances, shared)
            for name, figures, distances in zip(names, clips, perceptual)}


def summary(frames: int, figures: dict, distances: list[float], shared: dict | None) -> dict:
    """One render's figures, and with a reference, the reference's and the moving average's
    beside them and the ratios between."""
    result = {"frames": frames, **figures}
    if shared is None:
        return result
    result.update(shared, perceptual_distance=float(np.mean(distances)))
    result["relative"] = relative(result)
    return result


def shaped(sources: Iterable[np.ndarray], size: tuple[int, int]) -> Iterator[np.ndarray]:
    """The source's frames, the first checked against the renders' shape. A render keeps its
    source's shape, its sides rounded (to multiples of 8, at most 4 px off each), so a source of
    another shape (turned, cropped) is another clip, which resized to the renders' would be
    measured as theirs. A side stretched to the networks' least (MIN_SIDE) is let pass: a render
    with a side that small is checked side by side, each up to 4 px from its scale or from MIN_SIDE
    (a 32x16 render of a turned 192x320 clip was measured as its own)."""
    from animator.media.frame import MIN_SIDE, MULTIPLE

    width, height = size
    for t, image in enumerate(sources):
        w, h = image.shape[1], image.shape[0]
        if t == 0:
            if min(size) > MIN_SIDE:  # width/height against w/h, each side of the render up to 4 px off its exact scale
                other = abs(width * h - height * w) > 4 * (w + h)
            else:
                scale = max(size) / max(w, h)
                other = any(not side * scale - MULTIPLE / 2 <= got <= max(MIN_SIDE, side * scale) + MULTIPLE / 2
                            for side, got in ((w, width), (h, height)))
            if other:
                raise Mismatch("source", f"the source is {w}x{h}, the renders {width}x{height}: of another shape, so "
                                         "another clip (or turned, or cropped)")
        yield image


def lockstep(streams: list[Iterable[np.ndarray]]) -> Iterable[tuple[np.ndarray, ...]]:
    """The renders' frames side by side; one that ends early is an error, not a shorter clip."""
    for frames in itertools.zip_longest(*streams):
        if any(frame is None for frame in frames):
            raise Mismatch("renders", "the renders have different numbers of frames")
        yield frames


def beside(images: Iterable, motions: Iterable, references: Iterable[np.ndarray] | None, size: tuple[int, int]):
    """Each frame of the renders with the source's motion to it and the reference's frame (None
    without a reference). A source that ends first, or a reference of another length or size, is
    an error: figures over part of a clip, or over another clip, would read as the whole one's."""
    motions, references = iter(motions), iter(references) if references is not None else None
    t = 0
    for t, renders in enumerate(images):
        motion = next(motions, None)
        if motion is None:
            raise Mismatch("source", f"the source ends after {t} frames, before the renders do (at --start?)")
        ref = next(references, None) if references is not None else None
        if references is not None:
            if ref is None:
                raise Mismatch("reference", f"the reference ends after {t} frames, before the renders do: it must be the same clip")
            if (ref.shape[1], ref.shape[0]) != size:
                raise Mismatch("reference", f"the reference is {ref.shape[1]}x{ref.shape[0]}, the renders {size[0]}x{size[1]}: "
                                 "render it at the same size")
        yield renders, motion, ref
    if references is not None and next(references, None) is not None:
        raise Mismatch("reference", f"the reference goes on past the renders' {t + 1} frames: it must be the same clip")


def relative(result: dict) -> dict:
    """The clip's and the moving average's figures as ratios to the per-frame reference's."""
    reference, ratios = result["reference"], {}
    for key in ("warping_error", "long_term_error", "gradient_energy", "gram_distance"):
        if key in reference:
            ratios[key] = _ratio(result[key], reference[key])
            ratios[f"moving_average_{key}"] = _ratio(result["moving_average"][key], reference[key])
    return ratios


# Past a million times the reference's figure, that figure is 0 but for rounding (a per-frame
# render that never changes has a warping error of ~1e-13): no ratio to it is reported (inf: n/a).
RATIO_MAX = 1e6


def _ratio(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return float("nan")
    if a == 0:
        return 1.0 if b == 0 else 0.0
    return a / b if b > 0 and a <= RATIO_MAX * b else float("inf")
