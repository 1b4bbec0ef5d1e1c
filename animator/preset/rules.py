"""Rules that span keys, which no one key's type can say: combinations refused, and keys a
preset's writer put in that would change nothing (refused, not ignored). Each check is given
`error(path, message)`, which names the file and line of the key at `path`
(load.preset_from_dict)."""

from __future__ import annotations

import dataclasses
from typing import Any

from animator.media.image import IMAGE_SUFFIXES, frames_in
from animator.preset.convert import KeyPath
from animator.preset.resolve import off_throughout, scheduled_values
from animator.preset.schedule import AUDIO_VARIABLES, Schedule
from animator.preset.schema import AudioConfig, GramTransform, IterateConfig, MotionConfig, Preset, StillConfig, TemporalConfig


def check_audio(preset: Preset, error) -> None:
    if preset.audio is not None and preset.mode == "still":
        raise error(("audio",), "music moves iterate and video renders; a still has one frame")
    if preset.mode == "iterate" and preset.iterate.steps == "auto" and preset.audio is None:
        raise error(("iterate", "steps"), "auto renders as long as the audio lasts: expected an audio file "
                                          "(audio: at the top of the preset) or a number of steps")


def check_written(preset: Preset, error, commanded: tuple[KeyPath, ...]) -> None:
    """What the preset's writer put in it that would change nothing: refused, not ignored."""
    _check_unused(preset, error, commanded)
    temporal, flow = preset.video.temporal, ("video", "temporal", "flow")
    if temporal.passes > 1 and temporal.flow == "none" and flow not in commanded:
        # switched off by --set, the passes are kept, so that one --set gives the per-frame render
        raise error(("video", "temporal", "passes"), "needs flow: each pass holds a frame to its neighbour warped by it")
    if preset.video.start and preset.input.suffix.lower() in IMAGE_SUFFIXES and frames_in(preset.input) == 1:
        # it picks the frame of a video (or a folder) to start from
        raise error(("video", "start"), "is for a video or a folder of images; the input is an image")
    if preset.method.name == "gatys":
        _check_gatys_choices(preset, preset.method, error)
    if preset.audio is not None:
        _check_heard(preset, error, commanded)


def _check_heard(preset: Preset, error, commanded: tuple[KeyPath, ...]) -> None:
    """Music that nothing hears, unless a --set made it so (`iterate.steps=3` shortens a song's loop)."""
    read = set().union(*(schedule.variables for _, schedule, _ in scheduled_values(preset)))
    if "beat" not in read and preset.audio.half_life != HALF_LIFE:
        raise error(("audio", "half_life"), "is how fast `beat` falls after each beat, and no schedule reads beat")
    carried = any(output.format in SOUND_FORMATS for output in preset.outputs)
    lasts = preset.mode == "iterate" and preset.iterate.steps == "auto"
    shortened = any(path[0] == "outputs" or ("iterate", "steps")[:len(path)] == path for path in commanded)
    if not read & set(AUDIO_VARIABLES) and not carried and not lasts and not shortened:
        raise error(("audio",), "nothing hears it: no schedule reads its features, no output carries sound "
                                f"({', '.join(SOUND_FORMATS)}), and iterate.steps is not auto")


HALF_LIFE = next(f.default for f in dataclasses.fields(AudioConfig) if f.name == "half_life")
SOUND_FORMATS = ("mp4", "webm", "mov")  # the outputs that carry sound (render/outputs.py)


def check_morph(style, error) -> None:
    """`at:` on style images is a morph (see resolve.style_weights): all or none, in order."""
    if style == "self" or all(image.at is None for image in style):
        return
    for i, image in enumerate(style):
        if image.at is None:
            raise error(("style", i, "at"), "a morph needs `at` on every style image")
        if image.weight != 1.0:
            raise error(("style", i, "weight"), "a morph image takes `at` or a `weight`, not both")
        if i and image.at <= style[i - 1].at:
            raise error(("style", i, "at"), f"expected frames in increasing order, found {image.at} after {style[i - 1].at}")


