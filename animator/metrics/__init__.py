"""Picture-quality figures used by `animator metrics`, tests, benchmarks and preset tuning:
`video` for temporal consistency of a stylized clip; the image comparisons below for the rest.
Nothing here loads torch: the command (`command.py`) checks its flags and files first."""

from __future__ import annotations

import numpy as np

__all__ = ["mean_abs_diff", "psnr"]


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB between two images of the same shape (inf if equal)."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(peak**2 / mse))


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference, in the images' own units (/255 for uint8)."""
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
