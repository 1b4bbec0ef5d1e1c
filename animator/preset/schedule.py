"""Values that change over a render: keyframe schedules and expressions.

    "0: 1.0, 60: 1.05, 120: 1.0"        keyframes (Deforum's syntax; "0:(1.0)" works too)
    "1 + 0.02 * sin(2 * pi * t / T)"    an expression in t (frame), T (frame count), s (seconds)
    "1 + 0.04 * beat"                   and, when the preset has an audio: file, its features
    {0: 1.0, 60: 1.05}                  keyframes as a YAML mapping
    {keyframes: "0: 1, 60: 2", interpolation: cubic}

Between keyframes values are interpolated linearly (default), by a cubic Hermite spline through
the keyframes (tangents from the neighbouring keyframes, like Catmull-Rom), or held (step);
before the first and after the last keyframe they are held. A keyframe's value may itself be an
expression, evaluated at the current frame.

Expressions are parsed by Python's parser into a tree and compiled, node by node, into closures
over an allow-list of operators, names and functions; nothing is handed to eval, and attribute
access, subscripts, imports, strings and calls outside the list are refused with their position.
Arithmetic is in floats, so `9**9**9` overflows at once instead of building a huge integer.
Which variables exist depends on the preset (the audio features need an audio file), so a
schedule records the names it uses, and the preset checks them against the ones it knows.
"""

from __future__ import annotations

import ast
import bisect
import math
import operator
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Env = dict[str, float]
Compiled = Callable[[Env], float]

VARIABLES = ("t", "T", "s")  # frame, frames in the render, seconds
AUDIO_VARIABLES = ("loud", "onset", "beat", "bass", "mid", "high")  # with an audio file: see animator.music
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
Names = dict[str, int]  # a variable's name -> its first position (1-based) in the schedule's text


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def _round(x: float, digits: float = 0) -> float:
    return round(x, int(digits))  # digits arrive as floats: arithmetic here is in floats


FUNCTIONS: dict[str, Callable[..., float]] = {
    **{name: getattr(math, name) for name in (
        "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "exp", "log", "log2",
        "log10", "sqrt", "floor", "ceil", "hypot", "fmod", "degrees", "radians", "copysign")},
    "abs": abs, "min": min, "max": max, "round": _round, "pow": math.pow, "clamp": _clamp,
}
# (least, most) arguments of each function; None: any number
ARITY = {**dict.fromkeys(FUNCTIONS, (1, 1)), "atan2": (2, 2), "fmod": (2, 2), "copysign": (2, 2), "pow": (2, 2),
         "log": (1, 2), "round": (1, 2), "clamp": (3, 3), "hypot": (1, None), "min": (2, None), "max": (2, None)}
MAX_LENGTH = 2000  # characters of a schedule's text
MAX_DEPTH = 100  # nesting of an expression's parse tree (a chain of n sums nests n deep)
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
          ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: math.pow}
UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}
DESCRIBED = {ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Lambda: "lambda",
             ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.Dict: "dicts",
             ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets", ast.JoinedStr: "strings",
             ast.NamedExpr: "assignment", ast.Starred: "unpacking", ast.Await: "await"}


class ScheduleError(ValueError):
    """A schedule that cannot be read: `position` is 1-based in the text, `reason` says why."""

    def __init__(self, reason: str, position: int | None = None):
        super().__init__(reason)
        self.reason, self.position = reason, position

    def __str__(self) -> str:
        return f"{self.reason} (at character {self.position})" if self.position else self.reason


def compile_expression(text: str, offset: int = 0, names: Names | None = None) -> Compiled:
    """A function of its variables for an arithmetic expression; ScheduleError for anything
    else. The variables it reads are added to `names` (see Schedule.check_names)."""
    try:
        with warnings.catch_warnings():  # Python's tokenizer warns on stderr ("invalid decimal literal" for `0.5if t`):
            warnings.simplefilter("ignore", SyntaxWarning)  # a line besides the command's own, whatever the schedule
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ScheduleError(f"cannot read {text.strip()!r}: {exc.msg}", offset + _leading(text) + (exc.offset or 1)) from None
    except (RecursionError, MemoryError):
        raise ScheduleError(f"expression nested too deeply (at most {MAX_DEPTH} levels)", offset + 1) from None
    start = offset + _leading(text)
    if _depth(tree.body) > MAX_DEPTH:
        raise ScheduleError(f"expression nested too deeply (at most {MAX_DEPTH} levels)", start + 1)
    compiled = _compile(tree.body, start)
    if names is not None:
        for node in sorted(_variables(tree.body), key=lambda n: n.col_offset):
            names.setdefault(node.id, start + node.col_offset + 1)
    return compiled


