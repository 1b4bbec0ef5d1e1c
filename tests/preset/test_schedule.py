"""Keyframe schedules and expressions: parsing, each interpolation, and what is refused."""

from __future__ import annotations

import math

import pytest

from animator.preset.schedule import ScheduleError, parse_schedule


def values(schedule, frames, count=100, fps=10):
    return [schedule.at(t, count, t / fps) for t in frames]


def test_linear_keyframes_interpolate_and_hold_outside():
    s = parse_schedule("0: 1.0, 60: 1.6, 120: 1.0")
    assert values(s, [0, 30, 60, 90, 120, 200]) == pytest.approx([1.0, 1.3, 1.6, 1.3, 1.0, 1.0])
    assert parse_schedule("10: 2, 20: 4").at(0, 100, 0) == 2  # held before the first keyframe


def test_deforum_parentheses_and_a_yaml_mapping_mean_the_same():
    a, b, c = parse_schedule("0:(1.0), 60:(1.6)"), parse_schedule({0: 1.0, 60: 1.6}), parse_schedule("0: 1.0, 60: 1.6,")
    assert values(a, range(0, 70, 7)) == values(b, range(0, 70, 7)) == values(c, range(0, 70, 7))


def test_step_holds_each_value_until_the_next_keyframe():
    s = parse_schedule({"keyframes": "0: 1, 10: 5, 20: 2", "interpolation": "step"})
    assert values(s, [0, 9, 10, 19, 20, 99]) == [1, 1, 5, 5, 2, 2]


def test_cubic_passes_through_the_keyframes_smoothly():
    s = parse_schedule({"keyframes": {0: 0.0, 10: 1.0, 20: 0.0, 30: 1.0}, "interpolation": "cubic"})
    assert values(s, [0, 10, 20, 30]) == pytest.approx([0, 1, 0, 1])
    linear = parse_schedule({0: 0.0, 10: 1.0, 20: 0.0, 30: 1.0})
    assert s.at(5, 40, 0) != pytest.approx(linear.at(5, 40, 0))  # a curve, not the straight line
    # continuous slope at an inner keyframe: the two one-frame differences around 10 agree
    left, right = s.at(10, 40, 0) - s.at(9.999, 40, 0), s.at(10.001, 40, 0) - s.at(10, 40, 0)
    assert left == pytest.approx(right, abs=1e-6)
    # on a straight line of keyframes the spline is the line
    line = parse_schedule({"keyframes": "0: 0, 10: 1, 20: 2", "interpolation": "cubic"})
    assert values(line, [3, 7, 15]) == pytest.approx([0.3, 0.7, 1.5])


def test_expressions_in_t_T_and_s():
    s = parse_schedule("1 + 0.5 * sin(2 * pi * t / T)")
    assert values(s, [0, 25, 50, 75]) == pytest.approx([1, 1.5, 1, 0.5])
    assert parse_schedule("s * 2").at(30, 100, 3.0) == 6
    assert parse_schedule("clamp(t / 10, 0, 1)").at(25, 100, 0) == 1
    assert parse_schedule("1 if t < 5 else 2").at(5, 100, 0) == 2
    assert parse_schedule("max(1, min(t, 3)) ** 2").at(10, 100, 0) == 9
    assert values(parse_schedule("round(t / 3, 2) + round(t / 3)"), [1, 5]) == pytest.approx([0.33, 3.67])  # digits, or none
    assert parse_schedule(0.25).at(7, 10, 0) == 0.25


def test_and_and_or_give_the_operand_that_decides_as_python_does():
    """They gave 1 or 0: `t > 10 and 0.3` rendered a blend of 1 from frame 11."""
    assert values(parse_schedule("t > 10 and 0.3"), [5, 11]) == [0, 0.3]
    assert values(parse_schedule("0 or 0.3"), [0]) == [0.3]
    assert values(parse_schedule("0.5 and 0.3 and t"), [0, 2]) == [0, 2]
    assert values(parse_schedule("t or 0.2 or 0.9"), [0, 4]) == [0.2, 4]


