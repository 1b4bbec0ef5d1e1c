"""The project's pan judged by its truth (metrics/truth.py)."""

from __future__ import annotations

import numpy as np

from animator.media.synthetic import pan_scene
from animator.metrics.truth import true_warping_error


def test_the_true_motion_judges_a_video_that_moves_with_it_still():
    """The pan's own frames move exactly with its true motion: judged by it, nothing changes from
    frame to frame where the truth holds; the same frames a pixel off every other frame do."""
    frames = pan_scene().frames
    jittered = [np.roll(frame, t % 2, axis=1) for t, frame in enumerate(frames)]
    assert max(true_warping_error(frames, lag) for lag in (1, 10)) < 1e-9  # t-1 and t-10: the sampling's rounding
    assert true_warping_error(jittered, 1) > 1e-3  # a pixel off between any two neighbours: 0.008
