"""A preset rendered small and fast, as a contact sheet of every K-th frame.

The feed-forward networks are cheap at preview sizes. The optimization method is not, since
every frame takes its `steps` passes through VGG19 and a couple more of its own, so a preview
gives it a fixed budget: about BUDGET_STEPS optimizer steps at 128x128 for the whole render,
spread over its frames (at least one each), and a smaller size when even one would not fit.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from animator.media.frame import fit_size
from animator.media.sink import SheetSink
from animator.preset import Preset, load_preset, parse_overrides
from animator.render.engine import Job, Progress

BUDGET_STEPS = 30  # optimizer steps at 128x128: ~15 s on 2 cores in float32
BUDGET_PIXELS = BUDGET_STEPS * 128 * 128
FRAME_STEPS = 3  # what a frame costs besides its steps (its content and self-style VGG19 passes, its targets), in steps
STEP_COST = {"spatial": 2.0}  # the FFT autocorrelation about doubles a step
TILES = 16


def preview_job(path: Path, size: int, sets: list[str]) -> Job:
    """The preset at `size`, and, for the optimization method, within the preview's budget."""
    job = Job(load_preset(path, parse_overrides([f"size={size}", *sets])))
    preset = job.preset
    if preset.method.name != "gatys":
        return job
    frames = preset.iterate.steps + 1 if preset.mode == "iterate" else (job.frame_count or 1)
    pixels = math.prod(fit_size(job.x0.shape[-1], job.x0.shape[-2], size)) * STEP_COST.get(preset.method.representation, 1.0)
    steps = min(preset.method.steps, max(1, int(BUDGET_PIXELS // (frames * pixels)) - FRAME_STEPS))
    scale = min(1.0, math.sqrt(BUDGET_PIXELS / (frames * (steps + FRAME_STEPS) * pixels)))
    fitted = max(32, round(size * scale / 8) * 8)
    scales = [s for s in (round(s * fitted / preset.size) for s in preset.method.scales) if 16 <= s < fitted]
    return Job(load_preset(path, parse_overrides([f"size={fitted}", *sets, f"method.steps={steps}", f"method.scales={scales}"])))


def preview(job: Job, output: Path, every: int | None = None, progress: Progress | None = None) -> int:
    """Render job's preset into a contact sheet at `output`; returns the frame step K."""
    every = every or max(1, math.ceil((job.frame_count or 1) / TILES))
    with tempfile.TemporaryDirectory() as work:  # a preview never touches a real render's checkpoint
        job.run(Path(work), fresh=True, sinks=[SheetSink(output, every)], progress=progress)
    return every


def describe(preset: Preset) -> str:
    method = preset.method
    steps = f", {method.steps} optimizer steps a frame" if method.name == "gatys" else ""
    return f"{preset.size} px{steps}"
