"""What a loaded preset means, worked out in one place on the typed objects: how its frames sit
in time, the weights its style morph stands for, its schedules checked at every frame, the
options its method is built with, the files it reads, and copies of it for elsewhere (relocated
for a remote worker, cut into chunks of a long video). Nothing here loads torch.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from animator.errors import PresetError
from animator.media.sink import AudioSpan
from animator.media.source import IMAGE_SUFFIXES
from animator.preset.convert import KeyPath, dotted
from animator.preset.schedule import Schedule, ScheduleError, parse_schedule
from animator.preset.schema import RENDER_FPS, MethodOptions, Num, OutputConfig, Preset, StyleImage

Error = Callable[[KeyPath, str], PresetError]


@dataclass(frozen=True)
class Timeline:
    """How a render's frames sit in time. Schedules count *steps*: an iterate (written as
    `interpolate` frames with its in-betweens), a video's source frame, a still's one frame."""

    frames: int | None  # frames written; None while a video's length is unknown
    fps: Fraction  # frames written per second
    steps: int  # T: the steps its schedules count
    seconds_per_step: float


def follows_clip(preset: Preset) -> bool:
    """Whether the render's frames are its clip's (a video's): its timeline is known, and its
    schedules can be checked, once the clip is open; a batch may cut it into chunks."""
    return preset.mode == "video"


def timeline(preset: Preset, clip_frames: int | None = None, clip_fps: Fraction | None = None) -> Timeline | None:
    """The preset's timeline; one that follows its clip needs the clip's frame count and rate
    (None without)."""
    if follows_clip(preset):
        if clip_fps is None:
            return None
        return Timeline(clip_frames, clip_fps, clip_frames or 1, 1 / float(clip_fps))
    if preset.mode == "iterate":
        seconds = preset.iterate.interpolate / float(RENDER_FPS)
        return Timeline(preset.frame_count, RENDER_FPS, preset.iterate.steps + 1, seconds)
    return Timeline(1, RENDER_FPS, 1, 0.0)


def soundtrack(preset: Preset, clip_has_audio: bool) -> AudioSpan | None:
    """The sound the outputs carry: a video's own, cut to the rendered span."""
    video = preset.video
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


def check_schedules(preset: Preset, line: Timeline, error: Error | None = None) -> None:
    """Evaluate every schedule at every step against its key's bounds, so a render never stops
    half-way on a value; and the style weights of every step must not all be 0."""
    error = error or (lambda path, msg: PresetError(f"{preset.source or '<preset>'}: {dotted(path)}: {msg}"))
    count, seconds = line.steps, line.seconds_per_step
    for path, schedule, meta in scheduled_values(preset):
        lo, hi = (0, None) if path[:2] == ("method", "style") else (meta.get("min"), meta.get("max"))
        for t in range(count):
            try:
                value = schedule.at(t, count, t * seconds)
            except ScheduleError as exc:
                raise error(path, str(exc)) from None
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                bounds = f">= {lo}" if hi is None else f"between {lo} and {hi}"
                raise error(path, f"expected values {bounds}, found {value:g} at frame {t}")
    weight_sets = {("style",): list(style_weights(preset.style)) if preset.style != "self" else [],
                   ("method", "style"): list(getattr(preset.method, "style", ())) if preset.method.name == "multistyle" else []}
    for path, weights in weight_sets.items():
        if any(isinstance(w, Schedule) for w in weights):
            for t in range(count):
                if sum(w.at(t, count, t * seconds) if isinstance(w, Schedule) else w for w in weights) <= 0:
                    raise error(path, f"the weights are all 0 at frame {t}")


def input_files(preset: Preset) -> list[Path]:
    """Every file the preset reads: its input (or the images of an input folder), style
    images, a colour reference and an initial image."""
    if preset.input.is_dir():
        files = sorted(p for p in preset.input.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        files = [preset.input]
    files += [style.image for style in preset.style] if preset.style != "self" else []
    files += [path for path in (preset.iterate.color.reference, getattr(preset.method, "init", None)) if isinstance(path, Path)]
    return files


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
    whole span's), lossless frames for the join."""
    video = dataclasses.replace(preset.video, start=start, duration=duration, audio=False)
    return dataclasses.replace(preset, name=f"{preset.name}.part{part}", video=video, outputs=(OutputConfig("png"),))
