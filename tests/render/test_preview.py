"""`animator preview`: a contact sheet of every K-th frame, rendered small."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from animator.errors import PresetError
from animator.media.frame import fit_size, resize
from animator.media.sheet import is_sheet
from animator.media.image import read_image
from animator.preset import load_preset, parse_overrides
from tests.conftest import PRESETS, SAMPLES


def test_preview_is_a_numbered_sheet_of_every_kth_frame(tmp_path):
    (tmp_path / ".swirl.work").mkdir()  # a real render's checkpoint, which a preview must leave alone
    (tmp_path / ".swirl.work" / "state.pt").write_bytes(b"kept")
    result = subprocess.run([sys.executable, "-m", "animator", "preview", "swirl", "--size", "64", "--every", "24",
                             "--out", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    sheet = read_image(tmp_path / "swirl-preview.png")
    width, height = fit_size(600, 400, 64)
    tiles = 5  # frames 0, 24, 48, 72, 96 of 97
    columns = math.ceil(math.sqrt(tiles))
    assert sheet.shape == (2 * height, columns * width, 3)
    first = sheet[:height, :width].astype(int)
    photo = resize(read_image(SAMPLES / "coffee.png"), width, height).astype(int)
    assert np.abs(first[20:] - photo[20:]).mean() < 2  # frame 0 is the photo, below its label
    label = first[:20, :24]
    assert (label >= 250).all(axis=-1).any() and np.abs(label - photo[:20, :24]).mean() > 10  # the frame number
    assert not np.array_equal(sheet[:height, width:2 * width], sheet[:height, :width])  # frame 24 moved on
    assert sorted(p.name for p in tmp_path.iterdir()) == [".swirl.work", "swirl-preview.png"]
    assert (tmp_path / ".swirl.work" / "state.pt").read_bytes() == b"kept"


def test_a_preview_replaces_its_own_sheet_and_no_other_png(tmp_path):
    command = [sys.executable, "-m", "animator", "preview", "melt", "--size", "32", "--every", "40", "--out", str(tmp_path),
               "--quiet"]
    mine = (SAMPLES / "chelsea.png").read_bytes()
    (tmp_path / "melt-preview.png").write_bytes(mine)  # a picture of the user's, or a render's output of that name
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {tmp_path / 'melt-preview.png'}: is in the way")
    assert (tmp_path / "melt-preview.png").read_bytes() == mine
    (tmp_path / "melt-preview.png").unlink()
    for _ in range(2):  # the second replaces the first's sheet
        assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    width, height = fit_size(*read_image(SAMPLES / "chelsea.png").shape[1::-1], 32)
    assert read_image(tmp_path / "melt-preview.png").shape[:2] == (2 * height, 2 * width)  # frames 0, 40, 80, 120



@pytest.mark.parametrize("side", [15_000, 30_000])  # 225 megapixels, which Pillow warns of; 900, which it refuses
def test_a_picture_too_large_for_pillow_where_the_sheet_goes_is_in_the_way(tmp_path, side):
    """It printed Pillow's warning beside the error, or, past twice Pillow's limit, a traceback (exit 1)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))  # a PNG of that size, its pixels cut off
    mine = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IEND", b"")
    (tmp_path / "melt-preview.png").write_bytes(mine)
    result = subprocess.run([sys.executable, "-m", "animator", "preview", "melt", "--out", str(tmp_path), "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {tmp_path / 'melt-preview.png'}: is in the way")
    assert len(result.stderr.splitlines()) == 1 and (tmp_path / "melt-preview.png").read_bytes() == mine, result.stderr

def test_a_still_s_preview_says_it_shows_its_one_frame(tmp_path):
    # it said "every 2nd frame" of a one-frame still; the sheet is named after the preset, as its render's outputs are
    (tmp_path / "my-still.yaml").write_text(f"name: still\nmode: still\ninput: {SAMPLES / 'chelsea.png'}\n"
                                         "method: {name: multistyle, style: 3}\noutputs: [{format: png}]\n")
    result = subprocess.run([sys.executable, "-m", "animator", "preview", str(tmp_path / "my-still.yaml"), "--size", "32",
                             "--every", "2", "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.startswith("still: its one frame at "), result.stderr
    assert result.stderr.rstrip().endswith(f"-> {tmp_path / 'still-preview.png'}") and is_sheet(tmp_path / "still-preview.png")


@pytest.mark.parametrize("name", ["eigen-melt", "texture", "spatial-style", "pan-gatys"])
def test_gatys_previews_fit_their_budget(name):
    from animator.render import preview

    plan = preview.preview_plan(load_preset(PRESETS / f"{name}.yaml", parse_overrides(["size=128"])))
    preset = plan.preset
    frames = preset.iterate.steps + 1 if preset.mode == "iterate" else plan.frame_count
    height, width = plan.first.shape[:2]
    pixels = math.prod(fit_size(width, height, preset.size)) * preview.STEP_COST.get(preset.method.representation, 1.0)
    assert frames * (preset.method.steps + preview.FRAME_STEPS) * pixels <= preview.BUDGET_PIXELS * 1.05
    assert preset.method.steps >= 1 and preset.size <= 128
    # fewer steps a frame first, and a smaller size only when even one a frame would not fit
    asked = load_preset(PRESETS / f"{name}.yaml").method.steps
    if preset.size < 128:
        assert preset.method.steps == 1
    else:
        assert preset.method.steps == asked or \
            frames * (preset.method.steps + 1 + preview.FRAME_STEPS) * pixels > preview.BUDGET_PIXELS


def test_a_preview_says_its_size_and_a_gatys_previews_steps_a_frame():
    from animator.render.preview import describe, preview_plan

    def said(name: str) -> str:
        return describe(preview_plan(load_preset(PRESETS / f"{name}.yaml", parse_overrides(["size=128"]))).preset)
    assert said("eigen-melt") == "48 px, 1 optimizer step a frame"  # the README's sketch of a long loop
    steps = preview_plan(load_preset(PRESETS / "texture.yaml", parse_overrides(["size=128"]))).preset.method.steps
    assert steps > 1 and said("texture") == f"128 px, {steps} optimizer steps a frame"
    assert said("melt") == "128 px"  # a network's: no steps


def test_a_multi_pass_preview_shares_its_few_steps_among_no_more_passes():
    from animator.render import preview

    plan = preview.preview_plan(load_preset(PRESETS / "pan-gatys.yaml", parse_overrides(["video.temporal.passes=16"])))
    assert plan.preset.method.steps < 16 and plan.preset.video.temporal.passes == plan.preset.method.steps


def test_a_preview_onto_a_full_disk_is_one_line_that_names_no_temporary_frames(tmp_path, monkeypatch):
    from animator.errors import MediaError
    from animator.media.sheet import SheetSink
    from animator.render.preview import preview, preview_plan

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    monkeypatch.setenv("ANIMATOR_CHECKPOINT_SECONDS", "0")  # frames stored in the preview's temporary work folder
    monkeypatch.setattr(SheetSink, "open", lambda self, width, height: self.partial.symlink_to("/dev/full"))  # ENOSPC
    plan = preview_plan(load_preset(PRESETS / "melt.yaml", parse_overrides(["size=32", "iterate.steps=3"])))
    with pytest.raises(MediaError) as raised:  # was: numpy's "N requested and M written", a traceback
        preview(plan, tmp_path / "pv.png")
    assert str(raised.value) == f"{tmp_path / f'.pv.png.{os.getpid()}.partial'}: no space left on device (kept: nothing was written)"
    assert list(tmp_path.iterdir()) == []


def test_a_previews_default_step_is_the_least_that_shows_at_most_16_tiles(tmp_path):
    from animator.render.preview import preview, preview_plan

    plan = preview_plan(load_preset(PRESETS / "melt.yaml", parse_overrides(["size=32", "iterate.steps=30"])))
    every = preview(plan, tmp_path / "pv.png")
    assert plan.frame_count == 31 and every == min(k for k in range(1, 32) if math.ceil(31 / k) <= 16)  # the least that does
    width, height = fit_size(*read_image(SAMPLES / "chelsea.png").shape[1::-1], 32)
    assert read_image(tmp_path / "pv.png").shape[:2] == (4 * height, 4 * width)  # frames 0, 2, ..., 30: 16 tiles


def test_a_preview_stopped_once_its_sheet_is_made_leaves_no_sheet_nor_its_partial(tmp_path, monkeypatch):
    import threading

    from animator import interrupt
    from animator.render.preview import preview, preview_plan

    monkeypatch.setattr(interrupt, "_pressed", threading.Event())
    plan = preview_plan(load_preset(PRESETS / "melt.yaml", parse_overrides(["size=32", "iterate.steps=3"])))
    last = lambda done, total: done == total and interrupt._pressed.set()  # noqa: E731 (Ctrl-C after the last frame)
    with pytest.raises(KeyboardInterrupt):
        preview(plan, tmp_path / "pv.png", progress=last)
    assert list(tmp_path.iterdir()) == []


def test_a_gatys_preset_s_scales_are_scaled_to_the_preview_not_refused_at_its_size(tmp_path):
    """`scales: [32, 64, 128]` fit a 256 px render; the preview's size (128) was applied before the
    preset was checked, and the preview refused the preset as if its scales were wrong."""
    from animator.cli import load_preview

    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\nmode: still\ninput: {SAMPLES / 'chelsea.png'}\nstyle: {SAMPLES / 'brick.png'}\nsize: 256\n"
                    "method: {name: gatys, steps: 1, scales: [32, 64, 128]}\noutputs: [png]\n")
    result = subprocess.run([sys.executable, "-m", "animator", "preview", str(path), "-o", str(tmp_path / "sheet.png"),
                             "--quiet"], capture_output=True, text=True)
    assert result.returncode == 0 and is_sheet(tmp_path / "sheet.png"), result.stderr
    preset = load_preview(str(path), [], None, None)
    assert preset.size == 128 and preset.method.scales == (16, 32, 64)
    assert load_preview(str(path), ["size=192"], None, None).method.scales == (32, 64, 128)  # asked for: as written


def test_a_preview_shrunk_to_fit_its_budget_keeps_only_scales_below_its_size(tmp_path):
    from animator.render.preview import preview_plan

    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\ninput: {SAMPLES / 'chelsea.png'}\nstyle: {SAMPLES / 'brick.png'}\nsize: 128\n"
                    "method: {name: gatys, steps: 4, scales: [16, 64, 126]}\niterate: {steps: 200}\noutputs: [png]\n")
    plan = preview_plan(load_preset(path))
    assert plan.preset.size == 32 and plan.preset.method.scales == (16,)  # 16 -> 4 is too small, 126 -> 32 is its size
    path.write_text(path.read_text().replace("[16, 64, 126]", "[64, 66, 100]"))
    plan = preview_plan(load_preset(path))
    assert plan.preset.size == 32 and plan.preset.method.scales == (16, 25)  # 64 and 66 both 16: one scale, run once


def test_a_preview_s_size_given_as_size_scales_the_scales_as_its_default_does(tmp_path):
    """`--size 128` is the default written out: it was refused where the default was not; and a
    smaller preview (--size 64) of a preset whose scales fit its own size was refused too."""
    from animator.cli import load_preview

    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\nmode: still\ninput: {SAMPLES / 'chelsea.png'}\nstyle: {SAMPLES / 'brick.png'}\nsize: 256\n"
                    "method: {name: gatys, steps: 1, scales: [32, 64, 128]}\noutputs: [png]\n")
    assert load_preview(str(path), [], 128, None).method.scales == (16, 32, 64)
    preset = load_preview(str(path), [], 64, None)
    assert preset.size == 64 and preset.method.scales == (16, 32)
    with pytest.raises(PresetError, match=r"^--size 20: size: expected a whole number between 32 and 8192, found 20$"):
        load_preview(str(path), [], 20, None)  # still checked at the preview's size
    # a scale just under the preset's size rounds to the preview's own: dropped with it, not refused
    path.write_text(path.read_text().replace("scales: [32, 64, 128]", "scales: [64, 255]"))
    assert load_preview(str(path), [], None, None).method.scales == (32,)
    assert load_preview(str(path), [], 64, None).method.scales == (16,)


