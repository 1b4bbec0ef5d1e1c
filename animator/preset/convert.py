"""Turn raw YAML data into the frozen dataclasses of schema.py, checking every value once.

The rules come from the type hints and field metadata, so adding a preset key is adding a field.
Errors are `Invalid(key_path, message)`; load.py adds the file and line.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from animator.files import why_unreadable
from animator.preset.schedule import Schedule, ScheduleError, parse_schedule

KeyPath = tuple[str | int, ...]


class Invalid(Exception):
    def __init__(self, path: KeyPath, message: str):
        super().__init__(message)
        self.path, self.message = path, message


def dotted(path: KeyPath) -> str:
    text = ""
    for part in path:  # a key YAML read as null, a number or a date is shown as written there: `~` as None
        name = str(part)
        text += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else (f".{name}" if text else name)
    return text or "(top level)"


def shown(value: Any) -> str:
    """A found value as an error names it: a short repr, or what kind of thing it is."""
    if isinstance(value, dict):
        return "a schedule (this key takes one value)" if "keyframes" in value else "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:  # a key left empty, `null`, or `--set KEY=`: said as YAML says it, not as Python's None
        return "null (no value)"
    if isinstance(value, bool):  # YAML reads yes/no and on/off as these too: the word the user wrote may be either
        return "true (YAML's true, yes or on)" if value else "false (YAML's false, no or off)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def convert(kind: Any, raw: Any, path: KeyPath, base: Path, meta: typing.Mapping = {}) -> Any:
    """Convert `raw` to `kind`; `base` is the folder relative paths are resolved against."""
    if "parse" in meta:
        try:
            return meta["parse"](raw)
        except ValueError as exc:
            raise Invalid(path, f"expected {exc}, found {shown(raw)}") from None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if dataclasses.is_dataclass(kind):
        return _dataclass(kind, raw, path, base)
    if origin in (typing.Union, types.UnionType):
        return _union(args, raw, path, base, meta)
    if origin is Literal:
        if raw not in args:
            raise Invalid(path, f"expected one of {', '.join(map(str, args))}, found {shown(raw)}")
        return args[args.index(raw)]  # the word itself: a --set's text is a str subclass, which PyAV's options refuse
    if origin is tuple:
        if raw is None:  # `outputs:` left empty is no list of one nothing
            raise Invalid(path, "expected a list (or one item), found null")
        items = raw if isinstance(raw, list) else [raw]  # one item stands for a list of one
        item_meta = {"parse": meta["item"]} if "item" in meta else meta
        return tuple(convert(args[0], item, (*path, i), base, item_meta) for i, item in enumerate(items))
    if kind is Path:
        return _path(raw, path, base)
    return _scalar(kind, raw, path, meta)


def _scalar(kind: type, raw: Any, path: KeyPath, meta: typing.Mapping) -> Any:
    names = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}
    ok = isinstance(raw, kind) and (kind is bool or not isinstance(raw, bool))
    if kind is float and isinstance(raw, int) and not isinstance(raw, bool):
        ok = True
    lo, hi = meta.get("min"), meta.get("max")
    bounds = (f" >= {lo}" if hi is None else f" between {lo} and {hi}") if lo is not None else ""
    if not ok:
        quote = " (YAML read it as a number or a truth value: write it in quotes)" if kind is str and isinstance(
            raw, int | float) else ""
        raise Invalid(path, f"expected {names[kind]}{bounds}, found {shown(raw)}{quote}")
    if kind is float and not finite(raw):  # YAML's .nan and .inf: every comparison with NaN is false
        raise Invalid(path, f"expected a finite number{bounds}, found {shown(raw)}")
    if (lo is not None and raw < lo) or (hi is not None and raw > hi):
        raise Invalid(path, f"expected {names[kind]}{bounds}, found {shown(raw)}")
    if "pattern" in meta and not re.fullmatch(meta["pattern"], raw):
        raise Invalid(path, f"expected ASCII letters, digits, '.', '_' or '-', beginning with a letter or digit (a file name), "
                            f"found {shown(raw)}")
    if "longest" in meta and len(raw) > meta["longest"]:
        raise Invalid(path, f"expected at most {meta['longest']} characters, found {len(raw)}")
    return float(raw) if kind is float else raw


def finite(number: int | float) -> bool:
    """Whether a number is finite as a float: not NaN, not infinite, and not an integer beyond
    float's range (which math.isfinite raises for)."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


class CommandLineText(str):
    """Text a `--set` gave: a path in it is read from the working folder, as any command line's
    are, not from the preset's (a batch's presets live in several)."""


