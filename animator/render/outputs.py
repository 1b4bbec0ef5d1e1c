"""A render's outputs: the sinks its preset asks for, and publishing them when they are done.

Sinks write under hidden partial names. A finished render publishes its outputs together: each
moved into place, then the record of the render (record.py) written last, so a record never
describes files that are not there. This is the one place that writes a record.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from animator.media.sink import AudioSpan, GifSink, Mp4Sink, PngSink, Sink, remove
from animator.preset.schema import Preset
from animator.render.record import write_record


def make_sinks(preset: Preset, out_dir: Path, fps: Fraction, audio: AudioSpan | None = None) -> list[Sink]:
    """The preset's outputs; `fps` is the render's own rate, for outputs that do not set one."""
    sinks: list[Sink] = []
    for output in preset.outputs:
        base = out_dir / preset.name
        if output.format == "mp4":
            sinks.append(Mp4Sink(base.with_suffix(".mp4"), output.fps or fps, output.crf, output.size, audio, output.preset))
        elif output.format == "gif":
            sinks.append(GifSink(base.with_suffix(".gif"), output.fps or fps, output.size))
        else:
            single = preset.frame_count == 1
            sinks.append(PngSink(base.with_suffix(".png") if single else out_dir / f"{preset.name}_frames", output.size))
    return sinks


def publish(staged: dict[Path, Path], out_dir: Path, preset: Preset | None = None, frames: int = 0,
            seconds: float = 0.0) -> list[Path]:
    """Move finished outputs ({final path: partial path}) into place, then, given the preset,
    write the render's record into out_dir. Returns the final paths."""
    for final, partial in staged.items():
        remove(final)
        os.replace(partial, final)
    outputs = list(staged)
    if preset is not None:
        write_record(preset, out_dir, outputs, frames, seconds)
    return outputs