def test_a_networks_loop_is_previewed_at_its_own_size_in_small_tiles(tmp_path):
    """The networks paint strokes of a fixed size in pixels: `melt` rendered at the preview's 128 px
    flattens by its first quarter, where at its 384 it stays alive. Its sheet is that render's frames,
    the tiles made small."""
    text = (PRESETS / "melt.yaml").read_text().replace("../samples/", f"{SAMPLES}/")
    text = text[:text.index("outputs:")].replace("steps: 120", "steps: 24").replace("size: 384", "size: 256")
    (tmp_path / "melt.yaml").write_text(text + "outputs: [{format: png, size: 128}]\n")
    run = lambda *args: subprocess.run([sys.executable, "-m", "animator", *map(str, args)], capture_output=True, text=True)  # noqa: E731
    result = run("preview", tmp_path / "melt.yaml", "--every", "24", "-o", tmp_path / "sheet.png")
    assert result.returncode == 0 and "at 256 px (tiles of 128 px)" in result.stderr, result.stderr
    assert run("render", tmp_path / "melt.yaml", "--out", tmp_path, "--quiet").returncode == 0
    sheet, last = read_image(tmp_path / "sheet.png"), read_image(tmp_path / "melt_frames" / "000024.png")
    height, width = last.shape[:2]
    assert width == 128 and sheet.shape[1] == 2 * width  # two tiles (frames 0 and 24) of 128 px
    assert np.array_equal(sheet[20:height, width:2 * width], last[20:])  # frame 24, below its number


