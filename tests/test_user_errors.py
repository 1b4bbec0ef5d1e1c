"""User mistakes that were tracebacks: each is now one line and exit 2, before anything renders."""

from __future__ import annotations

import pytest

from animator.errors import AnimatorError
from tests.conftest import SAMPLES
from tests.faults.test_cases import animator, refused, write

BASE = f"name: base\ninput: {SAMPLES / 'chelsea.png'}\nsize: 32\niterate: {{steps: 1}}\noutputs: [{{format: mp4}}]\n"


@pytest.mark.parametrize("sets, words", [
    (["style=[]"], ["--set style=[]: style: expected self or at least one style image"]),
    (["style=[]", "method.name=gatys"], ["style: expected self or at least one style image"]),
    (["seed=20000000000000"], ["--set seed=20000000000000: seed: expected a whole number between 0 and 4294967295"]),
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
            "ANIMATOR_THREADS=abc: expected a whole number of threads, 1 or more")
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("ANIMATOR_THREADS", "3")
    assert LocalExecutor(jobs=2).threads == 3  # and a good one is the workers' thread count, as a render's


def test_a_device_this_machine_lacks_names_the_preset_that_asked_for_it(tmp_path):
    preset = write(tmp_path, BASE)  # no machine this runs on has eight CUDA devices
    line = refused(animator("render", preset, "--out", tmp_path / "out", "--quiet", "--set", "device=cuda:7", cwd=tmp_path),
                   "device 'cuda:7'")
    assert line.startswith(f"error: {preset}: device 'cuda:7': "), line
