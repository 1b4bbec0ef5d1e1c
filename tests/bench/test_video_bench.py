"""The video benchmark's measuring code runs against the renderer as it is (no timing asserted)."""

from __future__ import annotations

import sys

from tests.conftest import MEDIA, ROOT


def test_video_bench_times_whole_commands_on_a_short_span(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    monkeypatch.delitem(sys.modules, "video", raising=False)
    import video

    clip = video.write_clip(tmp_path / "chaplin.mp4", MEDIA / "chaplin.mp4", 5)
    results = video.measure({"tiny": (clip, 96)}, ["multistyle"], rounds=1, peer=False, folder=tmp_path)
    row = results["tiny"]
    assert row["frames"] == 5
    per_frame = row["multistyle-per-frame"]
    assert per_frame["fps"] > 0 and per_frame["peak_mib"] > 100
    for temporal in row["multistyle-temporal"], row["multistyle-temporal-one-pass"]:
        assert temporal["fps"] > 0 and temporal["speed_ratio"] > 0
        assert 0 < temporal["warping_error"] < 1  # consistency lowers it against the per-frame render
        assert 0.5 < temporal["gradient_energy"] < 1.5
