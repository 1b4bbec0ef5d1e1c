"""A render killed with SIGKILL part-way resumes and ends with the frames of an uninterrupted one."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from animator.media.image import read_image
from tests.conftest import PRESETS, decode_video

SETS = ["size=160", "iterate.steps=40", "outputs=[{format: mp4}, {format: png}]"]
ARGS = [*(arg for value in SETS for arg in ("--set", value)), "--quiet"]
EVERY_FRAME = {**os.environ, "ANIMATOR_CHECKPOINT_SECONDS": "0",  # so a kill can land between checkpoints
               "ANIMATOR_THREADS": str(torch.get_num_threads())}  # as a checkpoint stored in this process was made


def render(out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "animator", "render", str(PRESETS / "melt.yaml"), "--out", str(out), *ARGS, *extra]
    return subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=EVERY_FRAME)


def finished_index(work: Path) -> int:
    """The newest frame a killed render could resume from, as its work folder's manifest says."""
    try:
        return json.loads((work / "manifest.json").read_text())["states"][-1]["index"]
    except (OSError, ValueError, KeyError, IndexError):
        return -1


def test_killed_render_resumes_with_identical_frames(tmp_path):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert render(whole).wait() == 0

    victim = render(resumed)
    work = resumed / ".melt.work"
    deadline = time.monotonic() + 120
    while finished_index(work) < 10 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    killed_at = finished_index(work)
    assert 10 <= killed_at < 40, "the render should have been killed part-way"
    assert not (resumed / "melt.mp4").exists() and not (resumed / "melt_frames").exists()

    assert render(resumed).wait() == 0
    a, b = sorted((whole / "melt_frames").iterdir()), sorted((resumed / "melt_frames").iterdir())
    assert len(a) == len(b) == 41
    assert all(np.array_equal(read_image(x), read_image(y)) for x, y in zip(a, b))
    assert len(decode_video(resumed / "melt.mp4")[1]) == 41
    assert not work.exists()


def test_resume_uses_the_checkpoint_and_fresh_ignores_it(tmp_path):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.engine import load
    from animator.render.resume import Checkpoint

    job = load(load_preset(PRESETS / "melt.yaml", parse_overrides(SETS + ["iterate.steps=3"])))

    def store_black() -> None:
        checkpoint = Checkpoint(tmp_path / ".melt.work", job.preset, job.engine)
        black = np.zeros((104, 160, 3), np.uint8)
        for i in range(2):
            checkpoint.save(Frame(i, i / job.fps, black), {"x": torch.zeros(1, 3, 104, 160), "reference": None})
        checkpoint.close()

    store_black()
    assert render(tmp_path, "--set", "iterate.steps=3").wait() == 0
    frames = [read_image(p) for p in sorted((tmp_path / "melt_frames").iterdir())]
    assert len(frames) == 4 and not frames[0].any() and not frames[1].any()  # continued from the stored state

    store_black()  # (the finished render removed the first)
    assert render(tmp_path, "--set", "iterate.steps=3", "--fresh").wait() == 0
    frames = [read_image(p) for p in sorted((tmp_path / "melt_frames").iterdir())]
    assert len(frames) == 4 and frames[0].mean() > 50  # the photo again


