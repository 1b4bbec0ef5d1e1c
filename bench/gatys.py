"""Gatys optimization speed against pastiche's own command line, in the same run.

Both commands get the same content, style, size, optimizer (Adam) and number of steps. Seconds
per iteration come from two runs of each command with different step counts, so start-up and
weight loading cancel out; the whole command at 40 steps and 256 px is timed as well. The
fraction of the FLOP bound uses VGG19's forward plus input-gradient backward up to relu5_1
(about 101 GFLOP at 256x256, 406 at 512x512; it scales with the pixel count) against the
machine's fp32 matrix-product peak, measured in the same run with torch's own matrix product
(or given with --peak, GFLOP/s). Prints a table, writes bench/results/gatys.json.

    python bench/gatys.py [--sizes 256 512] [--steps 10 30] [--peak GFLOPS]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTENT, STYLE = ROOT / "samples" / "astronaut.png", ROOT / "samples" / "hubble_deep_field.jpg"  # square content: 256x256, 512x512
GFLOP_AT_256 = 101.0


ENGINES = ("animator", "animator-float32", "pastiche")


def command(engine: str, size: int, steps: int, out: Path) -> list[str]:
    if engine == "pastiche":
        return [sys.executable, "-m", "pastiche", "--device", "cpu", "--optimizer", "adam", "--num-steps", str(steps),
                "--size", str(size), "--content", str(CONTENT), "--styles", str(STYLE), "--output", str(out / "p.png"),
                "--no-verbose", "--seed", "0"]
    return [sys.executable, "-m", "animator", "stylize", str(CONTENT), "-o", str(out / "a.png"), "--style", str(STYLE),
            "--method", "gatys", "--size", str(size), "--set", "method.optimizer=adam", "--set", f"method.steps={steps}",
            "--set", f"precision={'float32' if engine == 'animator-float32' else 'auto'}", "--quiet"]


def seconds(engine: str, size: int, steps: int) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(command(engine, size, steps, Path(out)), check=True, capture_output=True)
        return time.perf_counter() - start


def matmul_peak() -> float:
    """fp32 GFLOP/s of a large matrix product on this machine, best of several."""
    import torch

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--steps", type=int, nargs=2, default=[10, 30])
    parser.add_argument("--peak", type=float, help="fp32 GFLOP/s of this machine's matrix products [measured]")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from report import save  # bench/ is the script's folder, first on sys.path

    args.peak = args.peak or matmul_peak()
    few, many = args.steps
    results: dict = {"steps": [few, many], "peak_gflops": args.peak, "sizes": {}}
    for size in args.sizes:
        row = {}
        for engine in ENGINES:
            row[engine] = (seconds(engine, size, many) - seconds(engine, size, few)) / (many - few)
        gflop = GFLOP_AT_256 * (size / 256) ** 2
        results["sizes"][size] = {
            engine: {"s_per_iter": t, "speedup_vs_pastiche": row["pastiche"] / t, "fp32_bound_fraction": gflop / t / args.peak}
            for engine, t in row.items()
        }
    whole = {engine: seconds(engine, 256, 40) for engine in ENGINES}
    results["whole_command_40_steps_256"] = {engine: {"s": t, "speedup_vs_pastiche": whole["pastiche"] / t} for engine, t in whole.items()}

    table = Table(title=f"Gatys, Adam, seconds per iteration from {few} and {many} steps (speed-up; % of the fp32 FLOP bound)")
    table.add_column("size", justify="right")
    for engine in ENGINES:
        table.add_column(engine, justify="right")
    for size, r in results["sizes"].items():
        table.add_row(str(size), *(f"{r[e]['s_per_iter']:.3f} ({r[e]['speedup_vs_pastiche']:.2f}x; {100 * r[e]['fp32_bound_fraction']:.0f}%)" for e in ENGINES))
    table.add_row("whole, 40 steps @256", *(f"{whole[e]:.1f} s ({whole['pastiche'] / whole[e]:.2f}x)" for e in ENGINES))
    Console().print(table)
    save("gatys", results)


if __name__ == "__main__":
    main()
