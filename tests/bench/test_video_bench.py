"""The video benchmark's measuring code runs against the renderer as it is (no timing asserted)."""

from __future__ import annotations

import sys

from tests.conftest import ROOT


def test_video_bench_measures_every_stage_on_a_short_span(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.delitem(sys.modules, "video", raising=False)
    import video

    result = video.measure("multistyle", 0.2, rounds=1)
    assert result["frames"] == 5  # chaplin is 25 fps
    assert set(result["stage_seconds"]) == {"decode", "flow", "stylize", "encode", "store"}
    assert all(result[key] > 0 for key in ("fps_stylize_only", "fps_stylize_flow", "fps_per_frame", "fps_temporal"))
