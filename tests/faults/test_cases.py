"""The ways a render once went wrong without saying so, lost data, or crashed on a user's mistake:
each now ends in the right video, or in one line and exit 2, and deletes nothing of the user's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import MEDIA, PRESETS, SAMPLES, decode_video

TINY = ["--set", "size=32", "--set", "iterate.steps=6", "--quiet"]


def animator(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "animator", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def refused(result: subprocess.CompletedProcess, *words: str) -> str:
    """The command's one error line, checked: exit 2, no traceback, the words in it."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr  # the line alone: no blank line, no warning before it
    line = result.stderr.strip()
    assert line.startswith("error: ") and all(word in line for word in words), line
    return line


def write(folder: Path, text: str, name: str = "p.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def frames_of(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p)) for p in sorted(folder.iterdir())]


# 1: a damaged segment is verified, dropped and made again (tests/faults/test_injection.py corrupts every way)

def test_a_truncated_segment_is_made_again_and_the_video_is_whole(tmp_path):
    sets = [*TINY, "--set", "outputs=[{format: mp4}, {format: png}]"]
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "whole", *sets, cwd=tmp_path).returncode == 0
    killed = animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "out", *sets, cwd=tmp_path,
                      env={"ANIMATOR_CHECKPOINT_SECONDS": "0", "ANIMATOR_FAULT": "frame:5"})
    assert killed.returncode == -9
    segments = sorted((tmp_path / "out" / ".melt.work").glob("0*.mkv"))
    os.truncate(segments[-1], segments[-1].stat().st_size // 2)
    again = animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "out", *sets, cwd=tmp_path)
    assert again.returncode == 0 and "does not match its checksum" in again.stderr
    assert [np.array_equal(a, b) for a, b in zip(frames_of(tmp_path / "whole" / "melt_frames"),
                                                 frames_of(tmp_path / "out" / "melt_frames"))] == [True] * 7
    assert len(decode_video(tmp_path / "out" / "melt.mp4")[1]) == 7


# 2: a second render of the same output fails at once, naming the first

def test_a_second_render_into_the_same_folder_is_refused_while_the_first_runs(tmp_path):
    from animator.preset import load_preset
    from animator.render.resume import Checkpoint

    holder = Checkpoint(tmp_path / ".melt.work", load_preset(PRESETS / "melt.yaml"))
    holder.lock()  # as a running render holds it
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path),
            "another render of 'melt'", f"pid {os.getpid()}")
    holder.release(done=False)
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path).returncode == 0


def test_a_killed_renders_lock_is_free(tmp_path):
    killed = animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path, env={"ANIMATOR_FAULT": "frame:2"})
    assert killed.returncode == -9  # the OS released its lock with it
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path).returncode == 0


# 3: outputs change all together or not at all; a failed render replaces nothing

def test_a_render_killed_while_publishing_is_not_up_to_date_and_renders_again(tmp_path):
    from animator.preset import load_preset, parse_overrides
    from animator.render.record import up_to_date

    sets = [*TINY, "--set", "outputs=[{format: mp4}, {format: gif}, {format: png}]"]
    killed = animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path, env={"ANIMATOR_FAULT": "publish:1"})
    assert killed.returncode == -9 and (tmp_path / "melt.mp4").exists() and not (tmp_path / "melt.gif").exists()
    preset = load_preset(PRESETS / "melt.yaml", parse_overrides([s for s in sets if s != "--set" and "=" in s]))
    assert up_to_date(preset, tmp_path) is None  # a mixed set is never "up to date"
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path).returncode == 0
    assert up_to_date(preset, tmp_path) is not None
    last = sorted((tmp_path / "melt_frames").iterdir())[-1]
    last.rename(last.with_name("000099.png"))
    assert up_to_date(preset, tmp_path) is None  # the same pictures in order, under another number
    last.with_name("000099.png").rename(last)
    assert up_to_date(preset, tmp_path) is not None
    (tmp_path / "melt.gif").write_bytes(b"changed by hand")
    assert up_to_date(preset, tmp_path) is None  # the record names each output's checksum


