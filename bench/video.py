"""Video mode speed at 360p: frames per second per method end to end, with and without temporal
consistency, against the same stylize stage on frames in memory (with flow for the temporal
run); the time each stage takes on its own; and peak memory for a 30-frame against a 300-frame
render. Prints tables, writes bench/results/video.json.

Stylize-only runs the renderer's own stylize stage (the same threads and frames in flight) on
frames already decoded into memory, and turns each output into an 8-bit image; nothing is
decoded, flowed, encoded or checkpointed. Stylize + flow is the same with temporal consistency on,
its flow thread running beside the network. End to end is `Render.run`: the file decoded, every
stage running, the MP4 and the resume checkpoint written. The two alternate for --rounds rounds
and each keeps its best, so machine noise falls on both.

    python bench/video.py [--seconds 3] [--rounds 2]
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
STYLE = ROOT / "samples" / "hubble_deep_field.jpg"
METHODS = {"arbitrary": ({"name": "arbitrary"}, 640), "multistyle": ({"name": "multistyle", "style": 7}, 640),
           "gatys": ({"name": "gatys", "steps": 10}, 160)}


def make_job(method: str, seconds: float, flow: str, source: Path = CHAPLIN):
    from animator.preset import preset_from_dict
    from animator.render.engine import load

    options, size = METHODS[method]
    raw = {"name": f"{method}-{flow}", "mode": "video", "input": str(source), "size": size, "method": options,
           "style": "self" if method == "multistyle" else str(STYLE), "outputs": [{"format": "mp4"}],
           "video": {"duration": seconds, "temporal": {"flow": flow}}}
    return load(preset_from_dict(raw, ROOT))


def in_memory(job, images: list) -> float:
    """Seconds for the renderer's stylize stage over frames already in memory, with the job's
    own temporal settings (so with flow, the flow thread runs too)."""
    from animator.media.frame import Frame, to_image
    from animator.render.video import stylize_video

    frames = [Frame(i, i / job.fps, image) for i, image in enumerate(images)]
    start = time.perf_counter()
    loaded = job.loaded
    for _, image, _ in stylize_video(loaded.method, frames, size=job.preset.size, temporal=job.preset.video.temporal,
                                     device=job.device, styles=loaded.styles, clock=loaded.clock):
        to_image(image)
    return time.perf_counter() - start


def end_to_end(job) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        job.run(Path(out), fresh=True)
        return time.perf_counter() - start


def stage_seconds(job, per_frame, images: list) -> dict[str, float]:
    """Each stage alone on the same frames: decode, flow (both directions, mask), stylize (the
    per-frame job's), encode (MP4) and store (the resume checkpoint)."""
    from animator.media.frame import Frame, fit_size, resize
    from animator.media.sink import Mp4Sink, encoding
    from animator.motion.flow import make_backend, pair_flows
    from animator.motion.warp import consistency_mask, motion_boundaries
    from animator.render.resume import Segment

    timing = {}
    start = time.perf_counter()
    decoded = [f.image for f in job.plan.source]
    timing["decode"] = time.perf_counter() - start
    sized = [resize(f, *fit_size(f.shape[1], f.shape[0], job.preset.size)) for f in decoded]
    temporal = job.preset.video.temporal
    backend, start = make_backend("dis", temporal.flow_preset), time.perf_counter()
    for a, b in zip(sized, sized[1:]):
        backward, forward = pair_flows(backend, a, b, temporal.flow_scale)
        consistency_mask(backward, forward) * motion_boundaries(backward)
    timing["flow"] = time.perf_counter() - start
    timing["stylize"] = in_memory(per_frame, images)
    frames = [Frame(i, i / job.fps, image) for i, image in enumerate(sized)]
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with encoding([Mp4Sink(Path(out) / "e.mp4", job.fps)]) as put:
            for frame in frames:
                put(frame)
        timing["encode"] = time.perf_counter() - start
        height, width = sized[0].shape[:2]
        segment, start = Segment(Path(out) / "store.mkv", 0, width, height), time.perf_counter()
        for frame in frames:
            segment.write(frame.image)
        segment.close()
        timing["store"] = time.perf_counter() - start
    return timing


def long_clip(path: Path, frames: int) -> None:
    """A 640x352 clip of `frames` frames: chaplin's frames, looped."""
    from animator.media.frame import Frame, resize
    from animator.media.sink import Mp4Sink, encoding
    from animator.media.source import open_source

    source = [resize(f.image, 640, 352) for f in open_source(CHAPLIN)]
    with encoding([Mp4Sink(path, open_source(CHAPLIN).fps)]) as put:
        for i in range(frames):
            put(Frame(i, 0, source[i % len(source)]))


def peak_memory(clip: Path, frames: int) -> float:
    """Peak resident MiB of a process that renders the first `frames` frames of clip."""
    code = ("import resource, sys; sys.path.insert(0, %r); from video import make_job, end_to_end; from pathlib import Path; "
            "end_to_end(make_job('arbitrary', %r, 'dis', Path(%r))); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
            % (str(Path(__file__).parent), frames / 25, str(clip)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def measure(method: str, seconds: float, rounds: int) -> dict:
    per_frame, temporal = make_job(method, seconds, "none"), make_job(method, seconds, "dis")
    images = [f.image for f in per_frame.plan.source]
    end_to_end(per_frame)  # warm-up: weights, kernels, codecs
    best = dict.fromkeys(("stylize", "stylize+flow", "none", "dis"), float("inf"))
    for _ in range(rounds):
        best["stylize"] = min(best["stylize"], in_memory(per_frame, images))
        best["stylize+flow"] = min(best["stylize+flow"], in_memory(temporal, images))
        best["none"] = min(best["none"], end_to_end(per_frame))
        best["dis"] = min(best["dis"], end_to_end(temporal))
    n = len(images)
    return {"frames": n, "fps_stylize_only": n / best["stylize"], "fps_stylize_flow": n / best["stylize+flow"],
            "fps_per_frame": n / best["none"], "fps_temporal": n / best["dis"],
            "ratio_per_frame": best["stylize"] / best["none"], "ratio_temporal": best["stylize+flow"] / best["dis"],
            "ratio_temporal_to_stylize_only": best["stylize"] / best["dis"],
            "stage_seconds": stage_seconds(temporal, per_frame, images)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from report import save  # bench/ is the script's folder, first on sys.path

    from animator.device import configure_process

    configure_process()
    results: dict = {"seconds": args.seconds, "methods": {}}
    table = Table(title=f"video mode, first {args.seconds:g} s of chaplin.mp4 (arbitrary and multistyle at 640x360, "
                        "gatys 10 steps at 160 px)")
    for column in ("method", "stylize-only fps", "end to end, per frame", "stylize + flow fps",
                   "end to end, temporal", "stage ms/frame: decode / flow / stylize / encode / store"):
        table.add_column(column, justify="right")
    for method in METHODS:
        r = results["methods"][method] = measure(method, args.seconds if method != "gatys" else 1.0, args.rounds)
        stages = " / ".join(f"{1000 * s / r['frames']:.0f}" for s in r["stage_seconds"].values())
        table.add_row(method, f"{r['fps_stylize_only']:.2f}", f"{r['fps_per_frame']:.2f} ({100 * r['ratio_per_frame']:.0f}%)",
                      f"{r['fps_stylize_flow']:.2f}", f"{r['fps_temporal']:.2f} ({100 * r['ratio_temporal']:.0f}%; "
                      f"{100 * r['ratio_temporal_to_stylize_only']:.0f}% of stylize-only)", stages)
    Console().print(table)
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "long.mp4"
        long_clip(clip, 300)
        memory = {frames: peak_memory(clip, frames) for frames in (30, 300)}
    results["peak_mib"] = memory
    print(f"peak memory, arbitrary with flow at 640x352 (one frame is 0.7 MB): 30 frames {memory[30]:.0f} MiB, "
          f"300 frames {memory[300]:.0f} MiB ({100 * (memory[300] / memory[30] - 1):+.1f}%)")
    save("video", results)


if __name__ == "__main__":
    main()
