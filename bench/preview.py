"""`animator preview` of every bundled preset, timed as a user runs it: the whole command, from
start-up to the written contact sheet, against the 30-second budget, at the preview's own sizes
(128 px; a network's loop at the preset's size) or at --size. Prints a table and writes
bench/results/preview.json.

    python bench/preview.py [--size N] [--budget 30]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, help="every preview at this size (default: the preview's own)")
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from report import save  # bench/ is the script's folder, first on sys.path

    results = {}
    sized = ["--size", str(args.size)] if args.size else []
    table = Table(title=f"animator preview at {f'{args.size} px' if args.size else 'its own sizes'} (budget {args.budget:g} s)")
    for column in ("preset", "seconds", "within budget"):
        table.add_column(column, justify="right" if column != "preset" else "left")
    with tempfile.TemporaryDirectory() as out:
        for path in sorted((ROOT / "presets").glob("*.yaml")):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "animator", "preview", str(path), *sized, "--out", out, "--quiet"],
                           check=True, cwd=ROOT)
            seconds = results[path.stem] = time.perf_counter() - start
            table.add_row(path.stem, f"{seconds:.1f}", "yes" if seconds < args.budget else "NO")
    Console().print(table)
    save("preview", {"size": args.size, "budget": args.budget, "seconds": results})


if __name__ == "__main__":
    main()