def test_a_file_of_the_users_where_a_publish_cut_short_had_yet_to_move_an_output_stays(tmp_path):
    """A publish names what it moves before it moves it; a GIF of the user's saved, after the
    kill, under a name it had not reached yet was taken for the render's and replaced (exit 0)."""
    sets = [*TINY, "--set", "outputs=[{format: mp4}, {format: gif}]"]
    killed = animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path, env={"ANIMATOR_FAULT": "publish:1"})
    assert killed.returncode == -9 and (tmp_path / "melt.mp4").exists() and not (tmp_path / "melt.gif").exists()
    Image.open(SAMPLES / "brick.png").save(tmp_path / "melt.gif")
    mine = (tmp_path / "melt.gif").read_bytes()
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path),
            "melt.gif: is in the way of this render's output and is not one it wrote")
    assert (tmp_path / "melt.gif").read_bytes() == mine
    (tmp_path / "melt.gif").unlink()  # moved away: the render publishes, the MP4 it had moved taken as its own
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path).returncode == 0
    assert (tmp_path / "melt.gif").exists() and not list(tmp_path.glob(".melt.*"))


def test_a_video_render_that_meets_a_bug_exits_with_its_traceback_not_a_hang(tmp_path):
    """Collected as the interpreter exited, the pipeline's generators waited for their producers,
    daemon threads frozen by then: the render hung for good, every time."""
    preset = write(tmp_path, f"name: v\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nsize: 32\nmethod: arbitrary\n"
                             f"style: {SAMPLES / 'brick.png'}\n")
    result = subprocess.run([sys.executable, "-m", "animator", "render", preset, "--out", tmp_path / "out", "--quiet"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ANIMATOR_FAULT": "stylize:3:error"})
    assert result.returncode == 1 and result.stderr.strip().endswith("RuntimeError: ANIMATOR_FAULT stylize:3:error")
    assert not (tmp_path / "out" / "v.mp4").exists()


def test_a_full_disk_replaces_no_finished_output_and_says_what_it_kept(tmp_path):
    sets = [*TINY, "--set", "outputs=[{format: mp4}, {format: gif}]"]
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    full = animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, "--set", "seed=3", "--set", "iterate.blend=0.5",
                    cwd=tmp_path, env={"ANIMATOR_FAULT": "frame:4:enospc"})
    refused(full, "no space left on device", "kept: melt.mp4 as it was, melt.gif as it was")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    # the disk full once the first output is in place (the frames resumed from the run above)
    full = animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, "--set", "seed=3", "--set", "iterate.blend=0.5",
                    cwd=tmp_path, env={"ANIMATOR_FAULT": "publish:1:enospc"})
    refused(full, "no space left on device", "kept: the new melt.mp4, melt.gif as it was")  # said "melt.mp4 as it was"
    assert (tmp_path / "melt.mp4").read_bytes() != before["melt.mp4"]


# 4: NaN and infinities are refused everywhere

@pytest.mark.parametrize("keys", ["iterate:\n  blend: .nan", "iterate:\n  motion: {zoom: .nan}", "size: 32\nseed: 0\nstyle: self\n"
                                  "iterate:\n  color: {noise: .inf}", "mode: video\nvideo: {start: .nan}",
                                  "mode: video\nvideo: {duration: .inf}", "mode: video\nvideo: {temporal: {weight: .nan}}",
                                  "method: {name: multistyle, style: {3: .nan}}"])
def test_nan_and_infinity_are_refused(tmp_path, keys):
    path = write(tmp_path, f"name: t\ninput: {MEDIA / 'chaplin.mp4'}\n{keys}\n")
    refused(animator("validate", path, cwd=tmp_path), "p.yaml")


# 5: an output at its own rate resamples time, and lasts as long as the render and its sound

