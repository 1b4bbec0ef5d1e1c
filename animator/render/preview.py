"""A preset rendered small and fast, as a contact sheet of every K-th frame.

The feed-forward networks are cheap at preview sizes. The optimization method is not, since
every frame takes its `steps` passes through VGG19 and a couple more of its own, so a preview
gives it a fixed budget: about BUDGET_STEPS optimizer steps at 128x128 for the whole render,
spread over its frames (at least one each), and a smaller size when even one would not fit.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path

import numpy as np

from animator.media.frame import fit_size
from animator.media.sheet import SheetSink, SoundStrip
from animator.preset import Preset
from animator.preset.resolve import motion_at_scale
from animator.render.engine import Progress, load
from animator.render.plan import Plan

BUDGET_STEPS = 30  # optimizer steps at 128x128: ~15 s on 2 cores in float32
BUDGET_PIXELS = BUDGET_STEPS * 128 * 128
FRAME_STEPS = 3  # what a frame costs besides its steps (its content and self-style VGG19 passes, its targets), in steps
STEP_COST = {"spatial": 2.0}  # the FFT autocorrelation about doubles a step
TILES = 16


def preview_plan(preset: Preset) -> Plan:
    """The preset (loaded at the preview's size), for the optimization method within the
    preview's budget."""
    plan, size = Plan(preset), preset.size
    method = preset.method
    if method.name != "gatys":
        return plan
    frames = plan.timeline.steps
    height, width = plan.first.shape[:2]
    pixels = math.prod(fit_size(width, height, size)) * STEP_COST.get(method.representation, 1.0)
    steps = min(method.steps, max(1, int(BUDGET_PIXELS // (frames * pixels)) - FRAME_STEPS))
    scale = min(1.0, math.sqrt(BUDGET_PIXELS / (frames * (steps + FRAME_STEPS) * pixels)))
    fitted = max(32, round(size * scale / 8) * 8)
    # each once, as a preset's: two scales may round to one size
    scales = tuple(dict.fromkeys(s for s in (round(s * fitted / size) for s in method.scales) if 16 <= s < fitted))
    temporal = preset.video.temporal  # the passes share the steps: no more passes than steps
    video = dataclasses.replace(preset.video, temporal=dataclasses.replace(temporal, passes=min(temporal.passes, steps)))
    smaller = dataclasses.replace(preset, size=fitted, video=video, method=dataclasses.replace(method, steps=steps, scales=scales))
    return Plan(motion_at_scale(smaller, fitted / size))


def preview(plan: Plan, output: Path, every: int | None = None, progress: Progress | None = None,
            tile: int | None = None) -> int:
    """Render the plan into a contact sheet at `output`, its tiles `tile` px on their long side (as
    rendered if None); returns the frame step K."""
    every = every or max(1, math.ceil((plan.frame_count or 1) / TILES))
    sheet = SheetSink(output, every, size=tile, sound=sound_strip(plan))
    with tempfile.TemporaryDirectory() as work:  # a preview never touches a real render's checkpoint
        load(plan).run(Path(work), fresh=True, sinks=[sheet], progress=progress, resumable=False)
    return every


def sound_strip(plan: Plan) -> SoundStrip | None:
    """The plan's audio per written frame (its features are per step: an iterate is written with
    its in-betweens), for the strip under the sheet; None without audio."""
    features, line = plan.features, plan.timeline
    if features is None:
        return None
    k = max(1, round(line.seconds_per_step * float(line.fps)))  # frames written per step
    frames = np.arange(line.frames or (features.count - 1) * k + 1)  # the render's count, where the rates round
    loud = np.interp(frames / k, np.arange(features.count), features.values["loud"])
    return SoundStrip(loud, features.beat_frames * k, f"loudness and beats ({features.bpm:.0f} BPM)")


def describe(preset: Preset) -> str:
    method = preset.method
    steps = f", {method.steps} optimizer step{'' if method.steps == 1 else 's'} a frame" if method.name == "gatys" else ""
    return f"{preset.size} px{steps}"
