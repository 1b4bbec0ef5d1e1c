import subprocess
import sys

import pytest

# A 64 MiB array written and freed, before and after keep_freed_memory: how much of it the process
# still holds once it is freed (resident MiB), and the minor page faults of eight such rounds
# (memory the kernel had to hand out again, zeroed).
ROUNDS = """
import resource
import numpy as np
from animator.device import keep_freed_memory

def resident():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20

def rounds():
    before, faults = resident(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(8):
        np.ones(64 << 20, np.uint8).sum()
    return resident() - before, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults

default = rounds()
took = keep_freed_memory()
print(took, *default, *rounds())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_freed_frames_are_reused_instead_of_faulted_in_again():
    out = subprocess.run([sys.executable, "-c", ROUNDS], capture_output=True, text=True, check=True).stdout.split()
    took, (held, faults), (held_kept, faults_kept) = out[0], map(float, out[1:3]), map(float, out[3:])
    assert took == "True"
    assert held < 8 and held_kept > 56  # by default the freed array goes back to the kernel; now it stays
    assert faults_kept < faults / 4, (faults, faults_kept)  # and serves the next rounds without faulting
