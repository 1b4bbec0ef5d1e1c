"""A preset's outputs: keys checked at load, one sink per format, each file written where the preset says."""

import os
import re
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from animator.errors import PresetError
from animator.media.frame import Frame
from animator.media.sink import encoding
from animator.media.soundcopy import AudioSpan
from animator.preset import load_preset, parse_overrides, preset_from_dict
from animator.preset.convert import to_plain
from animator.render.outputs import make_sinks
from tests.conftest import MEDIA, PRESETS, SAMPLES, decode_video
from tests.media.test_sink import moving_square


def preset(*outputs: dict, **keys):
    return preset_from_dict({"name": "p", "input": "chelsea.png", "outputs": list(outputs), **keys}, SAMPLES, where="p.yaml")


def test_every_format_is_written_under_the_preset_name_with_audio_where_it_fits(tmp_path):
    formats = ["mp4", "webm", "mov", "webp", "apng", "gif", "png"]
    p = preset(*({"format": f, "size": 64} for f in formats), iterate={"steps": 5})
    sinks = make_sinks(p, tmp_path, Fraction(24), AudioSpan(MEDIA / "chaplin.mp4", 0.0, 0.25))
    with encoding(sinks) as put:
        for frame in moving_square(6):
            put(frame)
    names = ["p.mp4", "p.webm", "p.mov", "p.webp", "p.apng", "p.gif", "p_frames"]
    assert [s.path.name for s in sinks] == names and sorted(x.name for x in tmp_path.iterdir()) == sorted(names)
    for name, video, audio in [("p.mp4", "h264", "mp3"), ("p.webm", "vp9", "opus"), ("p.mov", "prores", "pcm_s16le"),
                               ("p.apng", "apng", None)]:
        with av.open(str(tmp_path / name)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.codec.canonical_name, stream.average_rate) == (video, 24)
            assert sum(1 for _ in container.decode(stream)) == 6
            assert [s.codec_context.codec.canonical_name for s in container.streams.audio] == ([audio] if audio else [])
    for name in ("p.webp", "p.gif"):
        with Image.open(tmp_path / name) as image:
            assert (image.n_frames, image.info["loop"], max(image.size)) == (6, 0, 64)
    assert len(list((tmp_path / "p_frames").iterdir())) == 6


def test_a_single_frame_writes_one_png():
    (sink,) = make_sinks(preset({"format": "png"}, mode="still", style="brick.png"), SAMPLES, Fraction(24))
    assert sink.path == SAMPLES / "p.png"


@pytest.mark.parametrize("output, message", [
    ({"format": "gif", "dither": "dots"}, "outputs[0].dither: expected one of none, bayer, heckbert, floyd_steinberg"),
    ({"format": "gif", "max_colors": 300}, "outputs[0].max_colors: expected a whole number between 2 and 256, found 300"),
    ({"format": "gif", "palette": "frame"}, "outputs[0].palette: expected one of clip, scene, found 'frame'"),
    ({"format": "webm", "codec": "h265"}, "outputs[0].codec: expected vp9 or av1, found 'h265'"),
    ({"format": "mp4", "bitrate": "fast"}, "outputs[0].bitrate: expected a bitrate in bits per second such as 2500000"),
    ({"format": "mp4", "bitrate": "5k"}, "outputs[0].bitrate: expected a bitrate in bits per second such as 2500000, 2500k or 2.5M, between 10k and 1000M, found '5k'"),
    ({"format": "webm", "crf": 64}, "outputs[0].crf: expected a whole number between 0 and 63, found 64"),
    ({"format": "mp4", "crf": 0, "bitrate": "50k"}, "outputs[0].bitrate: crf 0 is lossless, which no bitrate caps"),  # 45x it
    ({"format": "webp", "quality": 101}, "outputs[0].quality: expected a whole number between 0 and 100, found 101"),
    ({"format": "mkv"}, "outputs[0].format: expected one of mp4, webm, mov, webp, apng, gif, png, found 'mkv'"),
])
def test_output_keys_are_checked_at_load(output, message):
    with pytest.raises(PresetError, match=re.escape(f"p.yaml: {message}")):
        preset(output)


@pytest.mark.parametrize("output, message", [
    ({"format": "mp4", "dither": "none"}, "outputs[1].dither: applies to gif outputs, not mp4"),
    ({"format": "gif", "crf": 20}, "outputs[1].crf: applies to mp4, webm outputs, not gif"),
    ({"format": "mp4", "codec": "vp9"}, "outputs[1].codec: applies to webm outputs, not mp4"),
    ({"format": "mov", "bitrate": "8M"}, "outputs[1].bitrate: applies to mp4, webm outputs, not mov"),
    ({"format": "mp4", "crf": 60}, "outputs[1].crf: expected a whole number between 0 and 51 for H.264, found 60"),
    pytest.param({"format": "webm", "codec": "av1", "crf": 0},  # SVT-AV1 encoded it at its default, 35
                 "outputs[1].crf: expected a whole number between 1 and 63 for AV1, found 0",
                 marks=pytest.mark.skipif("libsvtav1" not in av.codecs_available, reason="no SVT-AV1 in this PyAV")),
    ({"format": "gif", "fps": 60}, "outputs[1].fps: browsers play an animated image's frames of 10 ms or less for 100 ms: "
                                   "expected at most 50 for gif, found 60"),
    ({"format": "webp", "fps": 100}, "outputs[1].fps: browsers play an animated image's frames of 10 ms or less for 100 "
                                     "ms: expected at most 90 for webp, found 100"),
])
def test_keys_of_another_format_are_refused(output, message):
    with pytest.raises(PresetError, match=re.escape(f"p.yaml: {message}")):
        preset({"format": "png"}, output)


