"""A clip made here, with exact motion: a camera panning over a photograph while a textured patch
moves across it. Its ground-truth flow and occlusion mask are known, so flow and warping can be
checked against the truth. `python -m animator.media.synthetic OUT.mp4` writes the sample clip.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from animator.bundled import samples_folder
from animator.errors import AnimatorError

FPS = Fraction(24)


@dataclass(frozen=True)
class Scene:
    frames: list[np.ndarray]  # HxWx3 uint8
    backward: list[np.ndarray | None]  # per frame (H,W,2): frame t at p is frame t-1 at p + flow(p)
    valid: list[np.ndarray | None]  # per frame (H,W) bool: where that holds (not disoccluded, inside)
    uncovered: list[np.ndarray | None]  # per frame (H,W) bool: background the patch has just uncovered
    trail: list[np.ndarray]  # per frame (H,W) bool: background the patch uncovered in the last TRAIL frames


TRAIL = 10  # frames: how far behind the patch its trail is followed (a ghost's strokes are held that long and more)


def pan_scene(count: int = 48, width: int = 320, height: int = 192, camera=(2, 1), patch_velocity=(-3, 1)) -> Scene:
    from animator.media.image import read_image

    background = read_image(samples_folder() / "coffee.png")
    patch = read_image(samples_folder() / "chelsea.png")[60:124, 170:234]  # the cat's eye, 64x64
    camera, velocity = np.array(camera), np.array(patch_velocity)
    start = np.array([width - 110, 40])
    frames, backward, valid, uncovered, trail = [], [None], [None], [None], []
    ys, xs = np.mgrid[0:height, 0:width]
    inside = lambda x, y, ox, oy: (x >= ox) & (x < ox + 64) & (y >= oy) & (y < oy + 64)  # noqa: E731
    for t in range(count):
        x0, y0 = camera * t
        frame = background[y0:y0 + height, x0:x0 + width].copy()
        px, py = start + velocity * t
        frame[py:py + 64, px:px + 64] = patch
        frames.append(frame)
        on_patch = inside(xs, ys, px, py)
        # where the patch was k frames ago, in this frame: the background has since moved by -camera k
        behind = [inside(xs, ys, *(start + velocity * (t - k) - camera * k)) for k in range(1, min(TRAIL, t) + 1)]
        trail.append(np.logical_or.reduce(behind) & ~on_patch if behind else np.zeros_like(on_patch))
        if t == 0:
            continue
        flow = np.empty((height, width, 2), np.float32)
        flow[...] = camera  # background: the camera moved by +camera, so content came from p + camera
        flow[on_patch] = -velocity
        qx, qy = xs + flow[..., 0], ys + flow[..., 1]
        ppx, ppy = start + velocity * (t - 1)
        was_patch = inside(qx, qy, ppx, ppy)
        ok = (qx >= 0) & (qx <= width - 1) & (qy >= 0) & (qy <= height - 1) & (on_patch | ~was_patch)
        backward.append(flow)
        valid.append(ok)
        uncovered.append(~on_patch & was_patch)
    return Scene(frames, backward, valid, uncovered, trail)


def write_clip(path: Path) -> None:
    from animator.media.frame import Frame
    from animator.media.sink import Mp4Sink, encoding

    with encoding([Mp4Sink(path, FPS, crf=12)]) as put:
        for i, image in enumerate(pan_scene().frames):
            put(Frame(i, i / FPS, image))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m animator.media.synthetic",
                                     description="Write the panning clip, to OUT or the samples' pan.mp4.")
    parser.add_argument("out", nargs="?", type=Path, metavar="OUT")
    out = parser.parse_args().out  # `--help` is help, not a file name
    try:
        write_clip(out or samples_folder() / "pan.mp4")
    except AnimatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
