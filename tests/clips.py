"""Small clip writer for tests that need a video made on the spot."""

from fractions import Fraction
from pathlib import Path

import numpy as np

from animator.media.frame import Frame
from animator.media.sink import Mp4Sink, encoding


def write_clip(path: Path, images: list[np.ndarray], fps: Fraction = Fraction(24)) -> None:
    with encoding([Mp4Sink(path, fps, crf=0)]) as put:
        for i, image in enumerate(images):
            put(Frame(i, i / fps, image))
