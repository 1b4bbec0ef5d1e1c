"""Video mode speed at 360p: frames per second per method with and without temporal consistency,
the share of time in each stage, end-to-end against stylize-only throughput, and peak memory for
a 30-frame against a 300-frame render. Prints tables, writes bench/results/video.json.

    python bench/video.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPLIN = ROOT.parent / "shared" / "media" / "chaplin.mp4"
STYLE = ROOT / "samples" / "hubble_deep_field.jpg"
METHODS = {"arbitrary": ({"name": "arbitrary"}, 640), "multistyle": ({"name": "multistyle", "style": 7}, 640),
           "gatys": ({"name": "gatys", "steps": 10}, 160)}


def preset(method: str, seconds: float, flow: str, source: Path = CHAPLIN):
    from animator.preset import preset_from_dict

    options, size = METHODS[method]
    raw = {"name": f"{method}-{flow}", "mode": "video", "input": str(source), "size": size, "method": options,
           "style": "self" if method == "multistyle" else str(STYLE), "outputs": [{"format": "mp4"}],
           "video": {"duration": seconds, "temporal": {"flow": flow}}}
    return preset_from_dict(raw, ROOT)


def stages(method: str, seconds: float) -> dict:
    """Each stage alone on the same frames: decode, flow (with mask and warp), stylize, encode."""
    from animator.media.frame import Frame, fit_size, resize, to_image, to_tensor
    from animator.media.sink import Mp4Sink, encoding
    from animator.motion.flow import make_backend, pair_flows
    from animator.motion.warp import consistency_mask, warp
    from animator.render.engine import Job

    job = Job(preset(method, seconds, "dis"))
    timing = {}
    start = time.perf_counter()
    frames = [f.image for f in job.source]
    timing["decode"] = time.perf_counter() - start
    images = [resize(f, *fit_size(f.shape[1], f.shape[0], job.preset.size)) for f in frames]
    backend, start = make_backend("dis"), time.perf_counter()
    for a, b in zip(images, images[1:]):
        backward, forward = pair_flows(backend, a, b)
        consistency_mask(backward, forward)
        warp(to_tensor(a), backward)
    timing["flow"] = time.perf_counter() - start
    target = job.method.prepare_style(job.styles) if job.styles else None
    start, outputs = time.perf_counter(), []
    for image in images:
        x = to_tensor(image)
        outputs.append(to_image(job.method.transfer(target if target is not None else job.method.prepare_style([(x, 1.0)]), x)))
    timing["stylize"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        with encoding([Mp4Sink(Path(out) / "e.mp4", job.fps)]) as put:
            for i, image in enumerate(outputs):
                put(Frame(i, i / job.fps, image))
        timing["encode"] = time.perf_counter() - start
    return {"frames": len(frames), "seconds": timing}


def end_to_end(method: str, seconds: float, flow: str, source: Path = CHAPLIN) -> tuple[float, int]:
    from animator.render.engine import Job

    job = Job(preset(method, seconds, flow, source))
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        job.run(Path(out), fresh=True)
        return time.perf_counter() - start, job.frame_count


def long_clip(path: Path, frames: int) -> None:
    """A 640x352 clip of `frames` frames: chaplin's frames, looped."""
    from animator.media.frame import Frame, resize
    from animator.media.sink import Mp4Sink, encoding
    from animator.media.source import open_source

    source = [resize(f.image, 640, 352) for f in open_source(CHAPLIN)]
    with encoding([Mp4Sink(path, open_source(CHAPLIN).fps)]) as put:
        for i in range(frames):
            put(Frame(i, 0, source[i % len(source)]))


def peak_memory(clip: Path, seconds: float) -> float:
    code = ("import resource, sys; sys.path.insert(0, %r); from video import end_to_end; from pathlib import Path; "
            "end_to_end('arbitrary', %r, 'dis', Path(%r)); print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
            % (str(Path(__file__).parent), seconds, str(clip)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from report import save  # bench/ is the script's folder, first on sys.path

    from animator.device import configure_threads

    configure_threads()
    results: dict = {"seconds": args.seconds, "methods": {}}
    table = Table(title=f"video mode, first {args.seconds:g} s of chaplin.mp4 (arbitrary and multistyle at 640x360)")
    for column in ("method", "fps, temporal", "fps, per frame", "stylize-only fps", "end-to-end / stylize-only",
                   "decode / flow / stylize / encode"):
        table.add_column(column, justify="right")
    for method in METHODS:
        seconds = args.seconds if method != "gatys" else 1.0
        split = stages(method, seconds)
        n = split["frames"]
        with_flow, _ = end_to_end(method, seconds, "dis")
        without, _ = end_to_end(method, seconds, "none")
        stylize_fps = n / split["seconds"]["stylize"]
        total = sum(split["seconds"].values())
        shares = {k: v / total for k, v in split["seconds"].items()}
        results["methods"][method] = {"frames": n, "fps_temporal": n / with_flow, "fps_per_frame": n / without,
                                      "fps_stylize_only": stylize_fps, "end_to_end_ratio": (n / without) / stylize_fps,
                                      "stage_seconds": split["seconds"], "stage_shares": shares}
        r = results["methods"][method]
        table.add_row(method, f"{r['fps_temporal']:.1f}", f"{r['fps_per_frame']:.1f}", f"{stylize_fps:.1f}",
                      f"{100 * r['end_to_end_ratio']:.0f}%", " / ".join(f"{100 * shares[k]:.0f}%" for k in split["seconds"]))
    Console().print(table)
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "long.mp4"
        long_clip(clip, 300)
        memory = {frames: peak_memory(clip, frames / 25) for frames in (30, 300)}
    results["peak_mib"] = memory
    print(f"peak memory, arbitrary with flow at 640x352 (one frame is 0.7 MB): 30 frames {memory[30]:.0f} MiB, 300 frames {memory[300]:.0f} MiB "
          f"({100 * (memory[300] / memory[30] - 1):+.1f}%)")
    save("video", results)


if __name__ == "__main__":
    main()
