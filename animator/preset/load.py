"""Reading preset files: YAML -> raw data (with line numbers) -> --set overrides -> Preset.

Precedence: defaults (schema.py) < the preset file < `--set key.path=value` on the command line.
One default depends on the mode: a still's outputs left out are one PNG (`STILL_OUTPUTS`).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from animator.errors import PresetError
from animator.files import why_unreadable
from animator.preset.convert import (Invalid, KeyPath, bare_form, convert, dotted, from_command_line, mapping_shorthand,
                                     shown, to_plain)
from animator.preset.resolve import check_schedules, check_variables, checked_at_load, key_line, timeline
from animator.preset.rules import check_audio, check_combinations, check_morph, check_written
from animator.preset.schema import Preset

DEFAULT_LISTS = {f.name: f.default for f in dataclasses.fields(Preset) if isinstance(f.default, tuple)}
STILL_OUTPUTS = [{"format": "png"}]  # a still is one picture, <name>.png: not a video of one frame


@dataclasses.dataclass(frozen=True)
class Override:
    path: KeyPath
    value: Any
    text: str  # as typed, for error messages: "--set iterate.steps=60", "--size 10"


def parse_overrides(items: list[str], defaults: dict[str, Any] = {}, **flags: Any) -> list[Override]:
    """`--set key.path=value` items, then the command's own flags for top-level keys (`size=64`
    for `--size 64`; None: not given), then the command's `defaults` for the keys neither sets (a
    preview's small size). Refused, since one would be dropped without a word: a flag and a
    `--set` of the same key, and a --set inside a section a later one replaces (`iterate.steps=3`
    then `iterate={...}`; a later one inside an earlier one's value refines it, and a later one of
    the same key wins)."""
    overrides = []
    for text in items:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise PresetError(f"--set {text}: expected key.path=value, e.g. iterate.steps=60")
        try:
            parsed = yaml.load(value, Loader=PresetLoader) if value.strip() else None
        except yaml.YAMLError as exc:
            if value.lstrip()[:1] in ("[", "{"):  # a list or a mapping cut short: not a word to take as it is
                raise PresetError(f"--set {text}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
            parsed = value
        except ValueError as exc:  # an integer of more digits than Python converts, or a date that is none (02-30)
            if "integer string conversion" in str(exc):
                raise PresetError(f"--set {shown(text)}: refused: {LONG_NUMBER}") from None
            parsed = value
        path = tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))
        overrides.append(Override(path, from_command_line(parsed), f"--set {text}"))
    for i, later in enumerate(overrides):  # the same key again wins, as on any command line (a script's base, then its own)
        if dropped := next((o for o in overrides[:i] if o.path[:len(later.path)] == later.path != o.path), None):
            raise PresetError(f"{dropped.text} and {later.text}: the second replaces the first; give one")
    given = [Override((key,), value, f"--{key} {value}") for key, value in flags.items() if value is not None]
    for flag in given:
        if clash := next((o for o in overrides if o.path[0] == flag.path[0]), None):
            raise PresetError(f"{flag.text} and {clash.text}: both set {flag.path[0]}; give one")
    taken = {o.path[0] for o in overrides + given}
    return overrides + given + [Override((key,), value, f"--{key} {value} (the default)")
                                for key, value in defaults.items() if key not in taken]


def applied(raw: dict, overrides: list[Override]) -> dict:
    """Raw preset data as the overrides leave it (a copy), before it is checked."""
    raw = copy.deepcopy(raw)
    mode = next((o.value for o in reversed(overrides) if o.path == ("mode",)), raw.get("mode"))
    if mode == "still" and "outputs" not in raw:
        raw["outputs"] = copy.deepcopy(STILL_OUTPUTS)
    for override in overrides:
        _apply(raw, override)
    return raw


def _apply(raw: dict, override: Override) -> None:
    top = override.path[0]
    if top not in raw and isinstance(DEFAULT_LISTS.get(top), tuple):
        raw[top] = to_plain(DEFAULT_LISTS[top])  # so `outputs.0.fps=30` edits the default outputs
    node: Any = raw
    for i, part in enumerate(override.path[:-1]):
        if isinstance(node, list) and not _has(node, part):
            raise PresetError(f"{override.text}: {dotted(override.path[:i + 1])}: no such list item")
        child = node[part] if _has(node, part) else None
        if not isinstance(child, (dict, list)) or mapping_shorthand(Preset, override.path[:i + 1], child, override.path[i + 1]):
            child = node[part] = bare_form(Preset, override.path[:i + 1], child)  # `--set audio.start=12` keeps `audio: song.mp3`'s file
        node = child
    last = override.path[-1]
    if isinstance(node, list) and not _has(node, last):
        raise PresetError(f"{override.text}: {dotted(override.path)}: no such list item")
    node[last] = override.value


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, list):
        return isinstance(part, int) and part < len(node)
    return part in node


def _key_lines(root: yaml.Node | None, file: Path, loader: yaml.SafeLoader) -> dict[KeyPath, int]:
    """1-based line of every key and list item, from YAML's node tree. A key given twice in one
    mapping is an error: YAML would keep the last without a word, and the first is what the
    user sees near the top of the file. Twice means as the same value, as the mapping will hold
    it: keyframes `5` and `5.0` (or `1` and `true`) would be one frame."""
    lines: dict[KeyPath, int] = {}
    keys: dict[tuple, tuple[str, int]] = {}  # (mapping's path, key's value) -> the key as written, its line

    def walk(node: yaml.Node, path: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):  # `? [a, b]`: YAML allows it, a preset has no such key
                    raise PresetError(f"{file}:{key.start_mark.line + 1}: a key is a name, found a "
                                      f"{'list' if isinstance(key, yaml.SequenceNode) else 'mapping'}")
                sub, line = (*path, key.value), key.start_mark.line + 1
                known = key.tag in loader.yaml_constructors  # not so for `<<`, merged later
                same = (path, loader.construct_object(key) if known else key.value)
                if same in keys:
                    written, first = keys[same]
                    again = "" if written == key.value else f" as {written}"
                    raise PresetError(f"{file}:{line}: {dotted(sub)}: given twice (first on line {first}{again})")
                keys[same] = key.value, line
                lines[sub] = line
                lines.setdefault((*path, same[1]), line)  # as the mapping holds it: `1:` is the number 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*path, i)] = item.start_mark.line + 1
                walk(item, (*path, i))

    if root is not None:
        walk(root, ())
    return lines


class PresetLoader(yaml.SafeLoader):
    """YAML as PyYAML reads it, but for YAML 1.1's numbers in base 60: `translate_x: 5:30` is the
    keyframe it looks like (it was the number 330, a constant, where `angle: 0:30` was a keyframe)."""

    SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0] and self.SEXAGESIMAL.fullmatch(value):
            return "tag:yaml.org,2002:str"
        return super().resolve(kind, value, implicit)


LONG_NUMBER = "a number of more digits than 4300 (Python's limit for reading one)"
MAX_NODES = 100_000  # a preset is a few hundred; aliases repeated inside aliases grow exponentially


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes the document has with every alias written out, counted without writing
    them out; a ValueError for an alias that refers to itself or for more than MAX_NODES."""
    sizes: dict[int, int] = {}
    inside: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in inside:
            raise ValueError("an alias refers to the node that holds it")
        inside.add(id(node))
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else \
            node.value if isinstance(node, yaml.SequenceNode) else []
        total = 1 + sum(size(child) for child in children)
        inside.discard(id(node))
        if total > MAX_NODES:
            raise ValueError(f"its aliases expand to more than {MAX_NODES} values")
        sizes[id(node)] = total
        return total

    return size(root)


