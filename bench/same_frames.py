"""Renders every bundled preset with this checkout and with another revision, and compares the
frames exactly: a change of shape must not change a picture. Small sizes keep it short; the
optimization method gets a few steps a frame (both sides get the same settings).

    python bench/same_frames.py REVISION [--size 64] [--presets melt swirl ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
GATYS = ["method.steps=4", "method.scales=[]"]


def settings(preset: Path, size: int) -> list[str]:
    text = preset.read_text()
    sets = [f"size={size}", "outputs=[{format: png}]"]
    if "gatys" in text:
        sets += GATYS + (["iterate.steps=6"] if "mode: iterate" in text or "mode:" not in text else [])
        sets += ["video.duration=0.5"] if "mode: video" in text else []
    return [arg for s in sets for arg in ("--set", s)]


def render(tree: Path, name: str, sets: list[str], out: Path) -> list[np.ndarray]:
    """The frames of bundled preset `name` rendered by the package in `tree`."""
    import cv2

    subprocess.run([sys.executable, "-m", "animator", "render", name, "--out", str(out), "--quiet", "--fresh", *sets],
                   cwd=tree, check=True)
    folder = out / f"{name}_frames"
    files = sorted(folder.glob("*.png")) if folder.is_dir() else [out / f"{name}.png"]
    return [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--presets", nargs="*")
    args = parser.parse_args()
    names = args.presets or sorted(p.stem for p in (ROOT / "presets").glob("*.yaml"))
    different = []
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(base), args.revision], cwd=ROOT, check=True)
        try:
            for name in names:
                sets = settings(ROOT / "presets" / f"{name}.yaml", args.size)
                before = render(base, name, sets, Path(folder) / "before")
                after = render(ROOT, name, sets, Path(folder) / "after")
                same = len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after))
                print(f"{name}: {len(after)} frames, {'identical' if same else 'DIFFERENT'}", flush=True)
                if not same:
                    different.append(name)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=True)
    print(f"{len(names) - len(different)} of {len(names)} presets render identically to {args.revision}")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
