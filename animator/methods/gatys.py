"""The optimization method (Gatys et al. 2015) behind the Method protocol.

transfer() optimizes the image so its VGG19 features match the content's at the content layers
and the style's representation at the style layers, optionally coarse to fine. The style's
representation may be transformed (see gram_transforms.py); with redraw `step` it is redrawn
before every optimizer step, with `frame` once per call, with `never` identically every call.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from animator.clock import When, at_frame
from animator.errors import AnimatorError
from animator.media.frame import fit_size, to_tensor
from animator.media.image import read_image
from animator.methods.base import Temporal
from animator.nets.vgg import load_vgg19
from animator.nets.vgg_layers import CHANNELS_AT, LAYERS, least_side
from animator.preset.schema import GatysOptions
from animator.style import gram_transforms
from animator.style.functional import keep_colors
from animator.style.losses import CONTENT_SCALE, Objective, Term, represent
from animator.style.optimize import optimize


def resized(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if image.shape[-2:] == (height, width):
        return image
    return F.interpolate(image, size=(height, width), mode="bilinear", antialias=True, align_corners=False)


def at_size(image: torch.Tensor, long_side: int) -> torch.Tensor:
    width, height = fit_size(image.shape[-1], image.shape[-2], long_side)
    return resized(image, height, width)


def upscaled(x: torch.Tensor, shape: torch.Size, earlier: torch.Tensor | None) -> torch.Tensor:
    """x resized to `shape`; going up, with the detail of `earlier` (the start) that x's size could
    not hold, so a start that is an earlier frame is not blurred by the coarse scales (with a
    self-style, untouched targets and that start, each scale's optimum is the start itself)."""
    if earlier is None or x.shape[-1] >= shape[-1]:
        return resized(x, *shape)
    return resized(x, *shape) + resized(earlier, *shape) - resized(resized(earlier, *x.shape[-2:]), *shape)


def noise_generator(frame_rng: torch.Generator) -> torch.Generator:
    """The start's noise, drawn apart from the frame's targets, which every pass of a multi-pass
    video draws again from the frame's generator (a later pass starts from the last output and
    draws no noise). Frame seeds are below 2^63 (clock.frame_generator), so none is this one."""
    return torch.Generator().manual_seed(frame_rng.initial_seed() ^ 1 << 63)


class StyleCode:
    """One style image and its representations at the style layers, computed once per size."""

    def __init__(self, image: torch.Tensor):
        self.image = image
        self.cache: dict[tuple, dict[str, torch.Tensor]] = {}


@dataclasses.dataclass(frozen=True)
class StyleSet:
    """A frame's style: encoded images and their weights."""

    styles: Sequence[tuple[StyleCode, float]]


class GatysMethod:
    def __init__(self, options: GatysOptions, device: torch.device, dtype: torch.dtype = torch.float32, seed: int = 0):
        # The image being optimized, the targets and the losses stay float32; in bfloat16 only
        # the network's own arithmetic runs, about 3x faster on CPUs with AMX: its convolutions'
        # weights are cast once, here, and each casts its input (what autocast did, which cast
        # the weights again on every pass: they take no gradient, so it kept no cast).
        self.options, self.device, self.dtype, self.seed = options, device, dtype, seed
        layers = set(options.style_layers if options.style_weight else ()) | set(options.content_layers if options.content_weight else ())
        self.vgg = load_vgg19(device, weights=options.weights, pooling=options.pooling, last=max(layers, key=LAYERS.index))
        self.vgg.convs.to(dtype)
        self.init_image = to_tensor(read_image(options.init), device) if isinstance(options.init, Path) else None

    def with_steps(self, steps: int, refine: bool = False) -> GatysMethod:
        """This method, its network shared, optimizing `steps` steps; to `refine` (a later pass of
        a multi-pass video), from the image it is given, whatever `init` says, at the full size alone."""
        other = copy.copy(self)
        refining = {"scales": (), "init": "previous"} if refine else {}
        other.options = dataclasses.replace(self.options, steps=steps, **refining)
        return other

    def encode_style(self, image: torch.Tensor) -> StyleCode:
        return StyleCode(image)

    def mix_styles(self, codes: Sequence[tuple[StyleCode, float]], when: When | None = None) -> StyleSet:
        return StyleSet(tuple(codes))

    def transfer(self, target: StyleSet, content: torch.Tensor, init: torch.Tensor | None = None,
                 when: When | None = None, temporal: Temporal | None = None) -> torch.Tensor:
        """`temporal` (video): start from the warped previous output where the flow holds and the
        content elsewhere, and add weight x mask x (x - previous)^2 to the loss (Ruder et al. 2016);
        with a key, the same for it where it holds and the previous output does not."""
        options = at_frame(self.options, when)
        rng = when.rng if when is not None else torch.Generator().manual_seed(self.seed)
        if temporal is not None and init is None:
            init = temporal.start(content)
        drawn = rng.get_state()  # every scale and pass draws the frame's targets alike: `frame` is once per call
        x = self._start(options, target, content, init, noise_generator(rng))
        earlier = x if x is init else None  # an earlier frame: the coarse scales reshape it, its detail kept
        full = max(content.shape[-2:])
        for size in (*options.scales, full):
            rng.set_state(drawn)
            scaled = at_size(content, size) if size != full else content
            x = upscaled(x, scaled.shape[-2:], earlier)
            objective, redraw = self._objective(options, target, scaled, full, rng)
            if temporal is not None and size == full:
                objective.temporal = temporal.held()
            x = optimize(x, lambda image: objective(self.features(image, objective.layers), image), steps=options.steps,
                         optimizer=options.optimizer, lr=options.lr, before_step=redraw)
        if options.original_colors:
            x = keep_colors(x, content)
        return x.clamp(0, 1)

    def features(self, image: torch.Tensor, layers: frozenset[str]) -> dict[str, torch.Tensor]:
        deepest = max(layers, key=LAYERS.index)
        if min(image.shape[-2:]) < least_side(deepest):  # VGG19 would fail on a picture of no pixels there
            raise AnimatorError(f"method: {deepest} needs pictures of {least_side(deepest)} px a side at least, and this "
                                f"render has one of {image.shape[-1]}x{image.shape[-2]} (a larger size, no smaller method.scales, "
                                "a less thin picture or a shallower layer)")
        return {layer: f.float() for layer, f in self.vgg(image, layers).items()}

    def _start(self, options: GatysOptions, target: StyleSet, content: torch.Tensor, init: torch.Tensor | None,
               rng: torch.Generator) -> torch.Tensor:
        choice = options.init
        if isinstance(choice, Path):
            return resized(self.init_image, *content.shape[-2:])
        if choice == "noise":
            return torch.rand(content.shape, generator=rng).to(content.device)
        if choice == "style" and target.styles:
            return resized(max(target.styles, key=lambda pair: pair[1])[0].image, *content.shape[-2:])
        if choice in ("auto", "previous") and init is not None:
            return init
        return content

    def _objective(self, options: GatysOptions, target: StyleSet, content: torch.Tensor, full: int, rng: torch.Generator):
        terms = []  # an empty list of layers is no such term, as a weight of 0 is (resolve.frame_rules)
        if options.content_weight and options.content_layers:
            with torch.no_grad():
                features = self.features(content, frozenset(options.content_layers))
            terms += [Term("content", layer, options.content_weight * CONTENT_SCALE, features[layer])
                      for layer in options.content_layers]
        redraw = None
        if options.style_weight and options.style_layers:
            base = self._style_targets(options, target, content.shape[-2:], max(content.shape[-2:]) / full)
            style_terms = [Term(options.representation, layer, options.style_weight * w * 10 / CHANNELS_AT[layer] ** 2,
                                base[layer], options.window)
                           for layer, w in zip(options.style_layers, options.style_layer_weights or [1.0] * len(options.style_layers))]
            redraw = self._transform(options, style_terms, base, rng)
            terms += style_terms
        return Objective(terms, options.tv_weight), redraw

    def _style_targets(self, options: GatysOptions, target: StyleSet, shape: torch.Size, scale: float) -> dict[str, torch.Tensor]:
        """The weighted blend of the style images' representations at each style layer."""
        kind, layers, key = options.representation, frozenset(options.style_layers), (tuple(shape), scale)
        total = sum(w for _, w in target.styles)
        blend: dict = {}
        for code, weight in target.styles:
            if weight == 0 and kind != "local":
                continue  # a morph's image that has no say in this frame
            if key not in code.cache:
                # Gram targets keep the style's own framing; spatial and local ones match pixel for pixel.
                image = resized(code.image, *shape) if kind != "gram" else at_size(code.image, round(max(code.image.shape[-2:]) * scale))
                deepest = max(layers, key=LAYERS.index)
                if min(image.shape[-2:]) < least_side(deepest):  # the render's own size may be large enough
                    raise AnimatorError(f"style: {deepest} needs pictures of {least_side(deepest)} px a side at least, and "
                                        f"a style image is seen at {image.shape[-1]}x{image.shape[-2]} (a less thin style "
                                        "image, a larger size, no smaller method.scales or a shallower layer)")
                with torch.no_grad():
                    features = self.features(image, layers)
                code.cache[key] = {layer: represent(kind, features[layer], options.window) for layer in layers}
            for layer, rep in code.cache[key].items():
                blend[layer] = rep if kind == "local" else blend.get(layer, 0) + rep * (weight / total)
        return blend

    def _transform(self, options: GatysOptions, terms: list[Term], base: dict[str, torch.Tensor], frame_rng: torch.Generator):
        """Set the transformed targets; returns the per-step redraw hook, or None."""
        transform = options.gram_transform
        if transform.name == "none" and not transform.zero_others:
            return None
        chosen = set(transform.layers or options.style_layers)
        rng = torch.Generator().manual_seed(self.seed) if transform.redraw == "never" else frame_rng

        def draw(step: int = 0) -> None:
            for term in terms:
                if term.layer in chosen and transform.name != "none":
                    term.target = gram_transforms.apply(transform, base[term.layer][0], rng).unsqueeze(0)
                elif term.layer not in chosen and transform.zero_others:  # a local target is a pair of factors
                    rep = base[term.layer]
                    term.target = tuple(map(torch.zeros_like, rep)) if isinstance(rep, tuple) else torch.zeros_like(rep)

        draw()
        return draw if transform.redraw == "step" else None