def _read_yaml(path: Path) -> tuple[dict, dict[KeyPath, int]]:
    if (problem := why_unreadable(path)) and problem != "file not found":  # a pipe would wait for a writer
        raise PresetError(f"{path}: {problem}, where a preset file goes")
    try:
        data = path.read_bytes()
        # YAML's own encodings: UTF-8, or UTF-16 marked by its byte order mark (Windows editors' "Unicode")
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8")
    except FileNotFoundError:
        raise PresetError(f"{path}: preset file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read preset ({exc})") from None
    try:
        loader = PresetLoader(text)  # its reader refuses the control characters YAML has no place for (NUL, BEL, ...)
    except yaml.reader.ReaderError as exc:
        line = len(re.findall(r"\r\n|[\n\r\x85\u2028\u2029]", text[:exc.position])) + 1  # as YAML counts lines
        raise PresetError(f"{path}:{line}: YAML syntax error: {str(exc).splitlines()[0]}") from None
    try:
        root = loader.get_single_node()  # the node tree, aliases not yet expanded
        if root is not None:
            _expanded_size(root)
        lines = _key_lines(root, path, loader)  # before construction merges `<<: *alias` keys into their mappings
        raw = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PresetError(f"{where}: YAML syntax error: {problem}") from None
    except ValueError as exc:
        raise PresetError(f"{path}: refused: {LONG_NUMBER if 'integer string conversion' in str(exc) else exc}") from None
    except RecursionError:
        raise PresetError(f"{path}: refused: nested too deeply") from None
    finally:
        loader.dispose()
    if raw is None:
        raise PresetError(f"{path}: the file is empty; a preset is a mapping of keys (name, input, mode, ...)")
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: expected a mapping of preset keys, found {type(raw).__name__}")
    return raw, lines