def test_animated_images_of_a_fast_render_take_every_kth_frame(tmp_path):
    # at the render's 60 fps its frames alternated 1 and 2 hundredths, and browsers play 1 as 10:
    # the GIF ran at a fraction of its speed
    gif, webp, mp4 = make_sinks(preset({"format": "gif", "size": 64}, {"format": "webp"}, {"format": "mp4"},
                                       iterate={"steps": 11}), tmp_path, Fraction(60))
    assert (gif.fps, webp.fps, mp4.fps) == (30, 60, 60)
    assert make_sinks(preset({"format": "webp"}), tmp_path, Fraction(120))[0].fps == 60  # a phone's slow motion
    with encoding([gif]) as put:
        for frame in moving_square(12):
            put(Frame(frame.index, Fraction(frame.index, 60), frame.image))
    with Image.open(tmp_path / "p.gif") as image:
        durations = []
        for index in range(image.n_frames):
            image.seek(index)
            durations.append(image.info["duration"])
    assert len(durations) == 6 and all(d in (30, 40) for d in durations) and sum(durations) == 200  # 0.2 s, as rendered


def test_an_encoder_setting_given_on_the_command_line_is_encoded_with(tmp_path):
    p = load_preset(PRESETS / "melt.yaml", parse_overrides(["outputs.0.preset=ultrafast"]))
    with encoding(make_sinks(p, tmp_path, Fraction(24))[:1]) as put:
        for frame in moving_square(3):
            put(frame)
    with av.open(str(tmp_path / "melt.mp4")) as container:
        assert container.streams.video[0].codec_context.profile == "Constrained Baseline"  # what ultrafast turns High into


def test_bitrates_read_as_bits_per_second_and_round_trip():
    outputs = preset({"format": "mp4", "bitrate": "2.5M"}, {"format": "webm", "bitrate": "800k"},
                     {"format": "mov"}).outputs
    assert [o.bitrate for o in outputs] == [2_500_000, 800_000, None]
    assert all(not o.problems() for o in outputs)
    plain = to_plain(preset({"format": "mp4", "bitrate": "2.5M", "crf": 20}))
    assert preset(*plain["outputs"]).outputs[0] == outputs[0].__class__("mp4", bitrate=2_500_000, crf=20)


def test_an_mp4_on_a_gpu_uses_its_encoder_only_where_it_runs(tmp_path, monkeypatch):
    from animator.media import sink as sinks
    from animator.media.sink import Mp4Sink, nvenc_available

    sink = Mp4Sink(tmp_path / "g.mp4", Fraction(24), crf=20, gpu=0)
    assert sink.codec == ("h264_nvenc" if nvenc_available() else "libx264")  # no GPU: x264, not a failure
    assert Mp4Sink(tmp_path / "l.mp4", Fraction(24), crf=0, gpu=0).codec == "libx264"  # lossless stays with x264
    # NVENC found, and then refusing the render's picture (over its 4096 px, its sessions taken; here: no
    # GPU): the render failed at its first frame
    monkeypatch.setattr(sinks, "nvenc_available", lambda: "h264_nvenc" in av.codecs_available)
    refusing = Mp4Sink(tmp_path / "r.mp4", Fraction(24), crf=20, audio=AudioSpan(MEDIA / "chaplin.mp4", 0, 0.2), gpu=1)
    for sink, name in ((sink, "g.mp4"), (refusing, "r.mp4")):
        with encoding([sink]) as put:
            for i in range(3):
                put(Frame(i, Fraction(i, 24), np.full((64, 96, 3), 40 * i, np.uint8)))
        facts, frames = decode_video(tmp_path / name)
        assert facts["codec"] == "h264" and len(frames) == 3
    open_files = [os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd") if os.path.exists(f"/proc/self/fd/{fd}")]
    assert str(MEDIA / "chaplin.mp4") not in open_files  # the sound's source, opened for the encoder given up


def test_a_folder_of_frames_takes_its_own_fps(tmp_path):
    # png's fps was taken and ignored: 24 frames at the render's 24 fps where 12 were asked for
    from animator.render.outputs import check_destinations

    p = preset({"format": "png", "fps": 12}, iterate={"steps": 23})
    for _ in range(2):  # the second finds the first's folder, and takes it for frames it may replace
        check_destinations(p, tmp_path, record=False)
        (frames,) = make_sinks(p, tmp_path, Fraction(24))
        with encoding([frames]) as put:
            for frame in moving_square(24):
                put(frame)
    written = sorted((tmp_path / "p_frames").iterdir())
    assert [f.name for f in written] == [f"{k:06d}.png" for k in range(12)]
    shown = [np.asarray(Image.open(f))[40, :, 0].argmax() for f in written]  # where the red square's edge is
    assert shown == [np.asarray(moving_square(24)[2 * k].image)[40, :, 0].argmax() for k in range(12)]  # every 2nd frame


def test_an_output_at_a_rate_that_does_not_divide_the_renders_takes_the_frame_nearest_in_time(tmp_path):
    p = preset({"format": "png", "fps": 10}, iterate={"steps": 23})
    (frames,) = make_sinks(p, tmp_path, Fraction(24))
    with encoding([frames]) as put:
        for i in range(24):
            put(Frame(i, Fraction(i, 24), np.full((16, 16, 3), 10 * i, np.uint8)))
    shown = [round(np.asarray(Image.open(f))[0, 0, 0] / 10) for f in sorted((tmp_path / "p_frames").iterdir())]
    nearest = [min(range(24), key=lambda i: abs(Fraction(i, 24) - Fraction(k, 10))) for k in range(10)]
    assert shown == nearest  # frame 5 (0.208 s) for 0.2 s, not frame 4 (0.167 s)
