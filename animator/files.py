"""Writing a file so that a failure is an OSError with its errno and the file's name, and leaves
no temporary file behind: render/engine.py turns a full disk (ENOSPC, and the other WRITE_ERRORS)
into one line and exit 2, naming the file.

numpy's and OpenCV's `tofile` report a full disk as a short write with no errno ("365081
requested and 61440 written"), and torch.save as a RuntimeError from its zip writer ("unexpected
pos 768 vs 662"); their bytes are made in memory and written here instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def why_unreadable(path: Path) -> str | None:
    """Why a path given to read is none to read: missing, out of reach (a name too long, no
    permission), or a pipe, socket or device (reading one waits for a writer, or never ends).
    None for a file or a folder."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "file not found"
    except OSError as exc:
        return f"cannot be read ({(exc.strerror or str(exc)).lower()})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "not a regular file (a pipe, a socket or a device)"


def write_file(path: Path, data, sync: bool = False) -> None:
    """`data` (bytes, or any buffer: a numpy array, a memoryview) into the file at `path`; with
    `sync`, on the disk before this returns."""
    try:
        with open(path, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
    except OSError as exc:
        if exc.filename is None:  # a write's error names no file
            exc.filename = str(path)
        raise


def write_atomically(path: Path, data, tmp: Path | None = None) -> None:
    """`data` into `path` through a hidden temporary file (`.<name>.tmp` unless `tmp` is given)
    renamed over it, so `path` is the old file or the new one, whole; on failure the temporary
    file is removed."""
    tmp = tmp or path.with_name(f".{path.name}.tmp")
    try:
        write_file(tmp, data, sync=True)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
