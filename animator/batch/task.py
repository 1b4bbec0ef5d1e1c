"""The unit of work of a batch: one preset, as plain data, rendered wherever a worker runs.

A local worker renders straight into the output folder. A remote worker gets the preset's input
files with the task (`ship`), renders in a folder of its own and sends the outputs back as bytes
(`render_shipped`), so workers need no shared file system.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from animator.errors import AnimatorError
from animator.preset import Preset
from animator.preset.convert import to_plain
from animator.render.record import input_files


@dataclass
class Task:
    plain: dict  # the preset, as plain data (preset_from_dict gives it back)
    out_dir: Path
    cuda: bool = False  # asks a GPU of the executor

    @staticmethod
    def of(preset: Preset, out_dir: Path) -> Task:
        return Task(to_plain(preset), out_dir, preset.device.startswith("cuda"))

    @property
    def name(self) -> str:
        return self.plain["name"]


@dataclass
class Result:
    name: str
    status: str  # rendered | up to date | failed
    frames: int | None = None
    seconds: float = 0.0
    outputs: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def render_task(plain: dict, out_dir: Path, record: bool = True) -> Result:
    """Render one preset into out_dir; any failure becomes a failed Result, so a batch goes on."""
    from animator.preset import preset_from_dict
    from animator.render.engine import Job

    started, done = time.perf_counter(), [0]
    try:
        job = Job(preset_from_dict(plain, Path.cwd()))
        outputs = job.run(out_dir, record=record, progress=lambda frames, total: done.__setitem__(0, frames))
    except AnimatorError as exc:
        return Result(plain["name"], "failed", seconds=time.perf_counter() - started, error=str(exc))
    except Exception as exc:  # a bug, reported with its place; the other presets still render
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"internal error: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        return Result(plain["name"], "failed", seconds=time.perf_counter() - started, error=error)
    return Result(plain["name"], "rendered", done[0], time.perf_counter() - started,
                  [str(o.relative_to(out_dir)) for o in outputs])


def ship(preset: Preset) -> dict[str, bytes]:
    """The preset's input files, by their path on this machine."""
    return {str(path): path.read_bytes() for path in input_files(preset)}


def render_shipped(plain: dict, files: dict[str, bytes]) -> tuple[Result, dict[str, bytes]]:
    """On a remote worker: the inputs written into a folder of its own (their absolute paths
    mirrored below it, so folders keep their shape), the preset pointed at them, rendered, and
    every output file returned as bytes by its path relative to the output folder."""
    with tempfile.TemporaryDirectory(prefix="animator-") as folder:
        root = Path(folder)
        for original, data in files.items():
            target = root / "in" / original.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        result = render_task(_moved(plain, root / "in"), root / "out", record=False)
        outputs = {}
        for output in result.outputs:
            path = root / "out" / output
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    outputs[str(file.relative_to(root / "out"))] = file.read_bytes()
        return result, outputs


def _moved(value, root: Path):
    """Plain data with every absolute path that exists below root pointed there."""
    if isinstance(value, dict):
        return {key: _moved(item, root) for key, item in value.items()}
    if isinstance(value, list):
        return [_moved(item, root) for item in value]
    if isinstance(value, str) and value.startswith("/") and (root / value.lstrip("/")).exists():
        return str(root / value.lstrip("/"))
    return value
