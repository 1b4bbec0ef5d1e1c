"""Choosing the render device and the CPU thread count."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Iterator

import torch

from animator.errors import AnimatorError
from animator.env import render_threads


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


def select_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The feed-forward networks' compute type. `auto` takes bfloat16 where the hardware computes
    it natively: CUDA GPUs from Ampere on, CPUs with AMX (about twice as fast as float32) or with
    AVX-512's bfloat16 dot products (AMD Zen 4 and later, Intel Cooper Lake: a network pass in
    0.6-0.7x float32's time), within 43-53 dB PSNR of float32 on the bundled networks.
    Everything outside the networks stays float32."""
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    if device.type == "cuda":  # Ampere on: older GPUs take bfloat16 too, emulated (is_bf16_supported says yes)
        fast = torch.cuda.get_device_capability(device) >= (8, 0)
    else:
        fast = has_amx() or getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return torch.bfloat16 if fast else torch.float32


@functools.cache
def has_amx() -> bool:
    """Whether this CPU has Intel's AMX tiles, which multiply bfloat16 matrices in hardware."""
    return getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()


def configure_process(threads: int | None = None) -> int:
    """Set up a process that renders, once (the CLI's rendering commands, each batch worker,
    the benches): torch's intra-op pool uses every core unless told otherwise (ANIMATOR_THREADS),
    denormal floats flush to zero (the networks' activations decay into them, and on x86 CPUs
    each one costs a slow microcode path: about 15% of a multistyle frame here), and freed
    memory is kept for the next frame."""
    threads = threads or render_threads()
    torch.set_num_threads(threads)
    # the same convolution kernels every run, so a killed render resumes to the same frames on a GPU
    # (cuDNN's autotuner may pick another; some backward kernels, gatys's, sum in any order)
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = False, True
    torch.set_flush_denormal(True)
    keep_freed_memory()
    return threads


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters


def keep_freed_memory(mmap_threshold: int = 256 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Every frame allocates the same large tensors again. By default glibc serves blocks of this
    size (tens of MB a layer) with fresh mmaps and gives them back to the kernel when freed, so the
    next frame faults every page in again, zeroed: 2-4 s of system time in a 100-frame 640x360
    render on 2 cores. Served from the heap and kept there (up to `trim_threshold` free at its
    top), they are reused: a 640x360 render took 0.85x the time per frame and 0.93x with temporal
    consistency, for 10-15% more peak memory. One arena for all threads (before any starts):
    another thread's arena is made of 64 MiB heaps, too small for a frame's tensors, which it
    would mmap again; the few large blocks a frame takes do not contend for its lock. glibc only;
    True if it took."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): its allocator, its defaults
        return False
    # Setting the trim threshold alone would pin the mmap threshold at 128 KiB: both, or neither.
    settings = ((M_ARENA_MAX, 1), (M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold))
    return all(libc.mallopt(parameter, value) for parameter, value in settings)


def frame_workers(device: torch.device) -> int:
    """How many frames a feed-forward network stylizes at once. On the CPU, two, with half the
    threads each: torch splits an operator statically over its threads, so while decoding or
    encoding holds a core the operator's other half waits for it; separate frames never wait for
    each other (on 2 cores at 640x360: 145 ms a frame against 164 alone, 157 against 180 beside
    an x264 encoder). A GPU queues its work anyway: one frame, computed ahead of the encoder."""
    return 2 if device.type == "cpu" and torch.get_num_threads() >= 2 else 1


def flow_workers(device: torch.device) -> int:
    """How many frame pairs' optical flow is found at once. On the CPU, one: the network holds
    the cores. A GPU render leaves the CPU to decoding, flow and encoding, and one DIS pass keeps
    only a few cores busy, so a pair for every four cores, up to eight."""
    return 1 if device.type == "cpu" else max(1, min(8, (os.cpu_count() or 1) // 4))


@contextlib.contextmanager
def threads_shared_by(workers: int) -> Iterator[None]:
    """torch's intra-op threads divided among `workers` concurrent callers, then restored. While
    they share the cores, OpenCV (the flow, the bicubic warps) runs each call on one thread: its
    pool would split every call over all the cores and wait at the end for the ones the workers
    hold (a 640x360 temporal render: 0.98x the time)."""
    import cv2

    total, opencv = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(max(1, total // workers))
    if workers > 1:
        cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(total)
        cv2.setNumThreads(opencv)