def from_command_line(value: Any) -> Any:
    """A --set value with its text marked as the command line's, however deep in lists and mappings."""
    if isinstance(value, str):
        return CommandLineText(value)
    if isinstance(value, list):
        return [from_command_line(item) for item in value]
    if isinstance(value, dict):
        return {key: from_command_line(item) for key, item in value.items()}
    return value


def _path(raw: Any, path: KeyPath, base: Path) -> Path:
    if not isinstance(raw, str) or not raw:
        raise Invalid(path, f"expected a file path, found {shown(raw)}")
    if "\0" in raw:  # no file name holds one; os calls raise ValueError on it
        raise Invalid(path, f"expected a file path, found {shown(raw)} (a path cannot hold a null character)")
    base = Path.cwd() if isinstance(raw, CommandLineText) else base
    try:
        resolved = (base / Path(raw).expanduser()).resolve()
    except (OSError, RuntimeError) as exc:  # a loop of links (OSError; RuntimeError before Python 3.13)
        raise Invalid(path, f"cannot be followed: {base / raw} ({getattr(exc, 'strerror', None) or exc})") from None
    if problem := why_unreadable(resolved):
        raise Invalid(path, f"{problem}: {resolved}")
    return resolved


def _union(options: tuple, raw: Any, path: KeyPath, base: Path, meta: typing.Mapping) -> Any:
    if raw is None and type(None) in options:
        return None
    options = tuple(o for o in options if o is not type(None))
    if Schedule in options:
        return _schedulable(options, raw, path, meta)
    tagged = [o for o in options if dataclasses.is_dataclass(o)]
    if len(tagged) == len(options) > 1:  # pick the dataclass by its `name`
        return _tagged(tagged, raw, path, base)
    words = [str(a) for o in options if typing.get_origin(o) is Literal for a in typing.get_args(o)]
    if raw in words:
        return words[words.index(raw)]
    (rest,) = [o for o in options if typing.get_origin(o) is not Literal]
    try:
        return convert(rest, raw, path, base, meta)
    except Invalid as exc:
        if words and exc.path == path and exc.message.startswith("expected "):
            raise Invalid(path, f"expected {', '.join(words)} or {exc.message.removeprefix('expected ')}") from None
        raise


def _schedulable(options: tuple, raw: Any, path: KeyPath, meta: typing.Mapping) -> Any:
    """A number, or a schedule (text or mapping); the schedule's values are bounds-checked per
    frame once the frame count is known (see load.check_schedules)."""
    if isinstance(raw, (str, dict)):
        try:
            return parse_schedule(raw, variables=None)  # the preset knows which (resolve.check_variables)
        except ScheduleError as exc:
            raise Invalid(path, f"schedule{f' {shown(raw)}' if isinstance(raw, str) else ''}: {exc}") from None
    (number,) = [o for o in options if o is not Schedule]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return _scalar(number, raw, path, meta)
    raise Invalid(path, f"expected a number or a schedule such as \"0: 1.0, 60: 1.05\", found {shown(raw)}")


def _tagged(options: list, raw: Any, path: KeyPath, base: Path) -> Any:
    names = {typing.get_args(typing.get_type_hints(o)["name"])[0]: o for o in options}
    raw = {"name": raw} if isinstance(raw, str) else raw
    if not isinstance(raw, dict):
        raise Invalid((*path, "name"), f"expected one of {', '.join(names)}, found {shown(raw)}")
    if "name" not in raw:
        raise Invalid((*path, "name"), f"required key is missing: one of {', '.join(names)}")
    if not isinstance(raw["name"], str) or raw["name"] not in names:  # a list or a mapping is no name (nor hashable)
        raise Invalid((*path, "name"), f"expected one of {', '.join(names)}, found {shown(raw['name'])}")
    return _dataclass(names[raw["name"]], raw, path, base)


def _fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}


def _main_key(cls: type) -> str | None:
    """The key a bare value stands for: the one required key, or `name`."""
    fields = _fields(cls)
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    return required[0] if len(required) == 1 else ("name" if "name" in fields else None)