def test_outputs_at_other_rates_last_as_long_as_the_render_and_its_sound(tmp_path):
    path = write(tmp_path, f"name: v\nmode: video\ninput: {MEDIA / 'chaplin.mp4'}\nsize: 32\nmethod: multistyle\n"
                           "video: {duration: 2.0, temporal: {flow: none}}\noutputs: [{format: mp4, fps: 50}, {format: gif, fps: 10}]\n")
    assert animator("render", path, "--out", tmp_path, "--quiet", cwd=tmp_path).returncode == 0
    with av.open(str(tmp_path / "v.mp4")) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video))
        assert video.average_rate == 50 and abs(frames / 50 - 2.0) <= 1 / 50
        assert abs(float(audio.duration * audio.time_base) - 2.0) <= 1 / 25  # as long as the 25 fps render
    gif = Image.open(tmp_path / "v.gif")
    assert abs(gif.n_frames / 10 - 2.0) <= 1 / 10


# 6: chunks of a split video keep the whole render's frame numbers

def test_a_split_render_is_the_whole_render(tmp_path):
    path = write(tmp_path, f"name: s\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nsize: 32\nseed: 5\n"
                           "method: {name: multistyle, style: {3: '0: 1, 47: 0', 12: 't / 47'}}\n"
                           "video: {temporal: {flow: none}}\noutputs: [{format: png}]\n")
    assert animator("render", path, "--out", tmp_path / "whole", "--quiet", cwd=tmp_path).returncode == 0
    assert animator("batch", path, "--out", tmp_path / "split", "--split", "2", "--overlap", "2", "--quiet",
                    cwd=tmp_path).returncode == 0
    whole, split = frames_of(tmp_path / "whole" / "s_frames"), frames_of(tmp_path / "split" / "s_frames")
    assert len(whole) == len(split) == 48 and all(np.array_equal(a, b) for a, b in zip(whole, split))


# 7: a source cut short says so

def test_a_truncated_source_is_refused_not_rendered_short(tmp_path):
    from animator.media.frame import Frame
    from animator.media.sink import Mp4Sink, encoding
    from animator.media.source import VideoSource

    clip = tmp_path / "cut.mp4"  # the index (moov) first, as browsers want: it declares every frame
    with encoding([Mp4Sink(clip, Fraction(24), crf=30)]) as put:
        for i, frame in enumerate(VideoSource(SAMPLES / "pan.mp4")):
            put(Frame(i, Fraction(i, 24), frame.image))
    os.truncate(clip, clip.stat().st_size // 2)
    path = write(tmp_path, f"name: v\nmode: video\ninput: {clip}\nsize: 32\nmethod: multistyle\noutputs: [{{format: mp4}}]\n")
    refused(animator("render", path, "--out", tmp_path / "out", "--quiet", cwd=tmp_path), "cut.mp4", "declares 48")
    assert not (tmp_path / "out" / "v.mp4").exists()
    # found once frames are rendering, where a progress bar ended in a log left a blank line first
    refused(animator("render", path, "--out", tmp_path / "out", cwd=tmp_path), "cut.mp4", "declares 48")


# 7b: a video of one frame from an image: a still, or an animation read as its first frame

def test_video_mode_renders_an_animated_png_whole_and_refuses_what_it_would_render_as_one_frame(tmp_path):
    from animator.media.source import VideoSource

    pan = [Image.fromarray(frame.image[::4, ::4]) for frame, _ in zip(VideoSource(SAMPLES / "pan.mp4"), range(6))]
    for name in ("pan.png", "pan.webp"):  # animated: six frames, 100 ms each
        pan[0].save(tmp_path / name, save_all=True, append_images=pan[1:], duration=100, loop=0)
    preset = "name: {0}\nmode: video\ninput: {1}\nsize: 32\nmethod: multistyle\noutputs: [{{format: mp4}}]\n"
    apng = write(tmp_path, preset.format("a", tmp_path / "pan.png"), "a.yaml")
    assert animator("render", apng, "--out", tmp_path / "out", "--quiet", cwd=tmp_path).returncode == 0
    with av.open(str(tmp_path / "out" / "a.mp4")) as container:
        assert container.streams.video[0].average_rate == 10 and sum(1 for _ in container.decode(video=0)) == 6
    webp = write(tmp_path, preset.format("w", tmp_path / "pan.webp"), "w.yaml")
    refused(animator("render", webp, "--out", tmp_path / "out", "--quiet", cwd=tmp_path), "pan.webp", "6 frames")
    still = write(tmp_path, preset.format("s", SAMPLES / "chelsea.png"), "s.yaml")
    refused(animator("validate", still, cwd=tmp_path), "chelsea.png", "a still image")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.json", "a.mp4"]


# 8: a folder where an output goes is the user's, not ours

def test_a_folder_in_the_way_of_an_output_is_left_alone(tmp_path):
    (tmp_path / "melt.mp4").mkdir()
    (tmp_path / "melt.mp4" / "mine.txt").write_text("the user's")
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path), "melt.mp4", "in the way")
    assert (tmp_path / "melt.mp4" / "mine.txt").read_text() == "the user's"
    (tmp_path / "mine").mkdir()  # a file that is no MP4 where the MP4 goes, and a link to nowhere: not ours either
    (tmp_path / "mine" / "melt.mp4").write_text("my notes")
    (tmp_path / "mine" / "melt.gif").symlink_to(tmp_path / "nowhere.gif")
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "mine", *TINY, cwd=tmp_path), "melt.mp4", "in the way")
    (tmp_path / "mine" / "melt.mp4").unlink()
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "mine", *TINY, cwd=tmp_path), "melt.gif", "in the way")
    assert (tmp_path / "mine" / "melt.gif").is_symlink() and not (tmp_path / "mine" / "melt.mp4").exists()


