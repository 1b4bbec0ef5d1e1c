"""A render planned without torch: the preset with its input opened, its timeline (frames, rate,
the steps its schedules count), its schedules checked against it, its sound and its fingerprint.
`validate`, `preview` and a batch's planning stop here; `engine.load(plan)` builds the method
and the renderer, and only then does torch load."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from animator.media.sink import AudioSpan
from animator.media.source import open_source
from animator.preset.resolve import Timeline, check_schedules, follows_clip, soundtrack, timeline
from animator.preset.schema import Preset
from animator.render.record import fingerprint


class Plan:
    """What can fail on bad input fails here: the input must open and give a first frame, and a
    video's schedules must hold at every frame of its clip."""

    def __init__(self, preset: Preset):
        self.preset = preset
        self.source = open_source(preset.input, preset.video.start, preset.video.duration)
        self.first: np.ndarray = self.source.first()  # HxWx3 uint8: the picture a loop starts from
        self.timeline: Timeline = timeline(preset, self.source.frame_count, self.source.fps)
        if follows_clip(preset):  # its schedules could not be checked before the clip was open
            check_schedules(preset, self.timeline)

    @property
    def fps(self) -> Fraction:
        return self.timeline.fps

    @property
    def frame_count(self) -> int | None:
        return self.timeline.frames

    def audio(self) -> AudioSpan | None:
        return soundtrack(self.preset, self.source.has_audio)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.preset)
