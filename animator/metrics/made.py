"""What a render's record says it was made from, so that `animator metrics` measures it against
that clip and that span, or as the loop it is. A video render's record (`<name>.json` beside it,
render/record.py) names its clip with the clip's SHA-256, and the time into it of the render's
first frame: a `--source` of other content, or a `--start` left at 0 for a render from 12 s on,
paired every frame with the wrong one and printed figures with exit 0."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import NamedTuple

from animator.errors import AnimatorError
from animator.preset.schema import MotionConfig
from animator.render.record import file_hash, output_hash

STILL_CAMERA = {f.name: f.default for f in dataclasses.fields(MotionConfig) if f.name not in ("border", "resample")}


class Made(NamedTuple):
    record: Path  # the record that says it
    mode: str  # the preset's: only a video mode's render has a clip to be measured against
    moving: bool  # a loop's: it has feedback motion (any motion key off the still camera's value)
    clip: str  # the clip the render was made from, as the record names it
    start: float  # seconds into it at the render's first frame
    checksum: str | None  # the clip's SHA-256 when it was rendered (None: a folder of frames)


def made_from(render: Path) -> Made | None:
    """What the record beside a render says it was made from, where the record names the render
    with its content (a file renamed, edited or made elsewhere has none): None where there is none."""
    name = render.name.removesuffix("_frames") if render.is_dir() else render.stem
    path = render.parent / f"{name}.json"
    try:
        record = json.loads(path.read_text())
        preset = record["preset"]
        if render.name not in record["outputs"] or record["checksums"][render.name] != output_hash(render):
            return None
        motion = preset["iterate"]["motion"] or {}
        moving = any(motion.get(key, still) != still for key, still in STILL_CAMERA.items())
        return Made(path, preset["mode"], moving, preset["input"], float(preset["video"]["start"]),
                    record["inputs"].get(preset["input"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # not a record of ours
        return None


def read_records(renders: list[Path]) -> dict[Path, Made | None]:
    """Each render's record, read once (a folder of frames is hashed to find its record)."""
    return {render: made_from(render) for render in renders}


def all_loops(made: dict[Path, Made | None]) -> bool:
    """Whether every render is a loop by its record."""
    return all(found is not None and found.mode == "iterate" for found in made.values())


def recorded_span(made: dict[Path, Made | None], source: Path | None, start: float | None) -> tuple[Path, float]:
    """The clip the renders were made from and the time into it of their first frame: `source`
    and `start` as given, or as the renders' records say."""
    found = [(render, record) for render, record in made.items() if record]
    if loop := next((render for render, record in found if record.mode == "iterate"), None):  # no clip to pair it with
        raise AnimatorError(f"{loop}: a loop (iterate mode, its record says): measure it with --loop")
    found = [(render, record) for render, record in found if record.mode == "video"]  # a still is refused as one, below
    clip = source or _recorded_clip(found)
    return clip, _recorded_start(found, clip, start)


def _recorded_clip(made: list[tuple[Path, Made]]) -> Path:
    """The clip the records name, for a command that gives no `--source`: it must be where the
    record says, as it was when it was rendered."""
    if not made:
        raise AnimatorError("animator metrics: --source IN is needed (the clip the render was made from), or --loop")
    (render, first), same = made[0], lambda m: (m.checksum or m.clip) == (first.checksum or first.clip)  # noqa: E731
    if other := next(((r, m) for r, m in made if not same(m)), None):
        raise AnimatorError(f"{render} and {other[0]}: rendered from {first.clip} and {other[1].clip} (their records say): "
                            "metrics measures renders of one clip")
    clip, said = Path(first.clip), f"the clip its record {first.record.name} names"
    if not clip.exists():
        raise AnimatorError(f"{render}: {clip}, {said}, is not there: give --source IN")
    if first.checksum and (not clip.is_file() or file_hash(clip) != first.checksum):
        raise AnimatorError(f"{render}: {clip}, {said}, has changed since it was rendered: give --source IN")
    return clip


def _recorded_start(made: list[tuple[Path, Made]], source: Path, start: float | None) -> float:
    """`start`, or the time the records name. A source whose content is not the clip a record
    names, a `start` that is not the time a record names, or records of different times are refused."""
    for render, found in made:
        said = f"its record {found.record.name} says"
        if found.checksum and source.is_file() and file_hash(source) != found.checksum:
            raise AnimatorError(f"{source}: not the clip {render} was rendered from ({found.clip}, {said}): give that clip as --source")
        if start is not None and not math.isclose(start, found.start, abs_tol=1e-9):
            raise AnimatorError(f"--start {start:g}: {render} was rendered from {found.start:g} s into its clip ({said}): "
                                f"give --start {found.start:g}, or leave it out")
        if not math.isclose(found.start, made[0][1].start, abs_tol=1e-9):
            raise AnimatorError(f"{made[0][0]} and {render}: rendered from {made[0][1].start:g} s and {found.start:g} s into "
                                "their clip (their records say): metrics pairs the frames of one span")
    return start if start is not None else made[0][1].start if made else 0.0
