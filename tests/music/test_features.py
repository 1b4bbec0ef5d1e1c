"""Audio features per frame: beats against clicks and kicks whose times are known, the other
features against what the soundtrack plays, normalization, and decay."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from animator.media.audio import decode_audio, write_audio
from animator.music import soundtrack
from animator.music.features import NAMES, analyse, frame_features
from tests.conftest import SAMPLES

FPS = 24


def heard(tmp_path: Path, sound) -> object:
    """The sound through a real codec and back, analysed."""
    write_audio(tmp_path / "sound.m4a", sound)
    return analyse(decode_audio(tmp_path / "sound.m4a"))


@pytest.fixture(scope="module")
def groove():
    return analyse(decode_audio(SAMPLES / "groove.m4a"))


@pytest.mark.parametrize("start", [0.0, 0.3, 1 / 48])  # 1/48 s: every click half-way between two frames
def test_beats_fall_within_a_frame_of_every_click_at_120_bpm(tmp_path, start):
    sound, clicks = soundtrack.click_track(120, 10.0, start=start)
    analysis = heard(tmp_path, sound)
    count = 10 * FPS
    features = frame_features(analysis, count, 1 / FPS, [0.1] * count)
    expected = np.round(clicks * FPS).astype(int)
    assert len(features.beat_frames) == len(expected) == 20  # one beat per click, none more
    assert np.abs(features.beat_frames - expected).max() <= 1
    assert analysis.bpm == pytest.approx(120, abs=1)


@pytest.mark.parametrize("bpm, heard", [(40, 40), (75, 75), (180, 180), (200, 100), (240, 120)])
def test_clicks_from_40_to_180_bpm_are_heard_at_their_tempo_and_faster_ones_as_eighth_notes(bpm, heard):
    """The tempo is the clicks' own from 30 BPM up; past about 180 the beat is every other click,
    as the eighth notes of a tempo near 120 (a bar or an eighth note does not win over the beat)."""
    from animator.media.audio import ANALYSIS_RATE

    sound, clicks = soundtrack.click_track(bpm, 10.0, rate=ANALYSIS_RATE)
    analysis = analyse(sound)
    assert analysis.bpm == pytest.approx(heard, rel=0.01)
    step = bpm // heard
    on_the_beat = [clicks[first::step] for first in range(step)]  # every other click, from either
    assert any(len(analysis.beats) == len(beats) and np.abs(analysis.beats - beats).max() < 0.5 / FPS
               for beats in on_the_beat), analysis.beats


def test_two_clicks_in_a_short_sound_are_two_beats_at_their_spacing():
    # the autocorrelation wrapped around the sound's end: 0.9 s apart in 1.3 s, it was 0.4 s, 100 BPM, and one beat
    from animator.media.audio import ANALYSIS_RATE

    sound, clicks = soundtrack.click_track(60 / 0.9, 1.3, start=0.05, rate=ANALYSIS_RATE)
    analysis = analyse(sound)
    assert len(clicks) == 2 and analysis.bpm == pytest.approx(60 / 0.9, rel=0.02)
    assert len(analysis.beats) == 2 and np.abs(analysis.beats - clicks).max() < 0.5 / FPS


def test_silence_has_no_beats_and_the_favoured_tempo_without_a_warning():
    import warnings

    from animator.media.audio import ANALYSIS_RATE, Sound

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value encountered in divide", printed by every render of it
        analysis = analyse(Sound(np.zeros(2 * ANALYSIS_RATE, np.float32), ANALYSIS_RATE))
        features = frame_features(analysis, 48, 1 / FPS, [0.1] * 48)
    assert len(analysis.beats) == 0 and len(features.beat_frames) == 0 and analysis.bpm == 120  # what the preview shows
    assert all(v.max() == 0 for v in features.values.values())


def test_a_beat_is_on_the_frame_whose_span_holds_it(tmp_path):
    # frame t stands for the sound within half a frame of t / FPS: clicks three quarters of a
    # frame after a frame's time belong to the next frame
    sound, clicks = soundtrack.click_track(120, 6.0, start=0.75 / FPS)
    features = frame_features(heard(tmp_path, sound), 6 * FPS, 1 / FPS, [0.1] * 6 * FPS)
    assert list(features.beat_frames) == [1 + 12 * k for k in range(len(clicks))]
    assert list(np.flatnonzero(features.values["onset"] > 0.5)) == list(features.beat_frames)  # the onsets too


def test_beats_are_placed_when_their_clicks_sound_not_a_hop_before(tmp_path, groove):
    """The flux of centred windows peaks a quarter window before the sound rises: beats came 10.7
    ms early on average (at 60 fps, six in ten on the frame before their click's)."""
    offsets = []
    for start in np.linspace(0, 0.0232, 5):  # clicks at every phase of the spectrum's 11.6 ms hop
        sound, clicks = soundtrack.click_track(120, 6.0, start=start)
        beats = heard(tmp_path, sound).beats
        assert len(beats) == len(clicks)
        offsets.append(beats - clicks)
    offsets = np.concatenate(offsets)
    assert abs(offsets.mean()) < 0.003 and -0.006 < offsets.min() and offsets.max() < 0.012
    kicks = soundtrack.beat_times()
    to_kicks = np.array([groove.beats[np.argmin(np.abs(groove.beats - kick))] - kick for kick in kicks])
    assert abs(to_kicks.mean()) < 0.003 and np.abs(to_kicks).max() < 0.008


def test_the_soundtracks_beat_times_are_the_kicks_it_plays():
    """Where a kick starts, the sound below 150 Hz jumps (the bass line, there too, is a seventh of
    the kick's level); the other beats, in the intro and the break, have no kick."""
    sound = soundtrack.soundtrack()
    rate = sound.rate
    spectrum = np.fft.rfft(sound.samples)
    spectrum[np.fft.rfftfreq(len(sound.samples), 1 / rate) > 150] = 0
    low = np.fft.irfft(spectrum, len(sound.samples))
    rms = lambda a, b: np.sqrt(np.mean(low[round(a * rate):round(b * rate)] ** 2))  # noqa: E731
    grid = np.arange(1, 4 * soundtrack.BARS) * 60 / soundtrack.BPM  # every beat but the first
    jumps = np.array([rms(t, t + 0.05) / rms(t - 0.1, t - 0.02) for t in grid])
    np.testing.assert_allclose(grid[jumps > 3], soundtrack.beat_times())
    assert len(soundtrack.beat_times()) == 4 * 8 + 1  # bars 2-8 and 10, and the break's one kick


def test_the_shipped_groove_is_what_the_soundtrack_command_makes(groove):
    # the tests of the soundtrack's beats and parts read samples/groove.m4a: the code that makes
    # it, changed, would be tested nowhere
    from animator.media.audio import ANALYSIS_RATE, Sound

    made = soundtrack.soundtrack()
    assert made.rate == 2 * ANALYSIS_RATE
    half = len(made.samples) // 2
    spectrum = np.fft.rfft(made.samples.astype(np.float64))[:half // 2 + 1]  # to the analysis' rate, band-limited
    analysis = analyse(Sound((np.fft.irfft(spectrum, half) / 2).astype(np.float32), ANALYSIS_RATE))
    assert analysis.seconds == groove.seconds and np.array_equal(analysis.beats, groove.beats)
    count = int(groove.seconds * FPS)
    made_values, shipped = (frame_features(a, count, 1 / FPS, [0.1] * count).values for a in (analysis, groove))
    for name in NAMES:  # as near as the shipped file's AAC at 64 kb/s keeps it
        difference = np.abs(made_values[name] - shipped[name])
        assert difference.mean() < 0.02 and difference.max() < 0.15, (name, difference.mean(), difference.max())


def test_beats_of_the_soundtrack_are_its_kicks(groove):
    count = int(groove.seconds * FPS)
    beats = frame_features(groove, count, 1 / FPS, [0.1] * count).beat_frames
    kicks = np.round(soundtrack.beat_times() * FPS).astype(int)
    assert all(np.abs(beats - kick).min() <= 1 for kick in kicks)  # every kick is a beat
    grid = np.round(np.arange(kicks[0], kicks[-1] + 1, 0.6 * FPS)).astype(int)  # 100 BPM from the first kick
    assert all(np.abs(grid - beat).min() <= 1 for beat in beats)  # and every beat is on the beat: the break too
    assert beats[0] >= kicks[0] - 1 and beats[-1] <= kicks[-1] + 1  # nothing in the pad's intro and tail
    assert groove.bpm == pytest.approx(soundtrack.BPM, abs=1)


def with_noise(sound, decibels: float, seed: int):
    """The sound with white noise at `decibels` below full scale: a recording's floor."""
    from animator.media.audio import Sound

    noise = 10 ** (decibels / 20) * np.random.default_rng(seed).standard_normal(sound.samples.shape)
    return Sound((sound.samples + noise).astype(np.float32), sound.rate)


@pytest.mark.parametrize("bpm, seconds", [(80, 10.0), (100, 4.0), (120, 10.0)])
def test_clicks_over_a_noise_floor_are_the_beats_the_last_one_too(bpm, seconds):
    # at -60 dB the noise's flux made the beat sequence's score grow past the last click, and the
    # sequence chosen to end there skipped it, or kept a beat in the noise after it
    from animator.media.audio import ANALYSIS_RATE

    sound, clicks = soundtrack.click_track(bpm, seconds, rate=ANALYSIS_RATE)
    beats = analyse(with_noise(sound, -60, seed=1)).beats
    assert len(beats) == len(clicks) and np.abs(beats - clicks).max() < 0.5 / FPS, beats


def test_the_groove_over_a_noise_floor_has_no_beats_in_its_intro_or_tail(groove):
    # at -70 dB every frame's flux is the noise's as much as the pad's: each frame of the intro and
    # the tail counted as sounding, and the beats ran on through them
    noisy = analyse(with_noise(decode_audio(SAMPLES / "groove.m4a"), -70, seed=0))
    kicks = soundtrack.beat_times()
    assert noisy.beats[0] > kicks[0] - 0.5 / FPS and noisy.beats[-1] < kicks[-1] + 0.5 / FPS
    np.testing.assert_allclose(noisy.beats, groove.beats, atol=0.5 / FPS)  # the beats the groove has without it


def test_features_follow_what_plays(groove):
    count = int(groove.seconds * FPS) + 48  # two seconds past the end
    f = frame_features(groove, count, 1 / FPS, [0.1] * count).values
    assert set(f) == set(NAMES)
    assert all(v.min() >= 0 and v.max() == pytest.approx(1) for v in f.values())  # normalized over the track
    bar = 2.4 * FPS
    intro, full = slice(0, int(bar)), slice(int(4 * bar), int(8 * bar))  # the pad alone; everything
    assert f["loud"][intro].mean() < 0.3 * f["loud"][full].mean()
    assert f["bass"][intro].mean() < 0.2 * f["bass"][full].mean()  # no kick, no bass line (the pad's low notes)
    assert f["high"][int(4 * bar):int(8 * bar)].mean() > 3 * f["high"][intro].mean()  # the hats
    assert f["onset"][full].max() > 0.5 and f["onset"][intro].max() < 0.2
    assert all(v[-24:].max() == 0 for v in f.values())  # silence past the end


def test_beat_halves_every_half_life_and_a_later_start_sees_the_same_values(groove):
    count, half_life = 560, 0.25
    whole = frame_features(groove, count, 1 / FPS, [half_life] * count)
    beat, first = whole.values["beat"], whole.beat_frames[0]
    assert beat[:first].max() == 0 and beat[first] == 1
    assert beat[first + 6] == pytest.approx(0.5)  # 6 frames at 24 fps: one half-life
    assert beat[first + 3] == pytest.approx(2 ** -0.5)
    for skipped in (100, 480):  # 480: into the last bars, past the loudest frames
        later = frame_features(groove, count - skipped, 1 / FPS, [half_life] * (count - skipped), start=skipped / FPS)
        for name in NAMES:  # frame 0 of a render starting that many frames in (a split render's chunk) is that frame
            np.testing.assert_allclose(later.values[name], whole.values[name][skipped:], atol=1e-6)


def test_the_beats_of_a_render_are_its_own_frames(groove):
    # a beat a frame before the render's first frame, or on the frame after its last, was among
    # them: the preview drew its red line at the strip's right end
    beats = groove.beats
    start = beats[4] + 1 / FPS
    count = int(np.round((beats[8] - start) * FPS))
    features = frame_features(groove, count, 1 / FPS, [0.1] * count, start=start)
    assert list(features.beat_frames) == [round((beat - start) * FPS) for beat in beats[5:8]]


def test_a_render_of_the_start_of_a_sound_is_normalized_by_all_of_it_to_its_last_frame():
    # quiet but for its last 15 ms, which only the frame holding its end hears: a render of its
    # first half second was normalized without that frame, its quiet as loud as it gets
    from animator.media.audio import ANALYSIS_RATE, Sound

    t = np.arange(ANALYSIS_RATE) / ANALYSIS_RATE
    sound = Sound((np.where(t < 0.985, 0.05, 0.8) * np.sin(2 * np.pi * 100 * t)).astype(np.float32), ANALYSIS_RATE)
    analysis = analyse(sound)
    whole = frame_features(analysis, FPS + 1, 1 / FPS, [0.1] * (FPS + 1)).values
    assert whole["loud"][FPS] == 1 and whole["loud"][:FPS].max() < 0.2
    part = frame_features(analysis, FPS // 2, 1 / FPS, [0.1] * (FPS // 2)).values
    for name in NAMES:
        np.testing.assert_allclose(part[name], whole[name][:FPS // 2], atol=1e-6)


def test_a_bands_level_is_its_rms_over_the_frame():
    # at 2 frames a second: frame 1 a held 100 Hz tone, frame 3 one twice as loud for a quarter of it
    from animator.media.audio import ANALYSIS_RATE, Sound

    t = np.arange(2 * ANALYSIS_RATE) / ANALYSIS_RATE
    level = np.select([(t >= 0.25) & (t < 0.75), (t >= 1.4375) & (t < 1.5625)], [0.2, 0.4], 0.0)
    sound = Sound((level * np.sin(2 * np.pi * 100 * t)).astype(np.float32), ANALYSIS_RATE)
    bass = frame_features(analyse(sound), 4, 0.5, [0.1] * 4).values["bass"]
    assert bass[3] == pytest.approx(bass[1], rel=0.1)


def test_an_onset_heard_a_hop_after_its_spectrum_frame_is_not_heard_past_the_sound(tmp_path):
    """A tone cut off 3 ms before a frame's window: the last spectrum frames, placed a hop later,
    fell in that frame, which had an onset of 0.27 where every other feature was 0."""
    from animator.media.audio import ANALYSIS_RATE, Sound

    t = np.arange(44550) / ANALYSIS_RATE  # 2.0204 s: frame 49's window at 24 fps starts at 2.0208
    features = frame_features(analyse(Sound((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), ANALYSIS_RATE)),
                              56, 1 / FPS, [0.1] * 56)
    assert features.values["onset"][48] > 0 and all(v[49:].max() == 0 for v in features.values.values())


@pytest.mark.parametrize("milliseconds", [50, 30, 15])
def test_a_sound_shorter_than_the_beat_trackers_windows_has_features(milliseconds):
    # 15 or 30 ms: a score without a peak, where the beat tracker looked for the last one among none
    from animator.media.audio import ANALYSIS_RATE, Sound

    blip = Sound((0.5 * np.sin(np.arange(ANALYSIS_RATE * milliseconds // 1000) * 0.2)).astype(np.float32), ANALYSIS_RATE)
    features = frame_features(analyse(blip), 3, 1 / FPS, [0.1] * 3)
    assert features.values["loud"][:2].max() == 1 and features.values["loud"][2] == 0  # heard in frames 0 and 1 only
    assert all(np.isfinite(v).all() and 0 <= v.min() and v.max() <= 1 for v in features.values.values())


@pytest.mark.parametrize("start, pitch", [(0.3, 440), (0.52, 440), (0.59, 1000), (0.65, 440), (0.5, 1000)])
def test_a_sound_without_a_beat_has_a_tempo_in_range_and_features(start, pitch):
    """A lone tone burst: its autocorrelation peaks at the shortest lag, or where the prior puts it,
    not at a peak of its own; a parabola through it put the tempo at -2612 BPM (the beat tracker
    then failed with numpy's 'v cannot be empty') or at 13720."""
    from animator.media.audio import ANALYSIS_RATE, Sound
    from animator.music.beats import BPM_RANGE

    t = np.arange(2 * ANALYSIS_RATE) / ANALYSIS_RATE
    burst = np.where((t >= start) & (t < start + 0.2), 0.5 * np.sin(2 * np.pi * pitch * t), 0).astype(np.float32)
    analysis = analyse(Sound(burst, ANALYSIS_RATE))
    lowest, highest = BPM_RANGE
    assert lowest * 0.97 < analysis.bpm < highest * 1.03  # within half a spectrum frame of the range
    features = frame_features(analysis, 48, 1 / FPS, [0.1] * 48)
    assert all(np.isfinite(v).all() and 0 <= v.min() and v.max() <= 1 for v in features.values.values())


@pytest.mark.parametrize("audio_at, video_at", [(0.5, 0.0), (0.0, 0.5)])
def test_the_sound_is_heard_on_the_files_timeline_where_its_copy_is_cut(tmp_path, audio_at, video_at):
    """A capture whose audio starts after its video (or its video after its audio): the beats were
    found on the audio's own clock, the copy in the output cut on the video's, half a second apart."""
    import av

    path, rate = tmp_path / "capture.mkv", 8000
    sound = np.zeros(2 * rate, np.int16)
    sound[rate: rate + 80] = 20000  # a click 1 s into the audio stream
    with av.open(str(path), "w") as box:
        video = box.add_stream("ffv1", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = box.add_stream("pcm_s16le", rate=rate, layout="mono")
        for i in range(20):  # interleaved by time, as a muxer expects
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            frame.pts = i + round(video_at * 10)
            box.mux(video.encode(frame))
            chunk = av.AudioFrame.from_ndarray(sound[None, i * 800:(i + 1) * 800], format="s16", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = rate, i * 800 + round(audio_at * rate), Fraction(1, rate)
            box.mux(audio.encode(chunk))
        box.mux(video.encode(None))
        box.mux(audio.encode(None))
    heard = decode_audio(path, rate)
    click = np.argmax(np.abs(heard.samples)) / rate
    assert click == pytest.approx(1.0 + audio_at - video_at, abs=0.01)  # seconds from the file's time 0, its video's first


def gap_track(path: Path, rate: int = 8000) -> Path:
    """4 s of clicks at 0.5, 1.5, 2.5 and 3.5 s, in frames of a tenth of a second placed by their
    timestamps: from 2 s on, one second late (a recording that dropped a second)."""
    import av

    sound = np.zeros(4 * rate, np.int16)
    for second in (0.5, 1.5, 2.5, 3.5):
        sound[int(second * rate): int(second * rate) + 80] = 20000
    with av.open(str(path), "w") as box:
        audio = box.add_stream("pcm_s16le", rate=rate, layout="mono")
        for i in range(40):
            chunk = av.AudioFrame.from_ndarray(sound[None, i * 800:(i + 1) * 800], format="s16", layout="mono")
            chunk.sample_rate, chunk.time_base = rate, Fraction(1, rate)
            chunk.pts = i * 800 + (rate if i >= 20 else 0)
            box.mux(audio.encode(chunk))
        box.mux(audio.encode(None))
    return path


def click_times(samples: np.ndarray, rate: int) -> np.ndarray:
    return np.flatnonzero(np.diff((np.abs(samples) > 0.3).astype(int)) == 1) / rate


def test_a_gap_in_the_sounds_timestamps_is_heard_and_written_as_silence(tmp_path):
    """The samples were joined end to end: every beat after the gap was seen a second before it
    was heard (the MP4 copies the packets, timestamps and all), and a WebM's re-encoded sound
    closed the gap and ended a second before its picture."""
    import av

    from animator.media.frame import Frame
    from animator.media.sink import WebmSink, encoding
    from animator.media.soundcopy import AudioSpan

    rate = 8000
    heard = decode_audio(gap_track(tmp_path / "gap.mka", rate), rate).samples
    assert click_times(heard, rate) == pytest.approx([0.5, 1.5, 3.5, 4.5], abs=0.002) and heard.size == 5 * rate
    # frames of 1152 samples, a gap of a second to the sample: its last piece of silence was 0 samples long,
    # which the resampler refused ("cannot be decoded (Cannot allocate memory)")
    with av.open(str(tmp_path / "second.mka"), "w") as box:
        audio = box.add_stream("pcm_s16le", rate=rate, layout="mono")
        for i in range(13):
            chunk = av.AudioFrame.from_ndarray(np.full((1, 1152), 1000, np.int16), format="s16", layout="mono")
            chunk.sample_rate, chunk.time_base, chunk.pts = rate, Fraction(1, rate), i * 1152 + (rate if i >= 10 else 0)
            box.mux(audio.encode(chunk))
        box.mux(audio.encode(None))
    assert decode_audio(tmp_path / "second.mka", rate).seconds == pytest.approx(13 * 1152 / rate + 1)
    with encoding([WebmSink(tmp_path / "out.webm", Fraction(10), audio=AudioSpan(tmp_path / "gap.mka"))]) as put:
        for i in range(50):
            put(Frame(i, Fraction(i, 10), np.zeros((32, 32, 3), np.uint8)))
    with av.open(str(tmp_path / "out.webm")) as box:
        written = np.concatenate([f.to_ndarray()[0] for f in box.decode(audio=0)])
        written_rate = box.streams.audio[0].rate
    assert click_times(written, written_rate) == pytest.approx([0.5, 1.5, 3.5, 4.5], abs=0.01)


def test_a_gap_in_a_sound_written_again_is_told_once(tmp_path, caplog):
    # a video's own sound, or an `audio` file no music feature hears, is only written: its gap was silence without a word
    from animator.media.frame import Frame
    from animator.media.sink import WebmSink, encoding
    from animator.media.soundcopy import AudioSpan

    track = gap_track(tmp_path / "gap.mka")
    with caplog.at_level("WARNING"):
        with encoding([WebmSink(tmp_path / "out.webm", Fraction(10), audio=AudioSpan(track))]) as put:
            for i in range(50):
                put(Frame(i, Fraction(i, 10), np.zeros((32, 32, 3), np.uint8)))
    assert caplog.messages == [f"{track}: its sound skips 1.00 s at 2.00 s (a recording's dropout, or damage): heard as "
                               "silence there"]


def test_a_gap_in_unsigned_8_bit_sound_is_silence_not_its_lowest_level(tmp_path):
    """Unsigned 8-bit samples are silent at 128: a gap filled with 0s would be heard as full scale."""
    import av

    rate = 8000
    with av.open(str(tmp_path / "u8.mka"), "w") as box:
        audio = box.add_stream("pcm_u8", rate=rate, layout="mono")
        for i in range(20):  # 2 s of quiet, the second one a second late
            chunk = av.AudioFrame.from_ndarray(np.full((1, 800), 128, np.uint8), format="u8", layout="mono")
            chunk.sample_rate, chunk.time_base, chunk.pts = rate, Fraction(1, rate), i * 800 + (rate if i >= 10 else 0)
            box.mux(audio.encode(chunk))
        box.mux(audio.encode(None))
    heard = decode_audio(tmp_path / "u8.mka", rate).samples
    assert heard.size == 3 * rate and np.abs(heard).max() < 0.01


@pytest.mark.parametrize("codec", ["pcm_s16le", "aac"])
def test_a_7_1_sound_with_a_gap_is_heard(tmp_path, codec):
    """Eight channels: PyAV counts a ninth plane in a planar frame of them and reads it from
    nowhere; the channels' energies were read that way (a WAV's too), and the process ended on a
    segfault. An AAC decodes to planar frames, and its gap's silence was made like them."""
    import av

    rate = 48000
    sound = np.zeros((4 * rate, 8), np.float32)
    for second in (0.5, 1.5, 2.5, 3.5):
        sound[int(second * rate): int(second * rate) + 240] = 0.5
    with av.open(str(tmp_path / "surround.mka"), "w") as box:
        audio = box.add_stream(codec, rate=rate, layout="7.1")
        for i in range(40):  # from 2 s on, one second late
            chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[i * 4800:(i + 1) * 4800]).reshape(1, -1),
                                               format="flt", layout="7.1")
            chunk.sample_rate, chunk.time_base = rate, Fraction(1, rate)
            chunk.pts = i * 4800 + (rate if i >= 20 else 0)
            box.mux(audio.encode(chunk))
        box.mux(audio.encode(None))
    heard = decode_audio(tmp_path / "surround.mka", 8000)
    assert heard.seconds == pytest.approx(5, abs=0.03)
    assert click_times(heard.samples, 8000) == pytest.approx([0.5, 1.5, 3.5, 4.5], abs=0.002)


@pytest.mark.parametrize("layout, refused", [("7.1", True), ("7.1(wide-side)", True), ("5.1", False), ("octagonal", False)])
@pytest.mark.parametrize("container, codec", [("aiff", "pcm_s16be"), ("caf", "pcm_s16le")])
def test_an_aiff_or_caf_whose_layout_would_crash_the_process_is_refused_and_the_rest_heard(tmp_path, monkeypatch,
                                                                                          container, codec, layout, refused):
    """FFmpeg reads a 7.1 AIFF's or CAF's layout chunk as a custom channel order, which PyAV 18.1.0
    frees twice: the process ended (glibc aborts) as the music was read. Where this PyAV does so
    (its probe, run here as the reader runs it, ends on a signal), the file is refused in one line;
    where it does not (18.1.1), the music is heard. The file is named as a user may name it,
    relative and with a colon: the process that reads it first must open that file, not a
    protocol's address."""
    import subprocess
    import sys

    import av

    from animator.errors import MediaError
    from animator.media.audio import READ_CHANNELS
    from animator.media.container import file_name

    monkeypatch.chdir(tmp_path)
    rate, path = 8000, Path(f"12:30.{container}")
    with av.open(str(path.absolute()), "w", format=container) as box:
        audio = box.add_stream(codec, rate=rate, layout=layout)
        channels = len(av.AudioLayout(layout).channels)
        frame = av.AudioFrame.from_ndarray(np.full((1, rate * channels), 0.25, np.float32), format="flt", layout=layout)
        frame.sample_rate = rate
        for converted in av.AudioResampler(format=audio.format.name, layout=layout, rate=rate).resample(frame):
            box.mux(audio.encode(converted))
        box.mux(audio.encode(None))
    crashes = subprocess.run([sys.executable, "-c", READ_CHANNELS, file_name(path)], capture_output=True).returncode < 0
    assert crashes <= refused  # a layout PyAV reads in its order never crashes it
    if crashes:
        with pytest.raises(MediaError, match=rf"^{re.escape(str(path))}: its channel layout cannot be read here .*"
                                             "convert it to WAV or FLAC$"):
            decode_audio(path)
    else:
        assert decode_audio(path, rate).seconds == pytest.approx(1, abs=0.01)


def test_a_sound_packet_the_decoder_refuses_is_heard_and_written_as_silence_as_players_play_it(tmp_path, caplog):
    """Bytes flipped in one AAC packet of the groove (the decoder refuses nine in ten so damaged):
    the whole file was refused ("audio stream cannot be decoded"), and a WebM's re-encoded sound
    ended there; a player plays on past it."""
    import av

    from animator.media.frame import Frame
    from animator.media.sink import WebmSink, encoding
    from animator.media.soundcopy import AudioSpan

    with av.open(str(SAMPLES / "groove.m4a")) as box:
        packet = [packet for packet in box.demux(audio=0) if packet.size][350]  # 8.10 s in, 23 ms long
        at, size, starts = packet.pos, packet.size, float(packet.pts * packet.time_base)
    data = bytearray((SAMPLES / "groove.m4a").read_bytes())
    for k in range(size // 4, size - 8, 7):
        data[at + k] ^= 0xFF
    damaged = tmp_path / "damaged.m4a"
    damaged.write_bytes(bytes(data))
    clean = decode_audio(SAMPLES / "groove.m4a").samples
    with caplog.at_level("WARNING"):
        heard = decode_audio(damaged)
    differ = np.flatnonzero(heard.samples != clean) / heard.rate  # the packet, and the next one's overlap with it
    assert heard.samples.size == clean.size and starts - 0.001 < differ[0] < differ[-1] < starts + 0.05
    assert caplog.messages == [f"{damaged}: its sound skips 0.02 s at 8.10 s (a recording's dropout, or damage): heard "
                               "as silence there"]
    for name, source in (("clean", SAMPLES / "groove.m4a"), ("damaged", damaged)):  # AAC to Opus: decoded and written
        with encoding([WebmSink(tmp_path / f"{name}.webm", Fraction(10), audio=AudioSpan(source, 7.5, 1.0))]) as put:
            for i in range(10):
                put(Frame(i, Fraction(i, 10), np.zeros((32, 32, 3), np.uint8)))
    written = {name: decode_audio(tmp_path / f"{name}.webm", 8000).samples for name in ("clean", "damaged")}
    assert written["damaged"].size == written["clean"].size == pytest.approx(8000, abs=80)
    late = slice(int(0.8 * 8000), None)  # a second from 7.5 s: past the damage (at 0.6 s), the same sound
    assert np.abs(written["damaged"][late] - written["clean"][late]).max() < 0.01


def test_a_7_1_aac_is_cut_and_written_again_where_the_picture_is(tmp_path):
    """A frame of it cut at the span's ends was read through numpy, which read a ninth plane from
    nowhere: the render ended on a segfault as it closed, with no video."""
    import av

    from animator.media.frame import Frame
    from animator.media.sink import WebmSink, encoding
    from animator.media.soundcopy import AudioSpan

    rate = 48000
    sound = np.zeros((3 * rate, 8), np.float32)
    for second in (0.5, 1.5, 2.5):
        sound[int(second * rate): int(second * rate) + 240] = 0.5
    with av.open(str(tmp_path / "surround.m4a"), "w") as box:
        audio = box.add_stream("aac", rate=rate, layout="7.1")
        frame = av.AudioFrame.from_ndarray(sound.reshape(1, -1), format="flt", layout="7.1")
        frame.sample_rate = rate
        box.mux(audio.encode(frame))
        box.mux(audio.encode(None))
    with encoding([WebmSink(tmp_path / "out.webm", Fraction(10), audio=AudioSpan(tmp_path / "surround.m4a", 0.1))]) as put:
        for i in range(20):
            put(Frame(i, Fraction(i, 10), np.zeros((32, 32, 3), np.uint8)))
    clicks = click_times(decode_audio(tmp_path / "surround.m4a", 8000).samples, 8000)
    heard = decode_audio(tmp_path / "out.webm", 8000)
    assert heard.seconds == pytest.approx(2.0, abs=0.01) and len(clicks) == 3
    assert click_times(heard.samples, 8000) == pytest.approx(clicks[:2] - 0.1, abs=0.003)


def test_timestamps_that_jitter_are_no_gaps(tmp_path):
    """Each frame's gap was measured from the timestamp of the one before: a capture's clock, a
    few milliseconds off either way, grew a minute of sound by 0.8 s at 2 ms (4 s at 5 ms), and
    a frame stamped 30 ms early made the next, on time, a gap."""
    import av

    rate, size = 48000, 4096  # 85 ms a frame: one 30 ms early still comes after the one before
    jitter = np.random.default_rng(0).uniform(-0.005, 0.005, 60 * rate // size)
    jitter[::10] -= 0.03
    with av.open(str(tmp_path / "jitter.mka"), "w") as box:
        audio = box.add_stream("pcm_s16le", rate=rate, layout="mono")
        for i, off in enumerate(jitter):
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, size), np.int16), format="s16", layout="mono")
            chunk.sample_rate, chunk.time_base = rate, Fraction(1, rate)
            chunk.pts = max(0, i * size + round(off * rate))
            box.mux(audio.encode(chunk))
        box.mux(audio.encode(None))
    assert decode_audio(tmp_path / "jitter.mka").seconds == pytest.approx(len(jitter) * size / rate, abs=0.03)


@pytest.mark.parametrize("channels", ["opposite", "low-frequency"])
def test_sound_the_mono_mix_cancels_is_heard_in_its_loudest_channel(tmp_path, channels):
    """A stereo track with one channel in opposite phase, or 5.1 with its kick in the low-frequency
    channel alone (which FFmpeg's mix leaves out), mixed to silence: no beat, a still picture."""
    sound, clicks = soundtrack.click_track(120, 4.0)
    rate = sound.rate
    if channels == "opposite":
        planes, layout = np.stack([sound.samples, -sound.samples]), "stereo"
    else:
        planes, layout = np.zeros((6, sound.samples.size), np.float32), "5.1"
        planes[3] = sound.samples
    import av

    with av.open(str(tmp_path / "track.wav"), "w") as box:
        stream = box.add_stream("pcm_f32le", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes.T.reshape(1, -1)), format="flt", layout=layout)
        frame.sample_rate = rate
        box.mux(stream.encode(frame))
        box.mux(stream.encode(None))
    analysis = analyse(decode_audio(tmp_path / "track.wav"))
    assert analysis.beats == pytest.approx(clicks, abs=0.03)


def test_a_device_file_as_the_sound_is_named_for_what_it_is(tmp_path):
    from animator.errors import MediaError

    with pytest.raises(MediaError, match=r"^/dev/null: not a regular file, where an audio file goes$"):  # "not found"
        decode_audio(Path("/dev/null"))


def test_a_long_tracks_analysis_is_made_and_kept_in_little_memory():
    # the whole spectrum was made at once and kept (513 bins a frame, 86 frames a second), and
    # the plan held it through the render: a 10-minute song kept 865 MB more for its length
    import tracemalloc

    from animator.media.audio import ANALYSIS_RATE, Sound

    noise = np.random.default_rng(0).standard_normal(ANALYSIS_RATE * 180).astype(np.float32) * 0.1
    tracemalloc.start()
    try:
        analysis = analyse(Sound(noise, ANALYSIS_RATE))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 80e6 and held < 8e6, (peak, held)  # three minutes of sound: 190 MB at its peak, 33 MB kept
    assert len(analysis.spectrum.onsets) == len(noise) // 256 + 1 and set(analysis.spectrum.bands) == {"bass", "mid", "high"}


def test_each_frame_decays_the_beat_by_its_own_half_life(groove):
    # audio.half_life may be a schedule: a frame's beat falls at that frame's half-life
    count = 400
    short, long = (frame_features(groove, count, 1 / FPS, [h] * count).values["beat"] for h in (0.1, 0.4))
    changing = frame_features(groove, count, 1 / FPS, [0.1] * 200 + [0.4] * 200).values["beat"]
    assert np.array_equal(changing[:200], short[:200]) and np.array_equal(changing[200:], long[200:])
    assert not np.array_equal(short[200:], long[200:])


@pytest.mark.parametrize("hops", [1024, 1100])
def test_a_held_tone_has_one_onset_and_one_beat_where_it_starts_however_long(hops):
    # the spectrum is made a thousand frames at a time (11.9 s): each had risen from silence, an
    # onset and a train of beats in the middle of a held note
    from animator.media.audio import ANALYSIS_RATE, Sound
    from animator.music.spectrum import HOP

    t = np.arange(hops * HOP) / ANALYSIS_RATE
    fade = np.clip((t[-1] - t) / 0.2, 0, 1)  # no click where it ends
    analysis = analyse(Sound((0.3 * np.sin(2 * np.pi * 440 * t) * fade).astype(np.float32), ANALYSIS_RATE))
    assert len(analysis.spectrum.onsets) == hops + 1  # frame j centred on sample j * HOP, the last one's too
    count = int(np.ceil(analysis.seconds * FPS))
    onset = frame_features(analysis, count, 1 / FPS, [0.1] * count).values["onset"]
    assert onset[0] == 1 and onset[3:].max() < 0.02
    assert len(analysis.beats) == 1 and analysis.beats[0] < 0.5 / FPS


def test_each_band_hears_its_own_frequencies():
    # a second each of 100 Hz, 1 kHz and 4 kHz: bass 20-250 Hz, mid 250-2000 Hz, high from 2000 Hz
    from animator.media.audio import ANALYSIS_RATE, Sound

    t = np.arange(ANALYSIS_RATE) / ANALYSIS_RATE
    tones = np.concatenate([0.3 * np.sin(2 * np.pi * f * t) for f in (100, 1000, 4000)]).astype(np.float32)
    values = frame_features(analyse(Sound(tones, ANALYSIS_RATE)), 3 * FPS, 1 / FPS, [0.1] * 3 * FPS).values
    inside = [slice(i * FPS + 3, (i + 1) * FPS - 3) for i in range(3)]  # each second, clear of the changes
    for band, own in (("bass", 0), ("mid", 1), ("high", 2)):
        levels = [values[band][second].mean() for second in inside]
        assert levels[own] > 0.9 and all(level < 0.1 for i, level in enumerate(levels) if i != own), (band, levels)


def test_the_beat_decays_up_to_the_last_frame_that_holds_sound():
    # 6 s of clicks at 24 fps: frame 144 stands for 5.979 s to 6.021 s, which holds the end; 145 is past it
    from animator.media.audio import ANALYSIS_RATE

    sound, _ = soundtrack.click_track(120, 6.0, rate=ANALYSIS_RATE)
    beat = frame_features(analyse(sound), 150, 1 / FPS, [1.0] * 150).values["beat"]
    assert beat[144] > 0.5 and beat[145:].max() == 0


def test_a_matroska_sound_cut_short_is_refused_not_heard_short(tmp_path):
    """A WebM or MKA cut short (a download stopped part-way) keeps the length its header declares,
    and FFmpeg decodes what is left without a word: a render moved to half the song, and as long."""
    from animator.errors import MediaError
    from tests.faults.test_cases import animator, refused, write

    whole = groove_in_matroska(tmp_path / "song.mka", 3)
    assert decode_audio(whole).seconds == pytest.approx(3.0, abs=0.05)
    cut = tmp_path / "cut.mka"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    with pytest.raises(MediaError, match=r"cut\.mka: the sound ends after 1\.\d\d s where the file declares 3\.0\d s: "
                                         r"it is cut short or damaged"):
        decode_audio(cut)
    preset = write(tmp_path, f"name: p\ninput: {SAMPLES / 'chelsea.png'}\naudio: {cut}\nsize: 32\n"
                             "iterate: {steps: auto}\noutputs: [{format: mp4}]\n")
    refused(animator("render", preset, "--out", tmp_path / "out", cwd=tmp_path), "cut.mka", "cut short")
    assert not (tmp_path / "out" / "p.mp4").exists()


def test_an_ogg_with_a_damaged_page_or_an_aiff_cut_short_is_refused_not_heard_short(tmp_path):
    """FFmpeg drops an Ogg's page whose CRC does not match, or stops reading at a damaged page
    header, without a word: 10 s of clicks with their last page damaged were heard as 9 s (with a
    page header damaged a second in, as 1 s), and a render as long. An AIFF's
    header counts its samples, and one cut in half was heard as half."""
    import av

    from animator.errors import MediaError

    sound, _ = soundtrack.click_track(120, 10.0)
    write_audio(tmp_path / "clicks.ogg", sound)
    data = bytearray((tmp_path / "clicks.ogg").read_bytes())
    assert decode_audio(tmp_path / "clicks.ogg").seconds == pytest.approx(10, abs=0.01)
    pages = [at for at in range(len(data)) if data[at:at + 4] == b"OggS"]
    data[pages[-2] + 22] ^= 0xFF  # the CRC of the page that holds its last second
    (tmp_path / "damaged.ogg").write_bytes(data)
    with pytest.raises(MediaError, match=r"damaged\.ogg: the sound ends after \d\.\d\d s where the file declares "
                                         r"10\.0\d s: it is cut short or damaged"):
        decode_audio(tmp_path / "damaged.ogg")
    with av.open(str(tmp_path / "clicks.aiff"), "w") as box:
        audio = box.add_stream("pcm_s16be", rate=sound.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(sound.samples[None], format="flt", layout="mono")
        frame.sample_rate = sound.rate
        box.mux(audio.encode(frame))
        box.mux(audio.encode(None))
    assert decode_audio(tmp_path / "clicks.aiff").seconds == pytest.approx(10, abs=0.01)
    (tmp_path / "cut.aiff").write_bytes((tmp_path / "clicks.aiff").read_bytes()[:sound.samples.size])  # 5 s of 10
    with pytest.raises(MediaError, match=r"cut\.aiff: the sound ends after 5\.00 s where the file declares 10\.00 s"):
        decode_audio(tmp_path / "cut.aiff")


def test_a_gap_in_the_sound_is_told_once_where_a_damaged_ogg_page_was_dropped(tmp_path, caplog):
    """FFmpeg drops an Ogg page whose checksum does not match: the sound goes on a second later, and
    its second is heard as silence, which a render of the song took without a word."""
    sound, _ = soundtrack.click_track(120, 10.0)
    write_audio(tmp_path / "clicks.ogg", sound)
    data = bytearray((tmp_path / "clicks.ogg").read_bytes())
    pages = [at for at in range(len(data)) if data[at:at + 4] == b"OggS"]
    data[pages[len(pages) // 2] + 22] ^= 0xFF  # the CRC of a page in the middle
    (tmp_path / "damaged.ogg").write_bytes(data)
    with caplog.at_level("WARNING"):
        assert decode_audio(tmp_path / "clicks.ogg").seconds == pytest.approx(10, abs=0.01)
        assert caplog.messages == []
        for _ in range(2):
            heard = decode_audio(tmp_path / "damaged.ogg")
    assert heard.seconds == pytest.approx(10, abs=0.01)
    missing = [t for t in np.arange(0, 10, 0.5) if not np.any(np.abs(click_times(heard.samples, heard.rate) - t) < 0.01)]
    assert len(missing) == 2  # a second of clicks
    told = re.fullmatch(rf"{re.escape(str(tmp_path / 'damaged.ogg'))}: its sound skips 1\.00 s at (\d+\.\d\d) s \(a "
                        r"recording's dropout, or damage\): heard as silence there", caplog.messages[0])
    assert len(caplog.messages) == 1 and missing[0] - 0.5 < float(told.group(1)) < missing[0]  # after the click before


@pytest.mark.parametrize("codec", ["pcm_s16le", "pcm_s24le", "pcm_f32le"])
def test_a_wav_cut_short_is_refused_and_one_streamed_without_its_sizes_is_read(tmp_path, codec):
    """FFmpeg trims a WAV's length to the bytes the file holds: one cut in half (a download stopped
    part-way) was heard as half, and `steps: auto` rendered half the song. Its header's data size
    says how long it is; a WAV streamed as it was written says 0 or 0xFFFFFFFF, which is no size."""
    import av

    from animator.errors import MediaError

    sound, _ = soundtrack.click_track(120, 4.0)
    whole = tmp_path / "clicks.wav"
    with av.open(str(whole), "w") as box:
        audio = box.add_stream(codec, rate=sound.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(sound.samples[None], format="flt", layout="mono")
        frame.sample_rate = sound.rate
        resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=sound.rate)
        for piece in resampler.resample(frame) + resampler.resample(None):
            box.mux(audio.encode(piece))
        box.mux(audio.encode(None))
    data = whole.read_bytes()
    assert decode_audio(whole).seconds == pytest.approx(4.0, abs=0.01)
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])
    with pytest.raises(MediaError, match=r"cut\.wav: the sound ends after 2\.0\d s where the file declares 4\.00 s: "
                                         r"it is cut short or damaged"):
        decode_audio(tmp_path / "cut.wav")
    at = data.index(b"data") + 4
    streamed = data[:at] + b"\xff\xff\xff\xff" + data[at + 4:len(data) // 2]  # its sizes unknown as it was written
    (tmp_path / "streamed.wav").write_bytes(streamed)
    assert decode_audio(tmp_path / "streamed.wav").seconds == pytest.approx(2.0, abs=0.01)


def test_a_wav_whose_header_miscounts_its_bytes_a_second_or_stands_in_for_its_size_is_read_whole(tmp_path):
    """A byte rate counted from 24 valid bits where 32 hold each sample (FFmpeg reads the frame's
    bytes, its block align), and arecord's 2 GiB stand-in for a size not yet known as it streams
    to a pipe, made whole WAVs look cut short."""
    import struct

    sound, _ = soundtrack.click_track(120, 2.0)
    samples = (sound.samples * 2 ** 30).astype("<i4").tobytes()

    def wav(name: str, byte_rate: int, size: int) -> Path:
        fmt = struct.pack("<HHIIHH", 1, 1, sound.rate, byte_rate, 4, 32)
        body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + samples
        (tmp_path / name).write_bytes(b"RIFF" + struct.pack("<I", min(len(body) + size - len(samples), 0xFFFFFFFF)) + body)
        return tmp_path / name

    assert decode_audio(wav("miscounted.wav", 3 * sound.rate, len(samples))).seconds == pytest.approx(2.0, abs=0.01)
    assert decode_audio(wav("arecord.wav", 4 * sound.rate, 0x80000000)).seconds == pytest.approx(2.0, abs=0.01)
    assert decode_audio(wav("also.wav", 4 * sound.rate, 0x7FFFFFFF)).seconds == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("rate, layout, vbr", [(44100, "mono", False), (44100, "stereo", True), (22050, "stereo", False),
                                             (22050, "mono", True)])
def test_an_mp3_cut_short_is_refused_where_its_header_counts_its_frames(tmp_path, rate, layout, vbr):
    """LAME and FFmpeg open an MP3 with a Xing (VBR) or Info (CBR) header that counts its frames,
    and FFmpeg decodes a file cut short (a download stopped part-way) without a word: 4 s of clicks
    cut to 60% were heard as 2.4 s, and a render as long. Without the header (`write_xing: 0`) an
    MP3's length is an estimate from its bytes, and what is left is read."""
    import av

    from animator.errors import MediaError

    sound, _ = soundtrack.click_track(120, 4.0, rate=rate)
    for name, options in (("clicks.mp3", {}), ("bare.mp3", {"write_xing": "0"})):
        with av.open(str(tmp_path / name), "w", format="mp3", options=options) as box:
            audio = box.add_stream("libmp3lame", rate=rate, layout=layout)
            if vbr:
                audio.codec_context.qscale = 4
                audio.codec_context.flags |= av.codec.context.Flags.qscale
            frame = av.AudioFrame.from_ndarray(np.tile(sound.samples, (1, len(audio.layout.channels))), format="flt",
                                               layout=layout)
            frame.sample_rate = rate
            resampler = av.AudioResampler(format=audio.format.name, layout=layout, rate=rate)
            for piece in resampler.resample(frame) + resampler.resample(None):
                box.mux(audio.encode(piece))
            box.mux(audio.encode(None))
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut-{name}").write_bytes(data[:len(data) * 6 // 10])
    assert decode_audio(tmp_path / "clicks.mp3").seconds == pytest.approx(4.0, abs=0.01)
    with pytest.raises(MediaError, match=r"cut-clicks\.mp3: the sound ends after 2\.\d\d s where the file declares "
                                         r"4\.00 s: it is cut short or damaged"):
        decode_audio(tmp_path / "cut-clicks.mp3")
    assert decode_audio(tmp_path / "cut-bare.mp3").seconds == pytest.approx(2.4, abs=0.2)


def test_a_flac_cut_short_is_refused_where_its_streaminfo_counts_its_samples(tmp_path):
    """A FLAC's STREAMINFO counts its samples, and FFmpeg decodes a file cut short without a word:
    4 s of the groove cut to 60% were heard as 2.4 s. Tagged (an ID3v2 tag before it), it is read
    past the tag; a stream's encoder that did not know its length counts 0: what is there is read."""
    import av

    from animator.errors import MediaError

    groove = decode_audio(SAMPLES / "groove.m4a", 22050).samples[8 * 22050:12 * 22050]  # beside a click track's
    with av.open(str(tmp_path / "clicks.flac"), "w") as box:  # silence, the muxer's padding block is most of a file
        audio = box.add_stream("flac", rate=22050, layout="mono")
        frame = av.AudioFrame.from_ndarray((groove[None] * 32767).astype(np.int16), format="s16", layout="mono")
        frame.sample_rate = 22050
        box.mux(audio.encode(frame))
        box.mux(audio.encode(None))
    data = (tmp_path / "clicks.flac").read_bytes()
    tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, 10]) + bytes(10)  # a tag of ten bytes of padding
    unknown = bytearray(data)
    unknown[21:26] = bytes([unknown[21] & 0xF0, 0, 0, 0, 0])  # STREAMINFO's 36 bits of samples: 0
    for name, whole in (("clicks.flac", data), ("tagged.flac", tag + data), ("unknown.flac", bytes(unknown))):
        (tmp_path / name).write_bytes(whole)
        (tmp_path / f"cut-{name}").write_bytes(whole[:len(whole) * 6 // 10])
        assert decode_audio(tmp_path / name).seconds == pytest.approx(4.0, abs=0.01)
    for name in ("clicks.flac", "tagged.flac"):
        with pytest.raises(MediaError, match=rf"cut-{name[:-5]}\.flac: the sound ends after 2\.\d\d s where the file "
                                             r"declares 4\.00 s: it is cut short or damaged"):
            decode_audio(tmp_path / f"cut-{name}")
    assert 1.5 < decode_audio(tmp_path / "cut-unknown.flac").seconds < 3.0  # (the muxer's padding block comes first)


def test_an_m4a_with_its_index_first_cut_short_is_refused(tmp_path):
    """An M4A (or MP4) whose index comes before its sound, as a phone or a web page writes it to
    be played while it loads, opens when cut short, and FFmpeg decodes what is left without a
    word: the groove cut to 60% was heard as 14.65 s of its 25.5."""
    import av

    from animator.errors import MediaError

    with av.open(str(SAMPLES / "groove.m4a")) as source, \
            av.open(str(tmp_path / "first.m4a"), "w", options={"movflags": "faststart"}) as box:
        audio = box.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = audio
                box.mux(packet)
    data = (tmp_path / "first.m4a").read_bytes()
    assert data[32:36] == b"moov"
    (tmp_path / "cut.m4a").write_bytes(data[:len(data) * 6 // 10])
    assert decode_audio(tmp_path / "first.m4a").seconds == pytest.approx(25.5, abs=0.05)
    with pytest.raises(MediaError, match=r"cut\.m4a: the sound ends after 14\.\d\d s where the file declares 25\.5\d s: "
                                         r"it is cut short or damaged"):
        decode_audio(tmp_path / "cut.m4a")


def test_an_mp3_that_holds_more_than_its_header_counts_is_read_and_one_behind_two_id3_tags_is_held_to_it(tmp_path):
    """Where an MP3's bytes run past what its Xing header counts by a sixteenth (an APE tag of
    cover art after the sound), FFmpeg takes its length from the first frame's bit rate: a whole
    VBR file of 4 s was refused as declaring 54 s. An MP3 tagged twice over (two ID3v2 tags, one
    after the other) has its header after the second, where FFmpeg reads it: cut short, it was
    read as what was left."""
    import av

    from animator.errors import MediaError

    rate = 44100
    sound = np.zeros((2, 4 * rate), np.float32)  # silence: the VBR frames are small, the header's frame is not
    path = tmp_path / "quiet.mp3"
    with av.open(str(path), "w", format="mp3") as box:
        audio = box.add_stream("libmp3lame", rate=rate, layout="stereo")
        audio.codec_context.qscale = 2
        audio.codec_context.flags |= av.codec.context.Flags.qscale
        frame = av.AudioFrame.from_ndarray(sound.reshape(1, -1), format="flt", layout="stereo")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=audio.format.name, layout="stereo", rate=rate)
        for piece in resampler.resample(frame) + resampler.resample(None):
            box.mux(audio.encode(piece))
        box.mux(audio.encode(None))
    data = path.read_bytes()
    items = b"\0" * 200_000  # a picture's bytes, as an APEv2 item would hold them
    ape = [b"APETAGEX" + (2000).to_bytes(4, "little") + (len(items) + 32).to_bytes(4, "little") + (1).to_bytes(4, "little")
           + flags.to_bytes(4, "little") + bytes(8) for flags in (0xA0000000, 0x80000000)]  # its header, then its footer
    (tmp_path / "tagged.mp3").write_bytes(data + ape[0] + items + ape[1])
    assert decode_audio(tmp_path / "tagged.mp3").seconds == pytest.approx(4.0, abs=0.05)
    padding = b"ID3\x03\x00\x00\x00\x00\x08\x00" + bytes(1024)  # an ID3v2.3 tag of padding alone
    (tmp_path / "twice.mp3").write_bytes(padding + data)
    assert decode_audio(tmp_path / "twice.mp3").seconds == pytest.approx(4.0, abs=0.01)
    (tmp_path / "cut.mp3").write_bytes(padding + data[:len(data) * 6 // 10])
    with pytest.raises(MediaError, match=r"cut\.mp3: the sound ends after 2\.\d\d s where the file declares 4\.00 s"):
        decode_audio(tmp_path / "cut.mp3")


def lame_mp3(path: Path, options: dict) -> bytes:
    """4 s of clicks as a mono CBR MP3 at 44.1 kHz, as FFmpeg writes it (an ID3v2 tag first)."""
    import av

    sound, _ = soundtrack.click_track(120, 4.0, rate=44100)
    with av.open(str(path), "w", format="mp3", options=options) as box:
        audio = box.add_stream("libmp3lame", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(sound.samples[None], format="flt", layout="mono")
        frame.sample_rate = 44100
        resampler = av.AudioResampler(format=audio.format.name, layout="mono", rate=44100)
        for piece in resampler.resample(frame) + resampler.resample(None):
            box.mux(audio.encode(piece))
        box.mux(audio.encode(None))
    return path.read_bytes()


def test_an_mp3_cut_short_is_refused_where_a_vbri_header_counts_its_frames_or_an_id3_tag_has_a_footer(tmp_path):
    """Fraunhofer's encoders count an MP3's frames in a VBRI header; an ID3v2.4 tag may end in a
    footer, which FFmpeg steps over to the first frame. Bytes that only look like a frame's header
    where the first frame belongs (a sample rate that is reserved) are no header."""
    import struct

    import av

    from animator.errors import MediaError

    bare = lame_mp3(tmp_path / "bare.mp3", {"write_xing": "0"})
    at = 10 + sum((b & 0x7F) << 7 * (3 - i) for i, b in enumerate(bare[6:10]))  # past FFmpeg's ID3v2 tag
    with av.open(str(tmp_path / "bare.mp3")) as box:
        frames = sum(1 for packet in box.demux(audio=0) if packet.size)
    vbri = bytearray(bare)  # its first frame's side information and sound taken for the header
    vbri[at + 36:at + 54] = b"VBRI" + struct.pack(">HHHII", 1, 0, 75, len(bare) - at, frames)
    (tmp_path / "vbri.mp3").write_bytes(vbri)
    assert decode_audio(tmp_path / "vbri.mp3").seconds == pytest.approx(4.0, abs=0.05)
    (tmp_path / "cut-vbri.mp3").write_bytes(vbri[:len(vbri) * 6 // 10])
    with pytest.raises(MediaError, match=r"cut-vbri\.mp3: the sound ends after 2\.\d\d s where the file declares 4\.0\d s"):
        decode_audio(tmp_path / "cut-vbri.mp3")

    xing = lame_mp3(tmp_path / "xing.mp3", {})
    body = b"TIT2" + struct.pack(">I", 6) + b"\x00\x00\x03title"
    size = bytes((len(body) >> shift) & 0x7F for shift in (21, 14, 7, 0))
    tag = b"ID3\x04\x00\x10" + size + body + b"3DI\x04\x00\x10" + size  # ID3v2.4, its flags saying a footer follows
    (tmp_path / "footer.mp3").write_bytes(tag + xing)
    assert decode_audio(tmp_path / "footer.mp3").seconds == pytest.approx(4.0, abs=0.01)
    (tmp_path / "cut-footer.mp3").write_bytes(tag + xing[:len(xing) * 6 // 10])
    with pytest.raises(MediaError, match=r"cut-footer\.mp3: the sound ends after 2\.\d\d s where the file declares 4\.00 s"):
        decode_audio(tmp_path / "cut-footer.mp3")

    (tmp_path / "junk.mp3").write_bytes(b"\xff\xfb\x0c\x00" + bytes(60) + xing)  # MPEG-1 layer III, rate index 3
    assert decode_audio(tmp_path / "junk.mp3").seconds == pytest.approx(4.0, abs=0.1)


def test_a_wav_cut_short_is_refused_past_a_chunk_of_an_odd_length_before_its_data(tmp_path):
    """A RIFF chunk of an odd length (a LIST of tags: a title of 5 letters) is padded to an even
    one: read without its pad byte, the chunks after it were lost, the data's size with them."""
    import struct

    from animator.errors import MediaError

    sound, _ = soundtrack.click_track(120, 2.0)
    samples = (sound.samples * 2 ** 14).astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, sound.rate, 2 * sound.rate, 2, 16)
    tags = b"INFO" + b"INAM" + struct.pack("<I", 5) + b"title"  # 17 bytes
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", len(tags)) + tags + b"\0"
            + b"data" + struct.pack("<I", len(samples)) + samples)
    whole = b"RIFF" + struct.pack("<I", len(body)) + body
    (tmp_path / "tagged.wav").write_bytes(whole)
    assert decode_audio(tmp_path / "tagged.wav").seconds == pytest.approx(2.0, abs=0.01)
    (tmp_path / "cut.wav").write_bytes(whole[:len(whole) // 2])
    with pytest.raises(MediaError, match=r"cut\.wav: the sound ends after 1\.0\d s where the file declares 2\.00 s"):
        decode_audio(tmp_path / "cut.wav")


def test_an_opus_ogg_that_starts_past_granule_zero_is_read_not_refused_as_cut_short(tmp_path):
    """An Ogg cut out of a longer one (a stream's recording joined late, `ffmpeg -ss` copying its
    pages) keeps its granules: FFmpeg counts its length from granule 0, so it looked a second
    longer than its sound and a whole file was refused as cut short."""
    import av

    sound, _ = soundtrack.click_track(120, 2.0, rate=48000)
    with av.open(str(tmp_path / "late.ogg"), "w") as box:
        audio = box.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(sound.samples[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48000, 48000
        box.mux(audio.encode(frame))
        box.mux(audio.encode(None))
    with av.open(str(tmp_path / "late.ogg")) as box:  # as the case is made: its first page past granule 0
        assert box.streams.audio[0].start_time > 0
    assert decode_audio(tmp_path / "late.ogg").seconds == pytest.approx(2.0, abs=0.05)


def test_flac_in_an_ogg_that_starts_past_granule_zero_is_read_not_refused_as_cut_short(tmp_path):
    """FFmpeg decodes FLAC in Ogg from 0 whatever its first page's granule, so a whole second of
    it starting at 0.5 s looked 0.5 s short of its last page."""
    import av

    sound, _ = soundtrack.click_track(120, 1.0)
    with av.open(str(tmp_path / "late.ogg"), "w") as box:
        audio = box.add_stream("flac", rate=sound.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(sound.samples[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts = sound.rate, sound.rate // 2
        box.mux(audio.encode(frame))
        box.mux(audio.encode(None))
    with av.open(str(tmp_path / "late.ogg")) as box:  # as the case is made: its last page past its decoded end
        assert box.streams.audio[0].duration * box.streams.audio[0].time_base > 1.4
    assert decode_audio(tmp_path / "late.ogg").seconds == pytest.approx(1.0, abs=0.05)


def test_a_matroska_sound_beside_a_video_cut_short_is_refused_where_the_file_is_cut(tmp_path):
    """Without FFmpeg's per-track DURATION tags (mkvmerge, a browser write none), a file with a
    video beside its sound tells only its longest stream's length, which a whole file's sound may
    fall short of: a sound cut short with the file was heard short. The file's own bytes, ending
    before its Segment does, tell a cut file from a whole one."""
    import av

    from animator.errors import MediaError

    whole = tmp_path / "clip.mkv"
    with av.open(str(SAMPLES / "groove.m4a")) as source, av.open(str(whole), "w") as out:
        video = out.add_stream("libvpx", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        sound = out.add_stream_from_template(source.streams.audio[0])
        for k in range(40):  # 4 s of pictures beside 3 s of sound
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 6 * k, np.uint8), format="rgb24")
            frame.pts = k
            out.mux(video.encode(frame))
        out.mux(video.encode())
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None and packet.pts * packet.time_base < 3:
                packet.stream = sound
                out.mux(packet)
    data = whole.read_bytes()
    assert data.count(b"DURATION") == 2
    whole.write_bytes(data.replace(b"DURATION", b"DURATIOX"))  # no track says how long it is
    assert decode_audio(whole).seconds == pytest.approx(3.0, abs=0.05)  # shorter than the video: as it is
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    with pytest.raises(MediaError, match=r"cut\.mkv: the sound ends after 1\.\d\d s where the file declares 4\.\d\d s: "
                                         r"it is cut short or damaged"):
        decode_audio(cut)


def test_a_sound_of_a_codec_ffmpeg_cannot_decode_is_one_line(tmp_path):
    """An audio stream whose codec FFmpeg has no decoder for (or whose codec id is damaged) has no
    decoder context: its length was asked of nothing, and the render ended in a traceback."""
    from animator.errors import MediaError
    from tests.faults.test_cases import animator, refused, write

    song = groove_in_matroska(tmp_path / "song.mka", 1)
    data = song.read_bytes()
    assert data.count(b"A_AAC") == 1
    song.write_bytes(data.replace(b"A_AAC", b"A_XYZ"))
    with pytest.raises(MediaError, match=r"song\.mka: its audio stream's codec cannot be decoded here$"):
        decode_audio(song)
    preset = write(tmp_path, f"name: p\ninput: {SAMPLES / 'chelsea.png'}\naudio: {song}\nsize: 32\n"
                             "iterate: {steps: auto}\noutputs: [{format: mp4}]\n")
    refused(animator("render", preset, "--out", tmp_path / "out", cwd=tmp_path), "song.mka", "cannot be decoded")


def groove_in_matroska(path, seconds):
    """The project's soundtrack's first `seconds`, its AAC packets copied into a Matroska file."""
    import av

    with av.open(str(SAMPLES / "groove.m4a")) as source, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None and packet.pts * packet.time_base < seconds:
                packet.stream = stream
                out.mux(packet)
    return path


def test_a_matroska_sound_is_held_to_its_own_tracks_length_not_the_longer_pictures(tmp_path):
    """Beside 2 s of picture, 1 s of sound: a file cut after its sound has ended holds all of it,
    and one cut within it is refused against the sound's own length (its track's DURATION tag)."""
    import av

    from animator.errors import MediaError

    rate, path = 8000, tmp_path / "short-sound.mkv"
    with av.open(str(path), "w") as box:
        video = box.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = box.add_stream("pcm_s16le", rate=rate, layout="mono")
        for i in range(20):
            picture = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 10, np.uint8), format="rgb24")
            picture.pts = i
            box.mux(video.encode(picture))
            if i < 10:
                chunk = av.AudioFrame.from_ndarray(np.full((1, 800), 1000, np.int16), format="s16", layout="mono")
                chunk.sample_rate, chunk.pts = rate, i * 800
                box.mux(audio.encode(chunk))
        box.mux(video.encode(None))
        box.mux(audio.encode(None))
    with av.open(str(path)) as box:
        sound_ends = max(packet.pos + packet.size for packet in box.demux(audio=0) if packet.size)
    data = path.read_bytes()
    (tmp_path / "after.mkv").write_bytes(data[:(sound_ends + len(data)) // 2])
    (tmp_path / "within.mkv").write_bytes(data[:sound_ends // 2])
    assert decode_audio(path, rate).seconds == decode_audio(tmp_path / "after.mkv", rate).seconds == pytest.approx(1)
    with pytest.raises(MediaError, match=r"within\.mkv: the sound ends after 0\.\d\d s where the file declares 1\.00 s"):
        decode_audio(tmp_path / "within.mkv", rate)
