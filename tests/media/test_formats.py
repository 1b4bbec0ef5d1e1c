"""Every output format, read back by PyAV (or Pillow, where PyAV cannot) and by the ffmpeg command line."""

import re
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from animator.media.frame import Frame
from animator.media.sink import ApngSink, GifSink, MovSink, Mp4Sink, WebmSink, WebpSink, encoding
from animator.media.soundcopy import AudioSpan
from tests.conftest import MEDIA, SAMPLES, decode_video, ffmpeg_probe
from tests.media.test_sink import moving_square

CHART_PATCHES = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (200, 120, 40),
                 (0, 0, 0), *[(v, v, v) for v in range(16, 256, 32)], (255, 255, 255)]


def colour_chart(width: int = 1280, height: int = 720, columns: int = 6, rows: int = 3) -> tuple[np.ndarray, list]:
    """Flat patches: primaries, secondaries, a skin tone and a grey ramp; with each patch's box."""
    image, boxes = np.zeros((height, width, 3), np.uint8), []
    pw, ph = width // columns, height // rows
    for i, colour in enumerate(CHART_PATCHES):
        top, left = (i // columns) * ph, (i % columns) * pw
        image[top:top + ph, left:left + pw] = colour
        boxes.append((slice(top + 16, top + ph - 16), slice(left + 16, left + pw - 16)))  # inside, away from edges
    return image, boxes


def ffmpeg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", *args], capture_output=True, check=True)


def stream_lines(path: Path) -> list[str]:
    """ffmpeg's description of each stream of a file."""
    result = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("Stream #0:")]


