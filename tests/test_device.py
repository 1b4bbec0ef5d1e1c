import subprocess
import sys

import pytest

# Eight rounds of a 64 MiB array written and freed, each in a thread of its own as a frame's
# tensors are, in a process set up with keep_freed_memory or not: how much of it the process still
# holds once it is freed (resident MiB; what it gives back, the kernel hands out again zeroed,
# a page fault at a time), and the rounds' minor page faults.
ROUNDS = """
import resource
import sys
import threading
import numpy as np
from animator.device import keep_freed_memory

def resident():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20

took = keep_freed_memory() if sys.argv[1] == "keep" else None
before, faults = resident(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(8):
    thread = threading.Thread(target=lambda: np.ones(64 << 20, np.uint8).sum())
    thread.start()
    thread.join()
print(took, resident() - before, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
"""


def rounds(setup: str) -> tuple[str, float, int]:
    took, held, faults = subprocess.run([sys.executable, "-c", ROUNDS, setup], capture_output=True, text=True,
                                        check=True).stdout.split()
    return took, float(held), int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_frames_are_reused_instead_of_faulted_in_again():
    _, held, faults = rounds("default")
    took, held_kept, faults_kept = rounds("keep")
    assert took == "True"
    # By default each freed array goes back to the kernel; kept, it stays for the next round. (The
    # fault counts depend on the kernel's transparent huge pages, so they are shown, not compared.)
    assert held < 8 and held_kept > 56, (held, faults, held_kept, faults_kept)


def test_opencv_runs_on_one_thread_while_frame_workers_share_the_cores():
    import cv2

    from animator.device import threads_shared_by

    before = cv2.getNumThreads()
    with threads_shared_by(2):
        assert cv2.getNumThreads() == 1
    assert cv2.getNumThreads() == before
    with threads_shared_by(1):  # one worker (a GPU render): the flow keeps every core
        assert cv2.getNumThreads() == before


def test_auto_precision_takes_bfloat16_only_on_gpus_that_compute_it(monkeypatch):
    """torch.cuda.is_bf16_supported() says yes on a T4 or a V100, which emulate bfloat16: `auto`
    took it there, slower than float32 (this machine has no GPU: the GPU's answers are set here)."""
    import torch

    from animator.device import select_dtype

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)  # as with emulation
    for capability, expected in (((7, 5), torch.float32), ((7, 0), torch.float32), ((8, 0), torch.bfloat16),
                                 ((9, 0), torch.bfloat16)):
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None, capability=capability: capability)
        assert select_dtype("auto", torch.device("cuda")) == expected, capability
        assert select_dtype("bfloat16", torch.device("cuda")) == torch.bfloat16


def test_a_device_is_refused_unless_this_machine_has_it(monkeypatch):
    """(The GPU's answers are set here: two CUDA devices.)"""
    import torch

    from animator.device import select_device
    from animator.errors import AnimatorError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert select_device("cuda:1") == torch.device("cuda:1") and select_device("auto") == torch.device("cuda")
    with pytest.raises(AnimatorError, match=r"^device 'cuda:2': only 2 CUDA device\(s\) present$"):
        select_device("cuda:2")
    for name in ("mps", "meta", "gpu"):
        with pytest.raises(AnimatorError, match=f"^device '{name}': expected auto, cpu, cuda or cuda:N$"):
            select_device(name)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto") == torch.device("cpu")
    with pytest.raises(AnimatorError, match="has no CUDA GPU"):
        select_device("cuda")


def test_frame_workers_share_the_cpus_threads_and_a_gpu_runs_one_frame():
    import torch

    from animator.device import frame_workers, threads_shared_by

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert frame_workers(torch.device("cpu")) == 2 and frame_workers(torch.device("cuda")) == 1
        with threads_shared_by(2):
            assert torch.get_num_threads() == 1 and frame_workers(torch.device("cpu")) == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
