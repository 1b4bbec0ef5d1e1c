"""User mistakes that were tracebacks: each is now one line and exit 2, before anything renders."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from animator.errors import AnimatorError
from animator.media.image import read_image
from tests.conftest import PRESETS, SAMPLES
from tests.faults.test_cases import animator, refused, write

BASE = f"name: base\ninput: {SAMPLES / 'chelsea.png'}\nsize: 32\niterate: {{steps: 1}}\noutputs: [{{format: mp4}}]\n"


@pytest.mark.parametrize("sets, words", [
    (["style=[]"], ["--set style=[]: style: expected self or at least one style image"]),
    (["style=[]", "method.name=gatys"], ["style: expected self or at least one style image"]),
    (["seed=20000000000000"], ["--set seed=20000000000000: seed: expected a whole number between 0 and 4294967295"]),
    # no step: the input alone, every iterate key (a motion, in-betweens) taken without a word
    (["iterate.steps=0"], ["--set iterate.steps=0: iterate.steps: expected auto or a whole number between 1 and 100000, found 0"]),
])
def test_a_preset_render_would_fail_on_is_refused_by_validate(tmp_path, sets, words):
    preset = write(tmp_path, BASE)
    overrides = [arg for s in sets for arg in ("--set", s)]
    refused(animator("validate", preset, *overrides, cwd=tmp_path), *words)
    refused(animator("render", preset, "--out", tmp_path / "out", "--quiet", *overrides, cwd=tmp_path), *words)
    assert not (tmp_path / "out").exists()


def test_a_malformed_checkpoint_interval_is_one_line(tmp_path, monkeypatch):
    from animator.render.resume import segment_seconds

    refused(animator("render", write(tmp_path, BASE), "--out", tmp_path / "out", "--quiet", cwd=tmp_path,
                     env={"ANIMATOR_CHECKPOINT_SECONDS": "abc"}),
            "ANIMATOR_CHECKPOINT_SECONDS=abc: expected a number of seconds, 0 or more")
    assert not (tmp_path / "out").exists()  # no work folder, no partial outputs
    for asked, seconds in (("0", 0.0), (" 0.5 ", 0.5), ("", 2.0)):
        monkeypatch.setenv("ANIMATOR_CHECKPOINT_SECONDS", asked)
        assert segment_seconds() == seconds
    for asked in ("-1", "nan", "inf", "2s"):
        monkeypatch.setenv("ANIMATOR_CHECKPOINT_SECONDS", asked)
        with pytest.raises(AnimatorError, match=f"ANIMATOR_CHECKPOINT_SECONDS={asked}:"):
            segment_seconds()


def test_batch_refuses_a_malformed_thread_count_as_render_does(tmp_path, monkeypatch):
    from animator.batch.executors import LocalExecutor

    refused(animator("batch", write(tmp_path, BASE), "--out", tmp_path / "out", "--quiet", cwd=tmp_path,
                     env={"ANIMATOR_THREADS": "abc"}),
            "ANIMATOR_THREADS=abc: expected a whole number of threads, 1 to 1024")
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("ANIMATOR_THREADS", "3")
    assert LocalExecutor(jobs=2).threads == 3  # and a good one is the workers' thread count, as a render's


def test_a_device_this_machine_lacks_names_the_preset_or_the_flag_that_asked_for_it(tmp_path):
    preset = write(tmp_path, BASE + "device: cuda:7\n")  # no machine this runs on has eight CUDA devices
    line = refused(animator("render", preset, "--out", tmp_path / "out", "--quiet", cwd=tmp_path), "device 'cuda:7'")
    assert line.startswith(f"error: {preset}:6: device 'cuda:7': "), line  # the file and the key's line
    batch = animator("batch", preset, "--out", tmp_path / "out", cwd=tmp_path)  # named once: it read "base: base: device"
    assert batch.returncode == 1 and "base: device 'cuda:7': " in batch.stderr and "base: base:" not in batch.stderr
    line = refused(animator("render", write(tmp_path, BASE), "--out", tmp_path / "out", "--quiet", "--set", "device=cuda:7",
                            cwd=tmp_path), "device 'cuda:7'")
    assert line.startswith("error: --set device=cuda:7: device 'cuda:7': "), line
    # a batch's --device is every preset's: a bad argument, as in render (each preset failed, exit 1)
    line = refused(animator("batch", write(tmp_path, BASE), "--out", tmp_path / "out", "--device", "cuda:7", cwd=tmp_path),
                   "device 'cuda:7'")
    assert line.startswith("error: --device cuda:7: device 'cuda:7': "), line


def test_a_ray_batch_s_device_is_the_cluster_s_to_have_not_this_machine_s(tmp_path, monkeypatch, capsys):
    """A Ray task asks the cluster for a GPU, and runs on a machine that has one: a driver without
    one (a laptop, a head node) was refused --device cuda before the cluster was asked."""
    import torch

    import animator.batch.executors as executors
    from animator.cli import main

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has cuda:7")

    class Reached(AnimatorError):
        pass

    def cluster(*args, **kwargs):
        raise Reached("the Ray cluster was asked")

    monkeypatch.setattr(executors, "RayExecutor", cluster)
    monkeypatch.setattr("animator.interrupt.install", lambda: None)  # this process's Ctrl-C stays pytest's
    preset = write(tmp_path, BASE)
    assert main(["batch", str(preset), "--out", str(tmp_path / "out"), "--executor", "ray", "--device", "cuda:7"]) == 2
    assert "the Ray cluster was asked" in capsys.readouterr().err


def test_a_value_the_command_line_gave_is_blamed_on_it_when_checked_against_the_sound(tmp_path):
    # schedules reading the sound are checked once it is heard, after loading: the error named
    # the preset file for a value --set gave
    text = f"{BASE}audio: {SAMPLES / 'groove.m4a'}\n"
    line = refused(animator("validate", write(tmp_path, text), "--set", "iterate.blend=2 + loud", cwd=tmp_path),
                   "iterate.blend: expected values between 0 and 1, found 2")
    assert line.startswith("error: --set iterate.blend=2 + loud: "), line
    text = text.replace("iterate: {steps: 1}", "iterate: {steps: 1, blend: '2 + loud'}")
    line = refused(animator("validate", write(tmp_path, text), cwd=tmp_path), "iterate.blend: expected values between 0 and 1")
    assert line.startswith(f"error: {tmp_path / 'p.yaml'}:4: "), line  # and its line, as at load


def one_line(result) -> str:
    """A refused command's stderr is its error line alone: no warning ahead of it."""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


