"""Renders killed at random points of every phase, their work folders damaged in between, then run
to the end: the result is the uninterrupted render, frame for frame, or a one-line refusal; never
a different video.

A chain of runs per preset and seed: each run is killed (SIGKILL, through ANIMATOR_FAULT, see
animator/faults.py) at a random point of the next phase (stylizing, closing a checkpoint segment,
after the final encode, between the renames that publish), the work folder is then damaged one of
the ways a crash or a disk does, and the last run goes to the end. ANIMATOR_FAULT_SEEDS=N runs N
seeds a preset (default 1, to keep the suite short).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PRESETS, decode_video

PHASES = ("frame", "segment", "finish", "publish")
SEEDS = range(int(os.environ.get("ANIMATOR_FAULT_SEEDS", "1")))
CASES = {
    "melt": ["--set", "size=32", "--set", "iterate.steps=10"],
    "pan-arbitrary": ["--set", "size=32", "--set", "video.duration=0.5"],  # 12 frames
}


def truncate(segment: Path) -> None:
    os.truncate(segment, segment.stat().st_size // 2)


def garbage(segment: Path) -> None:
    segment.write_bytes(random.Random(segment.stat().st_size).randbytes(segment.stat().st_size))


def empty(segment: Path) -> None:
    segment.write_bytes(b"")


def damage(work: Path, how, rng: random.Random) -> None:
    """One of the ways a crash or a disk damages the work folder, to a random segment."""
    segments = sorted(work.glob("0*.mkv")) if work.is_dir() else []
    if how == "manifest" and (work / "manifest.json").exists():
        (work / "manifest.json").write_text("{not json")
    elif how == "state" and list(work.glob("state-*.pt")):
        max(work.glob("state-*.pt")).unlink()
    elif segments and callable(how):
        how(rng.choice(segments))


def run(name: str, out: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANIMATOR_CHECKPOINT_SECONDS": "0"}  # a segment a frame: kills land between many of them
    if fault:
        env["ANIMATOR_FAULT"] = fault
    # The MP4 lossy, as a user's: with x264's AVX-512 routines it was now and then another stream
    # of the same frames (5 pairs of renders in 73 at this size, killed or not); it is the same one.
    outputs = "outputs=[{format: mp4}, {format: gif}, {format: png}]"
    return subprocess.run([sys.executable, "-m", "animator", "render", PRESETS / f"{name}.yaml", "--out", out, *CASES[name],
                           "--set", outputs, "--quiet"], capture_output=True, text=True, env=env)


def result(out: Path, name: str) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    frames = [np.asarray(Image.open(p)) for p in sorted((out / f"{name}_frames").iterdir())]
    return frames, decode_video(out / f"{name}.mp4")[1], Image.open(out / f"{name}.gif").n_frames


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(CASES))
def test_killed_and_damaged_renders_end_as_the_uninterrupted_one(tmp_path, name, seed):
    rng = random.Random(f"{name}{seed}")
    assert run(name, tmp_path / "whole").returncode == 0
    expected = result(tmp_path / "whole", name)
    frames = len(expected[0])
    out, work = tmp_path / "out", tmp_path / "out" / f".{name}.work"
    damages = [truncate, garbage, empty, "manifest", "state"]
    rng.shuffle(damages)
    for phase, how in zip(PHASES, damages):
        nth = {"frame": rng.randint(2, frames), "segment": rng.randint(1, frames - 2), "finish": 1,
               "publish": rng.randint(1, 3)}[phase]
        killed = run(name, out, f"{phase}:{nth}")
        assert killed.returncode in (-9, 0), killed.stderr  # killed, or done before the point came
        damage(work, how, rng)
    final = run(name, out)
    if final.returncode == 2:  # a refusal must be one line, never a traceback
        assert "Traceback" not in final.stderr and final.stderr.strip().splitlines()[-1].startswith("error: ")
        return
    assert final.returncode == 0, final.stderr
    got = result(out, name)
    assert len(got[0]) == frames and all(np.array_equal(a, b) for a, b in zip(got[0], expected[0]))
    assert len(got[1]) == len(expected[1]) and all(np.array_equal(a, b) for a, b in zip(got[1], expected[1]))
    assert got[2] == expected[2]
    assert not work.exists()