def test_a_link_where_the_work_folder_goes_is_refused(tmp_path):
    """A render moved what the linked folder held aside as not its own, and filled it with frames."""
    from animator.errors import MediaError
    from animator.preset import load_preset
    from animator.render.resume import Checkpoint

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    (tmp_path / ".melt.work").symlink_to(mine)
    with pytest.raises(MediaError, match=r"\.melt\.work: exists and is not a work folder \(a link\): move it away"):
        Checkpoint(tmp_path / ".melt.work", load_preset(PRESETS / "melt.yaml")).lock()
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_checkpoint_made_on_other_cpu_threads_is_not_resumed(tmp_path):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.engine import load
    from animator.render.resume import Checkpoint

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(3)  # a loop's frames depend on how many threads split its sums
        job = load(load_preset(PRESETS / "melt.yaml", parse_overrides(SETS + ["iterate.steps=3", "device=cpu"])))
    finally:
        torch.set_num_threads(threads)
    assert job.engine.endswith("/3 threads")
    checkpoint = Checkpoint(tmp_path / ".melt.work", job.preset, job.engine)
    black = np.zeros((104, 160, 3), np.uint8)
    checkpoint.save(Frame(0, 0, black), {"x": torch.zeros(1, 3, 104, 160), "reference": None})
    checkpoint.close()
    result = subprocess.run([sys.executable, "-m", "animator", "render", str(PRESETS / "melt.yaml"), "--out", str(tmp_path),
                             *ARGS, "--set", "iterate.steps=3", "--set", "device=cpu"], capture_output=True, text=True,
                            env={**EVERY_FRAME, "ANIMATOR_THREADS": "1"})
    assert result.returncode == 0 and "the CPU threads changed" in result.stderr
    assert read_image(sorted((tmp_path / "melt_frames").iterdir())[0]).mean() > 50  # the photo, not the stored frame


def test_a_checkpoint_at_another_rate_is_not_resumed_and_is_removed_once_the_render_is_done(tmp_path):
    # outside video mode an output's fps is the render's rate, which sets every schedule's seconds
    # and the music's: it was no part of the key, and a rerun at 12 fps went on from 24 fps frames;
    # and what a changed preset's rerun set aside stayed, one folder more each time
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.engine import load
    from animator.render.resume import Checkpoint

    at = lambda fps: f"outputs=[{{format: mp4, fps: {fps}}}, {{format: png}}]"  # noqa: E731
    job = load(load_preset(PRESETS / "melt.yaml", parse_overrides(SETS + ["iterate.steps=3", at(24)])))
    checkpoint = Checkpoint(tmp_path / ".melt.work", job.preset, job.engine)
    checkpoint.save(Frame(0, 0, np.zeros((104, 160, 3), np.uint8)), {"x": torch.zeros(1, 3, 104, 160), "reference": None})
    checkpoint.close()
    (tmp_path / ".melt.work.bad-7").mkdir()  # an earlier one set aside, holding a file of the user's: it stays
    (tmp_path / ".melt.work.bad-7" / "notes.txt").write_text("mine")
    for name in (".melt.work.bad-07", ".melt.work.bad-\u0663"):  # of a checkpoint's files, but named as no render names one
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    result = subprocess.run([sys.executable, "-m", "animator", "render", str(PRESETS / "melt.yaml"), "--out", str(tmp_path),
                             *ARGS, "--set", "iterate.steps=3", "--set", at(12)], capture_output=True, text=True, env=EVERY_FRAME)
    assert result.returncode == 0 and "starting over" in result.stderr
    assert read_image(sorted((tmp_path / "melt_frames").iterdir())[0]).mean() > 50  # the photo, not the stored frame
    assert sorted(p.name for p in tmp_path.glob(".melt.work*")) == [".melt.work.bad-07", ".melt.work.bad-7", ".melt.work.bad-\u0663"]
    assert "kept in" in result.stderr and "until a render of this name finishes" in result.stderr


def test_a_checkpoint_of_another_preset_is_kept_aside_and_a_missing_segment_resumes_earlier(tmp_path, caplog):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))
    other = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS + ["seed=1"]))

    def store(values: list[int]) -> None:
        for i, value in enumerate(values):
            stored = Checkpoint(tmp_path / "work", preset)
            stored.load()
            stored.save(Frame(i, 0, np.full((8, 8, 3), value, np.uint8)), torch.full((1, 3, 8, 8), float(value)))
            stored.close()

    store([0, 1, 2])
    assert Checkpoint(tmp_path / "work", preset).load()[0] == 2
    resumed = Checkpoint(tmp_path / "work", preset)
    resumed.load()
    assert [f.image[0, 0, 0] for f in resumed.frames(2, 24)] == [0, 1, 2]
    assert Checkpoint(tmp_path / "work", other).load() is None  # another preset's frames are never replayed...
    assert (tmp_path / "work.bad-1" / "manifest.json").exists() and "starting over" in caplog.text  # ...nor deleted

    store([5, 6, 7])
    next((tmp_path / "work").glob("000001-*.mkv")).unlink()  # frame 1 lost: frame 2's state is past the stored frames
    index, state = Checkpoint(tmp_path / "work", preset).load()
    assert index == 0 and float(state.max()) == 5  # from frame 0's state, and frames 1 and 2 made again
    assert "is missing" in caplog.text