def test_two_presets_of_one_name_in_one_render_are_refused_and_one_given_twice_renders_once(tmp_path):
    # the second replaced the first's outputs, and the command said nothing
    other = write(tmp_path, (PRESETS / "melt.yaml").read_text().replace("../samples/", f"{SAMPLES}/"), "other.yaml")
    refused(animator("render", PRESETS / "melt.yaml", other, "--out", tmp_path / "out", *TINY, cwd=tmp_path),
            "other.yaml", "named 'melt'", "melt.yaml is")
    assert not (tmp_path / "out").exists()
    same = PRESETS / ".." / PRESETS.name / "melt.yaml"  # another spelling of the same file
    twice = animator("render", PRESETS / "melt.yaml", same, "--out", tmp_path / "out", *TINY[:-1], cwd=tmp_path)
    assert twice.returncode == 0 and twice.stderr.count("melt: 7 frames in") == 1, twice.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["melt.gif", "melt.json", "melt.mp4"]



def test_an_output_that_would_replace_the_renders_own_input_is_refused(tmp_path):
    # a preset named after its clip, rendered into the clip's folder, replaced the clip with its render
    clip = tmp_path / "clip.mp4"
    clip.write_bytes((SAMPLES / "pan.mp4").read_bytes())
    preset = write(tmp_path, "name: clip\nmode: video\ninput: clip.mp4\nsize: 32\nvideo: {duration: 0.2}\n"
                             "outputs: [{format: mp4}]\n")
    refused(animator("render", preset, "--out", tmp_path, "--quiet", cwd=tmp_path), "clip.mp4", "own input")
    split = animator("batch", preset, "--out", tmp_path, "--split", "2", cwd=tmp_path)
    assert split.returncode == 1 and "clip.mp4: is this render's own input" in split.stdout + split.stderr
    (tmp_path / "cat.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    refused(animator("stylize", "cat.png", "--style", "3", "--size", "32", "-o", "cat.png", cwd=tmp_path), "cat.png", "own input")
    frames = tmp_path / "clip_frames"  # a folder of a render's frames, read back as the input of one of that name
    frames.mkdir()
    (frames / "000000.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    preset = write(tmp_path, "name: clip\ninput: clip_frames\nsize: 32\niterate: {steps: 2}\noutputs: [{format: png}]\n")
    refused(animator("render", preset, "--out", tmp_path, "--quiet", cwd=tmp_path), "clip_frames", "own input")
    assert clip.read_bytes() == (SAMPLES / "pan.mp4").read_bytes()
    assert (tmp_path / "cat.png").read_bytes() == (frames / "000000.png").read_bytes() == (SAMPLES / "chelsea.png").read_bytes()



def test_a_file_where_the_record_goes_is_left_alone(tmp_path):
    (tmp_path / "melt.json").write_text('{"my": "notes"}')
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path), "melt.json", "in the way")
    assert (tmp_path / "melt.json").read_text() == '{"my": "notes"}'
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "out", *TINY, cwd=tmp_path).returncode == 0
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "out", *TINY, "--set", "seed=5", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "out" / "melt.json").read_text())["preset"]["seed"] == 5  # a record replaces a record