def check_combinations(preset: Preset, error) -> None:
    """Rules that span keys, checked once here so the engine can trust the Preset."""
    method = preset.method
    if not preset.style:  # `style: []`: every method needs a style to paint with
        raise error(("style",), "expected self or at least one style image, found an empty list")
    if method.name == "multistyle" and preset.style != "self":
        raise error(("style",), "multistyle paints its 26 built-in styles; use style: self and set method.style")
    if preset.still.objective != "transfer" and method.name != "gatys":
        raise error(("still", "objective"), f"{preset.still.objective} needs method gatys, found {method.name}")
    style_free = method.name == "multistyle" or preset.still.objective != "transfer"
    if preset.mode == "still" and preset.style == "self" and not style_free:
        raise error(("style",), "still mode needs a style image (self, the picture as its own style, is for iterate "
                                "and video mode)")
    if method.name == "gatys":
        _check_gatys(preset, method, error)
    _check_passes(preset, method, error)
    if preset.video.fps is not None and not preset.input.is_dir():
        raise error(("video", "fps"), "is a folder of images' frame rate; a file input keeps its own (a video, an "
                                      "animation) or has none (an image)")
    inject = preset.iterate.inject
    if method.name == "multistyle" and inject.image is not None:
        raise error(("iterate", "inject"), "multistyle paints its built-in styles; schedule method.style to steer it")
    if inject.image is None and inject.weight != 0:
        raise error(("iterate", "inject", "weight"), "is an injected style image's: expected iterate.inject.image with it")
    if not preset.outputs:
        raise error(("outputs",), "expected at least one output")
    formats = [o.format for o in preset.outputs]
    if len(set(formats)) != len(formats):
        raise error(("outputs",), f"each format may appear once, found {', '.join(formats)}")
    for i, output in enumerate(preset.outputs):
        if problems := output.problems():
            key, problem = problems[0]
            raise error(("outputs", i, key), problem)


def _check_unused(preset: Preset, error, commanded: tuple[KeyPath, ...] = ()) -> None:
    """Keys that would change nothing are refused, not ignored: a mode's section outside that mode
    (where video.start, and a folder's fps, pick the picture to start from), the keys of a choice
    not taken (ONLY_WITH), and those of a setting switched off (OFF_SWITCHES). A setting switched
    off by the command line (`commanded`: the --set paths) keeps its keys, so that one --set
    compares a render with it and without; a --set of a whole section is judged as the file is,
    since it replaces the file's keys there with its own."""
    sections = {"iterate": [f.name for f in dataclasses.fields(IterateConfig)], "video": ["duration", "audio", "temporal"],
                "still": [f.name for f in dataclasses.fields(StillConfig)]}
    written = {path for path, _ in preset.lines} | {path for path, _ in preset.overridden}
    mode_commanded = any(path[:1] == ("mode",) for path in commanded)  # a --set of the mode keeps the file's sections
    mode_set = next((text for path, text in preset.overridden if path == ("mode",)), None)
    for section, keys in sections.items():
        if preset.mode != section:  # a --set of the mode too: the section would be left out, its music heard for nothing
            problem = f"is for {section} mode; this preset's mode is {preset.mode}" + (
                f" (by {mode_set}): a preset of another mode needs its {section} section taken out" if mode_set else "")
            _refuse_set(getattr(preset, section), keys, (section,), error, problem)
            if given := next((key for key in keys if (section, key) in written and not mode_commanded), None):
                raise error((section, given), problem)  # at its default value too: it still says nothing
    for switch, (off, keys, problem) in OFF_SWITCHES.items():  # a schedule switches it off if it is off at every frame
        config = _at(preset, switch[:-1])
        value = getattr(config, switch[-1], None)
        if config is not None and off_throughout(preset, value, off) and switch not in commanded:
            _refuse_set(config, keys, switch[:-1], error, problem + (" at every frame" if isinstance(value, Schedule) else ""))
    loop = preset.iterate  # at blend 0, x[t+1] is x[t] moved: what the method is given, and makes, is not seen
    if preset.mode == "iterate" and off_throughout(preset, loop.blend, 0) and ("iterate", "blend") not in commanded:
        problem = "is for the method's picture; iterate.blend is 0" + (" at every frame" if isinstance(loop.blend, Schedule) else "")
        for config, keys, where in ((loop.noise, ("amount",), ("iterate", "noise")), (loop.color, ("noise",), ("iterate", "color")),
                                    (loop.inject, ("image",), ("iterate", "inject"))):
            _refuse_set(config, keys, where, error, problem)
        if isinstance(preset.original_colors, Schedule) or preset.original_colors != 0:
            raise error(("original_colors",), problem)
    if preset.style != "self" and len(preset.style) == 1 and preset.style[0].weight != 1:
        raise error(("style", 0, "weight"), "is a share among style images, and this is the only one: it changes "
                                            "nothing (a second image takes the rest)")
    if preset.style != "self" and len(preset.style) == 1 and preset.style[0].at is not None:
        raise error(("style", 0, "at"), "is the frame a morph hands the style to this image, and this is the only one: "
                                        "it has the whole style throughout (a morph needs a second image)")
    transform, switch = getattr(preset.method, "gram_transform", None), ("method", "gram_transform", "name")
    if transform is not None and transform.name == "none" and transform.layers and not transform.zero_others and \
            switch not in commanded:  # the layers a transform, or zero_others, is for
        raise error(("method", "gram_transform", "layers"), "is for a Gram transform or zero_others; its name is none "
                                                            "and zero_others false")
    motion, still = preset.iterate.motion, MotionConfig()  # moving nothing is a switch of six keys
    if all(off_throughout(preset, getattr(motion, key), getattr(still, key)) for _, _, key in MOVING) and \
            not MOVING & set(commanded):
        _refuse_set(motion, ("border", "resample"), ("iterate", "motion"), error,
                    "is for motion; iterate.motion moves nothing (zoom 1, no angle, translate or tilt)")
    for path, (switch, takes) in ONLY_WITH.items():
        config, chosen = _at(preset, path[:-1]), _at(preset, switch)
        off = switch in OFF_SWITCHES and chosen == OFF_SWITCHES[switch][0]  # the rule above judges that
        if hasattr(config, path[-1]) and chosen not in takes and not off:  # (the networks' options have no lr)
            _refuse_set(config, path[-1:], path[:-1], error,
                        f"is for {switch[-1]} {' or '.join(takes)}; {switch[-1]} is {chosen}")