@pytest.mark.parametrize("damage", [
    lambda m: None, lambda m: [], lambda m: {**m, "segments": [{**m["segments"][0], "sha256": None}]},
    lambda m: {**m, "states": [{k: v for k, v in m["states"][0].items() if k != "index"}]},
    lambda m: {**m, "segments": [{**m["segments"][0], "first": "0"}]},
    # a file named outside the folder: a segment that did not match its checksum was deleted there
    lambda m: {**m, "segments": [{**m["segments"][0], "file": "../precious.txt"}]},
    lambda m: {**m, "segments": [{**m["segments"][0], "file": str(m["outside"])}]},
], ids=["null", "list", "no-checksum", "no-index", "text-first", "up-a-folder", "absolute"])
def test_a_manifest_of_the_wrong_shape_is_set_aside_and_names_no_file_outside(tmp_path, caplog, damage):
    """Valid JSON of another shape was a traceback (AttributeError, KeyError) on every rerun; a
    file name with a path in it was deleted as a damaged segment wherever it was."""
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))
    stored = Checkpoint(tmp_path / "work", preset)
    stored.save(Frame(0, 0, np.zeros((8, 8, 3), np.uint8)), torch.zeros(1, 3, 8, 8))
    stored.close()
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    manifest = json.loads((tmp_path / "work" / "manifest.json").read_text())
    manifest["outside"] = str(precious)
    (tmp_path / "work" / "manifest.json").write_text(json.dumps(damage(manifest)))
    assert Checkpoint(tmp_path / "work", preset).load() is None
    assert precious.read_text() == "mine" and (tmp_path / "work.bad-1" / "manifest.json").exists()
    assert "no readable manifest" in caplog.text


def test_a_render_killed_before_its_first_checkpoint_leaves_nothing_behind(tmp_path, caplog):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))
    killed = Checkpoint(tmp_path / "work", preset)
    killed.save(Frame(0, 0, np.zeros((8, 8, 3), np.uint8)), None)  # the open segment, then SIGKILL: no manifest yet
    (tmp_path / "work" / ".manifest.json.tmp").write_bytes(b"{")  # a manifest cut off half-written
    assert Checkpoint(tmp_path / "work", preset).load() is None
    assert not any((tmp_path / "work").iterdir()) and not (tmp_path / "work.bad-1").exists() and not caplog.text

    Checkpoint(tmp_path / "work", preset).save(Frame(0, 0, np.zeros((8, 8, 3), np.uint8)), None)
    (tmp_path / "work" / "notes.txt").write_text("mine")  # not a checkpoint's: the folder is kept whole
    assert Checkpoint(tmp_path / "work", preset).load() is None
    assert (tmp_path / "work.bad-1" / "notes.txt").read_text() == "mine" and "starting over" in caplog.text


