"""The short-time spectrum of a sound and its onset envelope (spectral flux), with numpy.

Frames are centred: frame j is the Hann-windowed N_FFT samples around sample j * HOP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from animator.media.audio import Sound

N_FFT = 1024  # 46 ms at 22050 Hz: bins 21.5 Hz apart, so the bass band has its own bins
HOP = 256  # 11.6 ms: onsets and beats are placed to a third of a 24 fps frame
CHUNK = 4096  # frames transformed at once, so a long file never holds its whole complex spectrum
COMPRESSION = 100.0  # log(1 + C |X|): loud and quiet partials weigh alike in the flux


@dataclass(frozen=True)
class Spectrogram:
    magnitude: np.ndarray  # (frames, bins) float32
    rate: float  # frames a second
    frequencies: np.ndarray  # Hz of each bin

    def band(self, low: float, high: float) -> np.ndarray:
        """Root-mean-square amplitude of the bins in [low, high) Hz, per frame."""
        bins = (self.frequencies >= low) & (self.frequencies < high)
        return np.sqrt(np.mean(np.square(self.magnitude[:, bins], dtype=np.float64), axis=1))


def spectrogram(sound: Sound) -> Spectrogram:
    padded = np.pad(sound.samples, N_FFT // 2)
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    hann = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic: overlapping windows sum flat
    magnitude = np.concatenate([np.abs(np.fft.rfft(windows[i:i + CHUNK] * hann)).astype(np.float32)
                                for i in range(0, len(windows), CHUNK)])
    return Spectrogram(magnitude, sound.rate / HOP, np.fft.rfftfreq(N_FFT, 1 / sound.rate))


def onset_envelope(spectrum: Spectrogram) -> np.ndarray:
    """Spectral flux: per frame, the summed rise of each bin's log magnitude since the frame
    before (falls count for nothing). Frame 0 rises from silence."""
    compressed = np.log1p(COMPRESSION * spectrum.magnitude)
    rise = np.diff(compressed, axis=0, prepend=0.0)
    return np.maximum(rise, 0.0).sum(axis=1)