# The motion keys that move the picture: a --set of one (to nothing) keeps the file's border and resample
MOVING = {("iterate", "motion", key) for key in ("zoom", "angle", "translate_x", "translate_y", "tilt_x", "tilt_y")}
# A setting switched off, the keys it then takes no notice of, and what they are for
OFF_SWITCHES: dict[KeyPath, tuple[Any, tuple[str, ...], str]] = {
    ("video", "temporal", "flow"): ("none", ("flow_preset", "flow_scale", "flow_check", "mode", "weight", "output_weight",
                                             "long_term", "pan_lock"), "is for temporal consistency; flow is none (each frame on its own)"),
    ("iterate", "interpolate"): (1, ("interpolate_with",), "is for in-betweens; interpolate is 1 (none)"),
    ("iterate", "color", "match"): ("none", ("reference", "strength"), "is for colour coherence: expected "
                                                                       "iterate.color.match lab or histogram with it"),
    ("iterate", "color", "strength"): (0.0, ("match",), "is for colour coherence; iterate.color.strength is 0"),
    ("method", "gram_transform", "name"): ("none", ("low", "high", "density", "amplitude", "redraw"),
                                           "is for a Gram transform; its name is none"),
    # the controls that keep a loop alive, at 0 throughout: the file names a picture or a shape for nothing
    ("iterate", "anchor", "amount"): (0.0, ("image",), "is for the anchor's pull; iterate.anchor.amount is 0"),
    ("iterate", "inject", "weight"): (0.0, ("image",), "is for injecting a style; iterate.inject.weight is 0"),
    ("iterate", "noise", "amount"): (0.0, ("scale", "octaves"), "is for noise; iterate.noise.amount is 0"),
    ("iterate", "sharpen", "amount"): (0.0, ("radius",), "is for sharpening; iterate.sharpen.amount is 0"),
}
# A key of one choice alone: the setting that chooses, and the values that take the key
ONLY_WITH: dict[KeyPath, tuple[KeyPath, tuple[str, ...]]] = {
    ("still", "layer"): (("still", "objective"), ("reconstruct",)),
    ("video", "temporal", "flow_preset"): (("video", "temporal", "flow"), ("dis",)),
    ("video", "temporal", "output_weight"): (("video", "temporal", "mode"), ("features",)),
    ("method", "lr"): (("method", "optimizer"), ("adam",)),
    ("method", "window"): (("method", "representation"), ("local",)),
    **{("method", "gram_transform", key): (("method", "gram_transform", "name"), names)
       for key, names in (("low", ("eigen-randomize",)), ("high", ("eigen-randomize",)), ("density", ("sparse",)),
                          ("amplitude", ("sparse", "single")))},
}


