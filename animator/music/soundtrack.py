"""Sound made here, so its beats are known and it is ours to ship: a click track for tests, and
the sample soundtrack: a kick drum, a bass line, off-beat hats and a pad in A minor at 100 BPM.
`python -m animator.music.soundtrack [OUT.m4a]` writes samples/groove.m4a.

    bar 1     the pad alone (Am F C G, a chord a bar, to the end)
    bar 2     the kick on every beat
    bar 3     the bass line joins, in eighth notes
    bars 4-9  hats on the off-beats
    bar 9     a break: one kick, no bass
    bar 10    kick and bass again; the pad rings on for 1.5 s
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from animator.bundled import samples_folder
from animator.errors import AnimatorError
from animator.media.audio import Sound, write_audio

RATE = 44100
BPM = 100
BARS = 10
CHORDS = [(220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 261.63, 329.63), (196.00, 246.94, 293.66)]
ROOTS = [55.00, 43.65, 65.41, 49.00]  # A1 F1 C2 G1: the bass under each chord


def click_track(bpm: float, seconds: float, start: float = 0.0, rate: int = RATE) -> tuple[Sound, np.ndarray]:
    """Short 2 kHz clicks every beat from `start`, and their times in seconds."""
    times = np.arange(start, seconds - 0.05, 60.0 / bpm)
    out = np.zeros(int(seconds * rate), np.float32)
    length = int(0.005 * rate)
    click = (np.sin(2 * np.pi * 2000 * np.arange(length) / rate) * np.hanning(length)).astype(np.float32)
    for time in times:
        at = int(round(time * rate))
        out[at:at + length] += click[:len(out) - at]
    return Sound(0.8 * out, rate), times


def _time(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


def kick() -> np.ndarray:
    """A sine whose pitch falls from 120 to 45 Hz, with a short click on top."""
    t = _time(0.45)
    frequency = 45 + 75 * np.exp(-t / 0.04)
    body = np.sin(2 * np.pi * np.cumsum(frequency) / RATE) * np.exp(-t / 0.18)
    click = np.random.default_rng(1).standard_normal(len(t)) * np.exp(-t / 0.003)
    return (body + 0.3 * click) * envelope(len(t), 0.0005, 0.1)


def hat(rng: np.random.Generator) -> np.ndarray:
    t = _time(0.08)
    noise = np.diff(rng.standard_normal(len(t) + 1))  # differencing keeps the highs
    return 0.15 * noise * np.exp(-t / 0.02)


def tone(frequency: float, seconds: float, harmonics: int, rolloff: float, detune: float = 0.0) -> np.ndarray:
    """Additive harmonics with amplitudes 1 / k^rolloff (a soft saw for rolloff 1)."""
    t = _time(seconds)
    return sum(np.sin(2 * np.pi * k * frequency * (1 + detune) * t) / k ** rolloff for k in range(1, harmonics + 1))


def envelope(length: int, attack: float, release: float) -> np.ndarray:
    t = np.arange(length) / RATE
    rise = np.clip(t / attack, 0, 1)
    fall = np.clip((length / RATE - t) / release, 0, 1)
    return rise * fall


def soundtrack(bars: int = BARS, bpm: float = BPM) -> Sound:
    beat = 60.0 / bpm
    bar = 4 * beat
    out = np.zeros(int((bars * bar + 1.5) * RATE))

    def add(sound: np.ndarray, at: float, gain: float) -> None:
        start = int(round(at * RATE))
        end = min(len(out), start + len(sound))
        out[start:end] += gain * sound[:end - start]

    rng = np.random.default_rng(0)
    for b in range(bars):
        chord, root = CHORDS[b % 4], ROOTS[b % 4]
        pad = sum(tone(f, bar + 1.0, 6, 1.5, d) for f in chord for d in (-0.003, 0.003))
        add(pad * envelope(len(pad), 0.6, 1.0), b * bar, 0.05 if b else 0.03)
        for i in range(4):
            if b >= 1 and b != 8 or (b == 8 and i == 0):
                add(kick(), b * bar + i * beat, 0.9)
            if 3 <= b <= 8:
                add(hat(rng), b * bar + (i + 0.5) * beat, 1.0)
        if 2 <= b and b != 8:
            for i in range(8):  # eighth notes, every other one an octave up
                note = tone(root * (2 if i % 2 else 1), beat / 2, 8, 1.0)
                add(note * envelope(len(note), 0.005, 0.08), b * bar + i * beat / 2, 0.12)
    return Sound((0.9 * out / np.abs(out).max()).astype(np.float32), RATE)


def beat_times(bars: int = BARS, bpm: float = BPM) -> np.ndarray:
    """The soundtrack's kicks, in seconds."""
    beat = 60.0 / bpm
    return np.array([(b * 4 + i) * beat for b in range(1, bars) for i in range(4) if b != 8 or i == 0])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m animator.music.soundtrack",
                                     description="Write the soundtrack, to OUT or the samples' groove.m4a.")
    parser.add_argument("out", nargs="?", type=Path, metavar="OUT")
    out = parser.parse_args().out  # `--help` is help, not a file name
    try:
        write_audio(out or samples_folder() / "groove.m4a", soundtrack(), bit_rate=64_000)
    except AnimatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
