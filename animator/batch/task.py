"""The unit of work of a batch: one preset, rendered wherever a worker runs; it travels to the
worker as plain data.

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
from animator.preset import Preset, preset_from_dict
from animator.preset.convert import to_plain
from animator.preset.resolve import Part, portable


@dataclass
class Task:
    preset: Preset
    out_dir: Path
    part: Part | None = None  # a chunk of a split video: where it sits in the whole

    @property
    def name(self) -> str:
        return self.preset.name

    @property
    def cuda(self) -> bool:
        """Whether it asks a GPU of the executor."""
        return self.preset.device.startswith("cuda")


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


def render_task(plain: dict, out_dir: Path, record: bool = True, base: Path | None = None, part: Part | None = None) -> Result:
    """A worker's entry point: render one preset, received as plain data (relative paths read
    against `base`), into out_dir; any failure becomes a failed Result, so a batch goes on."""
    from animator.render.engine import load
    from animator.render.plan import Plan

    started, done = time.perf_counter(), [0]
    try:
        render = load(Plan(preset_from_dict(plain, base or Path.cwd(), rebuilt=True), part))
        outputs = render.run(out_dir, record=record, progress=lambda frames, total: done.__setitem__(0, frames))
    except AnimatorError as exc:
        return Result(plain["name"], "failed", seconds=time.perf_counter() - started, error=str(exc))
    except Exception as exc:  # a bug, reported with its place; the other presets still render
        return Result(plain["name"], "failed", seconds=time.perf_counter() - started, error=internal_error(exc))
    return Result(plain["name"], "rendered", done[0], time.perf_counter() - started,
                  [str(o.relative_to(out_dir)) for o in outputs])


def internal_error(exc: Exception) -> str:
    """A bug's one line in a batch's table: what it was, and where it was raised."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"internal error: {type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"


def ship(preset: Preset) -> tuple[dict, dict[str, bytes]]:
    """The preset as plain data whose paths are relative to its files' common folder, and those
    files' bytes by the same relative paths: what a worker elsewhere needs."""
    moved, files = portable(preset)
    return to_plain(moved), {name: path.read_bytes() for name, path in files.items()}


def render_shipped(plain: dict, files: dict[str, bytes], part: Part | None = None,
                   origin: str = "") -> tuple[Result, dict[str, bytes]]:
    """On a remote worker: the input files written into a folder of its own, the preset read
    against it, rendered, and every output file returned as bytes by its path relative to the
    output folder (the driver publishes them with the record). A failure names the files by
    where they are on the driver (`origin`, their common folder there)."""
    with tempfile.TemporaryDirectory(prefix="animator-") as folder:
        root = Path(folder)
        for name, data in files.items():
            target = root / "in" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        result = render_task(plain, root / "out", record=False, base=root / "in", part=part)
        if result.failed and origin:
            result.error = result.error.replace(str(root / "in"), origin)
        outputs = {}
        for output in result.outputs:
            path = root / "out" / output
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    outputs[str(file.relative_to(root / "out"))] = file.read_bytes()
        return result, outputs
