"""Where a frame sits in its render: the values its schedules take there (the audio's features of
the frame among their variables, when the render has audio), and its random numbers.

Random numbers come from one generator per frame, seeded from the preset's seed and the frame's
index alone, so a resumed render draws what an uninterrupted one would have.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from animator.preset.schedule import Schedule

T = TypeVar("T")


def frame_generator(seed: int, index: int) -> torch.Generator:
    # Below 2^64, the most manual_seed takes, for a preset's seed (at most schema.SEED_MAX).
    return torch.Generator().manual_seed(seed * 1_000_003 + index)


@dataclass(frozen=True)
class Clock:
    count: int  # T: frames (iterate: steps) in the render
    seconds_per_frame: float
    seed: int = 0
    features: Callable[[int], Mapping[str, float]] | None = None  # frame -> its audio features (music.Features.at)
    first: int = 0  # the frame this render starts at (a chunk of a split video starts part-way)

    def at(self, t: int) -> When:
        """Where the render's t-th frame sits: at frame first + t of the whole."""
        return When(self.first + t, self, frame_generator(self.seed, self.first + t))


@dataclass(frozen=True)
class When:
    t: int
    clock: Clock
    rng: torch.Generator

    def value(self, value: float | Schedule) -> float:
        if isinstance(value, Schedule):
            clock = self.clock
            heard = clock.features(self.t) if clock.features is not None else None
            return value.at(self.t, clock.count, self.t * clock.seconds_per_frame, heard)
        return value


def at_frame(options: T, when: When | None) -> T:
    """A copy of a frozen options object with every schedule in it replaced by its value at
    `when` (at frame 0 of a one-frame render when None)."""
    when = when or Clock(1, 0.0).at(0)

    def resolve(value: Any) -> Any:
        if isinstance(value, Schedule):
            return when.value(value)
        if dataclasses.is_dataclass(value):
            return dataclasses.replace(value, **{f.name: resolve(getattr(value, f.name)) for f in dataclasses.fields(value)
                                                 if f.init})
        if isinstance(value, tuple):
            return tuple(resolve(v) for v in value)
        return value

    return resolve(options)
