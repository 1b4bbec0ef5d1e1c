"""What a sound says about each frame of a render, for schedules: computed once, with numpy.

    loud    RMS of the samples around the frame, 1 at the track's loudest frame
    onset   spectral flux (how much new sound starts), 1 at the track's strongest
    beat    1 on each detected beat's frame, halving every `half_life` seconds until the next
    bass    RMS amplitude of 20-250 Hz, 1 at the track's maximum
    mid     250-2000 Hz, likewise
    high    2000 Hz and up, likewise

Frame t stands for the audio within half a frame of start + t * seconds_per_frame; past the end
of the sound every feature is 0. Everything is normalized over the whole track, so a render of
part of it (or a chunk of a split render) sees the values a render of all of it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from animator.media.audio import Sound
from animator.music.beats import tempo_period, track_beats
from animator.music.spectrum import ONSET_LAG, Spectrum, spectrum
from animator.preset.schedule import AUDIO_VARIABLES

NAMES = AUDIO_VARIABLES  # what schedules call them
BANDS = {"bass": (20.0, 250.0), "mid": (250.0, 2000.0), "high": (2000.0, np.inf)}


@dataclass(frozen=True)
class Analysis:
    """A sound's features at its own resolution, before they are sampled at a frame rate."""

    sound: Sound
    spectrum: Spectrum
    beats: np.ndarray  # seconds
    bpm: float

    @property
    def seconds(self) -> float:
        return self.sound.seconds


def analyse(sound: Sound) -> Analysis:
    summed = spectrum(sound, BANDS)
    beats = (track_beats(summed.onsets, summed.rate) + ONSET_LAG) / summed.rate
    return Analysis(sound, summed, beats, 60.0 * summed.rate / tempo_period(summed.onsets, summed.rate))


@dataclass(frozen=True)
class Features:
    """Per frame of a render: each of NAMES as an array of `count` values in [0, 1]."""

    values: dict[str, np.ndarray]
    beat_frames: np.ndarray  # frames with a beat
    seconds_per_frame: float
    bpm: float

    @property
    def count(self) -> int:
        return len(self.values["loud"])

    def at(self, t: int) -> dict[str, float]:
        """The features of frame t (0 outside the render)."""
        inside = 0 <= t < self.count
        return {name: float(values[t]) if inside else 0.0 for name, values in self.values.items()}


def frame_features(analysis: Analysis, count: int, seconds_per_frame: float, half_life: Sequence[float],
                   start: float = 0.0) -> Features:
    """The features of frames 0 .. count - 1, frame 0 at `start` seconds into the sound;
    `half_life` holds each frame's beat half-life in seconds."""
    # Frames on the same grid cover the whole track, before `start` too, for the normalization.
    first = -int(np.floor(start / seconds_per_frame))
    frames = np.arange(first, max(count, int(np.ceil((analysis.seconds - start) / seconds_per_frame)) + 1))
    edges = start + (np.append(frames, frames[-1] + 1) - 0.5) * seconds_per_frame  # frame f: edges[i] .. edges[i + 1]
    values = {"loud": _windowed_rms(analysis.sound, edges)}
    summed = analysis.spectrum
    onsets = _windowed(summed.onsets, summed.rate, edges - ONSET_LAG / summed.rate, np.max)
    values["onset"] = np.where(edges[:-1] < analysis.seconds, onsets, 0.0)  # the last spectrum frames heard a hop on
    for name, amplitude in summed.bands.items():
        values[name] = np.sqrt(_windowed(amplitude ** 2, summed.rate, edges, np.mean))
    values = {name: _unit(v)[-first:count - first] for name, v in values.items()}
    beat_frames = np.unique(np.round((analysis.beats - start) / seconds_per_frame).astype(int))
    beat = _decaying(beat_frames, count, seconds_per_frame, np.maximum(np.asarray(half_life, np.float64), 1e-3))
    sounding = start + (np.arange(count) - 0.5) * seconds_per_frame < analysis.seconds
    values["beat"] = np.where(sounding, beat, 0).astype(np.float32)
    shown = beat_frames[(beat_frames >= 0) & (beat_frames < count)]
    return Features({name: values[name] for name in NAMES}, shown, seconds_per_frame, analysis.bpm)


def _windowed_rms(sound: Sound, edges: np.ndarray) -> np.ndarray:
    """RMS of the samples between consecutive edges (seconds), from cumulative sums."""
    energy = np.concatenate([[0.0], np.cumsum(np.square(sound.samples, dtype=np.float64))])
    at = np.clip(np.round(edges * sound.rate).astype(int), 0, len(sound.samples))
    sizes = np.maximum(np.diff(at), 1)
    return np.sqrt(np.diff(energy[at]) / sizes)


def _windowed(series: np.ndarray, rate: float, edges: np.ndarray, reduce) -> np.ndarray:
    """`reduce` of the series' samples (at `rate` a second) between consecutive edges (the one
    at a window's start where it falls between two samples); 0 past the end."""
    at = np.clip(np.ceil(edges * rate).astype(int), 0, len(series))
    return np.array([reduce(series[a:max(a + 1, b)]) if a < len(series) else 0.0 for a, b in zip(at[:-1], at[1:])])


def _unit(values: np.ndarray) -> np.ndarray:
    top = values.max(initial=0.0)
    return (values / top if top > 0 else values).astype(np.float32)


def _decaying(beat_frames: np.ndarray, count: int, seconds_per_frame: float, half_life: np.ndarray) -> np.ndarray:
    """1 on each beat frame, halving every half_life seconds after it (beats before frame 0
    included); 0 before the first."""
    frames = np.arange(count)
    last = np.searchsorted(beat_frames, frames, side="right") - 1
    since = (frames - beat_frames[np.maximum(last, 0)]) * seconds_per_frame if len(beat_frames) else frames * 0.0
    with np.errstate(over="ignore", divide="ignore"):  # a schedule through 0 or below is refused after, in one line
        return np.where(last >= 0, 0.5 ** (since / half_life), 0.0).astype(np.float32)