def _variables(node: ast.AST) -> Iterator[ast.Name]:
    """The names in an expression that stand for values: not constants, not the functions called."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return (n for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in called and n.id not in CONSTANTS)


def _leading(text: str) -> int:
    return len(text) - len(text.lstrip())


def _compile(node: ast.AST, offset: int) -> Compiled:
    where = offset + getattr(node, "col_offset", 0) + 1
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        try:
            value = float(node.value)
        except OverflowError:  # an integer beyond float's range
            raise ScheduleError("a number beyond a float's range (at most about 1.8e308)", where) from None
        return lambda env: value
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            value = CONSTANTS[node.id]
            return lambda env: value
        name = node.id  # a variable: whether it is known is the preset's to say (check_names)
        return lambda env: env[name]
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        op, left, right = BINARY[type(node.op)], _compile(node.left, offset), _compile(node.right, offset)
        return lambda env: op(left(env), right(env))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        op, operand = UNARY[type(node.op)], _compile(node.operand, offset)
        return lambda env: op(operand(env))
    if isinstance(node, ast.Call):
        return _call(node, offset, where)
    if isinstance(node, ast.IfExp):
        test, body, orelse = (_compile(n, offset) for n in (node.test, node.body, node.orelse))
        return lambda env: body(env) if test(env) else orelse(env)
    if isinstance(node, ast.Compare) and all(type(op) in COMPARE for op in node.ops):
        first, ops = _compile(node.left, offset), [COMPARE[type(op)] for op in node.ops]
        rest = [_compile(n, offset) for n in node.comparators]

        def compare(env: Env) -> float:
            left = first(env)
            for op, right in zip(ops, rest):
                value = right(env)
                if not op(left, value):
                    return 0.0
                left = value
            return 1.0
        return compare
    if isinstance(node, ast.BoolOp):  # as Python has them: the operand that decides (`t > 10 and 0.3` is 0.3, not 1)
        parts, every = [_compile(n, offset) for n in node.values], isinstance(node.op, ast.And)

        def boolean(env: Env) -> float:
            for part in parts[:-1]:
                value = part(env)
                if bool(value) != every:  # `and` stops at the first false operand, `or` at the first true one
                    return value
            return parts[-1](env)
        return boolean
    what = DESCRIBED.get(type(node)) or (f"the operator {type(node.op).__name__}" if hasattr(node, "op") else None)
    if isinstance(node, ast.Compare):  # a comparison of numbers is <, <=, ==, !=, >=, >
        bad = next(type(op) for op in node.ops if type(op) not in COMPARE)
        what = f"the comparison '{ {ast.In: 'in', ast.NotIn: 'not in', ast.Is: 'is', ast.IsNot: 'is not'}.get(bad, bad.__name__)}'"
    if isinstance(node, ast.Constant):
        what = "strings" if isinstance(node.value, str) else f"the value {node.value!r}"
    raise ScheduleError(f"{what or type(node).__name__} not allowed in a schedule", where)


def _depth(tree: ast.AST) -> int:
    """How deeply the parse tree nests (without recursing: a long chain of + is deep)."""
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in ast.iter_child_nodes(node)]
    return deepest


def _call(node: ast.Call, offset: int, where: int) -> Compiled:
    if not isinstance(node.func, ast.Name):
        raise ScheduleError("only the listed functions may be called (sin, cos, min, max, clamp, ...)", where)
    if node.func.id not in FUNCTIONS:
        raise ScheduleError(f"unknown function {node.func.id!r} (allowed: {', '.join(sorted(FUNCTIONS))})", where)
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise ScheduleError(f"{node.func.id}() takes plain arguments only", where)
    least, most = ARITY[node.func.id]
    if len(node.args) < least or (most is not None and len(node.args) > most):
        expected = f"{least}" if least == most else f"{least} to {most}" if most else f"{least} or more"
        raise ScheduleError(f"{node.func.id}() takes {expected} argument{'s' if most != 1 else ''}, found {len(node.args)}", where)
    function, args = FUNCTIONS[node.func.id], [_compile(a, offset) for a in node.args]
    return lambda env: function(*(a(env) for a in args))


def split_top_level(text: str, separator: str) -> list[tuple[int, str]]:
    """(offset, part) pieces of text between separators outside parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append((start, text[start:i]))
            start = i + 1
    parts.append((start, text[start:]))
    return parts