# 9: a folder of frames is replaced without a moment where neither the old nor the new one is there

def test_a_render_killed_while_replacing_its_frames_leaves_old_or_new_frames(tmp_path):
    sets = [*TINY, "--set", "outputs=[{format: png}]"]
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, cwd=tmp_path).returncode == 0
    old = frames_of(tmp_path / "melt_frames")
    killed = animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *sets, "--set", "seed=9", "--set", "iterate.blend=0.6",
                      cwd=tmp_path, env={"ANIMATOR_FAULT": "publish:1"})
    assert killed.returncode == -9
    new = frames_of(tmp_path / "melt_frames")
    assert len(new) == 7 and not all(np.array_equal(a, b) for a, b in zip(old, new))  # the new frames, whole


# 10: a checkpoint that cannot be used is kept aside (tests/render/test_resume.py); a file in its place is refused

def test_a_file_where_the_work_folder_goes_is_refused(tmp_path):
    (tmp_path / ".melt.work").write_text("not ours")
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path), ".melt.work")
    assert (tmp_path / ".melt.work").read_text() == "not ours"


def test_an_output_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("not a folder")
    refused(animator("render", PRESETS / "melt.yaml", "--out", tmp_path / "out", *TINY, cwd=tmp_path), "out: cannot render into it",
            "not a directory")
    refused(animator("stylize", SAMPLES / "brick.png", "--style", "3", "--size", "32", "-o", tmp_path / "out" / "x.png", cwd=tmp_path),
            "out: cannot render into it")
    assert (tmp_path / "out").read_text() == "not a folder"


# Mistakes that were tracebacks

def test_a_thread_count_that_is_not_one_is_one_line(tmp_path, monkeypatch):
    from animator.env import threads_asked
    from animator.errors import AnimatorError

    refused(animator("render", "melt", "--out", tmp_path, *TINY, cwd=tmp_path, env={"ANIMATOR_THREADS": "two"}),
            "ANIMATOR_THREADS=two: expected a whole number of threads, 1 to 1024")
    assert not any(tmp_path.iterdir())
    for asked, threads in (("3", 3), (" 1 ", 1), ("1024", 1024), ("", None)):
        monkeypatch.setenv("ANIMATOR_THREADS", asked)
        assert threads_asked() == threads
    for asked in ("0", "-1", "1.5", "1025"):
        monkeypatch.setenv("ANIMATOR_THREADS", asked)
        with pytest.raises(AnimatorError, match=f"ANIMATOR_THREADS={asked}:"):
            threads_asked()

@pytest.mark.parametrize("blend, words", [("min()", "min() takes 2 or more arguments, found 0"),
                                          ("sin(1, 2, 3)", "sin() takes 1 argument, found 3"),
                                          ("'+'.join", "not allowed"), ("1" + " + 1" * 30000, "characters"),
                                          ("clamp(t, 0)", "clamp() takes 3 arguments")])
def test_expressions_with_wrong_arguments_or_past_the_limits_are_one_line(tmp_path, blend, words):
    path = write(tmp_path, f"name: t\ninput: {SAMPLES / 'chelsea.png'}\niterate:\n  blend: \"{blend}\"\n")
    refused(animator("validate", path, cwd=tmp_path), "iterate.blend", words)


