"""Deliberate failures at chosen points, for the fault-injection tests (tests/faults/).

`ANIMATOR_FAULT=PHASE:N` kills the process with SIGKILL (as a crash, a power cut or the
out-of-memory killer would) the N-th time it reaches PHASE; `PHASE:N:enospc` raises "no space
left on device" there instead, and `PHASE:N:error` an unexpected error (a bug's). Phases: `frame` (a frame written to the outputs, before the
checkpoint stores it), `stylize` (a network's video frame made consistent, in the renderer), `segment` (a checkpoint segment renamed, before the manifest names it),
`finish` (the outputs finished, before they are published), `publish` (an output moved into
place, before the next). Unset, a point costs one dictionary lookup.
"""

from __future__ import annotations

import errno
import os
import signal

_SPEC = os.environ.get("ANIMATOR_FAULT", "")
_reached: dict[str, int] = {}


def point(phase: str) -> None:
    if not _SPEC:
        return
    wanted, _, rest = _SPEC.partition(":")
    if wanted != phase:
        return
    count, _, action = rest.partition(":")
    _reached[phase] = _reached.get(phase, 0) + 1
    if _reached[phase] != int(count or 1):
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if action == "error":
        raise RuntimeError(f"ANIMATOR_FAULT {_SPEC}")
    os.kill(os.getpid(), signal.SIGKILL)