def _at(preset: Preset, path: KeyPath):
    """The section of the preset at `path`; None where the preset's method has no such section."""
    node = preset
    for part in path:
        node = getattr(node, part, None)
    return node


def _refuse_set(config, keys, where: KeyPath, error, problem: str) -> None:
    """Refuses the first of `keys` that `config` (a section of the preset) sets to other than its default."""
    default = type(config)()
    for key in keys:
        if getattr(config, key) != getattr(default, key):
            raise error((*where, key), problem)


def _check_passes(preset: Preset, method, error) -> None:
    temporal, where = preset.video.temporal, ("video", "temporal", "passes")
    if temporal.passes == 1:
        return
    if method.name != "gatys":
        raise error(where, f"is for the optimization method (gatys); {method.name} paints each frame once")
    if temporal.passes > method.steps:
        raise error(where, f"shares method.steps among the passes: expected at most {method.steps}, found {temporal.passes}")


SPATIAL_MAX_SIZE = 512  # the autocorrelation holds (2H-1)(2W-1) lags per channel


def _check_gatys(preset: Preset, method, error) -> None:
    temporal, default = preset.video.temporal, TemporalConfig()
    for key in ("mode", "output_weight", "pan_lock"):  # how the networks blend; gatys would ignore them without a word
        if getattr(temporal, key) != getattr(default, key):
            raise error(("video", "temporal", key), "is for the networks (arbitrary, multistyle); gatys holds frames "
                                                    "together by its temporal loss (weight, long_term, passes)")
    transform = method.gram_transform
    if transform.name != "none" and method.representation != "gram":
        raise error(("method", "gram_transform"), f"transforms Gram matrices; representation is {method.representation}")
    if not isinstance(transform.low, Schedule) and not isinstance(transform.high, Schedule) and transform.low > transform.high:
        raise error(("method", "gram_transform", "low"), f"expected low <= high, found {transform.low} > {transform.high}")
    stray = [layer for layer in transform.layers if layer not in method.style_layers]
    if stray:
        raise error(("method", "gram_transform", "layers"), f"expected style layers, found {', '.join(stray)}")
    if method.style_layer_weights and len(method.style_layer_weights) != len(method.style_layers):
        raise error(("method", "style_layer_weights"),
                    f"expected one weight per style layer ({len(method.style_layers)}), found {len(method.style_layer_weights)}")
    if method.representation == "spatial" and max((preset.size, *method.scales)) > SPATIAL_MAX_SIZE:
        raise error(("size",), f"a spatial style needs size <= {SPATIAL_MAX_SIZE} (its autocorrelation is 4x the "
                               f"feature map), found {max((preset.size, *method.scales))}")
    if method.representation == "local" and preset.style != "self" and len(preset.style) > 1:
        raise error(("style",), "a local style matches pixel by pixel: expected one style image")
    if any(scale >= preset.size for scale in method.scales):
        raise error(("method", "scales"), f"expected sizes below size ({preset.size}), found {list(method.scales)}")
    if list(method.scales) != sorted(set(method.scales)):
        raise error(("method", "scales"), f"expected sizes from the coarsest up, each once, found {list(method.scales)}")
    for key in (("content_layers",), ("style_layers",), ("gram_transform", "layers")):  # a layer given twice counted twice
        layers = _at(preset, ("method", *key))
        if twice := next((layer for layer in layers if layers.count(layer) > 1), None):
            raise error(("method", *key), f"expected each layer once, found {twice} twice")


