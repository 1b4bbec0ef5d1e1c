"""A music preset rendered and measured: whether its loop stays alive in every quarter (detail and
colour spread relative to frame 0, change per frame, the whole picture's structure-tensor
coherence) and whether its motion follows the beats. Prints a table and writes
bench/results/music.json.

    python bench/music.py [PRESET] [--size N] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def life(frame: np.ndarray) -> tuple[float, float, float]:
    """Detail (mean Sobel magnitude of the grey picture), colour spread (mean std of LAB a and b)
    and coherence of the summed structure tensor (0: no orientation wins; stripes: 0.85-0.99)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx, gy = cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
    xx, yy, xy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    coherence = np.sqrt((xx - yy) ** 2 + 4 * xy ** 2) / (xx + yy + 1e-9)
    return float(np.hypot(gx, gy).mean()), float((lab[..., 1].std() + lab[..., 2].std()) / 2), float(coherence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", nargs="?", default="pulse")
    parser.add_argument("--size", type=int, help="render size (default: the preset's own)")
    parser.add_argument("--out", type=Path, help="keep the render here (default: a temporary folder)")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from animator.cli import resolve_preset_path
    from animator.media.source import VideoSource
    from animator.preset import load_preset, parse_overrides
    from animator.render.plan import Plan
    from report import save  # bench/ is the script's folder, first on sys.path

    path = resolve_preset_path(args.preset)
    sets = [f"size={args.size}"] if args.size else []
    plan = Plan(load_preset(path, parse_overrides(sets)))
    with tempfile.TemporaryDirectory() as work:
        out = args.out or Path(work)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "animator", "render", str(path), "--out", str(out), "--fresh", "--quiet",
                        *(a for s in sets for a in ("--set", s))], check=True, cwd=ROOT)
        seconds = time.perf_counter() - started
        frames = [f.image for f in VideoSource(out / f"{plan.preset.name}.mp4")]
    figures = np.array([life(f) for f in frames])
    change = np.abs(np.diff(np.stack(frames).astype(np.float32), axis=0)).mean(axis=(1, 2, 3))  # change[t - 1]: t-1 -> t
    quarters = np.array_split(np.arange(1, len(frames)), 4)
    rows = [{"frames": f"{q[0]}-{q[-1]}", "detail": figures[q, 0].mean() / figures[0, 0],
             "colour": figures[q, 1].mean() / figures[0, 1], "change": float(np.median(change[q - 1])),
             "coherence": figures[q, 2].mean()} for q in quarters]
    k = round(plan.timeline.seconds_per_step * float(plan.fps))
    beats = [b * k for b in plan.features.beat_frames if 2 <= b * k < len(frames) - 2]
    on_beat = [change[b - 1] == change[b - 3:b + 2].max() for b in beats]  # the biggest change within two frames
    others = np.setdiff1d(np.arange(1, len(frames)), beats)
    results = {"preset": plan.preset.name, "size": plan.preset.size, "frames": len(frames), "render_seconds": seconds,
               "quarters": rows, "beats": len(beats), "beats_with_peak_motion": int(sum(on_beat)),
               "motion_on_beats_over_elsewhere": float(change[np.array(beats) - 1].mean() / change[others - 1].mean())}

    table = Table(title=f"{plan.preset.name} at {plan.preset.size} px: {len(frames)} frames in {seconds:.0f} s")
    for column in ("frames", "detail", "colour spread", "change /255", "coherence"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row["frames"], f"{row['detail']:.2f}", f"{row['colour']:.2f}", f"{row['change']:.2f}",
                      f"{row['coherence']:.2f}")
    Console().print(table)
    print(f"beats: {results['beats_with_peak_motion']} of {len(beats)} have the largest change within two frames; "
          f"change on beats / elsewhere: {results['motion_on_beats_over_elsewhere']:.2f}")
    save("music", results)


if __name__ == "__main__":
    main()