def bare_form(kind: Any, path: KeyPath, value: Any) -> Any:
    """A bare value at `path` inside `kind` in its full form, for a --set to reach into: `style:
    cat.png` is `style: [cat.png]`, `audio: song.mp3` is `audio: {file: song.mp3}`, `method:
    gatys` is `method: {name: gatys}`, `blend: 0.3` is `blend: {keyframes: 0.3}`. None for
    nothing there: a section left out of the file is its default (`method` is {name: arbitrary})."""
    options, default = _kind_at(kind, path)
    if value is None:
        named = dataclasses.is_dataclass(default) and len([o for o in options if dataclasses.is_dataclass(o)]) > 1
        return {"name": default.name} if named else [] if any(typing.get_origin(o) is tuple for o in options) else {}
    if value in [a for o in options if typing.get_origin(o) is Literal for a in typing.get_args(o)]:
        return []  # a word (`style: self`) has no items or keys
    if any(typing.get_origin(o) is tuple for o in options):
        return [value]
    if Schedule in options:
        return {"keyframes": value}
    classes = [o for o in options if dataclasses.is_dataclass(o)]
    key = "name" if len(classes) > 1 else _main_key(classes[0]) if classes else None
    return {key: value} if key else {}


def mapping_shorthand(kind: Any, path: KeyPath, value: Any, inside: str | int) -> bool:
    """Whether a mapping at `path` inside `kind` stands for the fuller form that the key `inside`
    it belongs to: one item of a list (`outputs: {format: gif}`, for `outputs.0.fps`), or a
    schedule's keyframes (`blend: {0: 0.1, 9: 0.5}`, for `blend.interpolation`)."""
    if not isinstance(value, dict):
        return False
    options, _ = _kind_at(kind, path)
    if isinstance(inside, int):
        return any(typing.get_origin(o) is tuple and dataclasses.is_dataclass(typing.get_args(o)[0]) for o in options)
    return inside in ("keyframes", "interpolation") and Schedule in options and "keyframes" not in value


def _kind_at(kind: Any, path: KeyPath) -> tuple[tuple, Any]:
    """The options of the kind at `path` inside `kind`, and the default there (or None)."""
    default = None
    for part in path:
        options = _options(kind)
        if isinstance(part, int):
            kinds = [typing.get_args(o)[0] for o in options if typing.get_origin(o) is tuple]
            default = None
        else:
            found = [o for o in options if dataclasses.is_dataclass(o) and part in _fields(o)]
            kinds = [typing.get_type_hints(o)[part] for o in found]
            f = _fields(found[0])[part] if found else None
            default = None if f is None else f.default_factory() if f.default_factory is not dataclasses.MISSING \
                else (f.default if f.default is not dataclasses.MISSING else None)
        if not kinds:
            return (), None
        kind = kinds[0]
    return _options(kind), default


def _options(kind: Any) -> tuple:
    return typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else (kind,)


def _dataclass(cls: type, raw: Any, path: KeyPath, base: Path) -> Any:
    hints = typing.get_type_hints(cls)
    fields = _fields(cls)
    required = [n for n, f in fields.items() if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    main_key = _main_key(cls)
    if not isinstance(raw, dict) and main_key and raw is not None:
        raw = {main_key: raw}  # a bare value stands for the main key: `style: cat.png`, `gram_transform: sparse`
    if not isinstance(raw, dict):
        raise Invalid(path, f"expected a mapping of keys, found {shown(raw)}")
    for key in raw:
        if not isinstance(key, str):  # `1:`, `yes:`, `~:` are a number, true, null to YAML: no key's name
            read = {type(None): "null", bool: "true or false", int: "a number", float: "a number"}.get(type(key), "a date")
            raise Invalid((*path, key), f"unknown key: YAML read it as {read}, and keys are names; "
                                        f"expected one of {', '.join(fields)}")
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f"; expected one of {', '.join(fields)}"
            raise Invalid((*path, key), f"unknown key{hint}")
    values = {}
    for name, f in fields.items():
        if name in raw:
            values[name] = convert(hints[name], raw[name], (*path, name), base, f.metadata)
        elif name in required:
            raise Invalid((*path, name), "required key is missing")
    return cls(**values)


def to_plain(value: Any) -> Any:
    """The inverse direction: a preset as plain data, which converts back to the same preset
    (fingerprints hash it; batch workers receive it)."""
    if isinstance(value, Schedule):
        return value.text if value.interpolation == "linear" else {"keyframes": value.text, "interpolation": value.interpolation}
    if isinstance(value, (Path, Fraction)):
        return str(value)
    if dataclasses.is_dataclass(value):
        return {f.name: f.metadata.get("plain", to_plain)(getattr(value, f.name))
                for f in dataclasses.fields(value) if not f.metadata.get("internal")}
    if isinstance(value, tuple):
        return [to_plain(v) for v in value]
    return value
