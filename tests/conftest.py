"""Shared helpers: where the media live, and readers that check files independently of the writer."""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

from animator import env

env.idle_threads_sleep()  # as the command does, before torch loads: the suite's workers share the cores

import av  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
PRESETS = ROOT / "presets"
MEDIA = ROOT / "tests" / "data"  # small real clips, with their sources and licences (SOURCES.md)

torch.set_num_threads(2)


def decode_video(path: Path) -> tuple[dict, list[np.ndarray]]:
    """Stream facts and every frame (RGB), as PyAV reads them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        facts = {
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "rate": Fraction(stream.average_rate),
            "size": (stream.codec_context.width, stream.codec_context.height),
            "audio": len(container.streams.audio),
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return facts, frames


def ffmpeg_probe(path: Path) -> dict:
    """codec, pix_fmt, size, fps and decoded frame count as the ffmpeg command line reports them."""
    import imageio_ffmpeg

    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    stream = re.search(r"Stream #0:0.*?Video: (\w+).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+).*?, ([\d.]+) fps", result.stderr)
    frames = re.findall(r"frame=\s*(\d+)", result.stderr)
    return {
        "codec": stream.group(1), "pix_fmt": stream.group(2),
        "size": (int(stream.group(3)), int(stream.group(4))), "fps": float(stream.group(5)),
        "frames": int(frames[-1]),
    }


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    from animator.media.image import read_image

    return read_image(SAMPLES / "chelsea.png")


def loop(method, x0, *, steps: int, blend: float = 1.0, styles=None, seed: int = 0, resume=None, reference=None,
         **config) -> dict:
    """{t: x[t]} of an iterate loop, its settings given as IterateConfig's keys; `reference` is the
    colour reference image (None: the first frame the loop makes)."""
    from animator.clock import Clock
    from animator.methods import StyleTrack
    from animator.preset.schema import IterateConfig
    from animator.render.iterate import iterate

    settings = IterateConfig(steps=steps, blend=blend, **config)
    steps = iterate(method, x0, config=settings, styles=StyleTrack(method, styles), clock=Clock(steps + 1, 1 / 24, seed),
                    reference=reference, resume=resume)
    return {t: x for t, x, _ in steps}