def test_a_resumed_render_stores_none_of_the_frames_it_replays_again(tmp_path):
    """The stored frames pass through the sinks again on a resume, and the checkpoint sees them:
    they are on disk already, and stored twice every resume would re-encode the whole render."""
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))
    first = Checkpoint(tmp_path / "work", preset)
    for i in range(3):
        first.save(Frame(i, 0, np.full((8, 8, 3), i, np.uint8)), torch.full((1, 3, 8, 8), float(i)))
    first.close()
    resumed = Checkpoint(tmp_path / "work", preset)
    index, state = resumed.load()
    for frame in list(resumed.frames(index, 24)):  # the replay, as a render does it
        resumed.save(frame)
    resumed.save(Frame(3, 0, np.full((8, 8, 3), 3, np.uint8)), state + 1)
    resumed.close()
    segments = json.loads((tmp_path / "work" / "manifest.json").read_text())["segments"]
    assert [(s["first"], s["count"]) for s in segments] == [(0, 3), (3, 1)]
    again = Checkpoint(tmp_path / "work", preset)
    assert again.load()[0] == 3 and [f.image[0, 0, 0] for f in again.frames(3, 24)] == [0, 1, 2, 3]


def test_fresh_forgets_the_stored_frames_and_keeps_a_file_no_render_wrote(tmp_path, caplog):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))

    def stored() -> Checkpoint:
        checkpoint = Checkpoint(tmp_path / "work", preset)
        checkpoint.save(Frame(0, 0, np.zeros((8, 8, 3), np.uint8)), torch.zeros(1, 3, 8, 8))
        checkpoint.close()
        return checkpoint

    stored().clear()  # the checkpoint's own files alone: deleted
    assert list((tmp_path / "work").iterdir()) == [] and Checkpoint(tmp_path / "work", preset).load() is None
    checkpoint = stored()
    (tmp_path / "work" / "notes.txt").write_text("mine")
    checkpoint.clear()  # a file of the user's too: the folder's content moved aside whole, nothing deleted
    assert list((tmp_path / "work").iterdir()) == [] and Checkpoint(tmp_path / "work", preset).load() is None
    aside = tmp_path / "work.bad-1"
    assert (aside / "notes.txt").read_text() == "mine" and (aside / "manifest.json").exists() and "--fresh" in caplog.text


def test_frames_kept_past_their_state_are_made_again_and_replaced(tmp_path):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))
    image = lambda value: np.full((8, 8, 3), value, np.uint8)  # noqa: E731
    interrupted = Checkpoint(tmp_path / "work", preset)
    interrupted.save(Frame(0, 0, image(0)), {"x": torch.zeros(1)})  # an iterate
    interrupted.save(Frame(1, 0, image(99)), None)  # in-betweens, then the interruption
    interrupted.save(Frame(2, 0, image(99)), None)
    interrupted.keep()
    resumed = Checkpoint(tmp_path / "work", preset)
    assert resumed.load()[0] == 0  # from the last state, not the last frame
    for i in (1, 2, 3):
        resumed.save(Frame(i, 0, image(10 * i)), {"x": torch.zeros(1)} if i == 3 else None)
    resumed.close()
    again = Checkpoint(tmp_path / "work", preset)
    assert again.load()[0] == 3
    assert [int(f.image[0, 0, 0]) for f in again.frames(3, 24)] == [0, 10, 20, 30]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])  # Ctrl-C, and a `kill` (it ended the render at once)
def test_ctrl_c_exits_130_and_leaves_a_resumable_render(tmp_path, stop):
    longer = ("--set", "iterate.steps=80")  # room to interrupt it however fast the machine is
    victim = render(tmp_path, *longer)
    work = tmp_path / ".melt.work"
    deadline = time.monotonic() + 120
    while finished_index(work) < 5 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert victim.poll() is None, f"the render ended before it was interrupted (state index {finished_index(work)})"
    victim.send_signal(stop)
    code, stderr = victim.wait(), victim.stderr.read()
    assert code == 130 and "resume" in stderr, (code, stderr)
    assert finished_index(work) >= 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [".melt.work"]  # no partial outputs left
    assert render(tmp_path, *longer).wait() == 0
    assert len(list((tmp_path / "melt_frames").iterdir())) == 81