def test_keyframe_values_may_be_expressions():
    s = parse_schedule("0: 0, 10: (t / 10)")
    assert s.at(20, 100, 0) == 2  # held last value, evaluated at t
    assert s.at(5, 100, 0) == pytest.approx(0.25)  # between 0 and t/10 = 0.5


@pytest.mark.parametrize("text, reason, position", [
    ("0: 1.0, 60 1.05", "expected FRAME: VALUE", 9),
    ("0: 1.0, x: 2", "expected a frame number, found 'x'", 9),
    ("0: 1, 60: 2, 30: 3", "keyframes must increase", 14),
    ("0: 1, 30: 2, 30: 3", "frame 30 comes after frame 30", 14),  # a frame given twice: one of its values is lost
    ("0: 1, 60:", "frame 60 has no value", 10),
    ("0: 1,, 60: 2", "empty keyframe", 6),
    ("1 + * 2", "cannot read", 5),
    ("0: 1, 10: 2 +", "cannot read '2 +'", 11),
])
def test_bad_keyframes_name_the_position_and_reason(text, reason, position):
    with pytest.raises(ScheduleError) as info:
        parse_schedule(text)
    assert reason in info.value.reason and info.value.position == position, str(info.value)


@pytest.mark.parametrize("text, reason", [
    ("t.real", "attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("__import__('os').system('true')", "only the listed functions"),
    ("().__class__", "attribute access"),
    ("open('x')", "unknown function 'open'"),
    ("sin.__call__(1)", "only the listed functions"),
    ("[t][0]", "subscripts"),
    ("lambda: 1", "lambda"),
    ("x + 1", "unknown name 'x'"),
    ("'a' * 3", "strings"),
    ("sin(x=1)", "plain arguments"),
    ("[i for i in range(3)]", "comprehensions"),
    ("(y := 2)", "assignment"),
    ("0.5 if t in (1, 2) else 0.2", "the comparison 'in' not allowed"),  # it said "Compare"
])
def test_the_evaluator_refuses_everything_but_arithmetic(text, reason):
    with pytest.raises(ScheduleError, match=reason):
        parse_schedule(text)


def test_values_that_cannot_be_computed_say_where():
    with pytest.raises(ScheduleError, match="at frame 0"):
        parse_schedule("1 / t").at(0, 10, 0)
    with pytest.raises(ScheduleError, match="at frame 3"):
        parse_schedule("9 ** 9 ** 9 if t > 2 else 1").at(3, 10, 0)  # floats: overflows at once
    with pytest.raises(ScheduleError, match="at frame 1"):
        parse_schedule("log(0) if t > 0 else 1").at(1, 10, 0)
    assert math.isclose(parse_schedule("log(e)").at(0, 1, 0), 1)
    with pytest.raises(ScheduleError, match=r"^'0: 0.5, 60: 1e400': keyframe 60 is inf$"):  # "nan at frame 0" (0 x inf)
        parse_schedule("0: 0.5, 60: 1e400").at(0, 100, 0)
    with pytest.raises(ScheduleError, match=r"keyframe 20 is inf$"):  # the first keyframe cannot be computed at 15
        parse_schedule("0: sqrt(9.5 - t) / 4, 10: 0.5, 20: 1e308 * 10").at(15, 100, 0)


@pytest.mark.parametrize("raw, reason", [
    ({"keyframes": "0: 1", "interpolation": "spline"}, "interpolation must be one of"),
    ({"keyframes": "0: 1", "speed": 2}, "unknown key 'speed'"),
    ({"a": 1}, "frame numbers as keys"),
    ([1, 2], "expected a number, keyframes"),
    ("  ", "empty schedule"),
    ({"keyframes": "0.2 + 0.1 * sin(t)", "interpolation": "linear"}, "interpolation linear is for keyframes"),
    ({0: "0.2, 30: 0.9", 60: 0.5}, "keyframe 0's value '0.2, 30: 0.9' holds a comma"),  # three keyframes, said nothing
])
def test_bad_schedule_forms(raw, reason):
    with pytest.raises(ScheduleError, match=reason):
        parse_schedule(raw)
