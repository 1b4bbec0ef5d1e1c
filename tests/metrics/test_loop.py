"""A loop's life figures on hand-made pictures and clips whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from animator.metrics.loop import frame_figures, lifeless, loop_figures
from tests.conftest import SAMPLES


def photo() -> np.ndarray:
    from animator.media.image import read_image

    return read_image(SAMPLES / "chelsea.png")


def stripes(angle: float = 30.0, period: float = 9.0) -> np.ndarray:
    ys, xs = np.mgrid[0:128, 0:128]
    wave = np.sin(2 * np.pi * (xs * np.cos(np.radians(angle)) + ys * np.sin(np.radians(angle))) / period)
    return np.repeat(((wave + 1) * 120).astype(np.uint8)[..., None], 3, axis=2)


def test_stripes_are_coherent_and_a_photograph_is_not():
    assert frame_figures(stripes())["coherence"] > 0.9
    assert frame_figures(photo())["coherence"] < 0.3


def test_a_flat_field_has_no_detail_and_is_all_flat():
    figures = frame_figures(np.full((64, 64, 3), (200, 40, 180), np.uint8))
    assert figures["detail"] == 0 and figures["flat"] == 1 and figures["colour"] == 0


def test_a_loop_that_fades_to_flat_colour_and_freezes_is_not_alive():
    start = photo().astype(np.float32)
    flat = np.full_like(start, (200, 40, 180))
    fading = [np.clip(start + min(t / 20, 1) * (flat - start), 0, 255).astype(np.uint8) for t in range(41)]
    figures = loop_figures(fading)
    last = figures["quarters"][-1]
    assert last["detail"] < 0.05 and last["flat"] > 0.95 and last["change"] == 0
    assert figures["quarters"][0]["change"] > 0.5
    assert any("detail" in fault for fault in lifeless(figures)) and any("change" in f for f in lifeless(figures))
    assert [q["frames"] for q in figures["quarters"]] == [[1, 10], [11, 20], [21, 30], [31, 40]]  # all after frame 0


def test_a_loop_that_drains_its_colour_is_not_alive_though_its_detail_is():
    image = photo()
    grey = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    draining = [np.roll(image + min(t / 20, 1) * (grey - image), 2 * t, axis=1).astype(np.uint8) for t in range(41)]
    figures = loop_figures(draining)
    assert figures["quarters"][-1]["colour"] < 0.05
    faults = lifeless(figures, moving=True)
    assert faults and all("colour" in fault for fault in faults) and any(f.startswith("quarter 4: colour") for f in faults)


def test_a_gentle_ramp_is_flat_and_a_steep_one_is_not():
    ramp = lambda step: np.repeat((np.arange(64) * step).astype(np.uint8)[None, :, None], 3, axis=2).repeat(64, axis=0)  # noqa: E731
    gentle, steep = frame_figures(ramp(1)), frame_figures(ramp(3))  # 1 and 3 grey levels a pixel; FLAT is 2
    assert gentle["flat"] == 1 and gentle["detail"] > 0.9
    assert steep["flat"] < 0.05


def test_a_frozen_loop_with_a_flash_in_every_quarter_is_still_frozen():
    """change is the median of a quarter's frame-to-frame changes: one flash does not make it alive."""
    image = photo()
    frames = [255 - image if t in (5, 15, 25, 35) else image for t in range(41)]
    figures = loop_figures(frames)
    assert [q["change"] for q in figures["quarters"]] == [0, 0, 0, 0]
    assert [f.split(":")[0] for f in lifeless(figures) if "change" in f] == [f"quarter {n}" for n in (1, 2, 3, 4)]


def test_the_bars_of_life_are_where_the_docstring_puts_them():
    at_bars = {"detail": 0.6, "colour": 0.5, "coherence": 0.5, "change": 0.5}
    assert lifeless({"quarters": [at_bars, {**at_bars, "change": 6.0}]}) == []
    past = [{**at_bars, "detail": 0.59}, {**at_bars, "colour": 0.49}, {**at_bars, "coherence": 0.51},
            {**at_bars, "change": 0.49}, {**at_bars, "change": 6.01}]
    assert lifeless({"quarters": past}) == ["quarter 1: detail 0.59", "quarter 2: colour 0.49", "quarter 3: coherence 0.51",
                                            "quarter 4: change 0.49", "quarter 5: change 6.01"]
    assert lifeless({"quarters": past[3:]}, moving=True) == []  # feedback motion: change is not judged


def test_a_moving_photograph_is_alive():
    image = photo()
    moving = [np.roll(image, 2 * t, axis=1) for t in range(21)]
    figures = loop_figures(moving)
    assert all(abs(q["detail"] - 1) < 0.05 and abs(q["colour"] - 1) < 0.05 for q in figures["quarters"])
    assert lifeless(figures, moving=True) == []  # feedback motion: change is not judged
    assert all("change" in fault for fault in lifeless(figures))  # 2 px a frame of a photograph: > 6 /255


def test_too_short_a_clip_is_refused():
    with pytest.raises(ValueError, match="at least"):
        loop_figures([photo()] * 3)
    with pytest.raises(ValueError, match="^1 frame: a loop needs at least"):
        loop_figures([photo()])


def test_the_metrics_command_reads_a_loop_from_its_video(tmp_path):
    """`animator metrics --loop` on an encoded clip: the fading one is called not alive, one line per
    fault, and --json carries the same figures."""
    import json
    import subprocess
    import sys

    import av

    start = photo()[:256, :256].astype(np.float32)
    flat = np.full_like(start, (200, 40, 180))
    path = tmp_path / "fade.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = 256, 256, "yuv420p"
        for t in range(41):
            picture = np.clip(start + min(t / 20, 1) * (flat - start), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        container.mux(stream.encode())
    run = lambda *args: subprocess.run([sys.executable, "-m", "animator", "metrics", "--loop", str(path), *args],  # noqa: E731
                                       capture_output=True, text=True)
    table, as_json = run(), run("--json")
    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    figures = json.loads(as_json.stdout)
    assert figures["frames"] == 41 and figures["quarters"][-1]["detail"] < 0.1
    assert any("quarter 4: detail" in fault for fault in figures["lifeless"])
    assert "not alive: " in table.stdout and "quarter 4: detail" in table.stdout
    clip_only = run("--source", str(path))  # a loop is measured by itself: it was ignored without a word
    assert clip_only.returncode == 2 and clip_only.stderr == ("error: animator metrics: --source measures a render against "
                                                              "its clip, not a loop (--loop)\n")


def test_the_metrics_command_judges_change_only_without_moving(tmp_path):
    """A photograph panning 2 px a frame: too much change for a loop that stands still, alive for
    one with feedback motion (--moving), in the table and in --json alike."""
    import json
    import subprocess
    import sys

    import av

    image = photo()[:256, :256]
    path = tmp_path / "pan.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = 256, 256, "yuv420p"
        for t in range(21):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.roll(image, 2 * t, axis=1), format="rgb24")))
        container.mux(stream.encode())
    run = lambda *args: subprocess.run([sys.executable, "-m", "animator", "metrics", "--loop", str(path), *args],  # noqa: E731
                                       capture_output=True, text=True)
    still, moving, table = run("--json"), run("--moving", "--json"), run("--moving")
    assert still.returncode == moving.returncode == table.returncode == 0, still.stderr + moving.stderr + table.stderr
    faults = json.loads(still.stdout)["lifeless"]
    assert faults and all("change" in fault for fault in faults), faults
    assert json.loads(moving.stdout)["lifeless"] == []
    assert table.stdout.splitlines()[-1] == "alive in every quarter", table.stdout