def parse_keyframes(text: str, names: Names | None = None) -> list[tuple[int, Compiled]]:
    keyframes: list[tuple[int, Compiled]] = []
    for offset, item in split_top_level(text, ","):
        if not item.strip():
            if offset + len(item) == len(text) and keyframes:
                continue  # a trailing comma
            raise ScheduleError("empty keyframe", offset + 1)
        pieces = split_top_level(item, ":")
        if len(pieces) != 2:
            raise ScheduleError("expected FRAME: VALUE", offset + _leading(item) + 1)
        (_, frame_text), (value_at, value_text) = pieces
        if not re.fullmatch(r"\s*\d+\s*", frame_text):
            raise ScheduleError(f"expected a frame number, found {frame_text.strip()!r}", offset + _leading(frame_text) + 1)
        frame = int(frame_text)
        if keyframes and frame <= keyframes[-1][0]:
            raise ScheduleError(f"frame {frame} comes after frame {keyframes[-1][0]}: keyframes must increase",
                                offset + _leading(frame_text) + 1)
        if not value_text.strip():
            raise ScheduleError(f"frame {frame} has no value", offset + value_at + 1)
        keyframes.append((frame, compile_expression(value_text, offset + value_at, names)))
    return keyframes


INTERPOLATIONS = ("linear", "cubic", "step")


@dataclass(frozen=True, eq=False)
class Schedule:
    """A number per frame. `text` is what was written (fingerprints compare it)."""

    text: str
    interpolation: str = "linear"
    frames: tuple[int, ...] = ()
    values: tuple[Compiled, ...] = field(default=(), repr=False)
    expression: Compiled | None = field(default=None, repr=False)
    names: tuple[tuple[str, int], ...] = field(default=(), repr=False)  # variables read, with their positions

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and (self.text, self.interpolation) == (other.text, other.interpolation)

    def __hash__(self) -> int:
        return hash((self.text, self.interpolation))

    def __str__(self) -> str:
        return self.text if self.interpolation == "linear" else f"{self.text} ({self.interpolation})"

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.names)

    def check_names(self, known: Sequence[str]) -> None:
        """ScheduleError at the first variable that is not `known`, listing the known names."""
        for name, position in self.names:
            if name in known:
                continue
            listed = f"known names: {', '.join((*known, *CONSTANTS))}"
            if name in AUDIO_VARIABLES:
                raise ScheduleError(f"unknown name {name!r}: {', '.join(AUDIO_VARIABLES)} need an audio file "
                                    f"(audio: at the top of the preset); {listed}", position)
            raise ScheduleError(f"unknown name {name!r}; {listed}", position)

    def scaled(self, factor: float) -> Schedule:
        """This schedule times `factor`: each keyframe's value, or the expression (every
        interpolation is linear in the keyframes' values). Its text says so, and is not one a
        preset could hold: a scaled schedule is for a render made here, never written out."""
        times = lambda compiled: lambda env: compiled(env) * factor  # noqa: E731
        return Schedule(f"({self.text}) x {factor:g}", self.interpolation, self.frames, tuple(map(times, self.values)),
                        None if self.expression is None else times(self.expression), self.names)

    def at(self, t: float, count: int, seconds: float, features: Mapping[str, float] | None = None) -> float:
        """The value at frame t of `count`, `seconds` into the render; `features` are the audio
        features of frame t, if the render has audio."""
        env = {"t": float(t), "T": float(count), "s": float(seconds), **(features or {})}
        try:
            value = self.expression(env) if self.expression is not None else self._between(t, env)
            value = float(value)
        except KeyError as exc:
            raise ScheduleError(f"{self.text!r} reads {exc.args[0]}, which this render does not have") from None
        except (ArithmeticError, ValueError) as exc:
            raise ScheduleError(f"{self.text!r} cannot be computed at frame {t} ({exc})") from None
        if not math.isfinite(value):
            for frame, keyframe in zip(self.frames, self.values):  # the keyframe at fault (0 x inf is nan between)
                try:
                    kept = float(keyframe(env))
                except (ArithmeticError, ValueError):  # one that cannot be computed here is not it
                    continue
                if not math.isfinite(kept):
                    raise ScheduleError(f"{self.text!r}: keyframe {frame} is {kept}")
            raise ScheduleError(f"{self.text!r} is {value} at frame {t}")
        return value

    def _between(self, t: float, env: Env) -> float:
        frames = self.frames
        i = bisect.bisect_right(frames, t) - 1
        if i < 0:
            return self.values[0](env)
        if i >= len(frames) - 1:
            return self.values[-1](env)
        if self.interpolation == "step":
            return self.values[i](env)
        t0, t1 = frames[i], frames[i + 1]
        u, p0, p1 = (t - t0) / (t1 - t0), self.values[i](env), self.values[i + 1](env)
        if self.interpolation == "linear":
            return p0 + (p1 - p0) * u
        m0, m1 = (self._slope(k, env) * (t1 - t0) for k in (i, i + 1))
        u2, u3 = u * u, u * u * u
        return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1

    def _slope(self, k: int, env: Env) -> float:
        """Per frame, at keyframe k: from its neighbours (one-sided at the ends)."""
        a, b = max(k - 1, 0), min(k + 1, len(self.frames) - 1)
        return (self.values[b](env) - self.values[a](env)) / (self.frames[b] - self.frames[a])