@pytest.mark.parametrize("case, words", [
    ("bitrate", ["outputs[0].bitrate: expected a bitrate"]),  # inf: OverflowError in round()
    ("long name", ["name: expected at most 200 characters, found 252"]),  # the render's files: name too long for the system
    ("looped link", ["input: cannot be followed"]),  # resolve(): a loop of links
    ("text as style", ["style.png: not a readable image"]),  # render refused it; validate said ok
    ("list as key", ["p.yaml:6: a key is a name, found a list"]),  # unhashable
    ("line break in a key", ["bad\\nkey"]),  # the message broke over two lines
    ("number as name", ["name: expected text, found 2024", "write it in quotes"]),  # digits are a name's, unquoted a number
    ("folder as audio", ["a folder, where an audio file goes"]),  # "audio file not found"
    ("start of an image", ["--set video.start=2: video.start: is for a video or a folder of images"]),  # said nothing
    ("inject without an image", ["--set iterate.inject.weight=0.5: iterate.inject.weight: is an injected style image's"]),
    ("cut-short list", ["--set outputs=[{format: mp4: not valid YAML (expected ',' or '}'"]),  # found '[{format: mp4'
])
def test_more_mistakes_are_one_line_from_validate(tmp_path, case, words):
    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "style.png").write_text("not an image")
    text, sets = BASE, []
    match case:
        case "bitrate":
            sets = ["outputs.0.bitrate=inf"]
        case "long name":
            sets = [f"name={'c' * 252}"]
        case "looped link":
            sets = ["input=loop.png"]
        case "text as style":
            sets = ["style=style.png"]
        case "list as key":
            text += "? [a, b]\n: 1\n"
        case "line break in a key":
            text += '"bad\\nkey": 1\n'
        case "number as name":
            sets = ["name=2024"]
        case "folder as audio":
            sets = [f"audio={tmp_path}"]
        case "start of an image":
            sets = ["video.start=2"]
        case "inject without an image":  # it blamed the preset's line for what --set gave
            sets = ["iterate.inject.weight=0.5"]
        case "cut-short list":
            sets = ["outputs=[{format: mp4"]
    result = animator("validate", write(tmp_path, text), *[arg for s in sets for arg in ("--set", s)], cwd=tmp_path)
    refused(result, *words)
    one_line(result)


@pytest.mark.parametrize("key, text", [
    ("style[1].image", f"style: [{{image: {SAMPLES / 'brick.png'}, weight: 1}}, {{image: text.png, weight: 1}}]\n"),
    ("method.init", "method: {name: gatys, steps: 2, init: text.png}\n"),
])
def test_a_text_file_given_as_an_image_is_blamed_on_the_preset_key_that_names_it(tmp_path, key, text):
    # the line named the text file alone, not the preset or which of its keys gave it
    (tmp_path / "text.png").write_text("not an image")
    preset = write(tmp_path, BASE + text)
    for command in (("validate",), ("render", "--out", tmp_path / "out", "--quiet")):
        line = refused(animator(*command, preset, cwd=tmp_path), "text.png: not a readable image")
        assert line.startswith(f"error: {preset}:6: {key}: "), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("half_life, words", [
    ("0: 0.1, 10: -1", "expected values between"),  # numpy's overflow warning came first
    ("sqrt(t - 3)", "cannot be computed at frame 0"),  # a traceback: the beat was found before any check
    ("1e400", "is inf at frame 0"),
])
def test_a_beats_half_life_that_fails_somewhere_is_refused_in_one_line(tmp_path, half_life, words):
    text = (f"name: heard\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nsize: 32\n"
            f"audio: {{file: {SAMPLES / 'groove.m4a'}, half_life: '{half_life}'}}\noriginal_colors: '0.5 * beat'\n"
            "outputs: [{format: mp4}]\n")
    result = animator("validate", write(tmp_path, text), cwd=tmp_path)
    refused(result, "audio.half_life: ", words)
    one_line(result)


