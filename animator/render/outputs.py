"""A render's outputs: the sinks its preset asks for."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from animator.media.sink import AudioSpan, GifSink, Mp4Sink, PngSink, Sink
from animator.preset.schema import Preset


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
