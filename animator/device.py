"""Choosing the render device and the CPU thread count."""

from __future__ import annotations

import os

import torch

from animator.errors import AnimatorError


def select_device(name: str = "auto") -> torch.device:
    """Turn `auto | cpu | cuda | cuda:N` into a torch device that exists on this machine."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise AnimatorError(f"device {name!r}: expected auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise AnimatorError(f"device {name!r}: this machine has no CUDA GPU (use cpu or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise AnimatorError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
    elif device.type != "cpu":
        raise AnimatorError(f"device {name!r}: expected auto, cpu, cuda or cuda:N")
    return device


def configure_threads(threads: int | None = None) -> int:
    """Use every core for torch's intra-op pool unless told otherwise (ANIMATOR_THREADS)."""
    threads = threads or int(os.environ.get("ANIMATOR_THREADS", "0")) or os.cpu_count() or 1
    torch.set_num_threads(threads)
    return threads