def test_a_schedule_python_warns_about_says_nothing_besides_its_own_line(tmp_path):
    """Python's tokenizer printed "<unknown>:1: SyntaxWarning: invalid decimal literal" beside the
    command's output, for a schedule that works (`0.5if t`) and one refused (`2.inf`)."""
    result = animator("validate", write(tmp_path, BASE.replace("{steps: 1}", "{steps: 4, blend: '0.5if t > 2 else 0.3'}")), cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    refused(animator("validate", write(tmp_path, BASE + "original_colors: 'cos(2.inf * t)'\n"), cwd=tmp_path),
            "p.yaml:6: original_colors: schedule 'cos(2.inf * t)': cannot read")


def test_a_name_with_a_carriage_return_is_named_on_one_line(tmp_path):
    # a terminal goes back to the line's start at a carriage return, and writes the rest over "error: "
    line = refused(animator("validate", "late\rnight.yaml", cwd=tmp_path), "preset file not found")
    assert line == "error: late\\rnight.yaml: preset file not found", line


def test_a_path_with_a_unicode_line_separator_is_named_on_one_line(tmp_path):
    """U+2028 ends a line as \\r and \\n do for whatever splits lines (str.splitlines, YAML): the
    error came out as two lines."""
    preset = write(tmp_path, BASE + "style: \"cat\\u2028one.png\"\n")
    line = refused(animator("validate", preset, cwd=tmp_path), "style[0].image: file not found")
    assert line.endswith(f"{tmp_path}/cat\\u2028one.png"), line


def test_a_batch_failure_naming_a_path_with_a_line_break_is_one_line(tmp_path):
    """A batch's failures are listed a line each after its table: the path's U+2028 split that line."""
    preset = write(tmp_path, BASE + "style: \"cat\\u2028one.png\"\n")
    result = animator("batch", preset, "--out", tmp_path / "out", "--quiet", cwd=tmp_path)
    reasons = [line for line in result.stderr.splitlines() if "style[0].image: file not found" in line]
    assert result.returncode == 1 and reasons and reasons[0].endswith(f"{tmp_path}/cat\\u2028one.png"), result.stderr


def test_a_folder_of_frames_with_a_folder_named_as_a_frame_is_one_line(tmp_path):
    """A folder named like a frame, or a link to nothing, among an input folder's images was a
    traceback (or, the link, a frame silently skipped)."""
    import shutil

    (tmp_path / "frames" / "000003.png").mkdir(parents=True)
    for name in ("000001.png", "000002.png"):
        shutil.copy(SAMPLES / "chelsea.png", tmp_path / "frames" / name)
    text = "name: folder\nmode: video\ninput: frames\nsize: 32\nmethod: {name: multistyle}\noutputs: [{format: mp4}]\n"
    refused(animator("validate", write(tmp_path, text), cwd=tmp_path), "000003.png: is a folder")
    (tmp_path / "frames" / "000003.png").rmdir()
    (tmp_path / "frames" / "000003.png").symlink_to(tmp_path / "gone.png")
    refused(animator("validate", write(tmp_path, text), cwd=tmp_path), "000003.png: is a link to nothing")


def test_a_users_file_inside_a_folder_named_as_a_frame_stays(tmp_path):
    """The frames folder was taken for an earlier render's by its entries' names alone, so a
    folder named 000000.png inside it went, with what the user kept in it."""
    kept = tmp_path / "base_frames" / "000000.png" / "thesis.txt"
    kept.parent.mkdir(parents=True)
    kept.write_text("my only copy")
    png = BASE.replace("outputs: [{format: mp4}]", "outputs: [{format: png}]").replace("steps: 1", "steps: 2")
    refused(animator("render", write(tmp_path, png), "--out", tmp_path, "--quiet", cwd=tmp_path), "base_frames", "in the way")
    assert kept.read_text() == "my only copy"


def test_a_users_file_put_into_a_rendered_frames_folder_stays(tmp_path):
    """The frames folder is the record's, but it holds more than frames now: the user's."""
    png = BASE.replace("outputs: [{format: mp4}]", "outputs: [{format: png}]").replace("steps: 1", "steps: 2")
    assert animator("render", write(tmp_path, png), "--out", tmp_path, "--quiet", cwd=tmp_path).returncode == 0
    kept = tmp_path / "base_frames" / "thesis.txt"
    kept.write_text("my only copy")
    again = animator("render", write(tmp_path, png), "--out", tmp_path, "--quiet", "--set", "seed=5", cwd=tmp_path)
    refused(again, "base_frames", "in the way")
    assert kept.read_text() == "my only copy"


def test_out_of_range_numbers_from_flags_and_the_environment_are_one_line(tmp_path):
    threads = animator("render", write(tmp_path, BASE), "--out", tmp_path / "out", "--quiet", cwd=tmp_path,
                       env={"ANIMATOR_THREADS": "99999"})
    refused(threads, "ANIMATOR_THREADS=99999: expected")  # a MemoryError
    style_size = animator("metrics", tmp_path / "a.mp4", "--source", tmp_path / "b.mp4", "--style-size", "99999999", cwd=tmp_path)
    refused(style_size, "--style-size 99999999: expected 16 to 8192")  # OpenCV out of memory
    assert one_line(threads) and one_line(style_size)


def test_a_loop_of_links_among_a_batchs_presets_is_one_line(tmp_path):
    (tmp_path / "presets").mkdir()
    write(tmp_path / "presets", BASE, "good.yaml")
    (tmp_path / "presets" / "loop.yaml").symlink_to(tmp_path / "presets" / "loop.yaml")
    refused(animator("batch", tmp_path / "presets", "--out", tmp_path / "out", "--quiet", cwd=tmp_path),
            "loop.yaml: cannot be followed")
    assert not (tmp_path / "out").exists()


def test_a_video_of_the_users_own_under_the_outputs_name_stays(tmp_path):
    """A real MP4 where the render's MP4 goes, with no record of this name listing it and no
    unfinished render of this name: the user's, not an earlier render's; it was replaced."""
    import shutil

    mine = tmp_path / "base.mp4"
    shutil.copy(SAMPLES / "pan.mp4", mine)
    before = mine.read_bytes()
    unreached = ["--set", "iterate.blend=0: 0.1, 9: 0.2"]  # a keyframe past the last iterate: a warning, once it renders
    refused(animator("render", write(tmp_path, BASE), "--out", tmp_path, "--quiet", *unreached, cwd=tmp_path),
            "base.mp4", "in the way")
    assert mine.read_bytes() == before
    mine.unlink()  # rendered once, the output is the record's: a changed preset replaces it
    rendered = animator("render", write(tmp_path, BASE), "--out", tmp_path, "--quiet", *unreached, cwd=tmp_path)
    assert rendered.returncode == 0 and rendered.stderr == ("WARNING: --set iterate.blend=0: 0.1, 9: 0.2: iterate.blend: keyframe 9 "
                                                            "is past the last iterate (1); the render ends before it\n")
    assert animator("render", write(tmp_path, BASE), "--out", tmp_path, "--quiet", cwd=tmp_path).returncode == 0
    assert animator("render", write(tmp_path, BASE), "--out", tmp_path, "--quiet", "--set", "seed=5", cwd=tmp_path).returncode == 0


def test_stylize_writes_the_path_o_names_or_refuses(tmp_path):
    """-o Cat.PNG wrote cat's image to Cat.png, and `--set outputs.0.format=gif` to Cat.gif, with
    exit 0: a path that was not asked for (and that may have been the user's)."""
    stylize = ("stylize", SAMPLES / "chelsea.png", "--style", "3", "--size", "32", "--quiet")
    refused(animator(*stylize, "-o", tmp_path / "Cat.PNG", cwd=tmp_path), "Cat.PNG: expected a .png file name")
    refused(animator(*stylize, "-o", tmp_path / "cat.png", "--set", "outputs.0.format=gif", cwd=tmp_path),
            "cat.png: stylize writes one PNG there, and --set asks for gif")
    # a mode of more frames wrote a whole loop into cat_frames/ and no cat.png, with exit 0
    refused(animator(*stylize, "-o", tmp_path / "cat.png", "--set", "mode=iterate", cwd=tmp_path),
            "--set mode=iterate: stylize makes one still image")
    refused(animator(*stylize, "-o", tmp_path / "cat.png", "--set", "name=other", cwd=tmp_path),
            "--set name=other: stylize takes the name from -o")  # it was dropped without a word
    # and these replaced the picture or the style the command named, without a word
    refused(animator(*stylize, "-o", tmp_path / "cat.png", "--set", f"input={SAMPLES / 'coffee.png'}", cwd=tmp_path),
            "stylize takes the input from CONTENT")
    refused(animator("stylize", SAMPLES / "chelsea.png", "--style", SAMPLES / "brick.png", "--size", "32", "-o",
                     tmp_path / "cat.png", "--set", f"style={SAMPLES / 'coffee.png'}", cwd=tmp_path),
            "stylize takes the style from --style")
    (tmp_path / "notes.png").write_text("mine")  # in the way: the advice is another -o, not --out
    refused(animator(*stylize, "-o", tmp_path / "notes.png", cwd=tmp_path), "name another file with -o")
    (tmp_path / "notes.png").unlink()
    # "method.style: unknown key (did you mean steps?)"
    refused(animator(*stylize, "-o", tmp_path / "cat.png", "--method", "gatys", cwd=tmp_path),
            "--style 3: a built-in style is multistyle's; gatys needs a style image")
    assert not list(tmp_path.iterdir())
    work = tmp_path / ".cat.work"  # a killed render of a preset named cat, to resume there: stylize deleted it
    work.mkdir()
    (work / "manifest.json").write_text("{}")
    assert animator(*stylize, "-o", tmp_path / "cat.png", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cat.work", "cat.png"] and (work / "manifest.json").exists()
    named = tmp_path / "My cat (1).png"  # any file name: it was refused as not a preset's name
    assert animator(*stylize, "-o", named, cwd=tmp_path).returncode == 0
    assert np.array_equal(read_image(named), read_image(tmp_path / "cat.png"))
    # a reconstruction paints the content alone: it needs no --style (it said --style IMAGE is needed)
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "r.png", "--method", "gatys", "--size", "32",
                      "--set", "method.steps=2", "--set", "still.objective=reconstruct", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr.startswith("stylize: 1 frame in "), result.stderr
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "t.png", "--method", "gatys", "--size", "32",
                      "--set", "method.steps=2", "--set", "still={objective: texture}", "--quiet", cwd=tmp_path)  # the section whole
    assert result.returncode == 0, result.stderr


def test_stylize_refuses_a_set_that_contradicts_its_flags_and_reads_the_last_set(tmp_path):
    """`--style 3 --set method.style=4` painted style 4 and `--method arbitrary --set method.name=gatys`
    ran gatys, with exit 0; `--set method.name=multistyle`, `--set style=[a, b]` and a repeated
    `--set still.objective` (the first was read) were refused with "--style IMAGE is needed"."""
    base = ("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "c.png", "--size", "32", "--quiet")
    refused(animator(*base, "--style", "3", "--set", "method.style=4", cwd=tmp_path),
            "--set method.style=4: stylize takes the method.style from --style 3")
    refused(animator(*base, "--style", "5", "--set", "method={name: multistyle, stroke_scale: 0.5}", cwd=tmp_path),
            "stylize takes the method.style from --style 5")
    refused(animator(*base, "--method", "arbitrary", "--style", SAMPLES / "brick.png", "--set", "method.name=gatys",
                     cwd=tmp_path), "--set method.name=gatys: stylize takes the method.name from --method arbitrary")
    refused(animator(*base, "--style", "3", "--set", "method.name=arbitrary", cwd=tmp_path),
            "stylize takes the method.name from --style 3")
    assert not list(tmp_path.iterdir())
    both = f"style=[{{image: {SAMPLES / 'brick.png'}, weight: 0.5}}, {{image: {SAMPLES / 'coffee.png'}, weight: 0.5}}]"
    for sets in (["method.name=multistyle"], [both],
                 ["method=gatys", "method.steps=1", "still.objective=transfer", "still.objective=texture"]):
        result = animator(*base, *(arg for s in sets for arg in ("--set", s)), cwd=tmp_path)
        assert result.returncode == 0, (sets, result.stderr)


def test_fresh_moves_aside_a_work_folder_holding_files_no_render_wrote(tmp_path):
    """--fresh deleted everything in `.NAME.work`; what a checkpoint did not write is kept now."""
    notes = tmp_path / ".base.work" / "notes.txt"
    notes.parent.mkdir()
    notes.write_text("mine")
    result = animator("render", write(tmp_path, BASE), "--out", tmp_path, "--quiet", "--fresh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".base.work.bad-1" / "notes.txt").read_text() == "mine" and "kept in" in result.stderr


def test_metrics_refuses_a_render_at_another_rate_than_its_source(tmp_path):
    # frames are paired by their place in each clip: a 12 fps output of a 25 fps clip was measured
    # against the clip's first half, with exit 0
    from fractions import Fraction

    from animator.media.frame import Frame
    from animator.media.sink import Mp4Sink, encoding
    from animator.media.source import VideoSource

    frames = [frame.image for frame, _ in zip(VideoSource(SAMPLES / "pan.mp4"), range(24))]
    for name, fps, kept in (("source.mp4", 25, frames), ("half.mp4", 12, frames[::2]), ("whole.mp4", 25, frames)):
        with encoding([Mp4Sink(tmp_path / name, Fraction(fps), size=64)]) as put:
            for i, image in enumerate(kept):
                put(Frame(i, Fraction(i, fps), image))
    refused(animator("metrics", "half.mp4", "--source", "source.mp4", cwd=tmp_path),
            "half.mp4: 12 fps, its source 25", "its source's rate")
    refused(animator("metrics", "whole.mp4", "--source", "source.mp4", "--reference", "half.mp4", cwd=tmp_path),
            "half.mp4: 12 fps")
    assert animator("metrics", "whole.mp4", "--source", "source.mp4", "--json", cwd=tmp_path).returncode == 0
    (tmp_path / "frames").mkdir()  # a png output's folder of frames has no rate: it is taken at its source's
    for i, image in enumerate(frames):
        Image.fromarray(image).save(tmp_path / "frames" / f"{i:04d}.png")
    assert animator("metrics", "frames", "--source", "source.mp4", "--json", cwd=tmp_path).returncode == 0
    # and a folder source is taken at its renders' rate, which must agree: the 12 fps one was measured
    # against the first half of the folder, beside the whole one, with exit 0
    refused(animator("metrics", "whole.mp4", "half.mp4", "--source", "frames", cwd=tmp_path), "half.mp4: 12 fps, whole.mp4 25")
    assert animator("metrics", "whole.mp4", "--source", "frames", "--json", cwd=tmp_path).returncode == 0


def test_an_empty_out_is_refused_not_the_current_folder(tmp_path):
    for command, out in (("render", ""), ("batch", ""), ("preview", ""), ("render", " ")):  # blank: a folder named " "
        refused(animator(command, write(tmp_path, BASE), "--out", out, "--quiet", cwd=tmp_path),
                "--out: expected a folder, found nothing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


def test_missing_torchvision_weights_are_a_preset_error_at_their_line(tmp_path):
    # the render's error named neither the file nor method.weights, and validate said ok
    preset = write(tmp_path, BASE + "method: {name: gatys, steps: 2, weights: torchvision}\n")
    for command in (["validate"], ["render", "--out", tmp_path / "out"]):
        line = refused(animator(*command, preset, cwd=tmp_path, env={"TORCH_HOME": str(tmp_path)}),
                       "torchvision's VGG19 is not in the torch hub cache")
        assert line.startswith(f"error: {preset}:6: method.weights: "), line


@pytest.mark.parametrize("second, words", [
    ("output", ["other.mp4: is in the way of this render's output"]),
    ("style", ["not a readable image"]),
    ("device", ["device 'cuda:7': "]),
])
def test_a_second_presets_bad_input_stops_the_command_before_the_first_renders(tmp_path, second, words):
    first = write(tmp_path, BASE, "base.yaml")
    other = BASE.replace("name: base", "name: other")
    if second == "output":
        (tmp_path / "out" / "other.mp4").mkdir(parents=True)  # a folder where its video goes
    elif second == "style":
        (tmp_path / "style.png").write_text("not a picture")
        other += f"style: {tmp_path / 'style.png'}\n"
    else:
        other += "device: cuda:7\n"
    refused(animator("render", first, write(tmp_path, other, "other.yaml"), "--out", tmp_path / "out", "--quiet",
                     cwd=tmp_path), *words)
    assert not (tmp_path / "out" / "base.mp4").exists() and not (tmp_path / "out" / "base.json").exists()


def test_a_stale_work_folder_does_not_make_a_users_file_ours(tmp_path):
    """Any `.base.work` (a killed render's of other settings, or a lock alone) made a video of the
    user's own named base.mp4 "ours", and it was replaced."""
    mine = tmp_path / "out" / "base.mp4"
    mine.parent.mkdir()
    mine.write_bytes((SAMPLES / "pan.mp4").read_bytes())
    (tmp_path / "out" / ".base.work").mkdir()
    (tmp_path / "out" / ".base.work" / "lock").write_text("123")
    refused(animator("render", write(tmp_path, BASE), "--out", tmp_path / "out", "--quiet", cwd=tmp_path),
            "base.mp4: is in the way of this render's output and is not one it wrote")
    assert mine.read_bytes() == (SAMPLES / "pan.mp4").read_bytes()


@pytest.mark.parametrize("what", ["a video", "a folder", "a video where the record has one"])
def test_what_comes_in_an_outputs_place_while_the_render_runs_stays(tmp_path, what):
    """Outputs' places were checked before the first frame only: a file put there while the render
    ran was replaced, and a frames folder swapped out and deleted, files of yours in it too; and
    any video at a place the record lists was taken for the render's own."""
    from animator.errors import MediaError
    from animator.preset import load_preset
    from animator.render.engine import load

    out = tmp_path / "out"
    preset = load_preset(write(tmp_path, BASE.replace("[{format: mp4}]", "[{format: mp4}, {format: png}]")))
    mine = out / ("base_frames" if what == "a folder" else "base.mp4")
    if what == "a video where the record has one":
        load(preset).run(out)
        (out / "base.mp4").unlink()

    def users_file_arrives():
        if what == "a folder":
            mine.mkdir()
            (mine / "notes.txt").write_text("mine")
        else:
            mine.write_bytes((SAMPLES / "pan.mp4").read_bytes())

    with pytest.raises(MediaError, match=f"{mine.name}: came in the place of this render's output while it ran; move it, "
                                         "and run the command again to publish"):
        load(preset).run(out, started=users_file_arrives)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] if what == "a folder" else \
        mine.read_bytes() == (SAMPLES / "pan.mp4").read_bytes()
    (tmp_path / "moved").mkdir()
    mine.rename(tmp_path / "moved" / mine.name)
    assert load(preset).run(out) == [out / "base.mp4", out / "base_frames"]  # resumed, and published


@pytest.mark.parametrize("command", ["stylize", "preview"])
def test_what_comes_in_the_place_of_a_named_picture_while_it_renders_stays(tmp_path, command, monkeypatch):
    """`-o` (or a preview's own sheet) was checked before the render only: a file put there meanwhile
    was replaced; refused now, with no partial left, since nothing would publish it."""
    from animator.cli import main
    from animator.render import engine

    target = tmp_path / "out" / ("x.png" if command == "stylize" else "base-preview.png")
    run = engine.Render.run

    def arrives_once_started(self, *args, started=lambda: None, **kwargs):
        def then():
            started()
            target.parent.mkdir(exist_ok=True)
            target.write_text("notes")  # the user's, and no picture at all
        return run(self, *args, started=then, **kwargs)

    monkeypatch.setattr(engine.Render, "run", arrives_once_started)
    if command == "stylize":
        argv = ["stylize", str(SAMPLES / "chelsea.png"), "-o", str(target), "--style", "3", "--size", "32"]
    else:
        argv = ["preview", str(write(tmp_path, BASE)), "--out", str(tmp_path / "out"), "--quiet"]
    assert main(argv) == 2
    assert target.read_text() == "notes"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no partial, no work folder


def test_an_output_dropped_from_the_preset_and_asked_for_again_is_still_ours(tmp_path):
    """A format dropped from the preset was left, then refused as "not one it wrote" once asked for again."""
    both = BASE.replace("outputs: [{format: mp4}]", "outputs: [{format: mp4}, {format: gif}]")
    for text in (both, BASE, both):
        result = animator("render", write(tmp_path, text), "--out", tmp_path / "out", "--quiet", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out" / "base.json").read_text())["outputs"] == ["base.mp4", "base.gif"]
    assert not list((tmp_path / "out").glob(".base.*"))  # no work folder, no publishing note left


def test_a_file_of_yours_under_a_dropped_outputs_name_is_not_taken_for_it(tmp_path):
    """A dropped format's name stayed "ours" by its name alone: a GIF of the user's saved there in
    place of the render's was replaced without a word when the format came back."""
    both = BASE.replace("outputs: [{format: mp4}]", "outputs: [{format: mp4}, {format: gif}]")
    for text in (both, BASE, BASE):  # dropped, and a render more: the GIF's checksum carried on
        assert animator("render", write(tmp_path, text), "--out", tmp_path / "out", "--quiet", cwd=tmp_path).returncode == 0
    mine = tmp_path / "out" / "base.gif"
    mine.unlink()
    Image.new("RGB", (8, 8), "red").save(mine)
    refused(animator("render", write(tmp_path, both), "--out", tmp_path / "out", "--quiet", cwd=tmp_path),
            "base.gif: is in the way of this render's output and is not one it wrote")
    assert Image.open(mine).convert("RGB").getpixel((0, 0)) == (255, 0, 0)



def test_a_killed_renders_partials_of_formats_no_longer_asked_for_go_with_the_next_render(tmp_path):
    (tmp_path / "out").mkdir()
    # a GIF once asked for, a PNG; and a stylize -o base.png's, named by its process (it takes no lock)
    for left in (".base.gif.partial", ".base.png.partial", ".base.png.123.partial"):
        (tmp_path / "out" / left).write_bytes(b"GIF8")
    result = animator("render", write(tmp_path, BASE), "--out", tmp_path / "out", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".base.png.123.partial", "base.json", "base.mp4"]


def test_a_layer_deeper_than_the_picture_reaches_is_one_line(tmp_path):
    """pool5 on a picture 24 px high ended in a traceback (VGG19's last pooling had no pixels)."""
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "a.png", "--method", "gatys", "--size", "40",
                      "--set", "method.steps=1", "--set", "still.objective=reconstruct", "--set", "still.layer=pool5",
                      cwd=tmp_path)
    refused(result, "method: pool5 needs pictures of 32 px a side at least", "40x24")
    assert not (tmp_path / "a.png").exists()


def test_a_style_image_thinner_than_a_style_layer_reaches_is_said_to_be_the_style(tmp_path):
    """A thin style image under pool5 was told as the render's size (64x40 was said to be 16x64)."""
    Image.new("RGB", (10, 200), (200, 40, 40)).save(tmp_path / "thin.png")
    result = animator("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "a.png", "--style", tmp_path / "thin.png",
                      "--method", "gatys", "--size", "64", "--set", "method.steps=1",
                      "--set", "method.style_layers=[relu1_1, pool5]", cwd=tmp_path)
    refused(result, "style: pool5 needs pictures of 32 px a side at least, and a style image is seen at 16x64")
    assert not (tmp_path / "a.png").exists()


def test_an_interrupted_stylize_does_not_offer_to_resume(tmp_path):
    """stylize works in a temporary folder (its frames are gone with it), and said "run the same
    command again to resume"."""
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen([sys.executable, "-m", "animator", "stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "a.png",
                                "--method", "gatys", "--style", SAMPLES / "brick.png", "--size", "64", "--set",
                                "method.steps=5000", "--quiet"], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr.strip() == "interrupted", stderr
    assert not (tmp_path / "a.png").exists()


def test_of_a_key_set_twice_the_set_taken_is_the_one_blamed(tmp_path):
    """`--set size=64 --set size=7` said "--set size=64: size: ... found 7"."""
    refused(animator("validate", "texture", "--set", "size=64", "--set", "size=7", cwd=tmp_path),
            "error: --set size=7: size: expected")
    refused(animator("validate", "texture", "--set", "method.steps=2", "--set", "method.steps=0", cwd=tmp_path),
            "error: --set method.steps=0: method.steps")
    assert animator("validate", "texture", "--set", "size=7", "--set", "size=64", cwd=tmp_path).returncode == 0


def test_a_section_of_another_mode_is_refused_even_at_its_defaults(tmp_path):
    """`still: {objective: transfer}` in an iterate preset passed, `still: {objective: texture}`
    did not: both change nothing there."""
    head = f"name: base\ninput: {SAMPLES / 'chelsea.png'}\nsize: 32\n"
    cases = (("mode: iterate\nstill: {objective: transfer}\n", "still.objective: is for still mode"),
             (f"mode: still\nstyle: {SAMPLES / 'brick.png'}\niterate: {{steps: 120}}\n", "iterate.steps: is for iterate mode"))
    for body, words in cases:
        refused(animator("validate", write(tmp_path, head + body), cwd=tmp_path), words)


@pytest.mark.parametrize("command, words", [
    (("render", "melt", "--set", "size=8"), "size: expected a whole number"),
    (("stylize", SAMPLES / "chelsea.png", "-o", "cat.jpg", "--style", "3"), "expected a .png file name"),
    (("preview", "melt", "--every", "0"), "--every 0: expected 1 or more"),
    (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "chelsea.png"), "a still image, where a moving picture is needed"),
    (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--weight", "1"), "--weight 1.0"),
    (("batch", "melt", "--out", "afile"), "is a file, where a folder for the outputs goes"),
    (("render", "late.yaml"), "video.start 100.0 s is past the end (2.00 s)"),  # found as the render is planned
    (("render", "melt", "--out", "."), "melt.mp4: is in the way of this render's output"),  # ... or its outputs' places
    # a file where the output folder, or a folder above it, goes: found once the render made its work folder
    (("render", "melt", "--out", "afile"), "afile: cannot render into it (not a directory)"),
    (("render", "melt", "--out", "afile/sub"), "afile/sub: cannot render into it (not a directory)"),
    (("batch", "melt", "--out", "afile/sub"), "--out afile/sub: afile is a file"),  # each preset failed, exit 1
    (("stylize", SAMPLES / "chelsea.png", "-o", "afile/cat.png", "--style", "3"), "afile: cannot render into it"),
    (("preview", "melt", "-o", "afile/sheet.png"), "afile: cannot render into it"),
    (("preview", "own.yaml", "-o", "cat.png"), "cat.png: is this render's own input"),  # the sheet's place
    (("preview", "melt", "--size", "0"), "--size 0: size: expected a whole number"),  # was rendered at 128, exit 0
    (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--style", "nothing.png"), "nothing.png: file not found"),
    (("metrics", SAMPLES / "pan.mp4", "empty", "--source", SAMPLES / "pan.mp4"), "empty: folder holds no images"),
    (("metrics", SAMPLES / "pan.mp4", "--source", SAMPLES / "pan.mp4", "--reference", "empty"), "empty: folder holds no images"),
])
def test_a_mistake_is_reported_before_torch_loads(tmp_path, command, words):
    """Each of these loaded torch first (2-3 s on two cores) to say what was wrong with the command."""
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "melt.mp4").write_text("mine")
    (tmp_path / "empty").mkdir()
    (tmp_path / "cat.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    write(tmp_path, "name: own\ninput: cat.png\nsize: 32\niterate: {steps: 1}\n", "own.yaml")
    write(tmp_path, f"name: late\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nvideo: {{start: 100}}\n", "late.yaml")
    reports = "import sys; from animator.__main__ import run; code = run(); print('torch' in sys.modules); sys.exit(code)"
    result = subprocess.run([sys.executable, "-c", reports, *map(str, command)], cwd=tmp_path, capture_output=True, text=True)
    refused(result, words)
    assert result.stdout == "False\n"


def test_stylize_names_its_flag_in_a_mistake_about_what_the_flag_gave(tmp_path):
    """`--style ""` read "animator stylize: style[0].image: ..."; a style image beside a --set of
    multistyle was given the preset's advice (style: self, method.style), not stylize's."""
    base = ("stylize", SAMPLES / "chelsea.png", "-o", tmp_path / "c.png", "--size", "32", "--quiet")
    refused(animator(*base, "--style", "", cwd=tmp_path), "--style : style[0].image: expected a file path")
    refused(animator(*base, "--style", SAMPLES / "brick.png", "--set", "method.name=multistyle", cwd=tmp_path),
            f"--style {SAMPLES / 'brick.png'}: multistyle paints its 26 built-in styles: give --style N")
    refused(animator("stylize", tmp_path / "none.png", "-o", tmp_path / "c.png", "--style", "3", cwd=tmp_path),
            f"CONTENT {tmp_path / 'none.png'}: input: file not found")
    refused(animator(*base, "--set", "mode=video", cwd=tmp_path), "--set mode=video: stylize makes one still image")  # not "--style IMAGE is needed"
    assert not list(tmp_path.iterdir())


def test_batch_refuses_an_overlap_without_a_split(tmp_path):
    # --overlap alone was taken without a word, and changed nothing
    refused(animator("batch", "melt", "--overlap", "5", "--out", tmp_path / "out", cwd=tmp_path),
            "--overlap 5 is for --split N")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags, expected", [(("--jobs", "0"), "--jobs 0: expected 1 or more"),
                                             (("--split", "0"), "--split 0: expected 1 or more"),
                                             (("--split", "2", "--overlap", "-1"), "--overlap -1: expected 0 or more")])
def test_batch_refuses_counts_below_their_least_and_says_the_least(tmp_path, flags, expected):
    # an overlap of 0 (chunks joined without a cross-fade) is a count in range; no worker is one
    assert refused(animator("batch", "melt", *flags, "--out", tmp_path / "out", cwd=tmp_path)) == f"error: {expected}"
    assert not (tmp_path / "out").exists()


def test_pipes_names_too_long_and_a_reader_gone_are_one_line(tmp_path):
    """A pipe given as a file was opened and read, waiting for a writer forever; a name longer
    than the file system takes was a traceback (and so was a folder without permission); and a
    reader that stopped reading (`| head -1`) a BrokenPipeError's."""
    import os

    os.mkfifo(tmp_path / "pipe.png")
    os.mkfifo(tmp_path / "pipe.yaml")
    run = lambda *args: subprocess.run([sys.executable, "-m", "animator", *map(str, args)], cwd=tmp_path,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    preset = write(tmp_path, BASE.replace(str(SAMPLES / "chelsea.png"), "pipe.png"))
    refused(run("validate", preset), "p.yaml:2: input: not a regular file (a pipe, a socket or a device)")
    refused(run("validate", "pipe.yaml"), "pipe.yaml: not a regular file")
    refused(run("stylize", SAMPLES / "chelsea.png", "--style", "pipe.png", "-o", "x.png"), "--style pipe.png", "not a regular")
    refused(run("metrics", "--loop", "pipe.png"), "pipe.png: not a regular file")
    long = "v" * 300
    refused(run("render", write(tmp_path, BASE), "--out", long), f"error: {long}: file name too long")
    refused(run("validate", f"{long}.yaml"), f"{long}.yaml", "file name too long")
    reader = subprocess.Popen([sys.executable, "-m", "animator", "validate", *[PRESETS / "melt.yaml"] * 3000],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    reader.stdout.readline()
    reader.stdout.close()  # as `| head -1` does
    assert reader.wait(timeout=60) == 141 and not reader.stderr.read(), "a BrokenPipeError's traceback"


def test_a_render_the_free_memory_cannot_hold_is_refused_before_it_starts(tmp_path, monkeypatch):
    """gatys at 8192 px takes over 130 GiB: it started, and the kernel ended it without a word."""
    from animator import env
    from animator.errors import PresetError
    from animator.preset import load_preset, parse_overrides
    from animator.render.plan import Plan, check_fits

    preset = write(tmp_path, f"name: g\nmode: still\ninput: {SAMPLES / 'chelsea.png'}\nstyle: {SAMPLES / 'brick.png'}\n"
                             "method: gatys\n")
    monkeypatch.setattr(env, "available_memory", lambda: 8 * 2**30)

    def check(*sets: str) -> None:
        plan = Plan(load_preset(preset, parse_overrides(list(sets))))
        check_fits(plan.preset, plan.first)
    with pytest.raises(PresetError, match=r"^--set size=2048: size: a gatys render at 2048x1360 takes at least about 9 GiB, "
                                          r"and 8.0 GiB is free: expected a smaller size$"):
        check("size=2048")
    check("size=1024")  # 4 GiB
    check("size=2048", "method=arbitrary")  # the networks' need is not judged: tiles, stroke scales
    check("size=2048", "method.optimizer=adam")  # less than L-BFGS keeps: not the bound measured
    check("size=2048", "method.style_layers=[relu1_1, relu2_1, relu3_1]", "method.content_layers=[relu3_1]")  # shallower
    with pytest.raises(PresetError, match="takes at least about 9 GiB"):  # its content layer, relu4_2, is deeper
        check("size=2048", "method.style_layers=[relu1_1, relu2_1, relu3_1]")
    monkeypatch.undo()
    if (env.available_memory() or 0) < 134 * 2**30:  # the command, with the machine's own memory
        for command in ("validate", "render"):  # validate says so too, and a render of several before any renders
            result = animator(command, preset, *(["--out", tmp_path / "out"] if command == "render" else []), "--set",
                              "size=8192", cwd=tmp_path)
            refused(result, "size: a gatys render at 8192x5448 takes at least about 134 GiB")


def test_the_free_memory_is_the_least_the_system_and_the_containers_limit_leave(tmp_path, monkeypatch):
    """A container's limit under the machine's free memory is what a render may take, its page
    cache counted free; a limit already passed, or none, leaves the machine's figure."""
    from pathlib import Path

    from animator import env

    GiB = 2**30
    (tmp_path / "meminfo").write_text(f"MemTotal: {32 * GiB // 1024} kB\nMemAvailable: {8 * GiB // 1024} kB\n")
    group = tmp_path / "cgroup"
    group.mkdir()
    monkeypatch.setattr(env, "open", lambda name: open(tmp_path / "meminfo" if name == "/proc/meminfo" else name),
                        raising=False)
    monkeypatch.setattr(env, "Path", lambda name: group if name == "/sys/fs/cgroup" else Path(name))
    assert env.available_memory() == 8 * GiB  # no cgroup files: the machine's

    def limited(limit: str, used: int, cache: int) -> float | None:
        (group / "memory.max").write_text(f"{limit}\n")
        (group / "memory.current").write_text(f"{used}\n")
        (group / "memory.stat").write_text(f"anon {used - cache}\nfile {cache}\n")
        return env.available_memory()
    assert limited(str(4 * GiB), 3 * GiB // 2, GiB // 2) == 3 * GiB  # 4 less the 1 in use beside the cache
    assert limited(str(16 * GiB), 3 * GiB // 2, GiB // 2) == 8 * GiB  # the machine has less
    assert limited("max", 3 * GiB // 2, GiB // 2) == 8 * GiB
    assert limited(str(4 * GiB), 5 * GiB, 0) == 8 * GiB  # past a lowered limit: it says nothing of what is free