def top_level_boxes(path: Path) -> list[str]:
    """The ISO BMFF boxes at the top of an MP4 or MOV file, in file order."""
    data, boxes, pos = path.read_bytes(), [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        size = struct.unpack(">Q", data[pos + 8:pos + 16])[0] if size == 1 else (size or len(data) - pos)
        boxes.append(kind.decode("latin-1"))
        pos += size
    return boxes


def write(sink, frames: list[Frame]) -> Path:
    with encoding([sink]) as put:
        for frame in frames:
            put(frame)
    return sink.path


def test_mp4_colours_come_back_through_ffmpeg_with_bt709_tags_and_the_index_first(tmp_path):
    chart, boxes = colour_chart()
    path = write(Mp4Sink(tmp_path / "chart.mp4", Fraction(24)), [Frame(i, Fraction(i, 24), chart) for i in range(2)])
    raw = ffmpeg("-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-").stdout  # its default conversion
    decoded = np.frombuffer(raw, np.uint8).reshape(chart.shape).astype(int)
    errors = {colour: int(np.abs(decoded[box] - colour).max()) for colour, box in zip(CHART_PATCHES, boxes)}
    assert max(errors.values()) <= 3, errors
    (video,) = stream_lines(path)
    assert re.search(r"h264 \(High\).*yuv420p\(tv, bt709[,)]", video), video  # one name: all of matrix, primaries, transfer
    with av.open(str(path)) as container:
        context = container.streams.video[0].codec_context
        assert (context.colorspace, context.color_primaries, context.color_trc, context.color_range) == (1, 1, 1, 1)  # bt709, tv
        assert context.profile == "High" and context.level <= 40  # every browser plays High up to 4.0 (720p and 1080p)
    assert top_level_boxes(path).index("moov") < top_level_boxes(path).index("mdat")


def test_mp4_and_mov_with_audio_keep_the_index_first(tmp_path):
    span = AudioSpan(MEDIA / "chaplin.mp4", 1.0, 0.5)
    frames = moving_square(12)
    for sink in (Mp4Sink(tmp_path / "a.mp4", Fraction(24), audio=span), MovSink(tmp_path / "a.mov", Fraction(24), audio=span)):
        boxes = top_level_boxes(write(sink, frames))
        assert boxes.index("moov") < boxes.index("mdat"), (sink.path.name, boxes)


def test_mp4_bitrate_caps_the_stream(tmp_path):
    noise = [Frame(i, Fraction(i, 24), np.random.default_rng(i).integers(0, 256, (96, 160, 3), np.uint8)) for i in range(12)]
    free = write(Mp4Sink(tmp_path / "free.mp4", Fraction(24), crf=18, preset="ultrafast"), noise)
    capped = write(Mp4Sink(tmp_path / "capped.mp4", Fraction(24), crf=18, preset="ultrafast", bitrate=200_000), noise)
    budget = (2 * 200_000 + 200_000 * 12 / 24) / 8  # bytes: a full 2 s buffer, and the rate for 0.5 s
    assert capped.stat().st_size <= budget * 1.05 < free.stat().st_size / 2  # noise at crf 18 needs far more
    assert b"vbv_maxrate=200 vbv_bufsize=400" in capped.read_bytes()  # x264 writes its settings (kb/s) into the stream


def test_mp4_crops_odd_sizes_to_even(tmp_path):
    frames = [Frame(i, Fraction(i, 24), np.full((51, 77, 3), 90, np.uint8)) for i in range(3)]
    facts, decoded = decode_video(write(Mp4Sink(tmp_path / "odd.mp4", Fraction(24)), frames))
    assert facts["size"] == (76, 50) and len(decoded) == 3


@pytest.mark.parametrize("codec, name", [
    ("vp9", "vp9"),
    pytest.param("av1", "av1", marks=pytest.mark.skipif("libsvtav1" not in av.codecs_available, reason="no SVT-AV1 in this PyAV")),
])
def test_webm_with_opus_audio(tmp_path, codec, name):
    rate = Fraction(30000, 1001)
    span = AudioSpan(MEDIA / "chaplin.mp4", 1.0, 12 / rate)  # MP3 in the source: re-encoded to Opus
    path = write(WebmSink(tmp_path / "a.webm", rate, codec=codec, size=64, audio=span, preset="ultrafast"), moving_square(12))
    facts, frames = decode_video(path)
    assert (facts["rate"], facts["size"], len(frames), facts["audio"]) == (rate, (64, 38), 12, 1)
    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska,webm")
        assert container.streams.video[0].codec_context.codec.canonical_name == name
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "opus" and audio.codec_context.sample_rate == 48000
        seconds = sum(frame.samples for frame in container.decode(audio)) / audio.codec_context.sample_rate
    assert seconds == pytest.approx(float(12 / rate), abs=0.03)
    probe = ffmpeg_probe(path)
    assert (probe["codec"], probe["frames"], probe["size"]) == (name, 12, (64, 38)) and probe["fps"] == pytest.approx(29.97, abs=0.01)
    assert any("Audio: opus, 48000 Hz" in line for line in stream_lines(path))


def test_a_sound_at_a_rate_opus_does_not_take_is_encoded_at_its_highest(tmp_path):
    """A 44.1 kHz sound in a WebM: Opus takes 48 kHz at most, and a 6 kHz tone keeps its level."""
    from animator.media.audio import decode_audio

    rate = 44100
    with av.open(str(tmp_path / "tone.wav"), "w") as wav:
        stream = wav.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray((16000 * np.sin(2 * np.pi * 6000 * np.arange(rate) / rate)).astype(np.int16)[None],
                                           format="s16", layout="mono")
        frame.sample_rate = rate
        wav.mux(stream.encode(frame))
        wav.mux(stream.encode())
    path = write(WebmSink(tmp_path / "a.webm", Fraction(24), size=64, audio=AudioSpan(tmp_path / "tone.wav"),
                          preset="ultrafast"), moving_square(12))
    heard = decode_audio(path, 48000).samples
    assert np.sqrt(np.mean(np.square(heard[2400:-2400]))) == pytest.approx(0.49 / np.sqrt(2), rel=0.2)


def test_mov_is_10_bit_prores_hq_with_pcm_audio(tmp_path):
    span = AudioSpan(MEDIA / "chaplin.mp4", 0.0, 0.5)  # MP3 in the source: re-encoded to PCM
    path = write(MovSink(tmp_path / "a.mov", Fraction(24), size=64, audio=span), moving_square(12))
    facts, frames = decode_video(path)
    assert (facts["codec"], facts["pix_fmt"], facts["rate"], len(frames), facts["audio"]) == ("prores", "yuv422p10le", 24, 12, 1)
    assert np.abs(frames[7].astype(int) - _sized(moving_square(12)[7].image, 64)).mean() < 2
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "pcm_s16le"
        first = next(container.decode(video=0))  # ProRes's frame header says it too, not only the container
        assert (first.colorspace, first.color_primaries, first.color_trc) == (1, 1, 1)  # BT.709 all three
    video, audio = stream_lines(path)
    assert "prores (HQ) (apch" in video and "yuv422p10le(tv, bt709" in video
    assert "Audio: pcm_s16le" in audio
    assert ffmpeg_probe(path)["frames"] == 12


def test_mov_remuxes_aac_audio(tmp_path):
    vorbis = AudioSpan(MEDIA / "big_buck_bunny_432_433.webm", 0.0, 0.5)
    source = write(Mp4Sink(tmp_path / "src.mp4", Fraction(24), audio=vorbis), moving_square(12))  # Vorbis becomes AAC
    path = write(MovSink(tmp_path / "a.mov", Fraction(24), audio=AudioSpan(source)), moving_square(12))
    with av.open(str(path)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"  # AAC goes in as it is


def brightening(count: int = 12) -> list[Frame]:
    """The cat's eye brightening by 2 levels a frame: a slow change, as feedback loops make."""
    from animator.media.image import read_image

    eye = read_image(SAMPLES / "chelsea.png")[60:124, 170:234].astype(int)
    return [Frame(i, Fraction(i, 24), np.clip(eye + 2 * i, 0, 255).astype(np.uint8)) for i in range(count)]


def test_webp_is_full_colour_keeps_every_frame_and_loops_forever(tmp_path):
    rate = Fraction(30000, 1001)
    frames = brightening()
    path = write(WebpSink(tmp_path / "a.webp", rate), frames)
    # This PyAV's FFmpeg has no animated WebP demuxer, so Pillow and the ffmpeg command line read it.
    with Image.open(path) as webp:
        assert (webp.format, webp.n_frames, webp.info["loop"], webp.size) == ("WEBP", 12, 0, (64, 64))
        durations, pictures = [], []
        for i in range(webp.n_frames):
            webp.seek(i)
            pictures.append(np.asarray(webp.convert("RGB")).astype(int))
            durations.append(webp.info["duration"])  # known once the frame is loaded
    assert sum(durations) == pytest.approx(12 * 1000 / rate, abs=1)  # whole milliseconds that add up to the exact rate
    errors = [np.abs(p - f.image).mean() for p, f in zip(pictures, frames)]
    assert max(errors) < 3 and errors[-1] < errors[0] + 0.5  # the last frame as true as the first: no drift
    assert len(np.unique(pictures[7].reshape(-1, 3), axis=0)) > 256  # full colour, not a palette
    probe = ffmpeg_probe(path)
    assert (probe["codec"], probe["frames"]) == ("webp_anim", 12)


def test_apng_is_lossless_and_loops_forever(tmp_path):
    rate = Fraction(30000, 1001)
    frames = moving_square(12)
    path = write(ApngSink(tmp_path / "a.apng", rate), frames)
    facts, decoded = decode_video(path)
    assert (facts["codec"], facts["rate"], len(decoded)) == ("apng", rate, 12)
    assert all(np.array_equal(d, f.image) for d, f in zip(decoded, frames))
    with Image.open(path) as apng:
        assert (apng.n_frames, apng.info["loop"]) == (12, 0)
    probe = ffmpeg_probe(path)
    assert (probe["codec"], probe["frames"]) == ("apng", 12) and probe["fps"] == pytest.approx(29.97, abs=0.01)


def two_scenes(count: int = 8, width: int = 96, height: int = 64) -> list[Frame]:
    """Gradients in warm colours, then a cut to cold ones."""
    ramp = np.linspace(0, 1, width)[None, :, None]
    warm = (np.array([255, 120, 20]) * ramp + np.array([40, 0, 0]) * (1 - ramp)).astype(np.uint8)
    cold = (np.array([20, 140, 255]) * ramp + np.array([0, 30, 60]) * (1 - ramp)).astype(np.uint8)
    return [Frame(i, Fraction(i, 12), np.repeat(warm if i < count // 2 else cold, height, axis=0)) for i in range(count)]


def gif_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as gif:
        assert gif.info["loop"] == 0
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")).astype(int))
    return frames


def test_gif_palette_per_scene_fits_each_scene(tmp_path):
    frames = two_scenes()
    errors = {}
    for palette in ("clip", "scene"):
        path = write(GifSink(tmp_path / f"{palette}.gif", Fraction(12), palette=palette, dither="none", max_colors=8), frames)
        decoded = gif_frames(path)
        assert all(len(np.unique(d.reshape(-1, 3), axis=0)) <= 8 for d in decoded)
        errors[palette] = np.mean([np.abs(d - f.image).mean() for d, f in zip(decoded, frames)])
    assert errors["scene"] < errors["clip"] / 1.5, errors  # 8 colours for each half, against 8 shared by both


def test_gif_keeps_flat_colours_and_white(tmp_path):
    # the palette was counted from colours cut to 6 bits, so white came out 252 (a box on a white
    # page) and every colour 1.5 levels dark
    colours = [(255, 255, 255), (0, 255, 0), (200, 30, 90), (3, 3, 3)]
    image = np.zeros((32, 128, 3), np.uint8)
    for i, colour in enumerate(colours):
        image[:, 32 * i:32 * (i + 1)] = colour
    decoded = gif_frames(write(GifSink(tmp_path / "flat.gif", Fraction(12)), [Frame(0, Fraction(0), image)]))[0]
    got = [tuple(decoded[16, 32 * i + 16]) for i in range(len(colours))]
    assert got[:2] == colours[:2] and all(abs(a - b) <= 2 for g, c in zip(got, colours) for a, b in zip(g, c)), got


def test_gif_dithering_is_an_option(tmp_path):
    frames = two_scenes(2)
    rows = {}
    for dither in ("none", "sierra2_4a"):
        path = write(GifSink(tmp_path / f"{dither}.gif", Fraction(12), dither=dither, max_colors=4), frames)
        rows[dither] = gif_frames(path)[0][32, :, 0]
    assert np.all(np.diff(rows["none"]) >= 0)  # plain bands along the ramp
    assert np.any(np.diff(rows["sierra2_4a"]) < 0)  # error diffusion mixes neighbouring colours


def _sized(image: np.ndarray, long_side: int) -> np.ndarray:  # as a codec that subsamples colour (even sides)
    from animator.media.frame import output_size, resize

    return resize(image, *output_size(image.shape[1], image.shape[0], long_side, 2)).astype(int)


def test_sound_whose_channels_have_no_order_is_reencoded(tmp_path):
    # a WAV without a channel mask (as PyAV, and many cameras and recorders, write it) reads back
    # as "1 channels", a layout the AAC encoder refuses (a traceback, before): it is its mono
    with av.open(str(tmp_path / "voice.wav"), "w") as wav:
        stream = wav.add_stream("pcm_s16le", rate=8000, layout="mono")
        tone = (8000 * np.sin(np.arange(4000) * 0.3)).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = 8000
        wav.mux(stream.encode(frame))
        wav.mux(stream.encode())
    with av.open(str(tmp_path / "voice.wav")) as wav:
        assert wav.streams.audio[0].codec_context.layout.name == "1 channels"
    path = write(Mp4Sink(tmp_path / "a.mp4", Fraction(24), audio=AudioSpan(tmp_path / "voice.wav")), moving_square(12))
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac" and audio.layout.name == "mono"
        heard = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio)])
    assert np.abs(heard).max() > 0.1  # the tone, not silence


@pytest.mark.parametrize("codec, rate, channels, mp4_codec, heard_channels", [
    ("libmp3lame", 8000, 1, "aac", 1),  # MPEG-2.5's rates: FFmpeg's MP4 muxer refuses them (a traceback)
    ("libmp3lame", 22050, 1, "mp3", 1),  # MPEG-2's: remuxed as they are
    ("pcm_s16le", 44100, 10, "aac", 2),  # more channels than AAC takes (a traceback): mixed down
])
def test_sound_mp4_cannot_carry_as_it_is_is_encoded_in_what_it_can(tmp_path, codec, rate, channels, mp4_codec,
                                                                      heard_channels):
    with av.open(str(tmp_path / "sound.mkv"), "w") as box:
        stream = box.add_stream(codec, rate=rate, layout="mono" if channels == 1 else f"{channels} channels")
        tones = (8000 * np.sin(np.arange(rate // 2) * 0.05 * (1 + np.arange(channels)[:, None]))).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tones.T.reshape(1, -1), format="s16", layout=stream.layout)  # interleaved
        frame.sample_rate = rate
        for packet in stream.encode(frame) + stream.encode():
            box.mux(packet)
    path = write(Mp4Sink(tmp_path / "a.mp4", Fraction(24), audio=AudioSpan(tmp_path / "sound.mkv")), moving_square(12))
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.codec.canonical_name == mp4_codec
        heard = np.concatenate([f.to_ndarray().reshape(len(audio.layout.channels), -1) if f.format.is_planar
                                else f.to_ndarray().reshape(-1, len(audio.layout.channels)).T for f in container.decode(audio)], axis=1)
    assert heard.shape[0] == heard_channels and np.abs(heard).max() > 0.05  # sound, not silence


@pytest.mark.parametrize("layout, opus", [("5.1(side)", "5.1"), ("4.0", "quad"), ("2.1", "3.0")])
def test_surround_sound_opus_has_no_layout_for_is_encoded_in_one_it_has(tmp_path, layout, opus):
    # 5.1(side) is what AC3 and DTS decode to; libopus takes Vorbis's channel orders only, and a
    # WebM of such a sound was a traceback
    channels = len(av.AudioLayout(layout).channels)
    with av.open(str(tmp_path / "surround.wav"), "w") as wav:
        stream = wav.add_stream("pcm_s16le", rate=48000, layout=layout)
        tones = (8000 * np.sin(np.arange(24000) * 0.05 * (1 + np.arange(channels)[:, None]))).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tones, format="s16p", layout=layout)
        frame.sample_rate = 48000
        wav.mux(stream.encode(frame))
        wav.mux(stream.encode())
    path = write(WebmSink(tmp_path / "a.webm", Fraction(24), size=64, audio=AudioSpan(tmp_path / "surround.wav"),
                          preset="ultrafast"), moving_square(12))
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "opus" and audio.layout.name == opus
        heard = np.concatenate([f.to_ndarray() for f in container.decode(audio)], axis=1)
    assert heard.shape[0] == channels and np.abs(heard).max() > 0.1  # every channel, and sound, not silence
    assert heard.shape[1] / 48000 == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("make", [lambda p, a: Mp4Sink(p / "a.mp4", Fraction(24), audio=a),
                                  lambda p, a: WebmSink(p / "a.webm", Fraction(24), audio=a, preset="ultrafast"),
                                  lambda p, a: MovSink(p / "a.mov", Fraction(24), audio=a)], ids=["mp4", "webm", "mov"])
@pytest.mark.parametrize("sound", ["tone.wav", "groove.m4a"])  # re-encoded; AAC, remuxed into MP4 and MOV
def test_a_clips_sound_is_cut_where_its_picture_ends(tmp_path, make, sound):
    # a clip's sound that ran on past its last frame (no video.duration) was carried whole: 0.5 s of
    # picture with 1 s, or a song's 20 s, of sound
    if sound == "tone.wav":
        with av.open(str(tmp_path / sound), "w") as wav:
            stream = wav.add_stream("pcm_s16le", rate=48000, layout="mono")
            frame = av.AudioFrame.from_ndarray((8000 * np.sin(np.arange(48000) * 0.05)).astype(np.int16)[None], format="s16",
                                               layout="mono")
            frame.sample_rate = 48000
            wav.mux(stream.encode(frame))
            wav.mux(stream.encode())
    source = tmp_path / sound if sound == "tone.wav" else SAMPLES / sound
    path = write(make(tmp_path, AudioSpan(source)), moving_square(12))
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        heard = sum(f.samples for f in container.decode(audio)) / audio.rate
    assert heard == pytest.approx(0.5, abs=0.025)  # within one 1024-sample AAC packet of the picture's end


def clicks_in_webm(tmp_path: Path) -> Path:
    """A WebM as FFmpeg writes one, VP9 and Opus: the sound's first packet is the encoder's
    priming, starting before 0; a click from 5 ms to 25 ms, the next at 0.505 s."""
    from animator.media.audio import write_audio
    from animator.music.soundtrack import click_track

    sound, _ = click_track(120, 1.0, start=0.005)
    write_audio(tmp_path / "clicks.opus", sound)
    ffmpeg("-v", "error", "-i", str(SAMPLES / "pan.mp4"), "-i", str(tmp_path / "clicks.opus"), "-t", "1", "-vf", "scale=64:-2",
           "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "copy", str(tmp_path / "clicks.webm"))
    return tmp_path / "clicks.webm"


@pytest.mark.parametrize("make", [lambda p, a: Mp4Sink(p / "a.mp4", Fraction(24), audio=a),
                                  lambda p, a: WebmSink(p / "a.webm", Fraction(24), audio=a, preset="ultrafast"),
                                  lambda p, a: MovSink(p / "a.mov", Fraction(24), audio=a)], ids=["mp4", "webm", "mov"])
def test_an_opus_sound_beside_a_video_in_a_webm_keeps_its_first_packet(tmp_path, make):
    # the stream was decoded once to check it, then sought back to 0, which in a WebM lands on
    # the packet after the priming: the sound's first 14-21 ms were lost, and the click in them
    from animator.media.audio import decode_audio

    path = write(make(tmp_path, AudioSpan(clicks_in_webm(tmp_path), 0.0, 0.5)), moving_square(12))
    heard = decode_audio(path, 48000)
    assert np.argmax(np.abs(heard.samples) > 0.3) / 48000 == pytest.approx(0.005, abs=0.002)


@pytest.mark.parametrize("make", [lambda p, a: Mp4Sink(p / "a.mp4", Fraction(24), audio=a),
                                  lambda p, a: WebmSink(p / "a.webm", Fraction(24), audio=a, preset="ultrafast"),
                                  lambda p, a: MovSink(p / "a.mov", Fraction(24), audio=a)], ids=["mp4", "webm", "mov"])
@pytest.mark.parametrize("codec", ["copy", "libvorbis"], ids=["opus", "vorbis"])
def test_a_sound_from_part_way_is_heard_whole_from_its_first_sample(tmp_path, make, codec):
    # remuxed (or decoded) from the span's start, the Opus decoder started cold: a steady tone
    # faded in over 100 ms (0.36 of its level in the first 50 ms), a click there went to 15x full
    # scale; a Vorbis sound began with 7 ms of silence and ran 9 ms long
    from animator.media.audio import Sound, decode_audio, write_audio

    rate = 48000
    write_audio(tmp_path / "tone.opus", Sound((0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32), rate))
    ffmpeg("-v", "error", "-i", str(SAMPLES / "pan.mp4"), "-i", str(tmp_path / "tone.opus"), "-t", "1", "-vf", "scale=64:-2",
           "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", codec, str(tmp_path / "tone.webm"))
    heard = decode_audio(write(make(tmp_path, AudioSpan(tmp_path / "tone.webm", 0.5, 0.3)), moving_square(6)), rate).samples
    assert 0.45 < np.abs(heard[:rate // 200]).max() < 0.6 and np.abs(heard).max() < 0.6
    assert len(heard) == pytest.approx(0.25 * rate, abs=rate // 200)  # the picture's six frames


def test_of_several_sounds_the_one_flagged_default_is_carried(tmp_path):
    # the first audio stream was taken, where players play the one flagged default (a second language)
    ffmpeg("-v", "error", "-i", str(clicks_in_webm(tmp_path)), "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "0.3",
           "-map", "0:v", "-map", "1:a", "-map", "0:a", "-c:v", "copy", "-c:a:0", "aac", "-c:a:1", "copy",
           "-disposition:a:0", "0", "-disposition:a:1", "default", str(tmp_path / "two.mkv"))
    path = write(Mp4Sink(tmp_path / "a.mp4", Fraction(24), audio=AudioSpan(tmp_path / "two.mkv", 0.0, 0.5)), moving_square(12))
    with av.open(str(path)) as container:
        (audio,) = container.streams.audio
        heard = np.concatenate([f.to_ndarray() for f in container.decode(audio)], axis=1)
    assert audio.codec_context.name == "opus" and np.abs(heard).max() > 0.3  # the clicks, not the silence


def sound_from_to(tmp_path: Path, first: float, last: float) -> Path:
    """chaplin.mp4's first 2 s of picture, with its own sound (MP3) kept from `first` to `last` s only."""
    path = tmp_path / "part.mkv"
    with av.open(str(MEDIA / "chaplin.mp4")) as source, av.open(str(path), "w") as out:
        copies = {stream: out.add_stream_from_template(stream) for stream in (source.streams.video[0], source.streams.audio[0])}
        for packet in source.demux():
            if packet.dts is None or packet.pts is None:
                continue
            at = float(packet.pts * packet.time_base)
            if at >= 2.0 or (packet.stream.type == "audio" and not first <= at < last):
                continue
            packet.stream = copies[packet.stream]
            out.mux(packet)
    return path


@pytest.mark.parametrize("make", [lambda p, a: Mp4Sink(p / "a.mp4", Fraction(24), audio=a),
                                  lambda p, a: WebmSink(p / "a.webm", Fraction(24), audio=a, preset="ultrafast"),
                                  lambda p, a: MovSink(p / "a.mov", Fraction(24), audio=a)], ids=["mp4", "webm", "mov"])
@pytest.mark.parametrize("sound, span", [((1.0, 2.0), (0.0, 0.5)), ((0.0, 0.5), (1.0, 0.5)), ((0.0, 0.0), (0.0, 0.5))],
                         ids=["later", "earlier", "none"])
def test_a_span_without_sound_has_no_sound_stream(tmp_path, caplog, make, sound, span):
    # a clip whose sound starts after the span, or ends before it: the WebM carried an Opus track
    # of no sound at all (a sound stream 0 s long beside the picture), where MP4 and MOV carry none;
    # a clip whose sound track holds none was said to be unreadable
    path = write(make(tmp_path, AudioSpan(sound_from_to(tmp_path, *sound), *span)), moving_square(12))
    with av.open(str(path)) as container:
        assert not container.streams.audio
    assert "audio dropped" not in caplog.text
    if sound[1] > sound[0]:  # and a span that has some of it keeps it
        path = write(make(tmp_path, AudioSpan(sound_from_to(tmp_path, *sound), sound[0] + 0.25, 0.5)), moving_square(12))
        with av.open(str(path)) as container:
            (audio,) = container.streams.audio
            assert sum(f.samples for f in container.decode(audio)) / audio.rate > 0.2
