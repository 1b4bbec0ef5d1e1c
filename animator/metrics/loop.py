"""Is a feedback loop alive? Per quarter of a render, against its first frame:

- detail: mean gradient magnitude (Sobel on grey), relative to frame 0: a loop that blurs or
  flattens falls towards 0;
- colour spread: the standard deviation of LAB a and b, relative to frame 0: a drained loop falls;
- change per frame: the median mean absolute difference between consecutive frames (/255): a
  frozen loop is near 0, a strobing one far above 6;
- flat: the share of pixels whose gradient is below FLAT levels;
- coherence: of the whole picture's structure tensor, (l1 - l2) / (l1 + l2): 0 where edges point
  every way (photographs 0.0-0.2), near 1 where one orientation rules (the stripes attractor).

Frames stream: memory holds a few numbers per frame.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

FLAT = 2.0  # grey levels (Sobel magnitude / 8, so about a level's change a pixel)
QUARTERS = 4


def frame_figures(frame: np.ndarray) -> dict[str, float]:
    """One HxWx3 uint8 frame's detail, colour spread, flat share and coherence."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8  # in grey levels a pixel
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8
    magnitude = np.sqrt(gx * gx + gy * gy)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2) / max(jxx + jyy, 1e-9)
    lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)
    return {"detail": float(magnitude.mean()), "colour": float(lab[..., 1:].std(axis=(0, 1)).mean()),
            "flat": float((magnitude < FLAT).mean()), "coherence": float(coherence)}


def loop_figures(frames: Iterable[np.ndarray]) -> dict:
    """{"frames": n, "quarters": [per quarter: detail, colour, change, flat, coherence]}; detail
    and colour relative to frame 0, each a mean over the quarter's frames (change: the median)."""
    rows, changes, previous = [], [], None
    for frame in frames:
        rows.append(frame_figures(frame))
        if previous is not None:
            changes.append(float(np.abs(frame.astype(np.int16) - previous).mean()))
        previous = frame.astype(np.int16)
    if len(rows) < QUARTERS + 1:
        raise ValueError(f"{len(rows)} frame{'' if len(rows) == 1 else 's'}: a loop needs at least {QUARTERS + 1} to be measured")
    first = rows[0]
    quarters = []
    for part in np.array_split(np.arange(1, len(rows)), QUARTERS):
        quarter = [rows[i] for i in part]
        quarters.append({
            "frames": [int(part[0]), int(part[-1])],
            "detail": float(np.mean([r["detail"] for r in quarter]) / max(first["detail"], 1e-6)),
            "colour": float(np.mean([r["colour"] for r in quarter]) / max(first["colour"], 1e-6)),
            "change": float(np.median([changes[i - 1] for i in part])),
            "flat": float(np.mean([r["flat"] for r in quarter])),
            "coherence": float(np.mean([r["coherence"] for r in quarter])),
        })
    return {"frames": len(rows), "first": first, "quarters": quarters}


LIFE = {"detail": (0.6, None), "colour": (0.5, None), "coherence": (None, 0.5), "change": (0.5, 6.0)}


def lifeless(figures: dict, moving: bool = False) -> list[str]:
    """What is not alive, quarter by quarter, against the bars: detail >= 0.6, colour spread >= 0.5,
    coherence <= 0.5, and, for a loop without feedback motion, change between 0.5 and 6 /255."""
    faults = []
    for number, quarter in enumerate(figures["quarters"], start=1):
        for key, (low, high) in LIFE.items():
            if key == "change" and moving:
                continue
            value = quarter[key]
            if (low is not None and value < low) or (high is not None and value > high):
                faults.append(f"quarter {number}: {key} {value:.2f}")
    return faults