def test_round_with_digits_works_in_a_schedule(tmp_path):
    path = write(tmp_path, f"name: t\ninput: {SAMPLES / 'chelsea.png'}\niterate:\n  blend: \"round(0.33, 1)\"\n")
    assert animator("validate", path, cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("text, words", [
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
                                                       for p, c in zip("abcdefgh", "bcdefghi")), "aliases expand"),
    ("iterate: &a {blend: *a}\n", "alias refers to the node that holds it"),
    ("method: {name: gatys, style_weight: 0, content_weight: 0}\n", "no loss is active"),
    ("iterate: {steps: 30}\nmethod: {name: gatys, gram_transform: {name: eigen-randomize, low: '0: 0.1, 30: 2', high: 1.5}}\n",
     "expected low <= high"),
])
def test_presets_that_crashed_are_one_line(tmp_path, text, words):
    path = write(tmp_path, f"name: t\ninput: {SAMPLES / 'chelsea.png'}\n{text}")
    refused(animator("validate", path, cwd=tmp_path), words)


@pytest.mark.parametrize("last, words", [((48, 64), "share one size"), (None, "not a readable image")])
def test_a_folder_with_a_frame_that_cannot_be_one_is_refused_before_the_render(tmp_path, last, words):
    # validate said ok, and the render stopped at that frame with its work folder left behind
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, size in enumerate([(64, 48), (64, 48), last]):
        if size is None:
            (frames / f"{i}.png").write_bytes(b"\x89PNG garbage")
        else:
            Image.fromarray(np.full((size[1], size[0], 3), 60 * i, np.uint8)).save(frames / f"{i}.png")
    path = write(tmp_path, f"name: f\nmode: video\ninput: {frames}\nsize: 32\nmethod: multistyle\noutputs: [{{format: mp4}}]\n")
    refused(animator("validate", path, cwd=tmp_path), "2.png", words)
    refused(animator("render", path, "--out", tmp_path / "out", "--quiet", cwd=tmp_path), "2.png", words)
    assert not (tmp_path / "out").exists()


def test_a_work_folder_record_is_json_with_checksums(tmp_path):
    assert animator("render", PRESETS / "melt.yaml", "--out", tmp_path, *TINY, cwd=tmp_path).returncode == 0
    record = json.loads((tmp_path / "melt.json").read_text())
    assert set(record["checksums"]) == set(record["outputs"]) == {"melt.mp4", "melt.gif"}


def test_a_killed_per_frame_render_resumes_from_its_frames(tmp_path):
    """A per-frame render (`flow: none`) kept no frame to resume from: each of its frames said
    "no state", and a segment closes only at a frame with one."""
    sets = ["--set", "size=32", "--set", "video.duration=0.5", "--set", "video.temporal.flow=none",
            "--set", "outputs=[{format: png}]", "--quiet"]
    assert animator("render", PRESETS / "pan-arbitrary.yaml", "--out", tmp_path / "whole", *sets, cwd=tmp_path).returncode == 0
    killed = animator("render", PRESETS / "pan-arbitrary.yaml", "--out", tmp_path / "out", *sets, cwd=tmp_path,
                      env={"ANIMATOR_CHECKPOINT_SECONDS": "0", "ANIMATOR_FAULT": "frame:6"})
    assert killed.returncode == -9
    manifest = json.loads((tmp_path / "out" / ".pan-arbitrary.work" / "manifest.json").read_text())
    assert manifest["segments"], manifest
    again = animator("render", PRESETS / "pan-arbitrary.yaml", "--out", tmp_path / "out", *sets, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    whole, resumed = frames_of(tmp_path / "whole" / "pan-arbitrary_frames"), frames_of(tmp_path / "out" / "pan-arbitrary_frames")
    assert len(whole) == 12 and all(np.array_equal(a, b) for a, b in zip(whole, resumed))
