"""Batch figures, each as a user runs the command: a batch of 5 presets rendered, then run again
when everything is up to date; and a video rendered whole against split into 3 chunks, with the
warping error at the seams against elsewhere. Prints the figures, writes bench/results/batch.json.

    python bench/batch.py [--seconds 3] [--size 320]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPLIN = ROOT / "tests" / "data" / "chaplin.mp4"
SAMPLES = ROOT / "samples"
OVERLAP = 12  # frames each chunk starts early


def command(*args) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "animator", "batch", *map(str, args), "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=320)
    args = parser.parse_args()

    import numpy as np

    from report import save  # bench/ is the script's folder, first on sys.path

    from animator.batch.split import cut
    from animator.media.source import VideoSource
    from animator.metrics.video import warping_error

    frames = VideoSource(CHAPLIN, 0, args.seconds).frame_count
    if len(cut(frames, 3, OVERLAP)) < 2:
        parser.error(f"{frames} frames are too few to split with {OVERLAP} frames of overlap; give more --seconds")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for i, name in enumerate(("a", "b", "c", "d", "e")):
            (folder / f"{name}.yaml").write_text(f"name: {name}\ninput: {SAMPLES / 'chelsea.png'}\nsize: 96\n"
                                                 f"method: {{name: multistyle, style: {i}}}\niterate: {{steps: 24}}\n")
        results["batch_render_s"] = command(folder, "--out", folder / "out", "--jobs", "2")
        results["batch_up_to_date_s"] = command(folder, "--out", folder / "out")
        print(f"batch of 5 presets: rendered in {results['batch_render_s']:.1f} s; run again, all up to date, "
              f"in {results['batch_up_to_date_s']:.2f} s")

        clip = folder / "clip.yaml"
        clip.write_text(f"name: clip\nmode: video\ninput: {CHAPLIN}\nstyle: {SAMPLES / 'hubble_deep_field.jpg'}\n"
                        f"size: {args.size}\nvideo: {{duration: {args.seconds}}}\noutputs: [{{format: mp4, crf: 12}}]\n")
        results["whole_s"] = command(clip, "--out", folder / "whole")
        results["split_s"] = command(clip, "--out", folder / "split", "--split", "3", "--overlap", str(OVERLAP), "--jobs", "2")
        for name in ("whole", "split"):
            figures = warping_error((f.image for f in VideoSource(folder / name / "clip.mp4")),
                                    (f.image for f in VideoSource(CHAPLIN)))
            errors = figures["per_frame"]  # by frame
            seams = {i for chunk in cut(figures["frames"], 3, OVERLAP)[1:] for i in range(chunk.warm, chunk.start + 2)}
            results[name] = {"warping_error": figures["warping_error"],
                             "at_seams": float(np.mean([e for i, e in errors.items() if i in seams])),
                             "elsewhere": float(np.mean([e for i, e in errors.items() if i not in seams]))}
    split = results["split"]
    print(f"video, first {args.seconds:g} s of chaplin at {args.size} px: whole {results['whole_s']:.1f} s, split into 3 "
          f"on 2 workers {results['split_s']:.1f} s")
    print(f"warping error: whole {results['whole']['warping_error']:.6f}, split {split['warping_error']:.6f}; "
          f"split at its seams {split['at_seams']:.6f} against {split['elsewhere']:.6f} elsewhere "
          f"({split['at_seams'] / split['elsewhere']:.2f}x)")
    save("batch", results)


if __name__ == "__main__":
    main()
