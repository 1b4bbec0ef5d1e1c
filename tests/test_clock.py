"""Where a frame sits in its render: a chunk of a split render sees its frames as the whole does."""

from __future__ import annotations

import torch

from animator.clock import Clock
from animator.preset.schedule import parse_schedule


def test_a_chunks_frames_take_the_whole_renders_values_and_random_draws():
    whole, part = Clock(150, 1 / 25, seed=7), Clock(150, 1 / 25, seed=7, first=100)  # a chunk from frame 100
    schedule = parse_schedule("0: 0, 149: 1 + s")
    for t in (0, 1, 49):
        mine, theirs = part.at(t), whole.at(100 + t)
        assert mine.t == theirs.t and mine.value(schedule) == theirs.value(schedule)
        assert torch.equal(torch.randn(8, generator=mine.rng), torch.randn(8, generator=theirs.rng))
    assert part.at(0).value(parse_schedule("s")) == 4.0  # frame 100 at 25 fps: 4 s into the render
    draws = [torch.randn(8, generator=whole.at(t).rng) for t in (0, 1)]
    assert not torch.equal(*draws)  # each frame draws its own
    assert not torch.equal(draws[0], torch.randn(8, generator=Clock(150, 1 / 25, seed=8).at(0).rng))  # and each seed
