"""Renders that move to music: their length, their sound and its sync, motion on the beats, the
preview's strip, and bad audio refused before any frame."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from animator.cli import main
from animator.media.audio import decode_audio, write_audio
from animator.music.soundtrack import click_track
from animator.preset import load_preset, parse_overrides, preset_from_dict
from animator.render.engine import load
from animator.render.plan import Plan
from tests.conftest import MEDIA, PRESETS, SAMPLES, decode_video

FPS = 24


@pytest.fixture(scope="module")
def clicks(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """3 s of clicks at 120 BPM from 0.25 s, as AAC, and the click times."""
    sound, times = click_track(120, 3.0, start=0.25)
    path = tmp_path_factory.mktemp("audio") / "clicks.m4a"
    write_audio(path, sound)
    return path, times


def preset(sound: Path, **keys):
    raw = {"name": "music", "input": str(SAMPLES / "coffee.png"), "audio": str(sound), "size": 32,
           "method": {"name": "multistyle", "style": 7}, "outputs": [{"format": "mp4"}]}
    return preset_from_dict({**raw, **keys}, Path.cwd())


def durations(path: Path) -> tuple[float, float]:
    """Seconds of video (frames at their rate) and of audio (decoded samples), as PyAV reads them."""
    facts, frames = decode_video(path)
    sound = decode_audio(path)
    return len(frames) / float(facts["rate"]), sound.seconds


@pytest.fixture(scope="module")
def on_the_beat(clicks, tmp_path_factory) -> Path:
    """As many frames as the clicks last, zooming in on each (blend 0: the motion alone)."""
    out = tmp_path_factory.mktemp("beat")
    path, _ = clicks
    zoom = {"steps": "auto", "blend": 0.0, "motion": {"zoom": "1 + 0.06 * beat"}}
    load(preset(path, size=48, iterate=zoom, audio={"file": str(path), "half_life": 0.02})).run(out)
    return out / "music.mp4"


def test_steps_auto_lasts_as_long_as_the_sound_and_carries_it_in_sync(on_the_beat):
    video, audio = durations(on_the_beat)
    assert video == pytest.approx(3.0, abs=1 / FPS) and abs(video - audio) <= 1 / FPS


def test_steps_auto_with_in_betweens_lasts_as_long_as_the_sound(tmp_path, clicks):
    # steps: auto made whole iterates only: 69 frames of the 72 the sound lasts with interpolate 5
    # (up to k - 1 frames short); the last iterate now leads the in-betweens to the sound's end
    plan = Plan(preset(clicks[0], iterate={"steps": "auto", "interpolate": 5, "blend": 0.1}))
    assert (plan.frame_count, plan.timeline.steps) == (72, 16)  # iterates 0..15: frames 0, 5, .., 75, cut at 72
    load(plan).run(tmp_path)
    video, audio = durations(tmp_path / "music.mp4")
    assert video == pytest.approx(3.0) and abs(video - audio) <= 1 / FPS


def aac_of(path: Path, seconds: float, rate: int) -> Path:
    """`seconds` of a quiet tone as AAC in an M4A at `rate` (its last 1024-sample frame padded)."""
    from fractions import Fraction

    samples = (0.1 * np.sin(2 * np.pi * 440 * np.arange(round(seconds * rate)) / rate)).astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
        for converted in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return path


def test_steps_auto_from_an_audio_start_lasts_as_long_as_the_sound_after_it(tmp_path, clicks):
    path, _ = clicks
    plan = Plan(preset(path, iterate={"steps": "auto", "blend": 0.1}, audio={"file": str(path), "start": 1.0}))
    assert plan.frame_count == 2 * FPS  # 3 s of sound from 1 s on
    load(plan).run(tmp_path)
    video, audio = durations(tmp_path / "music.mp4")
    assert video == pytest.approx(2.0) and abs(video - audio) <= 1 / FPS


@pytest.mark.parametrize("rate, fps", [(8000, 24), (44100, 60)])
def test_steps_auto_counts_the_sound_an_m4a_declares_not_its_last_frames_padding(tmp_path, rate, fps):
    # FFmpeg decodes an AAC's last frame whole: 3.072 s of a 3 s M4A at 8 kHz made 74 frames at 24 fps
    path = aac_of(tmp_path / "tone.m4a", 3.0, rate)
    assert decode_audio(path).seconds == pytest.approx(3.0, abs=1 / rate)
    plan = Plan(preset(path, iterate={"steps": "auto", "blend": 0.1}, outputs=[{"format": "mp4", "fps": fps}]))
    assert plan.frame_count == 3 * fps


def test_a_shorter_render_carries_the_sound_cut_to_its_length(tmp_path, clicks):
    outputs = [{"format": "mp4"}, {"format": "webm", "fps": 30}]  # the first with a rate sets the render's
    load(preset(clicks[0], iterate={"steps": 12, "blend": 0.1}, outputs=outputs)).run(tmp_path)
    for name in ("music.mp4", "music.webm"):  # AAC remuxed; re-encoded to Opus
        video, audio = durations(tmp_path / name)
        assert video == pytest.approx(13 / 30) and abs(video - audio) <= 1 / 30


def test_sound_in_long_packets_ends_with_the_picture_and_an_opus_sounds_first_packet_is_kept(tmp_path):
    # FLAC's packets are 4608 samples (104 ms): whole ones ran up to a packet past the picture, and
    # a clicking end; Opus's first packet, its priming before 0, was left out, and its first 13 ms
    sound, _ = click_track(120, 1.0, start=0.005)
    write_audio(tmp_path / "clicks.opus", sound)
    with av.open(str(tmp_path / "clicks.flac"), "w") as flac:
        stream = flac.add_stream("flac", rate=sound.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((sound.samples * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = sound.rate
        flac.mux(stream.encode(frame))
        flac.mux(stream.encode())
    with av.open(str(tmp_path / "clicks.wav"), "w") as wav:  # read back in packets of 4096 samples
        stream = wav.add_stream("pcm_s16le", rate=sound.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((sound.samples * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = sound.rate
        wav.mux(stream.encode(frame))
        wav.mux(stream.encode())
    outputs = [{"format": "mp4"}, {"format": "mov"}, {"format": "webm"}]
    for name in ("clicks.flac", "clicks.opus", "clicks.wav"):  # MOV writes the WAV's PCM again, to the sample
        load(preset(tmp_path / name, iterate={"steps": 12, "blend": 0.1}, outputs=outputs)).run(tmp_path / name[7:])
        for output, most in (("music.mp4", 0.053), ("music.mov", 0.001), ("music.webm", 0.021)):
            video, audio = durations(tmp_path / name[7:] / output)  # 13 frames at 24 fps
            assert abs(video - audio) <= most, (name, output, video, audio)  # remuxed: half a packet; re-encoded: cut
            heard = decode_audio(tmp_path / name[7:] / output, 48000)
            assert np.argmax(np.abs(heard.samples) > 0.3) / 48000 == pytest.approx(0.005, abs=0.002), (name, output)


def write_coded(path: Path, codec: str, samples: np.ndarray, rate: int) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((samples * 32767).astype(np.int16)[None], format="s16", layout="mono")
        frame.sample_rate = rate
        out.mux(stream.encode(frame))
        out.mux(stream.encode())


def test_sound_remuxed_into_mp4_starts_at_its_first_sample(tmp_path):
    # the packet the span starts in was left out where its middle lay before the start: an MP3's
    # first packet (its priming, then its first 47 samples) with it, and the next one decoded
    # without the data it leans on (silent 16 ms); from a start inside a FLAC packet, the sound
    # began at the next packet, up to half a packet (52 ms) late. An edit list now hides the head.
    rate = 44100
    sound, _ = click_track(240, 1.0, rate=rate)  # a click at 0 s, then every 0.25 s
    write_coded(tmp_path / "clicks.mp3", "libmp3lame", sound.samples, rate)
    write_coded(tmp_path / "clicks.flac", "flac", sound.samples, rate)
    for name, start in (("clicks.mp3", 0.0), ("clicks.flac", 0.054)):  # FLAC's packets: 4608 samples, 0-104 ms
        out = tmp_path / name[7:]
        load(preset(tmp_path / name, audio={"file": str(tmp_path / name), "start": start}, iterate={"steps": 12})).run(out)
        source = decode_audio(tmp_path / name, rate).samples[round(start * rate):]
        heard = decode_audio(out / "music.mp4", rate).samples
        assert np.abs(heard[:rate // 2] - source[:rate // 2]).max() < 1e-3, name


@pytest.mark.parametrize("rate", [8000, 44100])
def test_sound_reencoded_to_aac_is_not_delayed_by_the_encoders_priming(tmp_path, rate):
    # a WAV's PCM is re-encoded to AAC, whose encoder starts with 1024 samples of its own; written
    # from time 0, they pushed the sound back by 1024 samples (23 ms at 44.1 kHz, 128 ms at 8 kHz)
    samples = np.zeros(rate * 3 // 2, np.int16)
    samples[rate:rate + rate // 100] = 30000  # a click at 1 s
    with av.open(str(tmp_path / "click.wav"), "w") as wav:
        stream = wav.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None], format="s16", layout="mono")
        frame.sample_rate = rate
        wav.mux(stream.encode(frame))
        wav.mux(stream.encode())
    load(preset(tmp_path / "click.wav", iterate={"steps": "auto", "blend": 0.1})).run(tmp_path)
    heard = decode_audio(tmp_path / "music.mp4", rate)
    assert np.argmax(np.abs(heard.samples) > 0.5) / rate == pytest.approx(1.0, abs=0.002)
    assert heard.seconds == pytest.approx(1.5, abs=1 / FPS)


def test_zoom_that_follows_the_beat_moves_on_the_clicks(on_the_beat, clicks):
    frames = np.stack(decode_video(on_the_beat)[1]).astype(np.float32)
    motion = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))  # motion[t - 1]: from frame t - 1 to t
    peaks = [t + 1 for t in range(1, len(motion) - 1)
             if motion[t] > motion[t - 1] and motion[t] >= motion[t + 1] and motion[t] > 0.2 * motion.max()]
    expected = np.round(clicks[1] * FPS).astype(int)
    assert len(peaks) == len(expected) and np.abs(np.array(peaks) - expected).max() <= 1


def test_a_scheduled_half_life_decays_each_frames_beat_at_that_frames_value(clicks):
    path, _ = clicks
    beat = lambda half_life: Plan(preset(path, iterate={"steps": "auto", "motion": {"zoom": "1 + 0.05 * beat"}},  # noqa: E731
                                         audio={"file": str(path), "half_life": half_life})).features.values["beat"]
    changing, short, long = beat("0.05 if t < 36 else 0.3"), beat(0.05), beat(0.3)
    assert np.array_equal(changing[:36], short[:36]) and np.array_equal(changing[36:], long[36:])
    assert not np.array_equal(short[36:], long[36:])


def test_in_video_mode_the_audio_file_replaces_the_clips_sound(tmp_path, clicks):
    path, _ = clicks
    video = {"duration": 1.0, "temporal": {"flow": "none"}}
    load(preset(path, mode="video", input=str(MEDIA / "chaplin.mp4"), video=video)).run(tmp_path)
    with av.open(str(tmp_path / "music.mp4")) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]  # one sound: the file's, not the clip's MP3
    seconds, heard = durations(tmp_path / "music.mp4")
    assert seconds == pytest.approx(1.0) and abs(seconds - heard) <= 1 / 25
    ours, theirs = decode_audio(tmp_path / "music.mp4").samples, decode_audio(path).samples
    np.testing.assert_allclose(ours, theirs[:len(ours)], atol=1e-3)  # the clicks, from their start


def test_preview_draws_loudness_and_beats_under_the_sheet(tmp_path, clicks):
    from animator.media.sheet import LOUD_GREY, STRIP_HEIGHT
    from animator.media.image import read_image
    from animator.render.preview import preview, sound_strip

    plan = Plan(preset(clicks[0], iterate={"steps": 12, "blend": 0.1, "interpolate": 2, "interpolate_with": "crossfade"}))
    strip = sound_strip(plan)  # 1 s: the clicks at 0.25 and 0.75 s are steps 3 and 9, frames 6 and 18
    assert len(strip.loud) == plan.frame_count == 25 and list(strip.beats) == [6, 18]
    # steps: auto, its in-betweens at a rate whose steps do not divide it: 766 values for 764 frames
    pulse = Plan(load_preset(PRESETS / "pulse.yaml", parse_overrides(["iterate.interpolate=3", "outputs.0.fps=30000/1001"])))
    assert len(sound_strip(pulse).loud) == pulse.frame_count == 764
    preview(plan, tmp_path / "sheet.png", every=4)
    sheet = read_image(tmp_path / "sheet.png")
    below = sheet[-STRIP_HEIGHT + 12:]  # under the label
    red = np.flatnonzero(((below[..., 0] > 180) & (below[..., 1] < 80)).any(axis=0))
    columns = np.round(np.asarray(strip.beats) * (sheet.shape[1] - 1) / (plan.frame_count - 1))
    assert len(red) == len(columns) and np.abs(red - columns).max() <= 1  # a line on each beat
    height = (below == LOUD_GREY).all(axis=-1).sum(axis=0)  # of the grey loudness, per column
    assert all(height[max(0, r - 2):r + 3].max() > 0.5 * height.max() > 0 for r in red)  # each click is loud


def bad_audio(tmp_path: Path, kind: str) -> Path:
    path = {"missing": tmp_path / "none.m4a", "text": tmp_path / "notes.m4a", "silent video": SAMPLES / "pan.mp4",
            "empty": tmp_path / "empty.wav"}[kind]
    if kind == "text":
        path.write_text("not a sound\n")
    if kind == "empty":
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(44100)
    return path


@pytest.mark.parametrize("kind, message", [
    ("missing", r"audio\.file: file not found: .*none\.m4a"),
    ("text", r"notes\.m4a: not a readable audio file"),
    ("silent video", r"pan\.mp4: expected an audio stream, found a video stream only"),
    ("empty", r"empty\.wav: expected sound, found an audio stream of length 0"),
])
def test_bad_audio_is_one_line_and_exit_2_before_any_frame(tmp_path, capsys, kind, message):
    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\ninput: {SAMPLES / 'coffee.png'}\naudio: {bad_audio(tmp_path, kind)}\nsize: 32\n"
                    "method: multistyle\niterate: {steps: auto}\n")
    out = tmp_path / "out"
    assert main(["render", str(path), "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and error.startswith("error: ")
    assert re.search(message, error), error
    assert not out.exists()  # no output, no checkpoint: nothing was rendered