def _check_gatys_choices(preset: Preset, method, error) -> None:
    """Choices that would leave the picture as it was, or take no notice of a key."""
    transform = method.gram_transform
    if transform.zero_others and not transform.layers:
        raise error(("method", "gram_transform", "zero_others"), "zeroes the style layers not in gram_transform.layers; "
                                                                  "expected layers with it (empty: every style layer)")
    if transform.zero_others and set(method.style_layers) <= set(transform.layers):
        raise error(("method", "gram_transform", "zero_others"), "zeroes the style layers not in gram_transform.layers, "
                                                                  "which holds every style layer: none would be zeroed")
    if transform.name == "eigen-randomize" and transform.low == transform.high == 1:  # (a schedule is never 1)
        raise error(("method", "gram_transform", "low"), "and high are 1: eigen-randomize would multiply every element of "
                                                          "V by 1, the style targets as they were")
    if method.optimizer == "adam" and not isinstance(method.lr, Schedule) and method.lr == 0:
        raise error(("method", "lr"), "is 0: adam would not move the picture, every frame its start")
    if method.original_colors and (isinstance(preset.original_colors, Schedule) or preset.original_colors != 0):
        raise error(("original_colors",), "would lay the content's colours on a picture that has them already: "
                                          "method.original_colors is true (all of them); expected one of the two")
    if transform.redraw == "step" and method.optimizer == "lbfgs":  # its curvature estimate is of the last target
        raise error(("method", "gram_transform", "redraw"), "step needs optimizer adam: L-BFGS under a target drawn "
                                                            "anew every step hardly moves")
    if method.representation == "local" and preset.iterate.inject.image is not None:
        raise error(("iterate", "inject"), "a local style matches pixel by pixel: one style image, and inject adds a second")
    if method.init == "previous" and preset.mode == "still":  # (in video mode without flow it is content, as auto)
        raise error(("method", "init"), "previous is the last frame: iterate or video mode")
    if method.init == "style" and preset.style == "self":
        raise error(("method", "init"), "style is the picture itself with style self: the same start as init content")
    # With the frame as its style and its target Gram matrices untouched, the frame itself is the
    # optimum, and where the content term lets go, a start at the frame (or the last output
    # warped onto it) is one already: the render would be the clip.
    if preset.mode == "video" and preset.style == "self" and transform.name == "none" and not transform.zero_others \
            and (content_held(method) or method.init in ("auto", "content", "previous", "style")):
        raise error(("style",), "self with gatys in video mode paints each frame as itself (f(x, x) = x): expected a "
                                "style image, a method.gram_transform, or content_weight 0 and init noise (each "
                                "frame's texture)")
    objective = preset.still.objective
    if preset.style != "self" and (preset.mode != "still" or objective == "transfer") and (off := style_off(method)):
        raise error(("method", off[0]), f"{off[1]}: the style images would not be used, every frame the content's; "
                                        "for the content alone, from noise, use still.objective: reconstruct")
    if preset.style == "self" and (preset.mode != "still" or objective == "transfer") and (
            transform.name != "none" or transform.zero_others) and (off := style_off(method)):  # f(x, x) = x untouched
        raise error(("method", off[0]), f"{off[1]}: method.gram_transform has no style term to move, and with style self "
                                        "the content term alone gives every frame back as it came")
    if preset.mode == "still" and objective != "transfer":  # resolve.method_options sets these for the objective
        default, sets = type(method)(), OBJECTIVE_KEYS[objective](preset)
        for key, value in sets.items():
            if getattr(method, key) not in (getattr(default, key), value):  # as the objective has it: said, not refused
                raise error(("method", key), f"is not used by objective {objective}: {OBJECTIVE_PAINTS[objective]}")
        if objective == "reconstruct" and preset.style != "self":
            raise error(("style",), f"is not used by objective reconstruct: {OBJECTIVE_PAINTS[objective]}")
        if objective == "texture" and preset.original_colors != 0:  # as method.original_colors is, above
            raise error(("original_colors",), f"is not used by objective texture: {OBJECTIVE_PAINTS[objective]} "
                                              "(the content's colours would bring the content back)")


def content_held(method) -> bool:
    """Whether the optimization method's content term holds every frame to its content (a weight
    scheduled may let go of it)."""
    weight = method.content_weight
    return bool(method.content_layers) and not isinstance(weight, Schedule) and weight > 0


def style_off(method) -> tuple[str, str] | None:
    """The key that switches the optimization method's style term off, and how, if one does."""
    weights = method.style_layer_weights
    if not isinstance(method.style_weight, Schedule) and method.style_weight == 0:
        return "style_weight", "is 0"
    if not method.style_layers:
        return "style_layers", "is empty"
    if weights and all(not isinstance(w, Schedule) and w == 0 for w in weights):
        return "style_layer_weights", "are all 0"
    return None


# What each still objective makes of the optimization method's keys (resolve.method_options)
OBJECTIVE_KEYS = {
    "texture": lambda preset: {"init": "noise", "content_weight": 0.0, "content_layers": (), "original_colors": False},
    "reconstruct": lambda preset: {"init": "noise", "content_layers": (preset.still.layer,), "style_weight": 0.0,
                                   "style_layers": (), "style_layer_weights": (), "representation": "gram", "window": 0,
                                   "gram_transform": GramTransform()},
}
OBJECTIVE_PAINTS = {"texture": "it paints the style alone, from noise",
                    "reconstruct": "it paints the content alone, at still.layer, from noise"}
