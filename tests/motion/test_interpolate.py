"""In-between frames against the truth of a pure translation."""

from __future__ import annotations

import pytest
import torch

from animator.media.frame import to_image, to_tensor
from animator.media.image import read_image
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


def test_a_cross_fade_mixes_in_even_steps(chelsea):
    a = to_tensor(chelsea[:128, :192])
    b = to_tensor(read_image(SAMPLES / "brick.png")[:128, :192])
    frames = crossfade(a, b, 4)
    assert len(frames) == 3
    for j, frame in enumerate(frames, start=1):  # j quarters of the way from a to b
        assert torch.allclose(frame, a + j / 4 * (b - a), atol=1e-6), j


def test_a_step_that_loses_half_of_one_picture_cross_fades():
    # Zoomed in 1.4 times, most of b is found in a, but less than half of a in b: tracked one way
    # only, the step cross-fades.
    from animator.motion.feedback import move
    from animator.motion.flow import pair_flows
    from animator.motion.warp import consistency_mask
    from animator.preset.schema import MotionConfig

    a = to_tensor(read_image(SAMPLES / "coffee.png")[80:240, 150:406])
    b = move(a, MotionConfig(zoom=1.4))
    backend = make_backend("dis", "medium")
    to_b, to_a = pair_flows(backend, to_image(a), to_image(b), device=a.device)
    assert consistency_mask(to_a, to_b).mean() < 0.5 < consistency_mask(to_b, to_a).mean()
    frames = inbetweens(a, b, 3, backend)
    assert all((f - c).abs().max() < 1e-6 for f, c in zip(frames, crossfade(a, b, 3)))
