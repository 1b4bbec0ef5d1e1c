"""The consistency bench's pan with its true motion: where the flow is right, blend leaves no ghost."""

from __future__ import annotations

import sys

from tests.conftest import ROOT


def test_blend_with_the_true_motion_paints_the_uncovered_band_afresh(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.delitem(sys.modules, "temporal", raising=False)
    import temporal

    reference, _ = temporal.render("pan", "arbitrary", 320, {"flow": "none"})
    blended, _ = temporal.render_truth("arbitrary", 320, {"mode": "blend", "weight": 0.7, "long_term": 0})  # blend alone
    band, elsewhere = temporal.uncovered_psnr(blended, reference)
    # The per-frame render's own pixels where the patch has just left, up to the arithmetic's
    # rounding: over 60 dB in float32, 55 in bfloat16 (the two renders split threads differently).
    assert band > 50
    assert elsewhere < 40  # while the rest of the picture keeps the previous frames'


def test_the_true_motion_judges_a_video_that_moves_with_it_still(monkeypatch):
    """The pan's own frames move exactly with its true motion: judged by it, nothing changes from
    frame to frame where the truth holds; the same frames a pixel off every other frame do."""
    import numpy as np

    from animator.media.synthetic import pan_scene

    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.delitem(sys.modules, "temporal", raising=False)
    import temporal

    frames = pan_scene().frames
    jittered = [np.roll(frame, t % 2, axis=1) for t, frame in enumerate(frames)]
    assert max(temporal.true_warping_error(frames, lag) for lag in temporal.LAGS) < 1e-9  # t-1 and t-10: the sampling's rounding
    assert temporal.true_warping_error(jittered, 1) > 1e-3  # a pixel off between any two neighbours: 0.008
