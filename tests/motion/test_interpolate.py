"""In-between frames against the truth of a pure translation."""

from __future__ import annotations

import pytest

from animator.media.frame import to_image, to_tensor
from animator.media.source import read_image
from animator.metrics import psnr
from animator.motion.flow import make_backend
from animator.motion.interpolate import crossfade, inbetweens
from tests.conftest import SAMPLES


@pytest.mark.parametrize("shift, k", [((8, 4), 4), ((12, -6), 3)])
def test_inbetweens_of_a_translation_are_the_shifted_picture(shift, k):
    coffee = read_image(SAMPLES / "coffee.png")
    view = lambda dx, dy: coffee[80 + dy:80 + dy + 160, 100 + dx:100 + dx + 256]  # noqa: E731
    a, b = to_tensor(view(0, 0)), to_tensor(view(*shift))
    frames = inbetweens(a, b, k, make_backend("dis", "medium"))
    assert len(frames) == k - 1
    truth = [view(shift[0] * j // k, shift[1] * j // k) for j in range(1, k)]
    assert min(psnr(to_image(f), t) for f, t in zip(frames, truth)) >= 28
    assert max(psnr(to_image(f), t) for f, t in zip(crossfade(a, b, k), truth)) < 28  # the flow is what does it


def test_frames_that_cannot_be_tracked_cross_fade(chelsea):
    a = to_tensor(chelsea[:128, :192])
    b = to_tensor(read_image(SAMPLES / "brick.png")[:128, :192])  # nothing in common
    frames = inbetweens(a, b, 3, make_backend("dis", "medium"))
    assert all((f - c).abs().max() < 1e-6 for f, c in zip(frames, crossfade(a, b, 3)))
