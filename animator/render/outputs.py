"""A render's outputs: the sinks its preset asks for, and publishing them when they are done.

Sinks write under hidden partial names. A finished render publishes its outputs together: each
moved into place, then the record of the render (record.py) written last, so a record never
describes files that are not there. This is the one place that writes a record.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from animator.media.sink import (ApngSink, AudioSpan, GifSink, MovSink, Mp4Sink, PngSink, Sink, WebmSink,
                                 WebpSink, remove)
from animator.preset.schema import OutputConfig, Preset
from animator.render.record import write_record

H264_CRF = 18  # x264's visually near-lossless setting; the other encoders' defaults live in their sinks


def make_sinks(preset: Preset, out_dir: Path, fps: Fraction, audio: AudioSpan | None = None, gpu: bool = False) -> list[Sink]:
    """The preset's outputs; `fps` is the render's own rate, for outputs that do not set one;
    `gpu` when the render runs on one (its video encoder may then be used)."""
    single = preset.frame_count == 1
    return [make_sink(output, out_dir, preset.name, output.fps or fps, audio, single, gpu) for output in preset.outputs]


def make_sink(output: OutputConfig, out_dir: Path, name: str, fps: Fraction, audio: AudioSpan | None, single: bool,
              gpu: bool = False) -> Sink:
    """One output as `<out_dir>/<name>.<format>` (PNG: `<name>_frames/`, or `<name>.png` for one frame)."""
    path = out_dir / f"{name}.{output.format}"
    match output.format:
        case "mp4":
            crf = H264_CRF if output.crf is None else output.crf
            return Mp4Sink(path, fps, crf, output.size, audio, output.preset, output.bitrate, gpu)
        case "webm":
            return WebmSink(path, fps, output.codec or "vp9", output.crf, output.size, audio, output.preset, output.bitrate)
        case "mov":
            return MovSink(path, fps, output.size, audio)
        case "webp":
            return WebpSink(path, fps, output.size, output.quality, output.lossless)
        case "apng":
            return ApngSink(path, fps, output.size)
        case "gif":
            return GifSink(path, fps, output.size, output.palette, output.dither, output.max_colors)
        case "png":
            return PngSink(path if single else out_dir / f"{name}_frames", output.size)
    raise AssertionError(f"no sink for format {output.format}")  # the schema's Literal lists every format


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
