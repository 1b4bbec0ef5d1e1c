"""Animation controls end to end: schedules, feedback motion, colour coherence, style morphs and
in-between frames, rendered from presets and read back from the written files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from animator.media.image import read_image
from animator.metrics import mean_abs_diff
from animator.preset import parse_overrides, preset_from_dict
from animator.render.engine import load
from tests.conftest import SAMPLES, decode_video
from tests.controls.test_color import lab_means


def render(tmp_path: Path, name: str, sets: tuple[str, ...] = (), **keys) -> list[np.ndarray]:
    """Render a preset made of `keys` (plus PNG frames out), with `--set`s, and read its frames back."""
    raw = {"name": name, "input": str(SAMPLES / "chelsea.png"), "size": 96, "outputs": [{"format": "png"}], **keys}
    load(preset_from_dict(raw, tmp_path, overrides=parse_overrides(list(sets)))).run(tmp_path, fresh=True)
    return [read_image(p) for p in sorted((tmp_path / f"{name}_frames").iterdir())]


def steps_moved(frames: list[np.ndarray]) -> list[float]:
    return [mean_abs_diff(a, b) for a, b in zip(frames, frames[1:])]


def test_feedback_motion_keeps_a_settling_loop_moving(tmp_path):
    loop = {"size": 128, "method": {"name": "multistyle", "style": 7}, "iterate": {"steps": 120, "blend": 0.3}}
    still = steps_moved(render(tmp_path, "still", **loop))
    zooming = steps_moved(render(tmp_path, "zoom", **{**loop, "iterate": {**loop["iterate"], "motion": {"zoom": 1.02}}}))
    # Measured: the bare loop settles to ~0.3 /255 a step, the zooming one keeps ~2.3 /255.
    assert np.mean(still[-30:]) < 1.0 < min(zooming[-30:])


def test_colour_coherence_holds_the_reference_colours(tmp_path):
    loop = {"iterate": {"steps": 60, "blend": 1.0}}  # arbitrary at blend 1 drifts into its own magenta
    drifted = render(tmp_path, "plain", **loop)
    reference = lab_means(drifted[0])  # frame 0 is the input
    assert np.abs(lab_means(drifted[-1]) - reference).max() > 20
    held = render(tmp_path, "held", iterate={**loop["iterate"], "color": {"match": "lab", "reference": "input"}})
    assert max(np.abs(lab_means(frame) - reference).max() for frame in held) < 2
    # (a file's match at strength 0 is refused: a --set switches it off for a comparison)
    off = render(tmp_path, "off", ("iterate.color.strength=0",),
                 iterate={**loop["iterate"], "color": {"match": "lab", "reference": "input"}})
    assert all(np.array_equal(a, b) for a, b in zip(off, drifted))


def test_a_schedule_drives_the_loop(tmp_path):
    frames = render(tmp_path, "held", method={"name": "multistyle"},
                    iterate={"steps": 8, "blend": {"keyframes": "0: 0, 4: 0, 5: 1", "interpolation": "step"}})
    moved = steps_moved(frames)
    assert moved[:4] == [0, 0, 0, 0] and moved[4] > 5  # held still until frame 5, then a full step


def test_interpolated_renders_have_k_frames_a_step(tmp_path):
    keys = {"method": {"name": "multistyle", "style": 3}, "iterate": {"steps": 6, "blend": 0.5, "motion": {"angle": 2}}}
    plain = render(tmp_path, "plain", **keys)
    tweened = render(tmp_path, "tweened", **{**keys, "iterate": {**keys["iterate"], "interpolate": 3}})
    assert len(plain) == 7 and len(tweened) == (7 - 1) * 3 + 1
    assert all(np.array_equal(tweened[3 * t], plain[t]) for t in range(7))  # the iterates themselves are unchanged
    between = steps_moved(tweened)
    assert max(between) < 0.6 * max(steps_moved(plain))  # smaller steps
    preset = preset_from_dict({"name": "v", "input": str(SAMPLES / "chelsea.png"), "size": 64,
                               "iterate": {"steps": 4, "interpolate": 4}, "outputs": [{"format": "mp4"}]}, tmp_path)
    load(preset).run(tmp_path, fresh=True)
    assert len(decode_video(tmp_path / "v.mp4")[1]) == (5 - 1) * 4 + 1 == preset.frame_count


def test_arbitrary_morphs_between_style_vectors(tmp_path):
    from animator.clock import Clock
    from animator.methods import StyleTrack, build_method, prepare_style
    from animator.media.frame import fitted
    from animator.preset.resolve import style_weights
    from animator.preset.schema import ArbitraryOptions

    cpu = torch.device("cpu")
    brick, hubble = (fitted(read_image(SAMPLES / name), 96, cpu) for name in ("brick.png", "hubble_deep_field.jpg"))
    x = fitted(read_image(SAMPLES / "chelsea.png"), 96, cpu)
    preset = preset_from_dict({"name": "m", "input": str(SAMPLES / "chelsea.png"), "iterate": {"steps": 10},
                               "style": [{"image": str(SAMPLES / "brick.png"), "at": 0},
                                         {"image": str(SAMPLES / "hubble_deep_field.jpg"), "at": 10}]}, tmp_path)
    method = build_method(ArbitraryOptions(), cpu)
    weights = style_weights(preset.style)
    track, clock = StyleTrack(method, [(brick, weights[0]), (hubble, weights[1])]), Clock(11, 1 / 24)
    at = lambda t: method.stylize(track.at(x, clock.at(t)), x)  # noqa: E731
    assert torch.allclose(at(0), method.stylize(prepare_style(method, [(brick, 1.0)]), x), atol=1e-5)
    assert torch.allclose(at(10), method.stylize(prepare_style(method, [(hubble, 1.0)]), x), atol=1e-5)
    assert torch.allclose(at(5), method.stylize(prepare_style(method, [(brick, 0.5), (hubble, 0.5)]), x), atol=1e-5)


def test_multistyle_and_gatys_morph_by_schedules(tmp_path):
    morph = render(tmp_path, "morph", method={"name": "multistyle", "style": {3: "0: 1, 4: 0", 12: "0: 0, 4: 1"}},
                   iterate={"steps": 4})
    mix = render(tmp_path, "mix", method={"name": "multistyle", "style": {3: 0.75, 12: 0.25}}, iterate={"steps": 1})
    assert np.array_equal(morph[1], mix[1])  # frame 1 of 4: three quarters style 3, a quarter style 12
    gatys = {"name": "gatys", "steps": 4, "optimizer": "adam", "lr": 0.05}
    handover = [{"image": str(SAMPLES / "brick.png"), "weight": "0: 1, 1: 1, 2: 0"},
                {"image": str(SAMPLES / "coffee.png"), "weight": "0: 0, 1: 0, 2: 1"}]
    morphed = render(tmp_path, "gmorph", size=48, method=gatys, style=handover, iterate={"steps": 2})
    brick = render(tmp_path, "gbrick", size=48, method=gatys, style=str(SAMPLES / "brick.png"), iterate={"steps": 2})
    assert np.array_equal(morphed[1], brick[1]) and not np.array_equal(morphed[2], brick[2])  # coffee takes over at 2
