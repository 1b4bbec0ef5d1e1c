"""What a loaded preset means, worked out in one place on the typed objects: how its frames sit
in time, the weights its style morph stands for, the variables its schedules may read and their
values checked at every frame, the options its method is built with, the files it reads (its
sound too), and copies of it for elsewhere (relocated for a remote worker, cut into chunks of a
long video, its motion for a preview at another size). Nothing here loads torch.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from animator.errors import PresetError
from animator.media.soundcopy import AudioSpan
from animator.media.source import image_files, places
from animator.preset.convert import KeyPath, dotted
from animator.preset.schedule import AUDIO_VARIABLES, VARIABLES, Schedule, ScheduleError, parse_schedule
from animator.preset.schema import RENDER_FPS, MethodOptions, Num, OutputConfig, Preset, StyleImage, TemporalConfig, WEIGHT_MAX

Features = Callable[[int], Mapping[str, float]]  # step -> the audio's features there (see animator.music)

Error = Callable[[KeyPath, str], PresetError]


@dataclass(frozen=True)
class Timeline:
    """How a render's frames sit in time. Schedules count *steps*: an iterate (written as
    `interpolate` frames with its in-betweens), a video's source frame, a still's one frame."""

    frames: int | None  # frames written; None while a video's length is unknown
    fps: Fraction  # frames written per second
    steps: int  # T: the steps its schedules count
    seconds_per_step: float
    first: int = 0  # the step this render starts at (a chunk of a split video starts part-way)


@dataclass(frozen=True)
class Part:
    """Where a chunk of a split video sits in the whole: the source frame it starts at, and the
    whole render's frames (its schedules and random draws are the whole render's)."""

    first: int
    total: int


def follows_clip(preset: Preset) -> bool:
    """Whether the render's frames are its clip's (a video's): its timeline is known, and its
    schedules can be checked, once the clip is open; a batch may cut it into chunks."""
    return preset.mode == "video"


def checked_at_load(preset: Preset) -> bool:
    """Whether the preset's schedules can be checked when it loads; those of a video, and those
    that may read the audio's features, are checked once its clip or its sound is known
    (render/plan.py)."""
    return not follows_clip(preset) and preset.audio is None


SOUND_FORMATS = ("mp4", "webm", "mov")  # the outputs that carry sound (media/sink.py, media/soundcopy.py)


def render_fps(preset: Preset) -> Fraction:
    """Frames a second outside video mode: the rate of the first output with sound that sets
    one, so that seconds in schedules, and the music, are that video's seconds."""
    return next((o.fps for o in preset.outputs if o.format in SOUND_FORMATS and o.fps), RENDER_FPS)


def timeline(preset: Preset, clip_frames: int | None = None, clip_fps: Fraction | None = None,
             sound_seconds: float | None = None) -> Timeline | None:
    """The preset's timeline; one that follows its clip needs the clip's frame count and rate,
    and `steps: auto` the seconds of sound after `audio.start` (None without)."""
    if follows_clip(preset):
        if clip_fps is None:
            return None
        return Timeline(clip_frames, clip_fps, clip_frames or 1, 1 / float(clip_fps))
    fps = render_fps(preset)
    if preset.mode == "iterate":
        steps, k = preset.iterate.steps, preset.iterate.interpolate
        if steps == "auto":
            if sound_seconds is None:
                return None
            # as many frames as the sound lasts: the last iterate leads the in-betweens up to its end and
            # is itself left out where the frames run out before it
            frames = max(1, places(sound_seconds, fps))
            return Timeline(frames, fps, math.ceil((frames - 1) / k) + 1, k / float(fps))
        return Timeline(steps * k + 1, fps, steps + 1, k / float(fps))
    return Timeline(1, fps, 1, 0.0)


def soundtrack(preset: Preset, clip_has_audio: bool, seconds: float | None = None) -> AudioSpan | None:
    """The sound the outputs carry, `seconds` long (None: as long as it is): the audio file's
    from `audio.start` (in video mode, instead of the clip's own), else a video's own, cut to
    the rendered span."""
    video = preset.video
    if preset.audio is not None:
        return AudioSpan(preset.audio.file, preset.audio.start, seconds)
    if follows_clip(preset) and video.audio and clip_has_audio:
        return AudioSpan(preset.input, video.start, video.duration)
    return None


def style_weights(styles: tuple[StyleImage, ...]) -> tuple[Num, ...]:
    """Each style image's weight. `at:` on the images is a morph: each has full weight at its
    frame, handed over linearly to its neighbours' (the weight schedules it stands for)."""
    if all(image.at is None for image in styles):
        return tuple(image.weight for image in styles)
    frames = [image.at for image in styles]
    weights = []
    for i, frame in enumerate(frames):
        keys = {frame: 1, **{frames[j]: 0 for j in (i - 1, i + 1) if 0 <= j < len(frames)}}
        weights.append(parse_schedule(dict(sorted(keys.items()))))
    return tuple(weights)


def method_options(preset: Preset) -> MethodOptions:
    """The options the method is built with: a still's objective other than transfer is the
    optimization method with one loss switched off (texture: style only, from noise;
    reconstruct: content only, at one layer)."""
    options, still = preset.method, preset.still
    if preset.mode != "still" or still.objective == "transfer":
        return options
    if still.objective == "texture":
        return dataclasses.replace(options, content_weight=0.0, init="noise")
    return dataclasses.replace(options, style_weight=0.0, content_layers=(still.layer,), init="noise")


# The temporal weight a null `video.temporal.weight` stands for, by method and mode. multistyle's
# features at 0.6 are steadier than its blend at 0.7 with as much detail and a smaller Gram
# distance on every real clip measured (bench/temporal.py), where at 0.7 they lose a little detail.
TEMPORAL_WEIGHT = 0.7
FEATURES_WEIGHT = {"multistyle": 0.6}


def temporal_settings(preset: Preset) -> TemporalConfig:
    """The video's temporal settings with the weight the preset leaves null filled in."""
    settings = preset.video.temporal
    if settings.weight is not None:
        return settings
    weight = FEATURES_WEIGHT.get(preset.method.name, TEMPORAL_WEIGHT) if settings.mode == "features" else TEMPORAL_WEIGHT
    return dataclasses.replace(settings, weight=weight)


def scheduled_values(node: Any, path: KeyPath = (), meta: dict | None = None) -> Iterator[tuple[KeyPath, Schedule, dict]]:
    """(key path, schedule, field metadata) for every schedule in a preset."""
    if isinstance(node, Schedule):
        yield path, node, meta or {}
    elif dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from scheduled_values(getattr(node, f.name), (*path, f.name), dict(f.metadata))
    elif isinstance(node, tuple):
        for i, item in enumerate(node):
            yield from scheduled_values(item, (*path, i), meta)


def known_variables(preset: Preset, path: KeyPath = ()) -> tuple[str, ...]:
    """The variables the schedule at `path` may read: the audio's features only with an audio
    file, and never in the beat's own half-life."""
    return VARIABLES + AUDIO_VARIABLES if preset.audio is not None and path != ("audio", "half_life") else VARIABLES


def check_variables(preset: Preset, error: Error | None = None) -> None:
    """Every schedule reads only the variables this preset knows."""
    error = error or _error(preset)
    for path, schedule, _ in scheduled_values(preset):
        if path == ("audio", "half_life") and schedule.variables & set(AUDIO_VARIABLES):
            raise error(path, f"schedule {schedule.text!r}: the beat's half-life cannot read the audio's features; "
                              f"expected an expression in {', '.join(VARIABLES)}")
        try:
            schedule.check_names(known_variables(preset, path))
        except ScheduleError as exc:
            raise error(path, f"schedule {schedule.text!r}: {exc}") from None


def _error(preset: Preset) -> Error:
    return lambda path, msg: PresetError(f"{located(preset, path)}: {dotted(path)}: {msg}")


def located(preset: Preset, path: KeyPath, unknown: str = "<preset>") -> str:
    """Where the value at `path` came from: the command line's `--set` (or flag) that gave it, else
    the preset file and the line of the key, or of the nearest key above it that the file has
    (`unknown` for a preset made without a file)."""
    for key, text in reversed(preset.overridden):  # of a key given twice, the last is the one taken
        if path[:len(key)] == key or key[:len(path)] == path:
            return text
    if preset.source is None:
        return unknown
    line, shown = key_line(dict(preset.lines), path), preset.shown or str(preset.source)
    return shown if line is None else f"{shown}:{line}"


def key_line(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of the key at `path`, or of the nearest key above it that was written."""
    return next((lines[path[:end]] for end in range(len(path), 0, -1) if path[:end] in lines), None)


def beat_half_lives(preset: Preset, line: Timeline) -> list[float]:
    """The beat's half-life at every step, checked as every schedule is: the audio's features are
    found with it, before the other schedules can be checked against them."""
    for path, schedule, meta in scheduled_values(preset):
        if path == ("audio", "half_life"):
            return checked_values(path, schedule, meta, line, [None] * line.steps, _error(preset))
    return [preset.audio.half_life] * line.steps


def check_schedules(preset: Preset, line: Timeline, error: Error | None = None, features: Features | None = None) -> None:
    """Evaluate every schedule at every step against its key's bounds, so a render never stops
    half-way on a value; and the style weights of every step must not all be 0. `features`
    gives the audio's features of a step, when the preset has audio."""
    error = error or _error(preset)
    count, seconds = line.steps, line.seconds_per_step
    heard = [features(t) for t in range(count)] if features is not None else [None] * count
    for path, schedule, meta in scheduled_values(preset):
        checked_values(path, schedule, meta, line, heard, error)
    rules, styled = frame_rules(preset), style_term(preset)
    weighted = layered = used = styled is None
    for t in range(count):
        at = lambda v: v.at(t, count, t * seconds, heard[t]) if isinstance(v, Schedule) else v  # noqa: B023, E731
        for path, rule in rules:
            if (problem := rule(at)) is not None:
                raise error(path, problem if count == 1 else f"{problem} at frame {t}")  # a still has one frame
        if not used:
            weight, layers = styled(at)
            weighted, layered, used = weighted or weight, layered or layers, used or weight and layers
    if not used:  # scheduled to 0 throughout, as rules.style_off refuses a 0 written as one
        key = "style_weight" if not weighted else "style_layer_weights"
        raise error(("method", key), "is 0 at every frame: the style images would not be used, every frame the content's")


def off_throughout(preset: Preset, value: Num, off: float) -> bool:
    """Whether a value is `off` at every step: written so, or a schedule that is (`0 * t`), as far
    as the preset knows its steps (a schedule of the audio's features, or of `steps: auto`, may be
    anything)."""
    if not isinstance(value, Schedule):
        return value == off
    line = timeline(preset)
    if line is None or value.variables & set(AUDIO_VARIABLES):
        return False
    try:
        return all(value.at(t, line.steps, t * line.seconds_per_step) == off for t in range(line.steps))
    except ScheduleError:  # check_schedules says where
        return False


def style_term(preset: Preset) -> Callable[[Callable[[Num], float]], tuple[bool, bool]] | None:
    """The optimization method's style term beside style images, whose weights are scheduled: at a
    frame's values, whether its style_weight and whether one of its style_layer_weights is above 0."""
    method = preset.method
    if method.name != "gatys" or preset.style == "self" or (preset.mode == "still" and preset.still.objective != "transfer"):
        return None
    layer_weights = method.style_layer_weights or (1.0,)
    if not any(isinstance(w, Schedule) for w in (method.style_weight, *layer_weights)):
        return None  # one written as 0 is refused where the preset loads
    return lambda at: (at(method.style_weight) > 0, any(at(w) > 0 for w in layer_weights))


def unreached_keyframes(preset: Preset, line: Timeline) -> list[str]:
    """A line for each schedule whose last keyframe lies past the render's last step: the render
    ends before it, which a preset cut short (or a shorter clip) makes easy to miss."""
    if line.frames is None:  # a video of unknown length
        return []
    unit = "iterate" if preset.mode == "iterate" else "frame"
    last = line.steps - 1
    keyframes = [(path, schedule.frames[-1]) for path, schedule, _ in scheduled_values(preset) if schedule.frames]
    if preset.style != "self":  # a morph's styles are keyframes too
        keyframes += [(("style", i, "at"), style.at) for i, style in enumerate(preset.style) if style.at is not None]
    return [f"{located(preset, path)}: {dotted(path)}: keyframe {frame} is past the last {unit} ({last}); the render "
            "ends before it" for path, frame in keyframes if frame > last]


def checked_values(path: KeyPath, schedule: Schedule, meta: dict, line: Timeline, heard: list, error: Error) -> list[float]:
    """A schedule's value at every step, each within its key's bounds."""
    lo, hi = (0, WEIGHT_MAX) if path[:2] == ("method", "style") else (meta.get("min"), meta.get("max"))
    values = []
    for t in range(line.steps):
        try:
            value = schedule.at(t, line.steps, t * line.seconds_per_step, heard[t])
        except ScheduleError as exc:
            raise error(path, str(exc)) from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f">= {lo}" if hi is None else f"between {lo} and {hi}"
            raise error(path, f"expected values {bounds}, found {shown(value, lo, hi)} at frame {t}")
        values.append(value)
    return values


def shown(value: float, *beside: float | None) -> str:
    """A computed value, short, but in full where short it would read as a value it is `beside`
    (0.09999999999999998 found below a bound of 0.1)."""
    text = f"{value:g}"
    return repr(value) if float(text) in beside else text


Rule = Callable[[Callable[[Num], float]], str | None]  # the values of a frame -> what is wrong there, or None


def frame_rules(preset: Preset) -> list[tuple[KeyPath, Rule]]:
    """Rules that span keys and must hold at every frame (their values may be schedules)."""
    rules: list[tuple[KeyPath, Rule]] = []
    for path, weights in ((("style",), style_weights(preset.style) if preset.style != "self" else ()),
                          (("method", "style"), preset.method.style if preset.method.name == "multistyle" else ())):
        if weights:
            rules.append((path, lambda at, w=weights: "the weights are all 0" if sum(map(at, w)) <= 0 else None))
    method = method_options(preset)
    if method.name == "gatys":
        transform = method.gram_transform
        rules.append((("method", "gram_transform", "low"),
                      lambda at: f"expected low <= high, found {shown(at(transform.low), at(transform.high))} > "
                                f"{shown(at(transform.high), at(transform.low))}"
                      if at(transform.low) > at(transform.high) else None))
        content = lambda at: at(method.content_weight) > 0 and method.content_layers  # noqa: E731
        style = lambda at: at(method.style_weight) > 0 and method.style_layers  # noqa: E731
        layer_weights = method.style_layer_weights or (1.0,)  # all 0: no style term, as style_weight 0
        rules.append((("method", "style_layer_weights"), lambda at: "all 0 and no content term: no loss is active"
                      if not content(at) and style(at) and all(at(w) <= 0 for w in layer_weights) else None))
        rules.append((("method",), lambda at: None if content(at) or style(at)
                      else "no loss is active: a content or a style weight above 0, with its layers, is needed"))
    return rules


def input_files(preset: Preset) -> list[Path]:
    """Every file the preset reads: its input (or the images of an input folder), style
    images, a colour reference, an anchor, an injected style, an initial image and its audio."""
    files = image_files(preset.input) if preset.input.is_dir() else [preset.input]
    return files + image_inputs(preset) + ([preset.audio.file] if preset.audio is not None else [])


def image_inputs(preset: Preset) -> list[Path]:
    """The images a preset reads besides its input: style images, a colour reference, an anchor,
    an injected style and an initial image."""
    return [path for _, path in keyed_image_inputs(preset)]


def keyed_image_inputs(preset: Preset) -> list[tuple[KeyPath, Path]]:
    """image_inputs, each with the key that names it."""
    files = [(("style", i, "image"), style.image) for i, style in enumerate(preset.style)] if preset.style != "self" else []
    loop = preset.iterate
    return files + [(key, path) for key, path in ((("iterate", "color", "reference"), loop.color.reference),
                                                  (("iterate", "anchor", "image"), loop.anchor.image),
                                                  (("iterate", "inject", "image"), loop.inject.image),
                                                  (("method", "init"), getattr(preset.method, "init", None)))
                    if isinstance(path, Path)]


def map_paths(value: Any, move: Callable[[Path], Path]) -> Any:
    """A copy of a preset (or any part of one) with every path it reads replaced by move(path)."""
    if isinstance(value, Path):
        return move(value)
    if dataclasses.is_dataclass(value):
        changes = {f.name: map_paths(getattr(value, f.name), move)
                   for f in dataclasses.fields(value) if f.init and not f.metadata.get("internal")}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(map_paths(item, move) for item in value)
    return value


def anchor(preset: Preset) -> Path:
    """The deepest folder that holds every file the preset reads: paths below it travel."""
    return Path(os.path.commonpath([p.parent if p.is_file() else p for p in [preset.input, *input_files(preset)]]))


def portable(preset: Preset) -> tuple[Preset, dict[str, Path]]:
    """The preset with its paths relative to their common folder, and those relative paths'
    files here: a remote worker writes the files under a folder of its own and reads the
    preset against that folder (`preset_from_dict(to_plain(p), folder)`)."""
    base = anchor(preset)
    files = {str(path.relative_to(base)): path for path in input_files(preset)}
    return map_paths(preset, lambda path: path.relative_to(base)), files


def chunk(preset: Preset, part: int, start: float, duration: float | None) -> Preset:
    """Part `part` of a split video render: its span of the clip, no sound (the join carries the
    whole span's), lossless frames for the join. Where it sits in the whole (a Part) travels
    beside it, so its schedules, random draws and audio features are the whole render's."""
    video = dataclasses.replace(preset.video, start=start, duration=duration, audio=False)
    return dataclasses.replace(preset, name=f"{preset.name}.part{part}", video=video, outputs=(OutputConfig("png"),))


def motion_at_scale(preset: Preset, factor: float) -> Preset:
    """The preset with its feedback motion's translation, in pixels a step, times `factor`: the
    same motion for a render `factor` times its size (a preview), in step with the frame."""
    motion = preset.iterate.motion
    if factor == 1 or not (motion.translate_x or motion.translate_y):
        return preset
    times = lambda value: value.scaled(factor) if isinstance(value, Schedule) else value * factor  # noqa: E731
    moved = dataclasses.replace(motion, translate_x=times(motion.translate_x), translate_y=times(motion.translate_y))
    return dataclasses.replace(preset, iterate=dataclasses.replace(preset.iterate, motion=moved))
