"""What a render's record says it was made from, so that `animator metrics` measures it against
that clip and that span. A video render's record (`<name>.json` beside it, render/record.py)
names its clip with the clip's SHA-256, and the time into it of the render's first frame: a
`--source` of other content, or a `--start` left at 0 for a render from 12 s on, paired every
frame with the wrong one and printed figures with exit 0."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import NamedTuple

from animator.errors import AnimatorError
from animator.render.record import file_hash, output_hash


class Made(NamedTuple):
    record: Path  # the record that says it
    clip: str  # the clip the render was made from, as the record names it
    start: float  # seconds into it at the render's first frame
    checksum: str | None  # the clip's SHA-256 when it was rendered (None: a folder of frames)


def made_from(render: Path) -> Made | None:
    """What the record beside a render says it was made from, where the record names the render
    with its content (a file renamed, edited or made elsewhere has none): None where there is none,
    or the render is not a video mode's."""
    name = render.name.removesuffix("_frames") if render.is_dir() else render.stem
    path = render.parent / f"{name}.json"
    try:
        record = json.loads(path.read_text())
        preset = record["preset"]
        if preset["mode"] != "video" or render.name not in record["outputs"] or \
                record["checksums"][render.name] != output_hash(render):
            return None
        return Made(path, preset["input"], float(preset["video"]["start"]), record["inputs"].get(preset["input"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def recorded_clip(renders: list[Path]) -> Path:
    """The clip the renders' records name, for a command that gives no `--source`: it must be where
    the record says, as it was when it was rendered."""
    made = [(render, found) for render in renders if (found := made_from(render))]
    if not made:
        raise AnimatorError("animator metrics: --source IN is needed (the clip the render was made from), or --loop")
    (render, first), other = made[0], next(((r, m) for r, m in made if m.clip != made[0][1].clip), None)
    if other:
        raise AnimatorError(f"{render} and {other[0]}: rendered from {first.clip} and {other[1].clip} (their records say): "
                            "metrics measures renders of one clip")
    clip, said = Path(first.clip), f"the clip its record {first.record.name} names"
    if not clip.exists():
        raise AnimatorError(f"{render}: {clip}, {said}, is not there: give --source IN")
    if first.checksum and (not clip.is_file() or file_hash(clip) != first.checksum):
        raise AnimatorError(f"{render}: {clip}, {said}, has changed since it was rendered: give --source IN")
    return clip


def recorded_start(renders: list[Path], source: Path, start: float | None) -> float:
    """The time into `source` of the renders' first frame: `start` as given, or as their records
    say. A source whose content is not the clip a record names, a `start` that is not the time a
    record names, or records that name different times are refused."""
    times: dict[Path, float] = {}
    for render in renders:
        if (made := made_from(render)) is None:
            continue
        said = f"its record {made.record.name} says"
        if made.checksum and source.is_file() and file_hash(source) != made.checksum:
            raise AnimatorError(f"{source}: not the clip {render} was rendered from ({made.clip}, {said}): give that clip as --source")
        if start is not None and not math.isclose(start, made.start, abs_tol=1e-9):
            raise AnimatorError(f"--start {start:g}: {render} was rendered from {made.start:g} s into its clip ({said}): "
                                f"give --start {made.start:g}, or leave it out")
        if times and not math.isclose(made.start, (first := next(iter(times.items())))[1], abs_tol=1e-9):
            raise AnimatorError(f"{first[0]} and {render}: rendered from {first[1]:g} s and {made.start:g} s into their clip "
                                "(their records say): metrics pairs the frames of one span")
        times[render] = made.start
    return start if start is not None else next(iter(times.values()), 0.0)
