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
    forced: bool = False  # rendered whatever its records say (--force): a split video's finished chunks too
    notes: list[str] = field(default_factory=list)  # what its plan found worth saying (a keyframe it never reaches)
    refused: dict[str, str] = field(default_factory=dict)  # the batch's --set values this preset does not take, and why

    @property
    def name(self) -> str:
        return self.preset.name if self.preset else self.path.stem


def find_presets(arguments: list[str], bundled: Path) -> list[Path]:
    """Preset files, in order, each once: files as given, folders' *.yaml sorted, bundled presets
    by name (a folder of that name without presets, such as `--out melt` makes, does not hide
    one). Anything else is a bad argument."""
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        found = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else []
        if found:
            paths += found
        elif path.is_file():
            paths.append(path)
        elif path.suffix == "" and (bundled / f"{argument}.yaml").is_file():
            paths.append(bundled / f"{argument}.yaml")
        elif path.is_dir():
            raise AnimatorError(f"{path}: folder holds no presets (*.yaml)")
        else:
            raise AnimatorError(f"{argument}: no such preset file or folder")
    given: dict[Path, Path] = {}  # each file once, named as the command named it first (as messages name it)
    for path in paths:
        given.setdefault(resolved(path), path)
    return list(given.values())


def resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links (OSError; RuntimeError before Python 3.13)
        raise AnimatorError(f"{path}: cannot be followed ({getattr(exc, 'strerror', None) or exc})") from None


def refusals(path: Path, overrides: list[Override]) -> dict[str, str]:
    """The `--set` values the preset refuses (by their text), with the rest applied, and why. A batch of
    loops, clips and stills shortened by `--set iterate.steps=3 --set video.duration=1` gives
    each preset the values it takes; `--set method.optimizer=adam --set method.lr=0.05` are
    taken together."""
    taken, refused = list(overrides), {}
    while True:
        try:
            load_preset(path, taken)
            return refused
        except AnimatorError as exc:
            blamed = [o for o in taken if o.text in str(exc)]
            if not blamed:  # the preset's own mistake: it is reported when it loads
                return refused
            culprit = max(blamed, key=lambda o: len(o.text))  # --set a=10 where --set a=1 is also given
            refused[culprit.text] = str(exc)
            taken.remove(culprit)


def plan(paths: list[Path], overrides: list[Override], out_dir: Path, force: bool, split: int = 1,
         overlap: int = 12) -> list[Item]:
    """Each preset loaded; unless it is up to date (rendered whole, or cut as `split` and `overlap`
    say), planned too (its input opened, a video's schedules checked against its clip), so bad
    input is a failure before anything renders."""
    items = []
    for path in paths:
        item = Item(path, forced=force)
        try:
            item.refused = refusals(path, overrides)
            item.preset = load_preset(path, [o for o in overrides if o.text not in item.refused])
            item.current = None if force else up_to_date(item.preset, out_dir, split_of(item.preset, split, overlap))
            if item.current is None:
                item.notes = Plan(item.preset).notes
        except AnimatorError as exc:
            item.error = str(exc)
        items.append(item)
    named: dict[str, Path] = {}
    for item in (item for item in items if item.preset is not None):  # a file that fails to load has no name yet
        if (first := named.setdefault(item.name, item.path)) != item.path:
            raise AnimatorError(f"{item.path}: named {item.name!r}, as {first} is: its outputs would replace that one's; "
                                "give it another name")
    return items
