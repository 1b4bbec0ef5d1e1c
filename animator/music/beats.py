"""Beats from an onset envelope: the tempo by autocorrelation, then the beats by dynamic
programming (Ellis 2007, "Beat tracking by dynamic programming"): the best sequence of onsets
whose spacing stays close to the tempo's period.
"""

from __future__ import annotations

import numpy as np

PRIOR_BPM = 120.0  # tempi near it are favoured: a log-Gaussian, one octave wide
PRIOR_OCTAVES = 1.0
BPM_RANGE = (30.0, 300.0)
TIGHTNESS = 100.0  # how strongly a beat's spacing is held to the period (Ellis's alpha)


def tempo_period(envelope: np.ndarray, rate: float) -> float:
    """The beat period in envelope frames (fractional): the autocorrelation peak, weighted
    towards PRIOR_BPM, so a bar or an eighth note does not win over the beat."""
    centred = envelope - envelope.mean()
    size = 1 << int(np.ceil(np.log2(2 * len(centred))))
    spectrum = np.fft.rfft(centred, size)
    autocorrelation = np.fft.irfft(spectrum * np.conj(spectrum), size)[:len(centred)]
    lags = np.arange(len(autocorrelation), dtype=np.float64)
    shortest, longest = (60.0 * rate / bpm for bpm in reversed(BPM_RANGE))
    usable = (lags >= shortest) & (lags <= min(longest, len(centred) - 2))
    if not usable.any() or autocorrelation[usable].max() <= 0:
        return 60.0 * rate / PRIOR_BPM
    with np.errstate(divide="ignore"):
        prior = np.exp(-0.5 * (np.log2(60.0 * rate / lags / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    weighted = np.where(usable, np.maximum(autocorrelation, 0) * prior, -np.inf)
    peak = int(np.argmax(weighted))
    below, here, above = autocorrelation[peak - 1:peak + 2]
    curvature = below - 2 * here + above
    # parabolic refinement, of a peak of the autocorrelation itself: where the prior made the peak
    # (the range's end, the autocorrelation still rising past it) the parabola's vertex lies anywhere,
    # a negative period or thousands of BPM
    refined = curvature < 0 and here >= max(below, above)
    return peak + (0.5 * (below - above) / curvature if refined else 0.0)


def track_beats(envelope: np.ndarray, rate: float) -> np.ndarray:
    """Envelope frames with a beat, in order; none where nothing rises."""
    if len(envelope) < 3 or envelope.std() == 0:
        return np.zeros(0, int)
    period = tempo_period(envelope, rate)
    onsets = envelope / envelope.std()
    score, previous = _best_paths(_local_score(onsets, period), period)
    maxima = np.flatnonzero(_local_maxima(score))
    if not len(maxima):
        return np.zeros(0, int)
    ends = maxima[score[maxima] > 0.5 * np.median(score[maxima])]
    sounding = _sounding(onsets)
    # The sequence ends on a beat that sounds (within 2 frames, 23 ms): on a noise floor's flux the
    # score goes on growing past the last beat heard, and a sequence ended there skipped it.
    heard = [end for end in ends if sounding[max(0, end - 2):end + 3].any()]
    beats = [heard[-1] if heard else ends[-1]]
    while previous[beats[-1]] >= 0:
        beats.append(previous[beats[-1]])
    return _trim(np.array(beats[::-1]), sounding)


def _local_score(onsets: np.ndarray, period: float) -> np.ndarray:
    """The onsets smoothed by a Gaussian of period / 32, as in Ellis's paper."""
    reach = int(round(period))
    window = np.exp(-0.5 * (np.arange(-reach, reach + 1) * 32.0 / period) ** 2)
    return _centred(onsets, window)


def _best_paths(local: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
    """score[i]: the best total of a beat sequence ending at i; previous[i]: its beat before i,
    or -1 where a sequence starts (where every predecessor would cost more than it brings).
    Predecessors lie half a period to two periods back, each paying TIGHTNESS * log(spacing /
    period)^2."""
    score, previous = local.astype(np.float64), np.full(len(local), -1)
    offsets = np.arange(int(round(2 * period)), int(round(period / 2)) - 1, -1)  # far to near
    cost = TIGHTNESS * np.log(offsets / period) ** 2
    for i in range(int(offsets[-1]), len(local)):
        reachable = offsets <= i
        candidates = score[i - offsets[reachable]] - cost[reachable]
        best = int(np.argmax(candidates))
        if candidates[best] > 0:
            score[i] += candidates[best]
            previous[i] = i - offsets[reachable][best]
    return score, previous


def _centred(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """x convolved with an odd-length kernel, centred, as long as x (numpy's "same" is as long
    as the longer of the two, so a sound shorter than the kernel grew frames it never had)."""
    half = (len(kernel) - 1) // 2
    return np.convolve(x, kernel, "full")[half:half + len(x)]


def _local_maxima(x: np.ndarray) -> np.ndarray:
    peak = np.zeros(len(x), bool)
    peak[1:-1] = (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])  # not the last: a path cut off by the end
    return peak


def _sounding(onsets: np.ndarray) -> np.ndarray:
    """Per frame, whether something sounds there: the onsets, smoothed, above their median by
    more than half the root-mean-square of what rises above it. Above the median, not above 0: a
    recording's noise floor, even at -70 dB, has a flux of its own in every frame (the compressed
    spectrum's every bin wavers), so that every frame of a quiet intro or tail sounded."""
    smoothed = _centred(onsets, np.hanning(7)[1:-1])
    above = np.maximum(smoothed - np.median(smoothed), 0)
    return above > 0.5 * np.sqrt(np.mean(above ** 2))


def _trim(beats: np.ndarray, sounding: np.ndarray) -> np.ndarray:
    """Drop beats at either end that fall where nothing sounds (the DP's sequence carries on
    through leading and trailing silence at the period)."""
    strong = sounding[beats]
    if not strong.any():
        return beats[:0]
    first, last = np.flatnonzero(strong)[[0, -1]]
    return beats[first:last + 1]
