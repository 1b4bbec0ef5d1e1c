"""Which presets a batch renders: the files and folders asked for, each loaded and checked once;
presets that fail to load are failures of their own, presets already rendered are skipped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from animator.errors import AnimatorError, PresetError
from animator.preset import Preset, load_preset
from animator.preset.load import Override
from animator.render.record import up_to_date


@dataclass
class Item:
    path: Path
    preset: Preset | None = None
    error: str = ""  # why it cannot be rendered (a preset error)
    current: dict | None = None  # its record, when its outputs are up to date

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
    return list(dict.fromkeys(p.resolve() for p in paths))


def plan(paths: list[Path], overrides: list[Override], out_dir: Path, force: bool) -> list[Item]:
    items = []
    for path in paths:
        try:
            item = Item(path, load_preset(path, overrides))
        except PresetError as exc:
            items.append(Item(path, error=str(exc)))
            continue
        if not force:
            item.current = up_to_date(item.preset, out_dir)
        items.append(item)
    names = [item.name for item in items]
    for name in {n for n in names if names.count(n) > 1}:
        raise AnimatorError(f"two presets are named {name!r}: their outputs would overwrite each other")
    return items