@pytest.mark.parametrize("after", [0.1, 0.15, 0.2, 0.3, 0.45])
def test_a_ctrl_c_as_the_command_starts_is_no_traceback(tmp_path, after):
    # before the command's own handling (its imports: rich, the preset's modules) Python printed a
    # traceback and exited -2; a signal before Python itself is up may still end it so, silently
    # and one raised inside an import could leave that module's import lock held, swallowed by a
    # library's bare `except:`: the encoder thread, importing it later, waited forever (a hang)
    victim = render(tmp_path)
    time.sleep(after)
    victim.send_signal(signal.SIGINT)
    try:
        code, stderr = victim.wait(timeout=90), victim.stderr.read()
    except subprocess.TimeoutExpired:
        victim.kill()
        raise AssertionError("the render hung") from None
    assert code in (130, -signal.SIGINT) and "Traceback" not in stderr, (code, stderr)


def test_a_ctrl_c_whose_interrupt_was_dropped_still_stops_the_render(tmp_path, monkeypatch):
    """Python drops a KeyboardInterrupt raised inside a finalizer; the key press is remembered, so
    the render stops at the next frame, publishes nothing and keeps what it made."""
    import threading

    from animator import interrupt
    from animator.preset import load_preset, parse_overrides
    from animator.render.engine import load

    monkeypatch.setattr(interrupt, "_pressed", threading.Event())
    render = load(load_preset(PRESETS / "melt.yaml", parse_overrides(["size=64", "iterate.steps=4"])))
    pressed = lambda done, total: done >= 2 and interrupt._pressed.set()  # noqa: E731 (its KeyboardInterrupt lost)
    try:
        render.run(tmp_path, progress=pressed)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the render ran to the end")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".melt.work"] and 1 <= finished_index(tmp_path / ".melt.work") < 4


def test_killed_interpolated_render_resumes_with_identical_frames(tmp_path):
    sets = ["--set", "iterate.steps=14", "--set", "iterate.interpolate=3", "--set", "outputs=[{format: png}]"]
    assert render(tmp_path / "whole", *sets).wait() == 0
    victim, work = render(tmp_path / "resumed", *sets), tmp_path / "resumed" / ".melt.work"
    deadline = time.monotonic() + 120
    while finished_index(work) < 12 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert 12 <= finished_index(work) < 42 and finished_index(work) % 3 == 0  # resumes from an iterate
    assert render(tmp_path / "resumed", *sets).wait() == 0
    a, b = sorted((tmp_path / "whole" / "melt_frames").iterdir()), sorted((tmp_path / "resumed" / "melt_frames").iterdir())
    assert len(a) == len(b) == 14 * 3 + 1 and all(np.array_equal(read_image(x), read_image(y)) for x, y in zip(a, b))


def test_killed_video_render_resumes_with_identical_frames(tmp_path):
    preset, sets = PRESETS / "pan-arbitrary.yaml", ["--set", "outputs=[{format: png}]", "--set", "size=160", "--quiet"]

    def start(out: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "animator", "render", str(preset), "--out", str(out), *sets], env=EVERY_FRAME)

    assert start(tmp_path / "whole").wait() == 0
    victim, work = start(tmp_path / "resumed"), tmp_path / "resumed" / ".pan-arbitrary.work"
    deadline = time.monotonic() + 120
    while finished_index(work) < 10 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert 10 <= finished_index(work) < 47, "the render should have been killed part-way"
    assert start(tmp_path / "resumed").wait() == 0
    a = sorted((tmp_path / "whole" / "pan-arbitrary_frames").iterdir())
    b = sorted((tmp_path / "resumed" / "pan-arbitrary_frames").iterdir())
    assert len(a) == len(b) == 48 and all(np.array_equal(read_image(x), read_image(y)) for x, y in zip(a, b))


FULL_DISK = Path("/dev/full")  # every write to it fails with ENOSPC, as on a full disk