def preset_from_dict(
    raw: dict, base: Path, *, where: str = "<preset>", lines: dict[KeyPath, int] | None = None,
    overrides: list[Override] = (), source: Path | None = None, rebuilt: bool = False,
) -> Preset:
    """Validate raw preset data; every problem becomes one PresetError line. `rebuilt`: a batch's
    task, made from a preset that passed the rules on what its writer put in it (keys that
    change nothing), with --set values that may have switched a setting off, or a chunk of it:
    those rules are not asked again."""
    raw = applied(raw, overrides)
    try:
        preset = convert(Preset, raw, (), base)
    except Invalid as exc:
        raise PresetError(f"{_locate(exc.path, where, lines or {}, overrides)}: {dotted(exc.path)}: {exc.message}") from None
    error = lambda path, msg: PresetError(f"{_locate(path, where, lines or {}, overrides)}: {dotted(path)}: {msg}")  # noqa: E731
    check_combinations(preset, error)
    check_morph(preset.style, error)
    check_audio(preset, error)
    check_variables(preset, error)
    preset = dataclasses.replace(preset, source=source, shown=where if source else None,
                                 overridden=tuple((o.path, o.text) for o in overrides), lines=tuple((lines or {}).items()))
    if not rebuilt:
        check_written(preset, error, tuple(override.path for override in overrides))
    if checked_at_load(preset):  # else once its clip is open or its sound heard (render/plan.py)
        check_schedules(preset, timeline(preset), error)
    return preset


def _locate(path: KeyPath, where: str, lines: dict[KeyPath, int], overrides: list[Override]) -> str:
    for override in reversed(overrides):  # of a key given twice, the last is the one taken
        if path[: len(override.path)] == override.path or override.path[: len(path)] == path:
            return override.text
    written = max((end for end in range(len(path) + 1) if path[:end] in lines), default=0)
    for override in overrides:  # a section the file leaves out, begun by a --set (`method.steps=9`: its name)
        if _shared(path, override.path) > written:
            return override.text
    line = key_line(lines, path)
    return where if line is None else f"{where}:{line}"


def _shared(a: KeyPath, b: KeyPath) -> int:
    """How many keys two paths begin with in common."""
    return next((n for n, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def load_preset(path: Path | str, overrides: list[Override] = ()) -> Preset:
    path = Path(path)
    raw, lines = _read_yaml(path)
    return preset_from_dict(raw, path.resolve().parent, where=str(path), lines=lines, overrides=overrides, source=path.resolve())
