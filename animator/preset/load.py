"""Reading preset files: YAML -> raw data (with line numbers) -> --set overrides -> Preset.

Precedence: defaults (schema.py) < the preset file < `--set key.path=value` on the command line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from animator.errors import PresetError
from animator.preset.convert import Invalid, KeyPath, convert, dotted, to_plain
from animator.preset.schema import Preset

DEFAULT_LISTS = {f.name: f.default for f in dataclasses.fields(Preset) if isinstance(f.default, tuple)}


@dataclasses.dataclass(frozen=True)
class Override:
    path: KeyPath
    value: Any
    text: str  # as typed, for error messages


def parse_overrides(items: list[str]) -> list[Override]:
    overrides = []
    for text in items:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise PresetError(f"--set {text}: expected key.path=value, e.g. iterate.steps=60")
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value
        path = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
        overrides.append(Override(path, parsed, text))
    return overrides


def _apply(raw: dict, override: Override) -> None:
    top = override.path[0]
    if top not in raw and isinstance(DEFAULT_LISTS.get(top), tuple):
        raw[top] = to_plain(DEFAULT_LISTS[top])  # so `outputs.0.fps=30` edits the default outputs
    node: Any = raw
    for i, part in enumerate(override.path[:-1]):
        child = node[part] if _has(node, part) else None
        if not isinstance(child, (dict, list)):
            child = {}
            if isinstance(node, list):
                raise PresetError(f"--set {override.text}: {dotted(override.path[:i + 1])}: no such list item")
            node[part] = child
        node = child
    last = override.path[-1]
    if isinstance(node, list) and not _has(node, last):
        raise PresetError(f"--set {override.text}: {dotted(override.path)}: no such list item")
    node[last] = override.value


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, list):
        return isinstance(part, int) and part < len(node)
    return part in node


def _key_lines(text: str) -> dict[KeyPath, int]:
    """1-based line of every key and list item, from YAML's node tree."""
    lines: dict[KeyPath, int] = {}

    def walk(node: yaml.Node, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, ())
    return lines


def _read_yaml(path: Path) -> tuple[dict, dict[KeyPath, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PresetError(f"{path}: preset file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read preset ({exc})") from None
    try:
        raw = yaml.safe_load(text)
        lines = _key_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PresetError(f"{where}: YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: expected a mapping of preset keys, found {type(raw).__name__}")
    return raw, lines


def preset_from_dict(
    raw: dict, base: Path, *, where: str = "<preset>", lines: dict[KeyPath, int] | None = None,
    overrides: list[Override] = (), source: Path | None = None,
) -> Preset:
    """Validate raw preset data; every problem becomes one PresetError line."""
    raw = dict(raw)
    for override in overrides:
        _apply(raw, override)
    try:
        preset = convert(Preset, raw, (), base)
    except Invalid as exc:
        raise PresetError(f"{_locate(exc.path, where, lines or {}, overrides)}: {dotted(exc.path)}: {exc.message}") from None
    _check_combinations(preset, lambda path, msg: PresetError(f"{_locate(path, where, lines or {}, overrides)}: {dotted(path)}: {msg}"))
    return dataclasses.replace(preset, source=source)


def _locate(path: KeyPath, where: str, lines: dict[KeyPath, int], overrides: list[Override]) -> str:
    for override in overrides:
        if path[: len(override.path)] == override.path or override.path[: len(path)] == path:
            return f"--set {override.text}"
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return f"{where}:{lines[path[:end]]}"
    return where


def _check_combinations(preset: Preset, error) -> None:
    """Rules that span keys, checked once here so the engine can trust the Preset."""
    if preset.method.name == "multistyle" and preset.style != "self":
        raise error(("style",), "multistyle paints its 26 built-in styles; use style: self and set method.style")
    if preset.mode == "still" and preset.style == "self" and preset.method.name != "multistyle":
        raise error(("style",), "still mode needs a style image (self applies to iterate mode only)")
    if not preset.outputs:
        raise error(("outputs",), "expected at least one output")
    formats = [o.format for o in preset.outputs]
    if len(set(formats)) != len(formats):
        raise error(("outputs",), f"each format may appear once, found {', '.join(formats)}")


def load_preset(path: Path | str, overrides: list[Override] = ()) -> Preset:
    path = Path(path)
    raw, lines = _read_yaml(path)
    return preset_from_dict(raw, path.resolve().parent, where=str(path), lines=lines, overrides=overrides, source=path.resolve())
