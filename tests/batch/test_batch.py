"""Batches: failures do not stop the rest, finished renders are skipped, executors agree, and a
split video joins without a seam."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from animator.media.image import read_image
from tests.conftest import MEDIA, PRESETS, SAMPLES, decode_video

CHAPLIN = MEDIA / "chaplin.mp4"


def batch(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "animator", "batch", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True)


def preset(folder: Path, name: str, extra: str = "", image: Path = SAMPLES / "chelsea.png",
           method: str = "") -> Path:
    path = folder / f"{name}.yaml"
    loop = "" if "mode: video" in extra else "iterate: {steps: 3, blend: 0.5}\n"  # the loop's keys are for a loop
    path.write_text(f"name: {name}\ninput: {image}\nsize: 48\nmethod: {method or f'{{name: multistyle, style: {len(name)}}}'}\n"
                    f"{loop}outputs: [{{format: png}}]\n{extra}")
    return path


def statuses(stdout: str) -> dict[str, str]:
    """preset -> status, from the summary table."""
    rows = [line.split("│") for line in stdout.splitlines() if line.count("│") >= 5]
    return {cells[1].strip(): cells[2].strip() for cells in rows if cells[1].strip() not in ("preset", "")}


def test_a_failing_preset_does_not_stop_the_batch_and_finished_ones_are_skipped(tmp_path):
    presets, out = tmp_path / "presets", tmp_path / "out"
    presets.mkdir()
    (tmp_path / "cat.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())
    for name in ("a", "bb", "ccc"):
        preset(presets, name)
    preset(presets, "dddd", image=tmp_path / "cat.png")
    preset(presets, "broken", image=tmp_path / "missing.png")

    first = batch(presets, "--out", out, "--jobs", "2", cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    assert statuses(first.stdout) == {"a": "rendered", "bb": "rendered", "ccc": "rendered", "dddd": "rendered", "broken": "failed"}
    assert "broken.yaml:2: input: file not found: " in first.stderr and "missing.png" in first.stderr
    assert all(len(list((out / f"{n}_frames").iterdir())) == 4 for n in ("a", "bb", "ccc", "dddd"))
    assert not (out / "broken_frames").exists()
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}

    again = batch(presets, "--out", out, cwd=tmp_path)
    assert again.returncode == 1
    assert {"a: up to date", "broken: failed"} <= set(again.stderr.splitlines()), again.stderr  # no time for what was not rendered
    assert statuses(again.stdout) == {"a": "up to date", "bb": "up to date", "ccc": "up to date", "dddd": "up to date",
                                      "broken": "failed"}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps  # nothing written

    changed = preset(presets, "a", "seed: 3\n")  # a changed preset (with a keyframe it never reaches) ...
    changed.write_text(changed.read_text().replace("blend: 0.5", "blend: '0: 0.5, 9: 0.4'"))
    image = read_image(tmp_path / "cat.png")
    image[:10] = 0
    import cv2

    cv2.imwrite(str(tmp_path / "cat.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))  # ... and a changed input image
    third = batch(presets, "--out", out, cwd=tmp_path)
    assert statuses(third.stdout) == {"a": "rendered", "bb": "up to date", "ccc": "up to date", "dddd": "rendered",
                                      "broken": "failed"}
    assert third.stderr.count("WARNING") == 1 and (f"WARNING: {changed}:5: iterate.blend: keyframe 9 is past the last "
                                                   "iterate (3); the render ends before it") in third.stderr
    forced = batch(presets / "bb.yaml", "--out", out, "--force", cwd=tmp_path)
    assert forced.returncode == 0 and statuses(forced.stdout) == {"bb": "rendered"}


def test_bad_arguments_exit_2(tmp_path):
    for args in (["nowhere.yaml"], [tmp_path], ["melt", "--jobs", "0"], ["melt", "--address", "ray://x:1"]):
        result = batch(*args, "--out", tmp_path / "out", cwd=tmp_path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
    assert not (tmp_path / "out").exists()


def test_each_preset_takes_the_set_values_it_has_keys_for(tmp_path):
    # a loop and a clip shortened together: the batch refused itself (each preset lacked one --set)
    loop = preset(tmp_path, "loop")
    clip = preset(tmp_path, "clip", f"mode: video\nstyle: {SAMPLES / 'brick.png'}\n", image=SAMPLES / "pan.mp4",
                  method="arbitrary")
    result = batch(loop, clip, "--out", tmp_path / "out", "--set", "iterate.steps=1", "--set", "video.duration=0.125",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [len(list((tmp_path / "out" / f"{name}_frames").iterdir())) for name in ("loop", "clip")] == [2, 3]
    assert "WARNING: --set iterate.steps=1: not for clip (rendered without it)" in result.stderr
    assert "WARNING: --set video.duration=0.125: not for loop (rendered without it)" in result.stderr


def test_a_batchs_set_values_are_taken_together_and_a_switch_keeps_its_keys(tmp_path):
    # each --set was tried alone: adam's lr was dropped for the lbfgs preset, and video.start failed
    # the loop at render time; and the workers checked each preset again without the --set that
    # switched flow off, so a clip with its own temporal weight failed
    loop = preset(tmp_path, "loop", method="{name: gatys, steps: 2}")
    clip = preset(tmp_path, "clip", f"mode: video\nstyle: {SAMPLES / 'brick.png'}\nvideo: {{temporal: {{weight: 0.5}}}}\n",
                  image=SAMPLES / "pan.mp4", method="arbitrary")
    result = batch(loop, clip, "--out", tmp_path / "out", "--set", "method.optimizer=adam", "--set", "method.lr=0.05",
                   "--set", "video.start=0.5", "--set", "video.duration=0.125", "--set", "video.temporal.flow=none",
                   cwd=tmp_path)
    assert result.returncode == 0 and statuses(result.stdout) == {"loop": "rendered", "clip": "rendered"}, result.stderr
    assert "method.lr=0.05: not for clip" in result.stderr and "video.start=0.5: not for loop" in result.stderr
    assert "method.lr=0.05: not for loop" not in result.stderr and "method.optimizer=adam: not for loop" not in result.stderr


def test_two_presets_of_one_name_are_refused_naming_both_files(tmp_path):
    first = preset(tmp_path, "same")
    (tmp_path / "other.yaml").write_text(first.read_text())
    unreached = ["--set", "iterate.blend=0: 0.5, 9: 0.4"]  # a warning, were the batch not refused
    result = batch(tmp_path, "--out", tmp_path / "out", "--quiet", *unreached, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr == (f"error: {tmp_path / 'same.yaml'}: named 'same', as "
                                                        f"{tmp_path / 'other.yaml'} is: its outputs would replace that "
                                                        "one's; give it another name\n")
    assert not (tmp_path / "out").exists()


def test_a_preset_that_fails_to_load_neither_takes_a_set_nor_a_name(tmp_path):
    """A mistyped --set became a warning when another preset failed on its own, and a failing file
    was named after its file (`loop`), clashing with a good preset of that name: the batch refused."""
    loop = preset(tmp_path, "loop")
    (tmp_path / "bad").mkdir()
    bad = preset(tmp_path / "bad", "loop-other", "seed: -1\n").rename(tmp_path / "bad" / "loop.yaml")
    typo = batch(loop, bad, "--out", tmp_path / "out", "--set", "iterate.stpes=2", cwd=tmp_path)
    assert typo.returncode == 2 and "iterate.stpes: unknown key (did you mean steps?)" in typo.stderr, typo.stderr
    result = batch(loop, bad, "--out", tmp_path / "out", cwd=tmp_path)
    rows = [tuple(cell.strip() for cell in line.split("│")[1:3]) for line in result.stdout.splitlines() if line.count("│") >= 5]
    assert result.returncode == 1 and {("loop", "rendered"), ("loop", "failed")} <= set(rows), result.stdout + result.stderr
    assert "seed: expected a whole number between 0 and" in result.stdout + result.stderr


def test_a_preset_named_as_a_split_videos_chunk_fails_alone(tmp_path):
    clip = preset(tmp_path, "clip", f"mode: video\nstyle: {SAMPLES / 'brick.png'}\nvideo: {{duration: 0.5}}\n",
                  image=SAMPLES / "pan.mp4", method="arbitrary")
    twin = preset(tmp_path, "clip.part0")
    result = batch(clip, twin, "--out", tmp_path / "out", "--split", "2", "--overlap", "2", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert statuses(result.stdout) == {"clip": "rendered", "clip.part0": "failed"}
    assert "clip.part0: named as a chunk of the split video clip" in result.stdout + result.stderr


def test_a_worker_killed_mid_render_is_a_failure_reported_not_a_traceback(tmp_path):
    loops = [preset(tmp_path, name) for name in ("one", "two")]
    result = subprocess.run([sys.executable, "-m", "animator", "batch", *map(str, loops), "--out", str(tmp_path / "out"),
                             "--jobs", "2"], cwd=tmp_path, capture_output=True, text=True,
                            env={**__import__("os").environ, "ANIMATOR_FAULT": "frame:2"})  # each worker SIGKILLs itself
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert set(statuses(result.stdout).values()) == {"failed"} and "a worker process died" in result.stdout + result.stderr


def test_workers_of_a_batch_killed_outright_stop_and_the_batch_resumes(tmp_path):
    # a kill -9 of the batch left its workers rendering on, orphaned, and a rerun failed on the
    # work folders' locks they held
    import os
    import signal
    import time

    loops = [preset(tmp_path, name, image=SAMPLES / "coffee.png").read_text() for name in ("one", "two")]
    for name, text in zip(("one", "two"), loops):
        (tmp_path / f"{name}.yaml").write_text(text.replace("steps: 3", "steps: 400"))
    command = [sys.executable, "-m", "animator", "batch", tmp_path / "one.yaml", tmp_path / "two.yaml", "--out",
               tmp_path / "out", "--jobs", "2", "--quiet"]
    victim = subprocess.Popen(list(map(str, command)), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "ANIMATOR_CHECKPOINT_SECONDS": "0"})
    manifests = [tmp_path / "out" / f".{name}.work" / "manifest.json" for name in ("one", "two")]
    deadline = time.monotonic() + 120
    while not all(m.exists() for m in manifests) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(pid) for task in Path(f"/proc/{victim.pid}/task").iterdir()
               for pid in (task / "children").read_text().split()]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert len(workers) >= 2, workers
    while any(Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
              for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = [pid for pid in workers if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
    for pid in orphans:  # not left to render on after this test
        os.kill(pid, signal.SIGKILL)
    assert not orphans, "the workers render on"
    rerun = subprocess.run(list(map(str, command)), cwd=tmp_path, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert all(len(list((tmp_path / "out" / f"{name}_frames").iterdir())) == 401 for name in ("one", "two"))


def test_ctrl_c_while_a_batchs_workers_start_is_one_line(tmp_path):
    """Pressed while the workers started (their imports), it printed each worker's traceback."""
    import os
    import signal
    import time

    loops = [preset(tmp_path, name) for name in ("one", "two")]
    command = [sys.executable, "-m", "animator", "batch", *loops, "--out", tmp_path / "out", "--jobs", "2", "--quiet"]
    batch = subprocess.Popen(list(map(str, command)), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while len(workers_of(batch.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(workers_of(batch.pid)) == 2
    os.killpg(batch.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole group, the workers as they start
    out, err = batch.communicate(timeout=120)
    assert batch.returncode == 130 and err == "interrupted: run the same command again to resume\n", err


def test_ctrl_c_while_a_batchs_workers_render_ends_it_at_once_and_it_resumes(tmp_path):
    """A worker handed its stopped render back and waited idle for the batch's own stop, which had
    come already: the batch waited out its 10 s of grace, then killed the workers."""
    import os
    import signal
    import time

    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text(preset(tmp_path, name, image=SAMPLES / "coffee.png").read_text()
                                               .replace("steps: 3", "steps: 400"))
    command = [sys.executable, "-m", "animator", "batch", "one.yaml", "two.yaml", "--out", "out", "--jobs", "2", "--quiet"]
    batch = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, env={**os.environ, "ANIMATOR_CHECKPOINT_SECONDS": "0"})
    manifests = [tmp_path / "out" / f".{name}.work" / "manifest.json" for name in ("one", "two")]
    deadline = time.monotonic() + 120
    while not all(m.exists() for m in manifests) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(batch.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to the whole group
    pressed = time.monotonic()
    out, err = batch.communicate(timeout=120)
    assert batch.returncode == 130 and err == "interrupted: run the same command again to resume\n", err
    assert time.monotonic() - pressed < 8, "the batch waited out its workers' grace"
    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert all(len(list((tmp_path / "out" / f"{name}_frames").iterdir())) == 401 for name in ("one", "two"))


def workers_of(pid: int) -> list[int]:
    """The worker processes a batch has started (not multiprocessing's resource tracker)."""
    found = []
    for child in (int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:  # ended meanwhile
            pass
    return found


@pytest.fixture(scope="module")
def ray_instance():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_tasks_ask_for_a_gpu_and_render_on_the_one_they_get(tmp_path):
    """Ray shows a task the GPU it gives it alone, numbered 0: `cuda:1` failed there ("only 1 CUDA
    device(s) present"), and `auto` asked for none, so every task of a node shared its first GPU.
    (No GPU here: Ray's scheduling is stood in for, and what each task asks of it is checked.)"""
    import types

    from animator.batch.executors import RayExecutor
    from animator.batch.task import Result, Task
    from animator.preset import load_preset, parse_overrides

    asked = []

    class Remote:
        def options(self, **resources):
            asked.append(resources)
            return self

        def remote(self, plain, files, threads, part, origin):
            asked[-1]["device"] = plain["device"]
            return len(asked)

    ray = types.SimpleNamespace(remote=lambda function: Remote(), wait=lambda refs, num_returns: (refs[:1], refs[1:]),
                                get=lambda ref: (Result("t", "failed", error="stood in"), {}),
                                exceptions=types.SimpleNamespace(RayError=RuntimeError))
    executor = RayExecutor.__new__(RayExecutor)
    executor.ray, executor.cpus, executor.threads = ray, 2, 2
    for gpus, device, expected in ((True, "cuda:1", (1, "cuda")), (True, "auto", (1, "auto")), (False, "auto", (0, "auto")),
                                   (True, "cpu", (0, "cpu"))):
        executor.gpus = gpus
        preset = load_preset(PRESETS / "melt.yaml", parse_overrides([f"device={device}"]))
        list(executor.run([Task(preset, tmp_path / device)]))
        assert (asked[-1]["num_gpus"], asked[-1]["device"]) == expected, (gpus, device)
    executor.gpus, count = False, len(asked)  # a GPU asked of a cluster without one: the task waited forever, silent
    preset = load_preset(PRESETS / "melt.yaml", parse_overrides(["device=cuda"]))
    (result,) = executor.run([Task(preset, tmp_path / "none")])
    assert result.failed and result.error == "melt: device cuda: the Ray cluster has no GPU" and len(asked) == count


def test_a_ray_address_that_does_not_answer_is_one_line():
    """Ray's start retried it for minutes, deaf to Ctrl-C half a minute at a time."""
    from animator.batch.executors import reachable
    from animator.errors import AnimatorError

    with pytest.raises(AnimatorError, match=r"--address 127.0.0.1:1: cannot reach a Ray cluster there \(connection refused\)"):
        reachable("127.0.0.1:1")
    with pytest.raises(AnimatorError, match="ray://127.0.0.1:1: cannot reach"):
        reachable("ray://127.0.0.1:1")


def test_a_remote_failure_names_the_input_where_the_driver_has_it(tmp_path):
    """It named the worker's temporary copy (/tmp/animator-xxxx/in/clip.mp4), gone by then."""
    from animator.batch.task import render_shipped, ship
    from animator.preset import load_preset

    data = (SAMPLES / "pan.mp4").read_bytes()
    (tmp_path / "clip.mp4").write_bytes(data[:len(data) // 2])  # cut short: refused when the render opens it
    (tmp_path / "clip.yaml").write_text(f"name: clip\nmode: video\ninput: clip.mp4\nstyle: {SAMPLES / 'brick.png'}\n"
                                        "size: 64\noutputs: [{format: mp4}]\n")
    preset = load_preset(tmp_path / "clip.yaml")
    from animator.preset.resolve import anchor

    result, _ = render_shipped(*ship(preset), origin=str(anchor(preset)))
    assert result.failed and str(tmp_path / "clip.mp4") in result.error and "animator-" not in result.error, result.error


def test_ray_renders_the_frames_the_local_executor_does(tmp_path, ray_instance):
    from animator.batch.executors import LocalExecutor, RayExecutor
    from animator.batch.plan import plan
    from animator.batch.run import run_batch

    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "coffee.png").write_bytes((SAMPLES / "coffee.png").read_bytes())
    paths = [preset(tmp_path, "multi"),
             preset(tmp_path, "morph", f"style: [{{image: {SAMPLES / 'brick.png'}, at: 0}}, "
                                       f"{{image: {SAMPLES / 'hubble_deep_field.jpg'}, at: 3}}]\n",
                    image=tmp_path / "inputs" / "coffee.png", method="arbitrary"),
             preset(tmp_path, "clip", f"mode: video\nstyle: {SAMPLES / 'brick.png'}\n"
                                      "video: {duration: 0.2}\n", image=SAMPLES / "pan.mp4", method="arbitrary")]
    local, remote = tmp_path / "local", tmp_path / "ray"
    results = {"local": run_batch(plan(paths, [], local, False), LocalExecutor(jobs=2), local),
               "ray": run_batch(plan(paths, [], remote, False), RayExecutor(jobs=2), remote)}
    assert [r.status for r in results["local"]] == [r.status for r in results["ray"]] == ["rendered"] * 3
    for name in ("multi", "morph", "clip"):
        a, b = sorted((local / f"{name}_frames").iterdir()), sorted((remote / f"{name}_frames").iterdir())
        assert len(a) == len(b) >= 4 and all(np.array_equal(read_image(x), read_image(y)) for x, y in zip(a, b))
        assert json.loads((remote / f"{name}.json").read_text())["fingerprint"] == \
            json.loads((local / f"{name}.json").read_text())["fingerprint"]  # recorded as this machine's render
    assert statuses_of(run_batch(plan(paths, [], remote, False), RayExecutor(jobs=2), remote)) == ["up to date"] * 3


def statuses_of(results) -> list[str]:
    return [r.status for r in results]


def test_a_split_video_joins_without_a_seam(tmp_path):
    from animator.batch.split import cut
    from animator.metrics.video import warping_error
    from animator.media.source import VideoSource

    path = tmp_path / "clip.yaml"
    path.write_text(f"name: clip\nmode: video\ninput: {CHAPLIN}\nstyle: {SAMPLES / 'hubble_deep_field.jpg'}\nsize: 160\n"
                    "video: {duration: 3}\noutputs: [{format: mp4, crf: 12}]\n")
    left = tmp_path / "whole" / ".clip.split" / ".clip.part0.work"  # a split of it stopped part-way, then rendered whole:
    left.mkdir(parents=True)  # its chunks' frames stayed for good
    (left / "segment-000000.mkv").write_bytes(b"frames")
    (tmp_path / "split" / ".clip.work").mkdir(parents=True)  # and the other way round
    (tmp_path / "split" / ".clip.work" / "segment-000000.mkv").write_bytes(b"frames")
    whole = batch(path, "--out", tmp_path / "whole", cwd=tmp_path)
    split = batch(path, "--out", tmp_path / "split", "--split", "3", "--jobs", "2", cwd=tmp_path)
    assert not (tmp_path / "whole" / ".clip.split").exists() and not (tmp_path / "split" / ".clip.work").exists()
    assert whole.returncode == split.returncode == 0, split.stderr
    (facts_a, frames_a), (facts_b, frames_b) = (decode_video(tmp_path / d / "clip.mp4") for d in ("whole", "split"))
    assert len(frames_a) == len(frames_b) == 75 and facts_a["rate"] == facts_b["rate"]
    assert facts_a["audio"] == facts_b["audio"] == 1
    import av

    lengths = []
    for folder in ("whole", "split"):
        with av.open(str(tmp_path / folder / "clip.mp4")) as container:
            lengths.append(float(container.streams.audio[0].duration * container.streams.audio[0].time_base))
    assert abs(lengths[0] - lengths[1]) < 0.05
    assert not (tmp_path / "split" / ".clip.split").exists()
    from animator.batch.plan import plan

    def current(folder: str, *split: int) -> bool:  # whether a batch would call the render up to date
        return plan([path], [], tmp_path / folder, False, *split)[0].current is not None

    # the seams are cross-faded: a split render is not the whole one, nor one cut another way
    assert current("whole") and current("split", 3, 12)
    assert not current("split") and not current("whole", 3, 12) and not current("split", 2, 12)
    assert not current("split", 3, 6)

    errors = warping_error((f.image for f in VideoSource(tmp_path / "split" / "clip.mp4")),
                           (f.image for f in VideoSource(CHAPLIN)))["per_frame"]  # by frame
    seams = {i for chunk in cut(75, 3, 12)[1:] for i in range(chunk.warm, chunk.start + 2)}
    at_seams = np.mean([e for i, e in errors.items() if i in seams])
    elsewhere = np.mean([e for i, e in errors.items() if i not in seams])
    assert at_seams <= 1.5 * elsewhere, (at_seams, elsewhere)


def test_a_split_takes_the_names_lock_before_it_looks_at_the_outputs_places(tmp_path):
    """A render finishing between the two (torch loads between them: 1-2 s) let the split render
    every chunk, then fail on the render's own output as "came in the place of this render's"."""
    from animator.batch.split import Split
    from animator.errors import AnimatorError
    from animator.preset import load_preset
    from animator.render.resume import Checkpoint

    path = tmp_path / "clip.yaml"
    path.write_text(f"name: clip\nmode: video\ninput: {CHAPLIN}\nstyle: {SAMPLES / 'brick.png'}\nsize: 64\n"
                    "video: {duration: 1}\noutputs: [{format: mp4}]\n")
    preset = load_preset(path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "clip.mp4").write_text("a render's, finished meanwhile (not a video here: in the way)")
    rendering = Checkpoint(tmp_path / "out" / ".clip.work", preset)
    rendering.lock()
    try:
        with pytest.raises(AnimatorError, match="another render of 'clip' is writing here"):
            Split(preset, tmp_path / "out", 2, 4)
    finally:
        rendering.release(done=False)


def test_a_split_video_whose_music_is_only_its_sound_renders(tmp_path):
    # each chunk writes frames alone, so the music was "heard by nothing" there and every chunk failed
    path = tmp_path / "scored.yaml"
    path.write_text(f"name: scored\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nstyle: [{SAMPLES / 'brick.png'}]\nsize: 48\n"
                    f"audio: {SAMPLES / 'groove.m4a'}\nvideo: {{duration: 0.5}}\noutputs: [{{format: mp4}}]\n")
    result = batch(path, "--out", tmp_path / "out", "--split", "2", "--overlap", "2", cwd=tmp_path)
    assert result.returncode == 0 and statuses(result.stdout) == {"scored": "rendered"}, result.stdout + result.stderr
    facts, frames = decode_video(tmp_path / "out" / "scored.mp4")
    assert len(frames) == 12 and facts["audio"] == 1


def test_a_failures_line_names_its_preset_once(capsys):
    # a render's own message may begin with the preset's name: the batch printed "nanr: nanr: frame 0 ..."
    from animator.batch.task import Result
    from animator.cli import print_batch

    print_batch([Result("nanr", "failed", error="nanr: frame 0 came out of the render as NaN or infinity"),
                 Result("other", "failed", error="p.yaml:3: size: expected a whole number")], 1.0)
    lines = capsys.readouterr().err.splitlines()
    assert "nanr: frame 0 came out of the render as NaN or infinity" in lines
    assert "other: p.yaml:3: size: expected a whole number" in lines


@pytest.mark.parametrize("start, duration", [(2, 1.1), (0, 0.9)])
def test_a_split_span_has_the_whole_spans_frames(tmp_path, start, duration):
    # the last chunk was given the span's end in seconds from its own start, which rounded to a
    # frame more or less than the whole span's count (28 against 27, 22 against 23), exit 0
    path = tmp_path / "clip.yaml"
    path.write_text(f"name: clip\nmode: video\ninput: {CHAPLIN}\nmethod: {{name: multistyle, style: 3}}\nsize: 48\n"
                    f"video: {{start: {start}, duration: {duration}, temporal: {{flow: none}}}}\noutputs: [{{format: png}}]\n")
    assert batch(path, "--out", tmp_path / "whole", cwd=tmp_path).returncode == 0
    split = batch(path, "--out", tmp_path / "split", "--split", "3", "--overlap", "2", cwd=tmp_path)
    assert split.returncode == 0, split.stderr
    whole, parts = (sorted((tmp_path / d / "clip_frames").iterdir()) for d in ("whole", "split"))
    assert len(parts) == len(whole) == {1.1: 27, 0.9: 22}[duration]  # 27.5 and 22.5 frames: an exact half left out
    assert all(np.array_equal(read_image(a), read_image(b)) for a, b in zip(whole, parts))  # per frame: the same pictures


def test_an_input_changed_while_the_render_runs_leaves_it_out_of_date(tmp_path):
    # the record took the inputs' checksums when it was written: a style image replaced while the
    # render ran was recorded as the one the frames were made from, and the batch called it done
    from animator.preset import load_preset
    from animator.render.engine import load
    from animator.render.record import up_to_date

    style = tmp_path / "style.png"
    style.write_bytes((SAMPLES / "brick.png").read_bytes())
    path = preset(tmp_path, "swap", f"style: {style}\n", method="arbitrary")
    swapped = lambda: style.write_bytes((SAMPLES / "coffee.png").read_bytes())  # noqa: E731
    load(load_preset(path)).run(tmp_path / "out", started=swapped)
    assert up_to_date(load_preset(path), tmp_path / "out") is None
    assert statuses(batch(path, "--out", tmp_path / "out", cwd=tmp_path).stdout) == {"swap": "rendered"}
    assert up_to_date(load_preset(path), tmp_path / "out") is not None


def test_a_batch_names_each_preset_as_the_command_named_it(tmp_path, monkeypatch):
    """Its messages named a preset by its full path where render, preview and validate name it as
    typed (the README's rule for every message after loading)."""
    from animator.batch.plan import find_presets

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "x.yaml").write_text("name: x\n")
    monkeypatch.chdir(tmp_path)
    assert find_presets(["p/x.yaml", "p/../p/x.yaml", str(tmp_path / "p")], PRESETS) == [Path("p/x.yaml")]


def test_a_ray_batch_with_nothing_to_render_does_not_start_ray(tmp_path):
    """Every preset up to date, it started Ray all the same (5.6 s against 1 for the local check),
    and so needed the cluster's address to answer to say so."""
    tiny = ("--set", "size=32", "--set", "iterate.steps=2", "--out", tmp_path / "out")
    assert batch("melt", *tiny, cwd=tmp_path).returncode == 0
    again = batch("melt", *tiny, "--executor", "ray", "--address", "127.0.0.1:1", cwd=tmp_path)
    assert again.returncode == 0 and "melt: up to date" in again.stdout + again.stderr, again.stderr


def test_ctrl_c_is_held_whichever_thread_the_signal_lands_on():
    """Blocked in the main thread, a Ctrl-C the kernel handed to another thread (one started
    earlier) still raised KeyboardInterrupt in the main one while the workers' start-up was being
    written to them: a worker read nothing and printed a traceback (one run in a few under load)."""
    import signal
    import threading
    import time

    from animator.batch.executors import ctrl_c_held

    other, done, reached = threading.Thread(target=lambda: done.wait()), threading.Event(), []
    other.start()  # started before the hold: Ctrl-C not blocked there
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with ctrl_c_held():
                signal.pthread_kill(other.ident, signal.SIGINT)
                for _ in range(20):  # Python code runs meanwhile, where a pending handler would run
                    time.sleep(0.005)
                reached.append(True)
    finally:
        signal.signal(signal.SIGINT, previous)
        done.set()
        other.join()
    assert reached == [True]


@pytest.mark.parametrize("frames, parts, overlap", [(100, 4, 12), (30, 8, 12), (25, 3, 12), (5, 4, 12), (48, 48, 0)])
def test_chunks_tile_the_video_each_owning_more_frames_than_the_overlap(frames, parts, overlap):
    """A chunk warms up on the frames its predecessor owns, and the join fades over them: one that
    owns no more than the overlap would warm up from before its predecessor began."""
    from animator.batch.split import cut

    chunks = cut(frames, parts, overlap)
    assert 1 <= len(chunks) <= parts and chunks[0].start == 0 and chunks[-1].end == frames
    assert all(a.end == b.start for a, b in zip(chunks, chunks[1:]))
    assert all(c.end - c.start > overlap for c in chunks) or len(chunks) == 1
    assert all(c.warm == max(0, c.start - overlap) for c in chunks)
    assert len(chunks) == min(parts, max(1, frames // (overlap + 1)))  # as many as the length allows


def test_a_folder_of_presets_gives_its_yaml_and_yml_files_in_order(tmp_path):
    from animator.batch.plan import find_presets

    for name in ("b.yaml", "a.yml", "c.yaml", "notes.txt"):
        (tmp_path / name).write_text("name: x\n")
    assert [p.name for p in find_presets([str(tmp_path)], PRESETS)] == ["b.yaml", "c.yaml", "a.yml"]


def test_a_folder_without_presets_named_as_a_bundled_one_does_not_hide_it(tmp_path, monkeypatch):
    """`animator batch melt --out melt` made the folder, and the same batch again found no presets in it."""
    from animator.batch.plan import find_presets

    (tmp_path / "melt").mkdir()
    monkeypatch.chdir(tmp_path)
    assert find_presets(["melt"], PRESETS) == [PRESETS / "melt.yaml"]
    (tmp_path / "melt" / "mine.yaml").write_text("name: x\n")  # a folder of presets is what it names
    assert find_presets(["melt"], PRESETS) == [Path("melt/mine.yaml")]


def test_a_batchs_results_follow_its_presets_whatever_order_they_finish_in(tmp_path):
    from animator.batch.plan import Item
    from animator.batch.run import run_batch
    from animator.batch.task import Result
    from animator.preset import load_preset

    class Backwards:  # an executor whose tasks finish last first, as parallel workers' may
        def run(self, tasks):
            for task in reversed(tasks):
                yield Result(task.name, "rendered", 3)

    items = [Item(p, load_preset(p)) for p in (preset(tmp_path, "a"), preset(tmp_path, "bb"), preset(tmp_path, "ccc"))]
    items.insert(1, Item(tmp_path / "bad.yaml", error="bad.yaml: broken"))
    items[2].current = {"frames": 3, "outputs": ["bb_frames"]}  # up to date
    results = run_batch(items, Backwards(), tmp_path / "out")
    assert [(r.name, r.status) for r in results] == [("a", "rendered"), ("bad", "failed"), ("bb", "up to date"),
                                                     ("ccc", "rendered")]


def test_outputs_received_from_a_remote_worker_replace_what_a_cut_transfer_left(tmp_path):
    from animator.batch.executors import _received

    left = tmp_path / ".p_frames.partial"
    left.mkdir()
    (left / "000007.png").write_bytes(b"from a transfer cut short")
    staged = _received({"p_frames/000000.png": b"0", "p_frames/000001.png": b"1", "p.mp4": b"video"}, tmp_path)
    assert staged == {tmp_path / "p_frames": left, tmp_path / "p.mp4": tmp_path / ".p.mp4.partial"}
    assert sorted(p.name for p in left.iterdir()) == ["000000.png", "000001.png"]
    assert (tmp_path / ".p.mp4.partial").read_bytes() == b"video"


def split_of_pan(tmp_path: Path, duration: str, parts: int = 3, overlap: int = 3):
    """A Split of samples/pan.mp4 (48 frames at 24 fps) whose chunks' frames are written here, in
    place of a render: each frame's red is its source frame's number (x10), its green its chunk's
    colour (0 for even chunks, 240 for odd ones)."""
    from PIL import Image

    from animator.batch.split import Split
    from animator.preset import load_preset

    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "clip.yaml"
    path.write_text(f"name: clip\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nmethod: {{name: multistyle, style: 3}}\n"
                    f"size: 48\nvideo: {{{duration}}}\noutputs: [{{format: png}}]\n")
    split = Split(load_preset(path), tmp_path / "out", parts, overlap)
    for i, chunk in enumerate(split.chunks):
        folder = split.work / f"clip.part{i}_frames"
        folder.mkdir(parents=True)
        for n, index in enumerate(range(chunk.warm, chunk.end)):
            image = np.zeros((8, 8, 3), np.uint8)
            image[..., 0], image[..., 1] = 5 * index, 240 * (i % 2)
            Image.fromarray(image).save(folder / f"frame-{n:06d}.png")
    return split


def joined(split) -> tuple[object, list[np.ndarray]]:
    from animator.batch.task import Result

    result = split.join([Result(f"clip.part{i}", "rendered", c.end - c.warm) for i, c in enumerate(split.chunks)])
    out = split.out_dir / "clip_frames"
    return result, [read_image(f) for f in sorted(out.iterdir())] if out.is_dir() else []


def test_a_split_join_cross_fades_each_overlap_evenly_from_one_chunk_to_the_next(tmp_path):
    split = split_of_pan(tmp_path, "duration: 1")
    result, frames = joined(split)
    assert result.status == "rendered" and result.frames == len(frames) == 24
    assert [int(f[0, 0, 0]) for f in frames] == [5 * i for i in range(24)]  # each source frame once, in order
    green = [int(f[0, 0, 1]) for f in frames]
    for i, chunk in enumerate(split.chunks):
        end = split.chunks[i + 1].warm if i + 1 < len(split.chunks) else chunk.end
        assert all(green[f] == 240 * (i % 2) for f in range(chunk.start, end))  # between the fades: the chunk's alone
        if i == 0:
            continue
        fade = green[chunk.warm - 1:chunk.start + 1]  # from the last frame of chunk i-1 alone to the first of chunk i's
        steps = np.diff(fade) * (1 if i % 2 else -1)
        assert fade[0] == 240 * ((i - 1) % 2) and fade[-1] == 240 * (i % 2)
        assert all(steps > 0) and steps.max() - steps.min() <= 1, fade  # every overlap frame a mix, in even steps


def test_a_split_join_refuses_a_chunk_with_frames_missing(tmp_path):
    from animator.errors import MediaError

    for duration, short in (("duration: 1", 1), ("duration: 1", 2)):  # a middle chunk, and a span's last one
        split = split_of_pan(tmp_path / str(short), duration)
        chunk = split.chunks[short]
        sorted((split.work / f"clip.part{short}_frames").iterdir())[-1].unlink()
        with pytest.raises(MediaError, match=f"pan.mp4: chunk {short} decoded {chunk.end - chunk.warm - 1} frames "
                                             f"where {chunk.end - chunk.warm} were expected"):
            joined(split)
        assert not (split.out_dir / "clip_frames").exists()


def test_a_split_to_the_clips_end_runs_its_last_chunk_to_the_real_end(tmp_path):
    # the clip's length is its file's estimate: the last chunk is given no length of its own, and
    # the join takes the frames it decoded, one fewer than estimated here
    split = split_of_pan(tmp_path, "start: 0.5")
    tasks, finished = split.tasks()
    assert finished == []  # none rendered and recorded
    assert [t.preset.video.duration is None for t in tasks] == [False, False, True]
    assert all(abs(t.preset.video.start + t.preset.video.duration - (0.5 + c.end / 24)) < 1e-9
               for t, c in zip(tasks[:-1], split.chunks))  # the others end where the next chunk owns its first frame
    sorted((split.work / "clip.part2_frames").iterdir())[-1].unlink()
    result, frames = joined(split)
    assert result.status == "rendered" and len(frames) == split.frames - 1 == 35


def test_a_video_rendered_whole_is_up_to_date_for_a_batch_without_split(tmp_path):
    # --split 1, the batch's default, renders whole: it is not a split of one chunk, recorded as cut
    from animator.batch.plan import plan
    from animator.preset import load_preset
    from animator.render.engine import load

    path = tmp_path / "clip.yaml"
    path.write_text(f"name: clip\nmode: video\ninput: {CHAPLIN}\nmethod: {{name: multistyle, style: 3}}\nsize: 32\n"
                    "video: {duration: 0.2, temporal: {flow: none}}\noutputs: [{format: png}]\n")
    load(load_preset(path)).run(tmp_path / "out")
    assert plan([path], [], tmp_path / "out", False)[0].current is not None
    assert plan([path], [], tmp_path / "out", False, 1, 4)[0].current is not None  # no overlap without a cut
    assert plan([path], [], tmp_path / "out", False, 2, 2)[0].current is None


def test_a_split_whose_chunk_failed_keeps_a_whole_render_left_off_part_way(tmp_path):
    from animator.batch.task import Result

    (tmp_path / "out" / ".clip.work").mkdir(parents=True)  # a whole render of it, stopped part-way
    (tmp_path / "out" / ".clip.work" / "segment-000000.mkv").write_bytes(b"frames")
    split = split_of_pan(tmp_path, "duration: 1")
    results = [Result(f"clip.part{i}", "rendered" if i else "failed", error="" if i else "out of memory") for i in range(3)]
    joined = split.join(results)
    assert joined.status == "failed" and joined.error == "clip.part0: out of memory"
    assert (tmp_path / "out" / ".clip.work" / "segment-000000.mkv").read_bytes() == b"frames"  # its frames to resume from
    assert not (tmp_path / "out" / "clip_frames").exists()


def test_a_split_whose_chunks_worker_died_names_the_chunk_once(tmp_path):
    # the chunk's message names it already: the batch printed "clip: clip.part0: clip.part0: a worker process died"
    from animator.batch.executors import WORKER_DIED
    from animator.batch.task import Result

    split = split_of_pan(tmp_path, "duration: 1")
    results = [Result(f"clip.part{i}", "failed", error=f"clip.part{i}: {WORKER_DIED}") for i in range(3)]
    assert split.join(results).error == f"clip.part0: {WORKER_DIED}"


def test_a_chunk_left_off_part_way_is_not_resumed_by_a_chunk_of_another_cut(tmp_path):
    # chunk 0 of a second cut in 2 and of 1.5 s cut in 3 is the same span of the clip, but its `T` (and
    # random draws, music features) are the whole render's: the second resumed the first's frames, exit 0
    import os

    def run(duration: float, parts: int, out: str, fault: str = "") -> subprocess.CompletedProcess:
        path = tmp_path / "clip.yaml"
        path.write_text(f"name: clip\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nsize: 32\nmethod: {{name: arbitrary}}\n"
                        f"style: [{{image: {SAMPLES / 'brick.png'}}}, {{image: {SAMPLES / 'coffee.png'}, weight: '3 * t / T'}}]\n"
                        f"video: {{duration: {duration}, temporal: {{flow: none}}}}\noutputs: [{{format: png}}]\n")
        env = {**os.environ, "ANIMATOR_CHECKPOINT_SECONDS": "0", **({"ANIMATOR_FAULT": fault} if fault else {})}
        return subprocess.run([sys.executable, "-m", "animator", "batch", str(path), "--out", str(tmp_path / out),
                               "--split", str(parts), "--overlap", "2"], cwd=tmp_path, capture_output=True, text=True, env=env)

    assert run(1.0, 2, "out", fault="frame:8").returncode == -9  # chunk 0 of 12 frames killed at its 8th
    assert (tmp_path / "out" / ".clip.split" / ".clip.part0.work" / "manifest.json").exists()
    resumed, whole = run(1.5, 3, "out"), run(1.5, 3, "clean")
    assert resumed.returncode == whole.returncode == 0, resumed.stdout + resumed.stderr
    frames = [[read_image(f) for f in sorted((tmp_path / out / "clip_frames").iterdir())] for out in ("out", "clean")]
    assert len(frames[0]) == len(frames[1]) == 36
    assert all(np.array_equal(a, b) for a, b in zip(*frames))


def split_clip(tmp_path: Path) -> Path:
    """A preset of the pan's first second (24 frames), which `run_split` cuts into two chunks of 12
    and 14 frames (with an overlap of 2)."""
    path = tmp_path / "clip.yaml"
    path.write_text(f"name: clip\nmode: video\ninput: {SAMPLES / 'pan.mp4'}\nsize: 32\nmethod: {{name: multistyle, style: 3}}\n"
                    "video: {duration: 1, temporal: {flow: none}}\noutputs: [{format: png}]\n")
    return path


def run_split(path: Path, out: Path, fault: str = "", *more: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "ANIMATOR_CHECKPOINT_SECONDS": "0", **({"ANIMATOR_FAULT": fault} if fault else {})}
    return subprocess.run([sys.executable, "-m", "animator", "batch", str(path), "--out", str(out), "--split", "2",
                           "--overlap", "2", *more], cwd=path.parent, capture_output=True, text=True, env=env)


def batch_of_split(path: Path, out: Path, force: bool = False) -> tuple[list[str], list]:
    """The chunks a batch of the split preset gives its executor, and its results."""
    from animator.batch.executors import LocalExecutor
    from animator.batch.plan import plan
    from animator.batch.run import run_batch

    given = []

    class Watched(LocalExecutor):
        def run(self, tasks):
            given.extend(task.name for task in tasks)
            return super().run(tasks)

    return given, run_batch(plan([path], [], out, force, 2, 2), Watched(jobs=1), out, 2, 2)


def test_a_split_stopped_part_way_keeps_its_finished_chunks_and_renders_the_rest(tmp_path):
    # a batch whose worker died (or that was stopped) rendered every chunk of a split video again
    from animator.preset import load_preset
    from animator.preset.resolve import Part, chunk
    from animator.render.record import up_to_date

    path = split_clip(tmp_path)
    assert run_split(path, tmp_path / "out", "frame:16").returncode == -9  # chunk 0's 12 frames done, chunk 1 killed at its 4th
    work = tmp_path / "out" / ".clip.split"
    assert (work / "clip.part0.json").exists() and (work / ".clip.part1.work" / "manifest.json").exists()
    part0 = chunk(load_preset(path), 0, 0.0, 0.5)  # its 12 frames
    assert up_to_date(part0, work, part=Part(0, 24)) is not None
    assert up_to_date(part0, work, part=Part(0, 36)) is None  # the same span of a longer render: its `T` is not this one's
    given, results = batch_of_split(path, tmp_path / "out")
    assert given == ["clip.part1"] and statuses_of(results) == ["rendered"]
    assert run_split(path, tmp_path / "clean").returncode == 0
    frames = [[read_image(f) for f in sorted((tmp_path / out / "clip_frames").iterdir())] for out in ("out", "clean")]
    assert len(frames[0]) == len(frames[1]) == 24
    assert all(np.array_equal(a, b) for a, b in zip(*frames))
    # every chunk finished, the join not: the next run joins at once
    assert run_split(path, tmp_path / "joined", "frame:30").returncode == -9  # the join killed at its 4th frame (12 + 14 rendered)
    assert (tmp_path / "joined" / ".clip.split" / "clip.part1.json").exists()
    given, results = batch_of_split(path, tmp_path / "joined")
    assert given == [] and statuses_of(results) == ["rendered"]
    assert all(np.array_equal(read_image(a), read_image(b)) for a, b in
               zip(sorted((tmp_path / "joined" / "clip_frames").iterdir()), sorted((tmp_path / "clean" / "clip_frames").iterdir())))


def test_force_renders_a_split_videos_finished_chunks_again(tmp_path):
    # `--force` renders anyway: a chunk an earlier run finished was kept, and the video only joined again
    path = split_clip(tmp_path)
    assert run_split(path, tmp_path / "out", "frame:16").returncode == -9  # chunk 0 finished, 1 not
    given, results = batch_of_split(path, tmp_path / "out", force=True)
    assert given == ["clip.part0", "clip.part1"] and statuses_of(results) == ["rendered"]


@pytest.mark.parametrize("fault, error", [("frame:3:enospc", "out: no space left on device (kept: nothing was written)"),
                                          ("frame:3:error", "internal error: RuntimeError: ANIMATOR_FAULT frame:3:error (faults.py:")])
def test_a_join_that_fails_is_its_videos_failure_and_the_batch_goes_on(tmp_path, monkeypatch, fault, error):
    # a full disk (or a bug) while the chunks were joined ended the whole batch with a traceback
    from animator import faults
    from animator.batch.run import Splits
    from animator.batch.task import Result

    split = split_of_pan(tmp_path, "duration: 1")
    splits = Splits()
    splits.add(split)
    monkeypatch.setattr(faults, "_SPEC", fault)
    monkeypatch.setattr(faults, "_reached", {})
    results = [splits.collect(Result(f"clip.part{i}", "rendered", c.end - c.warm)) for i, c in enumerate(split.chunks)]
    assert results[:-1] == [None, None] and results[-1].failed and error in results[-1].error, results[-1].error
    assert not (tmp_path / "out" / "clip_frames").exists()


def test_a_full_disk_as_a_ray_tasks_outputs_are_published_fails_that_preset_alone(tmp_path, ray_instance, monkeypatch):
    # the driver's publish of what a task sent back ended the whole batch with a traceback
    from animator import faults
    from animator.batch.executors import RayExecutor
    from animator.batch.plan import plan
    from animator.batch.run import run_batch

    paths = [preset(tmp_path, name) for name in ("one", "two")]
    monkeypatch.setattr(faults, "_SPEC", "publish:1:enospc")  # here, the driver's: not the Ray workers'
    monkeypatch.setattr(faults, "_reached", {})
    results = run_batch(plan(paths, [], tmp_path / "out", False), RayExecutor(jobs=2), tmp_path / "out")
    assert sorted(r.status for r in results) == ["failed", "rendered"]
    assert "no space left on device" in next(r.error for r in results if r.failed)
