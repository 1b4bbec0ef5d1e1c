"""Which presets a batch renders: the files and folders asked for, each loaded and checked once;
presets that fail to load are failures of their own, presets already rendered are skipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from animator.batch.split import split_of
from animator.errors import AnimatorError
from animator.preset import Preset, load_preset
from animator.preset.load import Override
from animator.render.plan import Plan
from animator.render.record import up_to_date


@dataclass
class Item:
    path: Path
    preset: Preset | None = None
    error: str = ""  # why it cannot be rendered (its preset or its input)
    current: dict | None = None  # its record, when its outputs are up to date
    notes: list[str] = field(default_factory=list)  # what its plan found worth saying (a keyframe it never reaches)
    skipped: list[Override] = field(default_factory=list)  # the batch's --set values this preset does not take

    @property
    def name(self) -> str:
        return self.preset.name if self.preset else self.path.stem


def find_presets(arguments: list[str], bundled: Path) -> list[Path]:
    """Preset files, in order: files as given, folders' *.yaml sorted, bundled presets by name.
    Anything else is a bad argument."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
            if not found:
                raise AnimatorError(f"{path}: folder holds no presets (*.yaml)")
            paths += found
        elif path.is_file():
            paths.append(path)
        elif path.suffix == "" and (bundled / f"{argument}.yaml").is_file():
            paths.append(bundled / f"{argument}.yaml")
        else:
            raise AnimatorError(f"{argument}: no such preset file or folder")
    return list(dict.fromkeys(resolved(p) for p in paths))


def resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links (OSError; RuntimeError before Python 3.13)
        raise AnimatorError(f"{path}: cannot be followed ({getattr(exc, 'strerror', None) or exc})") from None


def refusal(path: Path, override: Override) -> str:
    """Why the preset refuses this `--set` (taken alone), or "" where it takes it. A batch of
    loops, clips and stills shortened by `--set iterate.steps=3 --set video.duration=1` gives
    each preset the values it takes."""
    try:
        load_preset(path, [override])
    except AnimatorError as exc:
        return str(exc) if override.text in str(exc) else ""
    return ""


def plan(paths: list[Path], overrides: list[Override], out_dir: Path, force: bool, split: int = 1,
         overlap: int = 12) -> list[Item]:
    """Each preset loaded; unless it is up to date (rendered whole, or cut as `split` and `overlap`
    say), planned too (its input opened, a video's schedules checked against its clip), so bad
    input is a failure before anything renders."""
    items = []
    for path in paths:
        item = Item(path)
        try:
            item.skipped = [o for o in overrides if refusal(path, o)]
            item.preset = load_preset(path, [o for o in overrides if o not in item.skipped])
            item.current = None if force else up_to_date(item.preset, out_dir, split_of(item.preset, split, overlap))
            if item.current is None:
                item.notes = Plan(item.preset).notes
        except AnimatorError as exc:
            item.error = str(exc)
        items.append(item)
    named: dict[str, Path] = {}
    for item in items:
        if (first := named.setdefault(item.name, item.path)) != item.path:
            raise AnimatorError(f"{item.path}: named {item.name!r}, as {first} is: its outputs would replace that one's; "
                                "give it another name")
    return items
