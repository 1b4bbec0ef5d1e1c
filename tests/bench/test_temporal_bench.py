"""The consistency bench's pan with its true motion: where the flow is right, blend leaves no ghost."""

from __future__ import annotations

import sys

from animator.metrics.truth import uncovered_psnr
from tests.conftest import ROOT


def test_blend_with_the_true_motion_paints_the_uncovered_band_afresh(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.delitem(sys.modules, "temporal", raising=False)
    import temporal

    reference, _ = temporal.render("pan", "arbitrary", 320, {"flow": "none"})
    blended, _ = temporal.render_truth("arbitrary", 320, {"mode": "blend", "weight": 0.7, "long_term": 0})  # blend alone
    band, _, elsewhere = uncovered_psnr(blended, reference)
    # The per-frame render's own pixels where the patch has just left, up to the arithmetic's
    # rounding: over 60 dB in float32, 55 in bfloat16 (the two renders split threads differently).
    assert band > 50
    assert elsewhere < 40  # while the rest of the picture keeps the previous frames'