def test_a_networks_loop_at_a_size_given_is_rendered_and_tiled_at_that_size(tmp_path):
    """--size is the preview's size, whole: a network's loop is tiled small only at its own size;
    with --every 1 the sheet holds every frame, and says so."""
    result = subprocess.run([sys.executable, "-m", "animator", "preview", "melt", "--size", "160", "--every", "1",
                             "--set", "iterate.steps=2", "-o", str(tmp_path / "sheet.png")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("melt: every frame at 160 px in ") and "tiles" not in result.stderr, result.stderr
    width, height = fit_size(*read_image(SAMPLES / "chelsea.png").shape[1::-1], 160)
    assert read_image(tmp_path / "sheet.png").shape[:2] == (2 * height, 2 * width)  # frames 0, 1 and 2, at 160 px


def test_a_preview_at_another_size_moves_the_picture_as_far_across_the_frame(tmp_path):
    """`translate_x` counts pixels at the render's size: a preview at half the size moved the
    picture twice as far across its frame a step (a keyframed schedule and a number alike)."""
    from animator.clock import Clock, at_frame
    from animator.cli import load_preview
    from animator.render.preview import preview_plan

    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\nmode: iterate\ninput: {SAMPLES / 'chelsea.png'}\nstyle: self\nsize: 256\n"
                    "method: {name: multistyle, style: 0}\niterate: {steps: 4, motion: {translate_x: '0: 0, 4: 8', "
                    "translate_y: -6}}\noutputs: [png]\n")
    motion = lambda preset, t: at_frame(preset.iterate.motion, Clock(5, 1 / 24).at(t))  # noqa: E731
    half = load_preview(str(path), [], 128, None)
    assert (motion(half, 2).translate_x, motion(half, 2).translate_y) == (2.0, -3.0)
    assert motion(load_preview(str(path), [], None, None), 4).translate_x == 8  # its own size: as written
    gatys = path.read_text().replace("{name: multistyle, style: 0}", "{name: gatys, steps: 300}").replace("steps: 4,", "steps: 40,")
    path.write_text(gatys)
    plan = preview_plan(load_preview(str(path), [], None, None))  # the budget shrinks it further
    assert plan.preset.size < 128 and motion(plan.preset, 4).translate_x == pytest.approx(8 * plan.preset.size / 256)