def parse_schedule(raw: Any, variables: Sequence[str] | None = VARIABLES) -> Schedule:
    """A schedule from its YAML form; ScheduleError says what is wrong and where. The variables
    it may read are `variables`; None leaves them to be checked by the preset (check_names)."""
    schedule = _parse(raw)
    if variables is not None:
        schedule.check_names(variables)
    return schedule


def _parse(raw: Any) -> Schedule:
    interpolation, given = "linear", False
    if isinstance(raw, dict) and "keyframes" in raw:
        unknown = set(raw) - {"keyframes", "interpolation"}
        if unknown:
            raise ScheduleError(f"unknown key {sorted(unknown)[0]!r} (expected keyframes and interpolation)")
        interpolation, given = raw.get("interpolation", "linear"), "interpolation" in raw
        if interpolation not in INTERPOLATIONS:
            raise ScheduleError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, found {interpolation!r}")
        raw = raw["keyframes"]
    if isinstance(raw, dict):
        if not raw or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in raw):
            raise ScheduleError("a keyframe mapping needs frame numbers as keys, such as {0: 1.0, 60: 1.05}")
        crowded = next((k for k, v in raw.items() if isinstance(v, str) and len(split_top_level(v, ",")) > 1), None)
        if crowded is not None:
            raise ScheduleError(f"keyframe {crowded}'s value {raw[crowded]!r} holds a comma: one number or expression a keyframe")
        raw = ", ".join(f"{k}: {v}" for k, v in sorted(raw.items()))
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ScheduleError(f"expected a number, keyframes such as \"0: 1.0, 60: 1.05\" or an expression in t, found {type(raw).__name__}")
    text = str(raw).strip()
    if not text:
        raise ScheduleError("empty schedule")
    if len(text) > MAX_LENGTH:
        raise ScheduleError(f"schedule of {len(text)} characters (at most {MAX_LENGTH})")
    names: Names = {}
    if len(split_top_level(text, ":")) > 1:
        keyframes = parse_keyframes(text, names)
        frames, values = zip(*keyframes)
        return Schedule(text, interpolation, tuple(frames), tuple(values), names=tuple(names.items()))
    if given:  # it would change nothing: an expression is its own curve
        raise ScheduleError(f"interpolation {interpolation} is for keyframes (frame: value, ...); this is an expression in t")
    expression = compile_expression(text, names=names)
    return Schedule(text, interpolation, expression=expression, names=tuple(names.items()))


def value_at(value: float | Schedule, t: float, count: int, seconds: float,
             features: Mapping[str, float] | None = None) -> float:
    """A preset value at frame t: numbers are constants."""
    return value.at(t, count, seconds, features) if isinstance(value, Schedule) else value
