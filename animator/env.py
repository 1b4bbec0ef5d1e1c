"""Settings read from the environment: a malformed one is a user error, one line naming it. No
torch here, so a batch's driver can check them before its workers start."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from animator.errors import AnimatorError


def env_number(name: str, kind: type[int] | type[float], least: float, expected: str,
               most: float = math.inf) -> int | float | None:
    """The variable `name` as a finite `kind` from `least` to `most`, None where it is unset or
    empty; `expected` says what it should be."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = math.nan  # refused below, with the rest
    if not math.isfinite(value) or not least <= value <= most:
        raise AnimatorError(f"{name}={text}: expected {expected}")
    return value


def threads_asked() -> int | None:
    """ANIMATOR_THREADS as a thread count, None where it is unset or empty."""
    return env_number("ANIMATOR_THREADS", int, 1, "a whole number of threads, 1 to 1024", most=1024)  # beyond any machine: a typo


def render_threads() -> int:
    """The CPU threads a render computes on: ANIMATOR_THREADS, else one a core."""
    return threads_asked() or os.cpu_count() or 1


def idle_threads_sleep() -> None:
    """OpenMP's threads (torch's on the CPU) sleep between operators instead of spinning, unless
    OMP_WAIT_POLICY says otherwise; read once, when torch loads, so set before it is imported.
    On a quiet machine spinning makes a loop of small operators a quarter to two fifths faster
    (`melt`, `endless-zoom`), but a video render slower (its decoder, flow and encoder threads
    beside the network), and beside another busy program the spinning threads take the cores from
    it and from each other: `melt` beside one busy core took 1.4x its time sleeping, and 1.3x with a
    short spin (the bench README)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def idle_threads_wait() -> str:
    """How OpenMP's threads wait between operators, as libgomp reads the environment: a count in
    GOMP_SPINCOUNT (digits, with k, M, G or T to multiply) is the spin whatever the policy says."""
    policy, spins = os.environ.get("OMP_WAIT_POLICY", "").strip(), os.environ.get("GOMP_SPINCOUNT", "").strip()
    if re.fullmatch(r"\d+[kMGT]?", spins):
        return f"sleep (GOMP_SPINCOUNT={spins})" if int(spins.rstrip("kMGT")) == 0 else \
            f"spin {spins} times, then sleep (GOMP_SPINCOUNT={spins})"
    if spins.lower() in ("infinite", "infinity"):
        return f"spin (GOMP_SPINCOUNT={spins})"
    waits = {"PASSIVE": "sleep", "ACTIVE": "spin"}.get(policy.upper(), "spin a while, then sleep")
    return f"{waits} (OMP_WAIT_POLICY={policy})" if policy else f"{waits} (OMP_WAIT_POLICY unset)"


def available_memory() -> float | None:
    """Bytes of memory this process may still take without swapping: Linux's MemAvailable, or less
    where its container's limit (cgroup v2) leaves less, its page cache counted free;
    None where neither says."""
    free = []
    try:
        with open("/proc/meminfo") as info:
            free.append(next(int(line.split()[1]) * 1024 for line in info if line.startswith("MemAvailable:")))
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    group = Path("/sys/fs/cgroup")
    try:
        limit = (group / "memory.max").read_text().strip()
        if limit != "max":
            stat = dict(line.split() for line in (group / "memory.stat").read_text().splitlines())
            used = int((group / "memory.current").read_text()) - int(stat.get("file", 0))  # the page cache drops
            if int(limit) > used:  # (usage past a lowered limit says nothing of what is free)
                free.append(int(limit) - used)
    except (OSError, ValueError):
        pass
    return min(free) if free else None