@pytest.mark.skipif(not FULL_DISK.exists(), reason="no /dev/full")
@pytest.mark.parametrize("filling", [".state-000001.pt.tmp", ".manifest.json.tmp"])
def test_a_full_disk_while_a_segment_closes_leaves_the_folder_as_its_manifest_says(tmp_path, caplog, filling):
    from animator.media.frame import Frame
    from animator.preset import load_preset, parse_overrides
    from animator.render.resume import Checkpoint

    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(SETS))
    image = lambda value: np.full((8, 8, 3), value, np.uint8)  # noqa: E731
    checkpoint = Checkpoint(tmp_path / "work", preset)
    checkpoint.save(Frame(0, 0, image(0)), torch.zeros(1))
    checkpoint.close()
    stored = sorted(p.name for p in (tmp_path / "work").iterdir())
    (tmp_path / "work" / filling).symlink_to(FULL_DISK)  # the disk fills up as frame 1's state or manifest is written
    checkpoint.save(Frame(1, 0, image(1)), torch.ones(1))
    with pytest.raises(OSError) as raised:  # torch.save said RuntimeError "unexpected pos 768 vs 662": a traceback
        checkpoint.close()
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(tmp_path / "work" / filling)
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == stored  # no temporary file, nothing unnamed
    assert [s["first"] for s in checkpoint.segments] == [0]  # what a failed render says it kept
    index, state = Checkpoint(tmp_path / "work", preset).load()
    assert index == 0 and float(state.max()) == 0 and not caplog.records  # resumes from frame 0, nothing to warn of


@pytest.mark.skipif(not FULL_DISK.exists(), reason="no /dev/full")
def test_a_full_disk_is_one_error_with_no_warning_and_leaves_no_open_segment(tmp_path, monkeypatch, caplog):
    """The outputs' disk fills up, then the open segment cannot be closed on it either: the
    error's one line says what was kept, and no warning comes before it."""
    from animator import faults
    from animator.errors import MediaError
    from animator.preset import load_preset, parse_overrides
    from animator.render import resume
    from animator.render.engine import load

    monkeypatch.setattr(faults, "_SPEC", "frame:3:enospc")  # the third frame's outputs: no space
    monkeypatch.setattr(faults, "_reached", {})
    monkeypatch.setenv("ANIMATOR_CHECKPOINT_SECONDS", "1000")  # the frames before it are in the open segment
    made = resume.Segment.__init__

    def on_the_full_disk(self, path: Path, *args) -> None:
        path.symlink_to(FULL_DISK)
        made(self, path, *args)

    monkeypatch.setattr(resume.Segment, "__init__", on_the_full_disk)
    render = load(load_preset(PRESETS / "melt.yaml", parse_overrides(["size=32", "iterate.steps=4", "outputs=[{format: png}]"])))
    with pytest.raises(MediaError, match="no space left on device") as raised:
        render.run(tmp_path)
    assert str(raised.value).endswith("(kept: nothing was written)")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # was: "the last frames could not be kept"
    assert list(tmp_path.iterdir()) == []


def test_a_render_killed_with_every_frame_stored_resumes_to_its_whole_frame_count(tmp_path):
    """Killed once its outputs were whole but before they were published, it has nothing left to
    render: the resume publishes the stored frames, and says and records all of them."""
    command = [sys.executable, "-m", "animator", "render", str(PRESETS / "melt.yaml"), "--out", str(tmp_path),
               "--set", "size=32", "--set", "iterate.steps=6", "--set", "outputs=[{format: png}]"]
    killed = subprocess.run(command, capture_output=True, text=True, env={**EVERY_FRAME, "ANIMATOR_FAULT": "finish:1"})
    assert killed.returncode == -signal.SIGKILL and finished_index(tmp_path / ".melt.work") == 6
    again = subprocess.run(command, capture_output=True, text=True, env=EVERY_FRAME)
    assert again.returncode == 0 and "melt: 7 frames in " in again.stderr, again.stderr
    assert len(list((tmp_path / "melt_frames").iterdir())) == json.loads((tmp_path / "melt.json").read_text())["frames"] == 7
