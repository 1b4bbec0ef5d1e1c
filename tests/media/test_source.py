import io
import itertools
import math
import struct
import threading
import warnings
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animator.errors import MediaError
from animator.media.frame import fit_size, to_image, to_tensor
from animator.media.source import ImageFolderSource, open_source
from animator.media.image import pillow_told, read_image
from tests.conftest import MEDIA, SAMPLES


def test_images_read_as_rgb(chelsea):
    assert chelsea.shape == (300, 451, 3) and chelsea.dtype == np.uint8
    assert chelsea[..., 0].mean() > chelsea[..., 2].mean()  # a ginger cat: more red than blue
    grey = read_image(SAMPLES / "brick.png")
    assert grey.shape == (512, 512, 3)


@pytest.mark.parametrize("content, message", [(None, "file not found"), (b"not an image", "not a readable image")])
def test_bad_images_are_media_errors(tmp_path, content, message):
    path = tmp_path / "x.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(MediaError, match=message):
        open_source(path)


def test_an_mpeg_ts_capture_that_starts_part_way_is_not_taken_for_damaged(tmp_path):
    """A broadcast capture starts wherever the recording did: the pictures after its first
    keyframe that lean on ones before it cannot be decoded, as damaged data cannot. It says where
    its pictures begin, and a span from there renders."""
    import av

    with av.open(str(SAMPLES / "pan.mp4")) as clip:
        images = [f.to_ndarray(format="rgb24")[::4, ::4] for f in clip.decode(video=0)]
    whole = tmp_path / "whole.ts"
    with av.open(str(whole), "w", format="mpegts") as out:
        stream = out.add_stream("libx265", rate=24, options={"x265-params": "log-level=error:keyint=12"})
        stream.width, stream.height, stream.pix_fmt = 80, 48, "yuv420p"
        for image in images:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        out.mux(stream.encode())
    data = whole.read_bytes()
    capture = tmp_path / "capture.ts"
    capture.write_bytes(data[len(data) // 188 // 3 * 188:])  # from a transport packet a third of the way in
    with pytest.raises(MediaError, match=r"capture\.ts: its first 0\.\d\d s cannot be decoded \(it starts between keyframes"):
        list(open_source(capture, moving=True))
    assert sum(1 for _ in open_source(capture, start=1.0, duration=0.5, moving=True)) == 12


@pytest.mark.parametrize("codec, options", [
    ("libx264", {"x264-params": "open-gop=1:keyint=20:min-keyint=20:bframes=3:scenecut=0"}),  # B-frames, open GOPs
    ("libvpx-vp9", {"g": "20", "lag-in-frames": "16", "auto-alt-ref": "1"}),  # VP9 refuses what it cannot decode
])
def test_a_recording_cut_between_keyframes_says_where_its_pictures_begin(tmp_path, codec, options, caplog):
    """A clip cut part-way through a group of pictures is whole from its next keyframe on: it is
    not refused as damaged, nor read as nothing, but told where a span may start, and renders
    from there."""
    import av

    whole, cut = tmp_path / "whole.mkv", tmp_path / "cut.mkv"
    with av.open(str(whole), "w") as clip:
        stream = clip.add_stream(codec, rate=24, options=options)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for k in range(48):
            image = np.full((64, 96, 3), 3 * k, np.uint8)
            image[:, 2 * k:2 * k + 8] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = k
            clip.mux(stream.encode(frame))
        clip.mux(stream.encode())
    with av.open(str(whole)) as source, av.open(str(cut), "w") as out:  # from frame 7 on, packets as they are
        original = source.streams.video[0]
        copy = out.add_stream_from_template(original)
        offset = round(7 / 24 / original.time_base)
        for packet in source.demux(original):
            if packet.dts is not None and packet.pts >= offset:
                packet.pts, packet.dts, packet.stream = packet.pts - offset, packet.dts - offset, copy
                out.mux(packet)
    with pytest.raises(MediaError, match=r"cut\.mkv: its first 0\.\d\d s cannot be decoded \(it starts between keyframes"):
        list(open_source(cut, moving=True))
    assert sum(1 for _ in open_source(cut, start=1.0, duration=0.5, moving=True)) == 12  # past the keyframe at 13/24 s
    assert caplog.messages == []  # nor is it told of as damaged


def test_a_photos_damaged_exif_is_one_warning_naming_it(tmp_path):
    """Pillow warns of EXIF data that ends before its entries do, and reads past it: Python printed
    its two lines, naming Pillow's source and not the photo, each of the times the photo was opened."""
    import io

    from tests.faults.test_cases import animator

    exif = Image.Exif()
    exif[0x010F], exif[0x0112] = "Camera", 6  # its maker, then its orientation: turned a quarter
    encoded = io.BytesIO()
    Image.open(SAMPLES / "chelsea.png").convert("RGB").resize((60, 40)).save(encoded, "JPEG", exif=exif)
    data = bytearray(encoded.getvalue())
    tiff = data.find(b"Exif\x00\x00") + 6
    assert data[tiff:tiff + 2] == b"MM"
    data[tiff + 8:tiff + 10] = b"\x00\x40"  # the first directory says 64 entries; it holds 2
    (tmp_path / "photo.jpg").write_bytes(bytes(data))
    result = animator("stylize", "photo.jpg", "-o", "out.png", "--size", "32", "--style", SAMPLES / "brick.png", "--quiet",
                      cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"WARNING: {tmp_path / 'photo.jpg'}: Corrupt EXIF data. Expecting to read 12 bytes but only got 0."]
    assert read_image(tmp_path / "out.png").shape == (32, 24, 3)  # the entries it holds read: turned upright


@pytest.mark.parametrize("name", ["chelsea.png", "hubble_deep_field.jpg", "chelsea.webp"])
def test_an_image_cut_short_is_named_as_such_not_as_another_format(tmp_path, name):
    """A JPEG cut short (a download stopped part-way) was "not a readable image (expected PNG,
    JPEG, ...)", as if it were some other kind of file; so was a WebP until now (Pillow does not
    open one cut short)."""
    if name.endswith(".webp"):
        encoded = io.BytesIO()
        Image.open(SAMPLES / "chelsea.png").save(encoded, "WEBP")
        whole = encoded.getvalue()
    else:
        whole = (SAMPLES / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(whole[:len(whole) // 2])
    kind = {".png": "PNG", ".jpg": "JPEG", ".webp": "WebP"}[path.suffix]
    with pytest.raises(MediaError, match=rf"{name}: a {kind} image that cannot be decoded: it is cut short or damaged$"):
        read_image(path)


def png_with_rows(picture: Image.Image, keep: float, interlace: int = 0) -> bytes:
    """`picture` saved as a PNG whose compressed picture data, a whole zlib stream, holds only the
    first `keep` of its rows' bytes (a tool that stopped writing part-way and closed the file).
    Interlaced: its rows in Adam7's seven passes (Pillow writes no interlaced PNG), kept up to the
    end of a pass (Pillow itself refuses data that ends inside one)."""
    encoded = io.BytesIO()
    picture.save(encoded, "PNG")
    data, chunks, position = encoded.getvalue(), [], 8
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunks.append((kind, data[position + 8:position + 8 + length]))
        position += 12 + length
    rows = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    if interlace:  # 8-bit samples, each row unfiltered
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        pixels = np.asarray(picture)
        each = [b"".join(b"\0" + row.tobytes() for row in pixels[y::dy, x::dx] if row.size) for x, y, dx, dy in passes]
        rows, ends = b"".join(each), list(itertools.accumulate(map(len, each), initial=0))
        chunks[0] = (b"IHDR", chunks[0][1][:12] + b"\1")
    short = zlib.compress(rows[:max(end for end in ends if end <= len(rows) * keep) if interlace else int(len(rows) * keep)])
    made = [(kind, body) for kind, body in chunks if kind != b"IDAT"]
    made.insert(next(i for i, (kind, _) in enumerate(made) if kind == b"IEND"), (b"IDAT", short))
    return data[:8] + b"".join(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
                               for kind, body in made)


@pytest.mark.parametrize("mode, interlace, size", [("RGB", 0, None), ("P", 0, None), ("RGB", 1, None), ("P", 1, None),
                                                  ("RGB", 1, (1, 2)), ("RGB", 1, (3, 3)), ("RGB", 1, (9, 1))])
def test_a_png_whose_picture_data_ends_early_but_cleanly_is_refused_not_read_with_black_rows(tmp_path, mode, interlace,
                                                                                             size):
    """Its zlib stream complete, a PNG holding half its rows was read without a word, the rest
    black (interlaced: every other row black); libpng says "Not enough image data". Interlaced,
    a picture too small for every pass has no rows in the passes it misses."""
    picture = Image.open(SAMPLES / "chelsea.png").convert(mode)
    picture = picture.crop((100, 100, 100 + size[0], 100 + size[1])) if size else picture
    path = tmp_path / "half.png"
    path.write_bytes(png_with_rows(picture, 0.5, interlace=interlace))
    with pytest.raises(MediaError, match=r"half.png: a PNG image whose picture data ends before its last row: "
                                         r"it is cut short or damaged$"):
        read_image(path)
    path.write_bytes(png_with_rows(picture, 1.0, interlace=interlace))  # the same file, whole
    assert np.array_equal(read_image(path), np.asarray(picture.convert("RGB")))


def test_a_whole_png_whose_last_row_is_black_reads_as_it_is(tmp_path):
    """Pillow leaves missing rows black, so a black last row has its data counted: it is whole."""
    picture = np.asarray(Image.open(SAMPLES / "chelsea.png").convert("RGB")).copy()
    picture[-20:] = 0  # a letterbox
    Image.fromarray(picture).save(tmp_path / "letterbox.png")
    assert np.array_equal(read_image(tmp_path / "letterbox.png"), picture)


@pytest.mark.parametrize("moving", [False, True])
def test_a_video_under_an_images_name_is_read_as_the_video_it_is(tmp_path, moving):
    # named .png, an MP4 was forced through FFmpeg's animated PNG reader, found no frames, and was
    # refused in video mode as "a still image" (as .webm, .gif or .mov it rendered)
    path = tmp_path / "clip.png"
    path.write_bytes((SAMPLES / "pan.mp4").read_bytes())
    source = open_source(path, moving=moving)
    frames = [frame.image for frame in source]
    assert source.fps == open_source(SAMPLES / "pan.mp4").fps and len(frames) == 48
    assert np.array_equal(frames[7], [f.image for f in open_source(SAMPLES / "pan.mp4")][7])
    (tmp_path / "junk.png").write_bytes(b"not an image")  # in video mode too: not "a still image"
    with pytest.raises(MediaError, match="junk.png: not a readable image"):
        open_source(tmp_path / "junk.png", moving=moving)


def test_a_folder_or_an_unreadable_file_where_an_image_goes_is_named_as_such(tmp_path, monkeypatch):
    import imageio.v3 as iio

    with pytest.raises(MediaError, match="x.png: a folder, where an image file goes"):
        read_image((tmp_path / "x.png").mkdir() or tmp_path / "x.png")
    (tmp_path / "y.png").write_bytes((SAMPLES / "chelsea.png").read_bytes())

    def forbidden(path, *args, **kwargs):  # what a file without read permission gives (root reads any)
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(iio, "imopen", forbidden)
    with pytest.raises(MediaError, match="y.png: permission denied"):  # it said "not a readable image"
        read_image(tmp_path / "y.png")


def test_video_source_keeps_rate_and_yields_frames_in_order():
    source = open_source(MEDIA / "chaplin.mp4")
    assert source.fps == Fraction(25)
    frames = []
    for frame in source:
        frames.append(frame)
        if len(frames) == 30:
            break
    assert [f.index for f in frames] == list(range(30))
    assert frames[25].time == 1 and frames[0].image.shape == (360, 640, 3)
    assert np.array_equal(source.first(), frames[0].image)


def test_not_a_video_is_a_media_error(tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="clip.mp4: not a readable video"):
        open_source(path)


def test_image_folder(tmp_path, chelsea):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.roll(chelsea, 10 * i, axis=1)[..., ::-1])
    frames = list(ImageFolderSource(tmp_path))
    assert len(frames) == 3 and np.array_equal(frames[2].image, np.roll(chelsea, 20, axis=1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MediaError, match="empty: folder holds no images"):
        ImageFolderSource(tmp_path / "empty")


def test_a_folder_of_images_is_cut_and_timed_as_a_video_is(tmp_path):
    # video.start and video.duration were ignored for a folder: every image was rendered
    import cv2

    for i in range(48):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.full((16, 16, 3), 5 * i, np.uint8))
    span = list(open_source(tmp_path, 0.5, 1.0))  # at 24 fps: images 12 .. 35
    assert [round(f.image.mean() / 5) for f in span] == list(range(12, 36)) and span[-1].time == Fraction(23, 24)
    fast = open_source(tmp_path, 0.25, 0.5, Fraction(48))  # the folder's own rate
    assert fast.fps == 48 and [round(f.image.mean() / 5) for f in fast] == list(range(12, 36))
    with pytest.raises(MediaError, match=r"video.start 3 s is past the end \(48 images at 24 fps: 2.00 s\)"):
        open_source(tmp_path, 3)


def test_a_folder_cut_between_frames_starts_where_the_same_video_does(tmp_path):
    """A start between two images takes the one a video of them shows there: the image whose
    time is nearest."""
    import cv2

    from tests.clips import write_clip

    images = [np.full((16, 16, 3), 5 * i, np.uint8) for i in range(24)]
    (tmp_path / "frames").mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(tmp_path / "frames" / f"{i:03d}.png"), image)
    write_clip(tmp_path / "clip.mp4", images)
    for start in (0.11, 0.14, 0.3):  # frames 2.64, 3.36 and 7.2 in
        folder = [round(f.image.mean() / 5) for f in open_source(tmp_path / "frames", start, 0.25)]
        video = [round(f.image.mean() / 5) for f in open_source(tmp_path / "clip.mp4", start, 0.25)]
        assert folder == video and len(folder) == 6, start


def test_a_span_an_exact_half_frame_long_or_in_rounds_down_in_a_folder_as_in_a_video(tmp_path):
    """At 25 fps, 0.5 s and 0.7 s are 12.5 and 17.5 frames, and a start at 0.14 s is 3.5 frames in:
    the place whose middle is the span's end is left out, and at a start the image that begins at
    place 0's middle is the next place's, whichever the parity (Python's round took 17.5 to 18 and
    3.5 to 4), in a folder as in a video (whose place 0 showed that image, and place 1 again)."""
    import cv2

    from tests.clips import write_clip

    images = [np.full((16, 16, 3), 5 * i, np.uint8) for i in range(30)]
    (tmp_path / "frames").mkdir()
    for i, image in enumerate(images):
        cv2.imwrite(str(tmp_path / "frames" / f"{i:03d}.png"), image)
    write_clip(tmp_path / "clip.mp4", images, Fraction(25))
    for start, duration, first, count in [(0, 0.5, 0, 12), (0, 0.7, 0, 17), (0.14, 0.2, 3, 5)]:
        for path in (tmp_path / "frames", tmp_path / "clip.mp4"):
            source = open_source(path, start, duration, fps=Fraction(25))
            shown = [round(f.image.mean() / 5) for f in source]
            assert source.frame_count == count and shown == list(range(first, first + count)), (path.name, start, duration)
    with pytest.raises(MediaError, match=r"video.duration 0.02 s is half a frame or less at 25 fps"):
        open_source(tmp_path / "clip.mp4", 0, 0.02)


@pytest.mark.parametrize("clip, start", [(MEDIA / "chaplin.mp4", 9.5), (SAMPLES / "pan.mp4", 1 / 48)])
def test_a_span_to_the_end_started_half_a_frame_in_counts_the_last_frame_it_shows(clip, start):
    # 3.5 and 47.5 frames from the start to the end: the last frame begins at the middle of the
    # place before the last, so the last place shows it; counted without it, a render made a frame
    # more than `validate` had checked its schedules on (weight t / 2.5 reached 1.2 unchecked)
    source = open_source(clip, start)
    assert source.frame_count == sum(1 for _ in source) == {9.5: 4}.get(start, 48)


@pytest.mark.parametrize("duration", [2.0, 5.0])
def test_a_span_started_half_a_frame_in_with_a_duration_past_the_end_shows_the_last_frame(tmp_path, duration):
    # 47.5 frames from 1/48 s to the end of a 2 s clip at 24 fps: a duration running past the end
    # shows the frames the same span without one does, the last frame too, as a folder of the frames does
    whole = open_source(SAMPLES / "pan.mp4", 1 / 48)
    source = open_source(SAMPLES / "pan.mp4", 1 / 48, duration)
    assert source.frame_count == sum(1 for _ in source) == whole.frame_count == 48


def test_a_start_at_the_videos_end_is_past_it():
    length = open_source(SAMPLES / "pan.mp4").frame_count / open_source(SAMPLES / "pan.mp4").fps
    with pytest.raises(MediaError, match=r"pan.mp4: video.start 2.0 s is past the end \(2.00 s\)"):
        open_source(SAMPLES / "pan.mp4", float(length))


def test_a_folder_of_photos_turned_by_their_exif_is_one_size_as_shown(tmp_path, chelsea):
    """A phone's portrait photos, one stored turned (EXIF orientation 6) and one stored upright,
    are the same size as shown: a video of them, not a refusal."""
    crop = chelsea[20:100, 150:210]  # 80 high, 60 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned, shown after 90 degrees clockwise
    Image.fromarray(np.ascontiguousarray(np.rot90(crop))).save(tmp_path / "001.png", exif=exif)
    Image.fromarray(crop).save(tmp_path / "002.png")
    frames = list(open_source(tmp_path))
    assert [f.image.shape for f in frames] == [(80, 60, 3)] * 2
    assert np.abs(frames[0].image.astype(int) - frames[1].image).max() == 0


def test_a_folders_frames_numbered_without_leading_zeros_play_in_their_order(tmp_path, chelsea):
    import cv2

    for i in range(1, 13):  # frame1 .. frame12: sorted as text, frame10-12 came between frame1 and frame2
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.full((16, 16, 3), 10 * i, np.uint8))
    frames = list(ImageFolderSource(tmp_path))
    assert [round(f.image.mean() / 10) for f in frames] == list(range(1, 13))
    cv2.imwrite(str(tmp_path / "frame13\u00b2.png"), np.full((16, 16, 3), 130, np.uint8))  # a superscript: int() refused it
    assert len(list(ImageFolderSource(tmp_path))) == 13


def test_sizes_and_tensor_round_trip(chelsea):
    assert fit_size(451, 300, 384) == (384, 256)
    assert fit_size(300, 451, 100) == (64, 96)  # sides rounded to multiples of 8
    assert np.array_equal(to_image(to_tensor(chelsea)), chelsea)
    import torch

    levels = torch.tensor([-0.2, 99.4, 99.6, 254.7, 300.0]) / 255  # rounded to the nearest level, clamped
    assert to_image(levels.view(1, 1, 1, 5).expand(1, 3, 1, 5))[0, :, 0].tolist() == [0, 99, 100, 255, 255]


def test_images_are_upright_8_bit_rgb_whatever_their_file_holds(tmp_path, chelsea):
    from PIL import Image

    crop = chelsea[40:100, 150:230]  # the cat's face: 60 x 80
    cases = {}
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: stored turned, shown after 90 degrees clockwise
    Image.fromarray(np.rot90(crop)).save(tmp_path / "turned.jpg", exif=exif, quality=95)
    cases["turned.jpg"] = (crop, 4)
    Image.fromarray(crop).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    cases["cmyk.jpg"] = (crop, 4)
    grey16 = (crop[..., 1].astype(np.uint16) * 257 + 128)  # 16-bit samples, not multiples of 257
    Image.fromarray(grey16).save(tmp_path / "grey16.png")  # Pillow's own RGB conversion would clip these to white
    cases["grey16.png"] = (np.repeat(crop[..., 1:2], 3, axis=2), 0)
    import cv2

    cv2.imwrite(str(tmp_path / "rgb16.png"), (crop.astype(np.uint16) * 257 + 100)[..., ::-1])
    cases["rgb16.png"] = (crop, 0)  # rounded: Pillow kept the high byte, a level high where crop >= 156
    stored = np.dstack([np.rot90(crop), np.full((80, 60), 200, np.uint8)]).astype(np.uint16) * 257 + 100
    _, png = cv2.imencode(".png", stored[..., [2, 1, 0, 3]])
    (tmp_path / "turned16.png").write_bytes(with_exif(png.tobytes(), exif.tobytes()))
    alpha = (200 * 257 + 100) / 65535
    cases["turned16.png"] = ((((crop.astype(float) * 257 + 100) * alpha + 65535 * (1 - alpha)) / 257).round(), 0.01)  # float32 ties
    Image.fromarray(np.dstack([crop, np.full(crop.shape[:2], 60, np.uint8)])).save(tmp_path / "alpha.png")
    cases["alpha.png"] = ((crop * (60 / 255) + 255 * (195 / 255)).round(), 0)  # over white, as a web page shows it
    hidden = np.dstack([np.zeros_like(crop), np.zeros(crop.shape[:2], np.uint8)])
    hidden[..., 1] = 255  # green where nothing shows: alpha dropped, it came out bright green
    Image.fromarray(hidden).save(tmp_path / "clear.png")
    cases["clear.png"] = (np.full_like(crop, 255), 0)
    for name, (expected, tolerance) in cases.items():
        image = read_image(tmp_path / name)
        assert image.dtype == np.uint8 and image.shape == (60, 80, 3), name
        assert np.abs(image.astype(int) - expected).mean() <= tolerance, name


def with_exif(png: bytes, exif: bytes) -> bytes:
    """A PNG file's bytes with an eXIf chunk after its header chunk (33 bytes in)."""
    chunk = b"eXIf" + exif.removeprefix(b"Exif\x00\x00")
    return png[:33] + struct.pack(">I", len(chunk) - 4) + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]


def write_numbered(path, times: list[float], container: str | None = None, rate: int = 25, options: dict | None = None):
    """A clip whose frame k is grey level 5 k, shown at times[k] seconds (millisecond timestamps;
    an MPEG-TS muxer adds its own start offset)."""
    import av

    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream("libx264", rate=rate, options={"crf": "0", **(options or {})})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for k, time in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 5 * k, np.uint8), format="rgb24")
            frame.pts, frame.time_base = round(time * 1000), Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def numbers(frames) -> list[int]:
    return [round(frame.image.mean() / 5) for frame in frames]


@pytest.mark.parametrize("container", ["matroska", "gif"])
def test_a_slideshow_gives_each_picture_a_place_the_briefest_too(tmp_path, container):
    """Pictures shown 1 s, 0.2 s, 1 s, 0.2 s, 1 s, 1 s: on the average's rate (1.4 fps) the fourth
    fell between two places and was lost, exit 0."""
    shown = [1.0, 0.2, 1.0, 0.2, 1.0, 1.0]
    path = tmp_path / f"slides.{'mkv' if container == 'matroska' else 'gif'}"
    if container == "gif":
        from PIL import Image

        pictures = [Image.fromarray(np.full((48, 64, 3), 5 * k, np.uint8)) for k in range(6)]
        pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=[round(1000 * s) for s in shown], loop=0)
    else:
        write_numbered(path, list(np.cumsum([0, *shown[:-1]])), container="matroska", rate=1)  # as a slideshow maker says
    clip = open_source(path, moving=True)
    runs = [(number, len(list(run))) for number, run in itertools.groupby(numbers(clip))]
    assert [number for number, _ in runs] == list(range(6))
    assert [count for _, count in runs[:5]] == [round(s * clip.fps) for s in shown[:5]]


def test_a_slow_clip_with_jitter_keeps_its_rate_and_a_flash_costs_no_frames(tmp_path):
    """The briefest picture's rate is for pictures shown for different times: a 3 fps clip's 20 ms
    jitter made it 3.47 fps (pictures doubled unevenly), and 2 s slides with one 0.03 s flash were
    1801 frames at 30 fps, the flash lost all the same."""
    rng = np.random.default_rng(0)
    write_numbered(tmp_path / "slow.mkv", list(np.cumsum([0, *(1 / 3 + rng.normal(0, 0.02, 30))])), container="matroska",
                   rate=3)
    clip = open_source(tmp_path / "slow.mkv", moving=True)
    assert clip.fps == 3 and numbers(clip) == list(range(31))
    from PIL import Image

    pictures = [Image.fromarray(np.full((48, 64, 3), 5 * k, np.uint8)) for k in range(8)]
    pictures[0].save(tmp_path / "flash.gif", save_all=True, append_images=pictures[1:], loop=0,
                     duration=[2000, 2000, 30, 1970, 2000, 2000, 2000, 2000])
    clip = open_source(tmp_path / "flash.gif", moving=True)  # on the average's rate, the flash counted in it,
    assert clip.fps == Fraction(100, 197) and numbers(clip) == [0, 1, 3, 4, 5, 6, 7]  # the pictures after it moved
    pictures[0].save(tmp_path / "uneven.gif", save_all=True, append_images=pictures[1:], loop=0,
                     duration=[1000, 1200, 1000, 1300, 50, 900, 1000, 1100])  # on the median's rate, 900 ms fell out
    assert sorted(set(numbers(open_source(tmp_path / "uneven.gif", moving=True)))) == [0, 1, 2, 3, 5, 6, 7]


def test_a_matroska_clip_starts_at_its_first_picture_whatever_its_rate_took_to_read(tmp_path):
    """Its first packets carry no decode times: the start FFmpeg gives the stream moved to 10 s as
    the rate was measured, and the pictures before were never shown (then refused as cut short)."""
    write_numbered(tmp_path / "v.mkv", [0, 2, 4, 6, 8, 8.05, 10, 12, 14, 16, 18, 20], container="matroska", rate=1)
    assert numbers(open_source(tmp_path / "v.mkv", moving=True))[:5] == [0, 1, 2, 3, 5]


def test_spacings_none_of_which_is_the_usual_one_are_placed_not_a_traceback(tmp_path):
    """Frames 0.03 s and 0.15 s apart in turn: no spacing within a tick of the median (a
    ValueError from an empty array's max, in every command that opened the file)."""
    write_numbered(tmp_path / "v.mkv", list(np.cumsum([0] + [0.03, 0.15] * 6)), container="matroska")
    assert len(numbers(open_source(tmp_path / "v.mkv", moving=True))) > 10


def test_a_variable_rate_video_keeps_its_timing(tmp_path):
    # 10 frames 40 ms apart (the stream's 25 fps), then 5 frames 120 ms apart: each held for 3
    # frames of 40 ms, the last for its own 40 ms; a frame for each frame was 15 frames, 0.6 s
    write_numbered(tmp_path / "vfr.mkv", [0.04 * k for k in range(10)] + [0.4 + 0.12 * k for k in range(5)])
    source = open_source(tmp_path / "vfr.mkv")
    frames = list(source)
    assert numbers(frames) == [*range(10), *(k for k in range(10, 14) for _ in range(3)), 14]
    assert [f.index for f in frames] == list(range(23)) and source.frame_count == 23  # 0.92 s


def test_a_clip_whose_timestamps_start_late_is_cut_from_its_own_start(tmp_path):
    write_numbered(tmp_path / "clip.ts", [0.04 * k for k in range(50)], container="mpegts")  # its times start after 0
    assert numbers(open_source(tmp_path / "clip.ts", 0.0, 0.4)) == list(range(10))
    assert numbers(open_source(tmp_path / "clip.ts", 0.5, 0.4)) == list(range(12, 22))  # from frame 12, 0.48 s
    assert numbers(open_source(tmp_path / "clip.ts", 1.2)) == list(range(30, 50))  # a seek that misses is made good


def test_a_variable_rate_video_cut_in_its_slow_stretch_holds_the_frame_shown_there(tmp_path):
    write_numbered(tmp_path / "vfr.mkv", [0.04 * k for k in range(10)] + [0.4 + 0.12 * k for k in range(5)])
    whole = numbers(open_source(tmp_path / "vfr.mkv"))
    assert numbers(open_source(tmp_path / "vfr.mkv", 0.44, 0.2)) == whole[11:16]  # from within frame 10's 120 ms
    spans = [(0.0, 0.44), (0.44, 0.2), (0.64, None)]  # as a split render cuts it
    assert [n for start, duration in spans for n in numbers(open_source(tmp_path / "vfr.mkv", start, duration))] == whole


def test_a_variable_rate_video_split_in_its_fast_stretch_is_the_whole_video(tmp_path):
    # 10 frames 40 ms apart, 10 at 20 ms, 10 at 40 ms: a part that starts inside the fast stretch
    # took its first frame's time for its own, and showed the other frame of each pair there
    times = [0.04 * k for k in range(10)] + [0.4 + 0.02 * k for k in range(10)] + [0.6 + 0.04 * k for k in range(10)]
    write_numbered(tmp_path / "vfr.mkv", times)
    whole = numbers(open_source(tmp_path / "vfr.mkv"))
    assert whole == [*range(10), 10, 12, 14, 16, 18, *range(20, 30)]  # one of each pair, the render as long as the clip
    for cut in (0.44, 0.48, 0.52):  # a place boundary inside the stretch, as a split render cuts it
        parts = [(0.0, cut), (cut, 0.2), (cut + 0.2, None)]
        assert [n for start, duration in parts for n in numbers(open_source(tmp_path / "vfr.mkv", start, duration))] == whole


def test_a_stream_whose_rate_is_its_clock_gets_the_rate_its_frames_keep(tmp_path):
    # a browser's recording: "1000 fps" (its millisecond clock), frames ~33 ms apart with jitter
    times = np.cumsum([0] + [0.033 + 0.003 * np.sin(k) for k in range(44)])
    write_numbered(tmp_path / "recording.mkv", list(times), rate=1000)
    source = open_source(tmp_path / "recording.mkv")
    assert source.fps == 30 and numbers(source) == list(range(45))


@pytest.mark.parametrize("rate", [24, 60])
def test_a_recording_on_a_millisecond_clock_with_stalls_keeps_its_whole_rate(tmp_path, rate):
    # 24 fps in milliseconds (41, 42, 42 ms ...), re-timed by the MP4 muxer to 16ths of them, with
    # two stalls of a few frames: read as the median spacing, 42 ms, it rendered at 24000/1001
    times = [k / rate for k in range(20)] + [k / rate + 0.5 for k in range(20, 40)] + [k / rate + 0.8 for k in range(40, 50)]
    write_numbered(tmp_path / "recording.mp4", times, rate=rate)
    source = open_source(tmp_path / "recording.mp4")
    assert source.fps == rate
    shown = numbers(source)
    assert shown[:20] == list(range(20)) and shown[-10:] == list(range(40, 50))  # every frame, in its place
    assert len(shown) == round(times[-1] * rate) + 1  # the stalls held: as long as the recording


def test_an_animated_png_that_ffmpeg_would_probe_as_a_still_is_read_whole(tmp_path):
    # with a colour profile ahead of its animation chunk, FFmpeg's probe took such a file for one
    # image, and a render of it was a video of its first frame, with exit 0
    with Image.open(SAMPLES / "chelsea.png") as cat:
        frames, profile = [cat.resize((64, 48)).rotate(10 * k) for k in range(8)], cat.info["icc_profile"]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:], duration=40, loop=0, icc_profile=profile)
    source = open_source(tmp_path / "anim.png", moving=True)
    assert source.fps == 25
    assert [(f.index, np.array_equal(f.image, np.asarray(frames[f.index].convert("RGB")))) for f in source] == [(k, True) for k in range(8)]


def test_an_animated_gif_keeps_its_quick_frames_and_its_slow_ones(tmp_path):
    greys = [Image.fromarray(np.full((48, 64, 3), 20 * k, np.uint8)) for k in range(10)]
    greys[0].save(tmp_path / "anim.gif", save_all=True, append_images=greys[1:], duration=[100] * 5 + [500] * 5, loop=0)
    source = open_source(tmp_path / "anim.gif")  # 10 frames in 3 s: an average of 3.3 fps would drop the quick ones
    assert source.fps == 10
    assert [round(frame.image.mean() / 20) for frame in source] == [0, 1, 2, 3, 4, *(k for k in range(5, 10) for _ in range(5))]


@pytest.mark.parametrize("fps, count", [(12, 24), (15, 30), (24, 48), (30, 60), (24, 7)])
def test_a_gif_keeps_its_rate_though_its_clock_counts_hundredths(tmp_path, fps, count):
    # 24 fps is stored as delays of 4, 4, 4, 4, 4, 5 hundredths: read as the median, 25 fps, as
    # FFmpeg's average says too, a render of it had a frame in 25 twice and ran at the wrong rate.
    # Over 7 frames 25 fps came within a tick of every frame's time (a whole tick at one), and was
    # taken: a time rounded or cut to its tick is strictly under one from it
    greys = [Image.fromarray(np.full((48, 64, 3), 4 * k, np.uint8)) for k in range(count)]
    ticks = [math.floor(100 * k / fps + 0.5) for k in range(count + 1)]
    greys[0].save(tmp_path / "anim.gif", save_all=True, append_images=greys[1:], loop=0,
                  duration=[10 * (b - a) for a, b in zip(ticks, ticks[1:])])
    source = open_source(tmp_path / "anim.gif")
    assert source.fps == fps
    assert [round(frame.image.mean() / 4) for frame in source] == list(range(count))


def test_a_millisecond_clocks_rounding_keeps_the_streams_own_rate(tmp_path):
    # 29.97 fps on a millisecond clock is spacings of 33 and 34: the stream's own rate fits them,
    # where the whole 30 would too over a short clip
    write_numbered(tmp_path / "ntsc.mkv", [k * 1001 / 30000 for k in range(20)], rate=Fraction(30000, 1001))
    source = open_source(tmp_path / "ntsc.mkv")
    assert source.fps == Fraction(30000, 1001) and numbers(source) == list(range(20))


def test_a_phones_jittery_rate_keeps_every_frame_and_holds_over_a_hiccup(tmp_path):
    # 30 fps with a few ms of jitter and one 100 ms hiccup: it averages 28 fps, and placed on that
    # every few frames would be dropped; on the rate its frames keep, each frame is kept once
    rng = np.random.default_rng(1)
    times = np.arange(50) / 30 + rng.uniform(-0.004, 0.004, 50) + 0.1 * (np.arange(50) > 25)
    write_numbered(tmp_path / "phone.mp4", list(times), rate=30)
    source = open_source(tmp_path / "phone.mp4")
    assert source.fps in (30, Fraction(30000, 1001))
    assert numbers(source) == [*range(26), 25, 25, 25, *range(26, 50)]


@pytest.mark.parametrize("transfer", ["pq", "hlg"])
def test_hdr_video_is_tone_mapped_to_sdr(tmp_path, transfer):
    # a phone's HDR clip read as SDR showed reference white as 58% (PQ) or 75% (HLG) grey and
    # dulled every colour: (149, 149, 149) and a red of (106, 60, 38) in PQ
    import av

    from animator.media.deep import rgb16
    from tests.clips import HLG_CODES, PQ_CODES, write_hdr_clip

    write_hdr_clip(tmp_path / "hdr.mkv", transfer)
    with av.open(str(tmp_path / "hdr.mkv")) as container:  # the chart's code values are BT.2408's
        codes = rgb16(next(container.decode(video=0)))[16, [8, 24], 1] / 65535
    assert codes == pytest.approx(list((PQ_CODES if transfer == "pq" else HLG_CODES).values()), abs=0.0015)
    grey, white, highlight, red = open_source(tmp_path / "hdr.mkv").first()[16, 8::16].astype(int)
    assert abs(grey - 105).max() <= 4  # where an SDR camera puts an 18% grey card (BT.709's OETF: 0.409)
    assert white.min() >= 245 and highlight.min() == 255  # reference white is white, the highlight rolled off
    assert abs(red[0] - round(255 * (60 / 203) ** (1 / 2.4))) <= 3 and red[1:].max() <= 3  # BT.709's red, as bright


def test_hdr_video_that_leaves_its_primaries_unspecified_is_read_as_bt2020(tmp_path):
    import av

    from tests.clips import write_hdr_clip

    write_hdr_clip(tmp_path / "tagged.mkv", "pq")
    write_hdr_clip(tmp_path / "untagged.mkv", "pq", tagged=False)
    with av.open(str(tmp_path / "untagged.mkv")) as container:
        assert next(container.decode(video=0)).color_primaries == 2  # unspecified, as the file says
    assert np.array_equal(open_source(tmp_path / "untagged.mkv").first(), open_source(tmp_path / "tagged.mkv").first())


def test_interlaced_video_is_deinterlaced(tmp_path):
    # each frame's rows alternate between two moments (fields) 1/50 s apart, with a bar moving 8 px
    # a field: read as it is stored, every edge of the bar is a comb of 8 px teeth
    import av

    def fields(k: int) -> np.ndarray:
        image = np.zeros((96, 128, 3), np.uint8)
        for first_row, moment in ((0, k), (1, k + 0.5)):  # the top field, then the bottom one
            image[first_row::2, round(16 + 16 * moment):round(36 + 16 * moment)] = 255
        return image

    with av.open(str(tmp_path / "interlaced.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=25, options={"crf": "0", "x264-params": "tff=1"})
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        stream.codec_context.flags |= av.codec.context.Flags.interlaced_dct | av.codec.context.Flags.interlaced_me
        for k in range(6):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(fields(k), format="rgb24")))
        out.mux(stream.encode())
    frames = list(open_source(tmp_path / "interlaced.mp4"))
    assert [f.index for f in frames] == list(range(6))
    starts = [(f.image[8:-8, :, 1] > 128).argmax(axis=1) for f in frames]  # where the bar starts on each row
    assert all(len(set(rows)) == 1 for rows in starts)  # straight edges: every row of a frame agrees
    lag = starts[0][0] - 16  # 0 or 8: the moment of the field the stream says comes first
    assert lag in (0, 8) and [rows[0] for rows in starts] == [16 + 16 * k + lag for k in range(6)]


def test_an_image_past_the_readers_limit_says_so(monkeypatch, chelsea):
    # it read "not a readable image"; the limit itself takes a 200-megapixel phone photo
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS * 2 >= 16320 * 12240
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
    with pytest.raises(MediaError, match=r"chelsea.png: 0.135 megapixels, more than the 0.04 the image reader takes; scale"):
        read_image(SAMPLES / "chelsea.png")


def test_an_image_over_the_size_pillow_warns_of_is_read_without_a_warning(monkeypatch, tmp_path):
    """A photo between Pillow's limit and twice it (200 to 400 megapixels) is read, and Pillow's
    DecompressionBombWarning was printed, two lines of it, beside the command's own output."""
    import warnings

    from PIL import Image

    from animator.media.image import animated

    cat = Image.open(SAMPLES / "chelsea.png").convert("RGB")
    cat.save(tmp_path / "two.gif", save_all=True, append_images=[cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100_000)  # chelsea's 0.135 megapixels: warned of, not refused
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(SAMPLES / "chelsea.png").shape == (300, 451, 3)
        assert animated(tmp_path / "two.gif")


def exp_golomb(value: int) -> str:
    """A signed Exp-Golomb code (H.264 se(v)), as bits."""
    code = 2 * value - 1 if value > 0 else -2 * value
    return "0" * ((code + 1).bit_length() - 1) + f"{code + 1:b}"


def with_chroma_offset(pps: bytes, offset: int) -> bytes:
    """An H.264 picture parameter set (NAL, no emulation bytes in it) with chroma_qp_index_offset
    changed to `offset`, a code as long as the old one's."""
    bits, at = "".join(f"{b:08b}" for b in pps[1:]), 0

    def read(signed_or_width):  # an Exp-Golomb code (ue or se: the same length), or a width in bits
        nonlocal at
        if signed_or_width is None:
            zeros = bits.index("1", at) - at
            at += 2 * zeros + 1
        else:
            at += signed_or_width
    for field in (None, None, 1, 1, None, None, None, 1, 2, None, None):  # pps and sps ids ... pic_init_qs_minus26
        read(field)
    start = at
    read(None)  # chroma_qp_index_offset
    assert at - start == len(exp_golomb(offset))
    bits = bits[:start] + exp_golomb(offset) + bits[at:]
    return pps[:1] + bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def test_a_span_decodes_as_it_does_played_from_the_top(tmp_path, chelsea):
    """What the stream's first packet tells the decoder holds for the frames after a seek too:
    here a picture parameter set in it replaces the header's (in the wild, x264's version SEI,
    which FFmpeg's decoder needs for the 4:4:4 streams of x264 before core 151: without it a
    span of imageio's cockatoo.mp4 from 4 s came out as green blocks)."""
    import av

    plain, crafted = tmp_path / "plain.mp4", tmp_path / "crafted.mp4"
    with av.open(str(plain), "w") as out:
        stream = out.add_stream("libx264", rate=8, options={"crf": "28", "x264-params": "keyint=8:scenecut=0:bframes=0"})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for i in range(16):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(chelsea[100:164, 150 + 3 * i:246 + 3 * i]), format="rgb24")))
        out.mux(stream.encode())
    with av.open(str(plain)) as clip:
        avcc, first = bytes(clip.streams.video[0].codec_context.extradata), bytes(next(clip.demux(video=0)))
    at = 8 + int.from_bytes(avcc[6:8], "big")  # the header (avcC): one SPS, then one PPS
    pps = with_chroma_offset(avcc[at + 3:at + 3 + int.from_bytes(avcc[at + 1:at + 3], "big")], 2)
    sei = int.from_bytes(first[:4], "big")  # x264's SEI leads the first packet: the new PPS and filler take its place
    assert first[4] & 0x1F == 6 and sei > len(pps) + 8
    filler = sei - len(pps) - 4
    inband = len(pps).to_bytes(4, "big") + pps + filler.to_bytes(4, "big") + b"\x0c" + b"\xff" * (filler - 2) + b"\x80"
    crafted.write_bytes(plain.read_bytes().replace(first[:4 + sei], inband, 1))

    played = [frame.image for frame in open_source(crafted)]
    span = [frame.image for frame in open_source(crafted, start=1.0)]  # a seek to the second keyframe
    assert len(played) == 16 and len(span) == 8 and all(np.array_equal(a, b) for a, b in zip(span, played[8:]))
    assert not np.array_equal(played[8], [frame.image for frame in open_source(plain, start=1.0)][0])  # the PPS counts


def test_a_still_under_a_videos_name_or_a_gif_of_one_frame_is_no_moving_picture(tmp_path):
    """FFmpeg reads a PNG named clip.mp4 as one picture (its png_pipe) and a GIF of one frame as a
    tenth of a second: a render of either was a video of one picture, with exit 0."""
    chelsea = Image.open(SAMPLES / "chelsea.png").convert("RGB")
    chelsea.save(tmp_path / "clip.mp4", "PNG")
    chelsea.save(tmp_path / "still.gif")
    chelsea.save(tmp_path / "photo.bin", "JPEG")
    for path in (tmp_path / "clip.mp4", tmp_path / "still.gif", tmp_path / "photo.bin"):
        with pytest.raises(MediaError, match="a still image, where a moving picture is needed"):
            open_source(path, moving=True)
        assert open_source(path).first().shape == (300, 451, 3)  # where a picture will do, it is one
    moving = [chelsea, chelsea.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    moving[0].save(tmp_path / "two.gif", save_all=True, append_images=moving[1:], duration=100)
    assert open_source(tmp_path / "two.gif", moving=True).frame_count == 2


def test_a_duration_past_the_end_of_the_video_says_so(caplog):
    """The render ends with the clip; it used to say nothing of the seconds asked for and not made."""
    with caplog.at_level("WARNING"):
        source = open_source(SAMPLES / "pan.mp4", duration=10.0, moving=True)
    assert source.frame_count == 48
    assert "video.duration 10 s runs past the end of the video (2.00 s" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert open_source(SAMPLES / "pan.mp4", duration=1.0, moving=True).frame_count == 24
    assert not caplog.text


def test_a_song_with_a_cover_picture_is_no_video(tmp_path):
    # an MP3's cover (an ID3 APIC frame) is a video stream of one picture: a video of it was
    # refused as "cut short or damaged"
    import io
    import struct

    import av

    with av.open(str(tmp_path / "plain.mp3"), "w") as mp3:
        stream = mp3.add_stream("libmp3lame", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 22050), np.int16), format="s16", layout="mono")
        frame.sample_rate = 44100
        mp3.mux(stream.encode(frame))
        mp3.mux(stream.encode())
    cover = io.BytesIO()
    Image.open(SAMPLES / "chelsea.png").convert("RGB").save(cover, "JPEG")
    picture = b"\x00image/jpeg\x00\x03cover\x00" + cover.getvalue()
    frames = b"APIC" + struct.pack(">I", len(picture)) + b"\x00\x00" + picture
    size = bytes((len(frames) >> shift) & 0x7F for shift in (21, 14, 7, 0))  # ID3's 7 bits a byte
    (tmp_path / "song.mp3").write_bytes(b"ID3\x03\x00\x00" + size + frames + (tmp_path / "plain.mp3").read_bytes())
    with av.open(str(tmp_path / "song.mp3")) as song:
        assert len(song.streams.video) == 1  # the cover
    with pytest.raises(MediaError, match="song.mp3: a sound file with a cover picture, not a video"):
        open_source(tmp_path / "song.mp3", moving=True)
    with pytest.raises(MediaError, match="plain.mp3: has no video stream"):
        open_source(tmp_path / "plain.mp3", moving=True)


def test_a_clip_cut_between_keyframes_says_where_its_pictures_begin(tmp_path):
    # a recording cut anywhere but at a keyframe: its first frames cannot be decoded, which was
    # refused as "cut short or damaged", though the clip renders from its first keyframe on
    import av

    write_numbered(tmp_path / "whole.mkv", [k / 24 for k in range(36)], rate=24,
                   options={"g": "12", "keyint_min": "12", "sc_threshold": "0"})
    with av.open(str(tmp_path / "whole.mkv")) as whole, av.open(str(tmp_path / "cut.mkv"), "w") as cut:
        source = whole.streams.video[0]
        kept = cut.add_stream_from_template(source)
        offset = round(3 / 24 / source.time_base)  # from frame 3 (its time 0 there): no keyframe until frame 12
        for packet in whole.demux(source):
            if packet.dts is not None and packet.pts >= offset:
                packet.pts, packet.dts, packet.stream = packet.pts - offset, packet.dts - offset, kept
                cut.mux(packet)
    with pytest.raises(MediaError, match=r"cut.mkv: its first 0.38 s cannot be decoded .* set video.start to 0.38"):
        list(open_source(tmp_path / "cut.mkv", moving=True))
    later = open_source(tmp_path / "cut.mkv", 0.38, moving=True)
    assert [round(frame.image.mean() / 5) for frame in later][:3] == [12, 13, 14]  # from the keyframe on, whole


@pytest.mark.parametrize("width, height, matrix, pix_fmt", [
    (1280, 720, "ITU709", "yuv420p"),  # an untagged HD clip, as screen recorders write them: players take BT.709
    (320, 240, "ITU601", "yuv420p"),  # an untagged SD one: BT.601
    (1280, 544, "ITU709", "yuv420p"),  # HD cut to 2.35:1, 1280 wide though under 577 high: BT.709
    (720, 576, "ITU601", "yuv420p"),  # PAL's full SD frame, 576 high: BT.601
    (320, 240, "ITU709", "yuv420p10le"),  # tagged, 10 bits: swscale's truncation made it 2 levels dark
])
def test_a_flat_colour_comes_back_as_players_show_it(tmp_path, width, height, matrix, pix_fmt):
    import av
    from av.video.reformatter import ColorRange, Colorspace

    colour, space = (200, 30, 90), getattr(Colorspace, matrix)
    with av.open(str(tmp_path / "flat.mp4"), "w") as clip:
        stream = clip.add_stream("libx264", rate=25, options={"crf": "4"})
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if pix_fmt.endswith("10le"):
            stream.codec_context.colorspace, stream.codec_context.color_range = space, ColorRange.MPEG
        for k in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), colour, np.uint8), format="rgb24")
            frame = frame.reformat(format=pix_fmt, dst_colorspace=space, dst_color_range=ColorRange.MPEG)
            frame.pts = k
            clip.mux(stream.encode(frame))
        clip.mux(stream.encode())
    image = next(iter(open_source(tmp_path / "flat.mp4"))).image
    assert np.abs(image[height // 2, width // 2].astype(int) - colour).max() <= 2


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuv422p"])
def test_an_8_bit_clip_comes_back_at_its_own_levels_not_cut_down(tmp_path, pix_fmt):
    # swscale's fast path cut every sample down and took chroma from the nearest sample: a grey
    # ramp read half a level dark, chaplin's first frame 0.4 levels and the bunny's 1.1
    import av

    ramp = np.arange(16, 236, dtype=np.uint8)  # black to white in limited range, one code a pixel
    colour = (81, 90, 240)  # a red, flat over a block of chroma samples
    with av.open(str(tmp_path / "levels.mkv"), "w") as clip:
        stream = clip.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 220, 16, pix_fmt
        stream.codec_context.color_range = 1
        frame = av.VideoFrame(220, 16, pix_fmt)
        for plane, grey, red in zip(frame.planes, (ramp, 128, 128), colour):
            rows = np.zeros((plane.height, plane.line_size), np.uint8)
            rows[:, :plane.width] = grey
            rows[:plane.height // 2, :8] = red  # the red in the top left corner, 16 x 8 pixels
            plane.update(rows.tobytes())
        frame.color_range, frame.pts = 1, 0
        clip.mux(stream.encode(frame))
        clip.mux(stream.encode())
    image = next(iter(open_source(tmp_path / "levels.mkv"))).image.astype(float)
    assert np.array_equal(image[12, :, 0], np.rint((ramp - 16.0) * 255 / 219))  # BT.601's levels, rounded
    y, u, v = (colour[0] - 16) * 255 / 219, (colour[1] - 128) * 255 / 224, (colour[2] - 128) * 255 / 224
    red = np.clip(np.rint([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u]), 0, 255)
    assert np.array_equal(image[2, 4], red)


@pytest.mark.parametrize("pix_fmt, full_range", [
    ("yuv422p10le", False),  # ProRes' and DNxHR's
    ("yuv420p10le", False),  # 10-bit HEVC's, AV1's and VP9's
    ("yuv444p12le", True),
    ("gbrp10le", True),  # planar RGB, which swscale already scales to 65535
    ("yuva420p10le", False),  # opaque: its alpha's top code is 65472 in 16 bits, its white 65283
    ("gray10le", False),  # monochrome (AV1's, HEVC's): swscale ignores its range, black read as 16
])
def test_deep_samples_come_back_at_their_own_levels_white_as_white(tmp_path, pix_fmt, full_range):
    # swscale's 16-bit RGB puts limited-range white at 65283 and full-range 10-bit YUV's at 65472:
    # read against 65535, white came back 254 and every level about half a level dark
    import av

    form = av.VideoFormat(pix_fmt)
    bits = form.components[0].bits
    top = (1 << bits) - 1
    low, high = (0, top) if full_range else (16 << (bits - 8), 235 << (bits - 8))
    ramp = np.linspace(low, high, 64).round().astype(np.uint16)  # black to white across the frame
    with av.open(str(tmp_path / "deep.mkv"), "w") as clip:
        stream = clip.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 16, pix_fmt
        stream.codec_context.color_range = 2 if full_range else 1
        frame = av.VideoFrame(64, 16, pix_fmt)
        frame.color_range = stream.codec_context.color_range
        for component in form.components:  # the ramp in luma (or every RGB plane), no colour, opaque
            plane = frame.planes[component.plane]
            rows = np.zeros((plane.height, plane.line_size // 2), np.uint16)
            rows[:, :plane.width] = ramp if form.is_rgb or component.is_luma else top if component.is_alpha else 1 << (bits - 1)
            plane.update(rows.tobytes())
        frame.pts = 0
        clip.mux(stream.encode(frame))
        clip.mux(stream.encode())
    image = next(iter(open_source(tmp_path / "deep.mkv"))).image.astype(int)
    expected = np.rint((ramp.astype(float) - low) / (high - low) * 255)
    assert image[8, -1].tolist() == [255, 255, 255] and image[8, 0].tolist() == [0, 0, 0]
    assert np.abs(image[8] - expected[:, None]).max() <= 1
    assert abs((image[8] - expected[:, None]).mean()) < 0.15



@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuva420p10le"])
def test_a_deep_4_2_0_frame_of_odd_width_keeps_its_saturated_colours(tmp_path, pix_fmt):
    # swscale's bilinear 16-bit RGB overflows where a frame of odd width has its chroma scaled: a
    # bright green beyond RGB's gamut, as saturated footage holds, came back 0 where it is 255
    import av

    width, height, codes = 333, 201, (229, 34, 118, 255)  # Y, Cb, Cr (8-bit codes, limited range), opaque
    with av.open(str(tmp_path / "odd.mkv"), "w") as clip:
        stream = clip.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.color_range = 1
        frame = av.VideoFrame(width, height, pix_fmt)
        for plane, code in zip(frame.planes, codes):
            plane.update(np.full(plane.buffer_size // 2, code * 4 + (3 if code == 255 else 0), np.uint16).tobytes())
        frame.color_range, frame.pts = 1, 0
        clip.mux(stream.encode(frame))
        clip.mux(stream.encode())
    image = next(iter(open_source(tmp_path / "odd.mkv"))).image.astype(int)
    y, u, v = (codes[0] - 16) * 255 / 219, (codes[1] - 128) * 255 / 224, (codes[2] - 128) * 255 / 224
    expected = np.clip(np.rint([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u]), 0, 255)
    assert np.abs(image - expected).max() <= 1  # BT.601's, clipped, everywhere: (226, 255, 49)


@pytest.mark.parametrize("video_from, sound_until", [(0.0, 1.05), (0.5, 1.5)])
def test_a_matroska_recording_whose_sound_runs_longer_keeps_its_picture_frames(tmp_path, video_from, sound_until):
    # Matroska's duration is its longest track's: a recording's sound running on past its picture,
    # or starting before it, declared frames the picture lacked ("cut short or damaged")
    import av

    with av.open(str(tmp_path / "rec.mkv"), "w") as rec:
        picture = rec.add_stream("libx264", rate=60)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        sound = rec.add_stream("aac", rate=48000, layout="mono")
        for k in range(60):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * k, np.uint8), format="rgb24")
            frame.pts, frame.time_base = k + round(60 * video_from), Fraction(1, 60)
            rec.mux(picture.encode(frame))
        rec.mux(picture.encode())
        samples = av.AudioFrame.from_ndarray(np.zeros((1, round(48000 * sound_until)), np.float32), format="fltp",
                                             layout="mono")
        samples.sample_rate, samples.pts = 48000, 0
        rec.mux(sound.encode(samples))
        rec.mux(sound.encode())
    source = open_source(tmp_path / "rec.mkv", moving=True)
    assert source.frame_count == 60 and [round(f.image.mean() / 4) for f in source] == list(range(60))


def test_a_stream_without_timestamps_shows_each_frame_once(tmp_path):
    write_numbered(tmp_path / "raw.h264", [k / 25 for k in range(20)], container="h264")  # raw H.264: no times kept
    assert numbers(open_source(tmp_path / "raw.h264")) == list(range(20))


def test_an_animated_pngs_transparency_is_laid_over_white_as_a_stills_is(tmp_path):
    frames = []
    for k in range(4):
        pixels = np.zeros((16, 16, 4), np.uint8)
        pixels[:, :8], pixels[:, 8:] = (200, 30 + 20 * k, 90, 255), (0, 255, 0, 0)  # green where nothing shows
        frames.append(Image.fromarray(pixels, "RGBA"))
    frames[0].save(tmp_path / "logo.png", save_all=True, append_images=frames[1:], duration=100, loop=0)
    shown = [frame.image for frame in open_source(tmp_path / "logo.png", moving=True)]
    assert len(shown) == 4 and all((image[:, 8:] == 255).all() for image in shown)
    assert [tuple(image[0, 0]) for image in shown] == [(200, 30 + 20 * k, 90) for k in range(4)]


def test_a_motion_jpeg_cameras_exif_in_every_frame_is_read_past(tmp_path):
    """FFmpeg hands each frame's EXIF on as side data of a type PyAV does not know: reading the
    display matrix raised ValueError, a traceback in render, stylize and metrics."""
    import io

    import av

    with av.open(str(tmp_path / "cam.avi"), "w") as box:
        stream = box.add_stream("mjpeg", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for i in range(6):
            exif, jpeg = Image.Exif(), io.BytesIO()
            exif[0x010F] = "Cam"  # the maker
            Image.new("RGB", (64, 48), (i * 40,) * 3).save(jpeg, "JPEG", exif=exif.tobytes())
            packet = av.Packet(jpeg.getvalue())
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, Fraction(1, 24)
            box.mux(packet)
    frames = [frame.image for frame in open_source(tmp_path / "cam.avi", moving=True)]
    assert [round(float(image.mean()) / 40) for image in frames] == [0, 1, 2, 3, 4, 5]


def _h264(path, frames: int = 24, rate: int = 24, **options):
    import av

    with av.open(str(path), "w", **options) as box:
        stream = box.add_stream("libx264", rate=rate, options={"g": "6"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 10 % 256, np.uint8), format="rgb24")
            frame.pts = i
            box.mux(stream.encode(frame))
        box.mux(stream.encode())


def test_a_video_stream_of_a_codec_ffmpeg_cannot_decode_is_one_line(tmp_path):
    _h264(tmp_path / "v.mkv")  # its codec id made one no decoder has: a traceback before
    (tmp_path / "v.mkv").write_bytes((tmp_path / "v.mkv").read_bytes().replace(b"V_MPEG4/ISO/AVC", b"V_XXXXX/ISO/AVC"))
    with pytest.raises(MediaError, match=r"v.mkv: its video stream's codec cannot be decoded here$"):
        open_source(tmp_path / "v.mkv", moving=True)


def test_a_start_in_a_stream_that_cannot_seek_is_decoded_to_from_the_top(tmp_path):
    _h264(tmp_path / "raw.h264", format="h264")  # a camera's raw H.264: no index, the seek fails
    whole = [frame.image for frame in open_source(tmp_path / "raw.h264", moving=True)]
    later = [frame.image for frame in open_source(tmp_path / "raw.h264", 0.5, moving=True)]
    assert len(later) == len(whole) - 12 and all(np.array_equal(a, b) for a, b in zip(later, whole[12:]))


@pytest.mark.parametrize("name, options", [("raw.h264", {"format": "h264"}),
                                           ("live.mkv", {"format": "matroska", "options": {"live": "1"}})])
def test_a_video_that_does_not_say_its_length_is_measured_by_its_packets(tmp_path, name, options):
    """A raw H.264 stream, and a live Matroska (WebM) file as a browser's recorder writes it, declare
    no duration: a schedule was checked at frame 0 alone, and `T` was 1 (`t / T` reached 47, exit 0)."""
    from animator.errors import PresetError
    from animator.preset import load_preset
    from animator.render.plan import Plan

    _h264(tmp_path / name, **options)
    assert open_source(tmp_path / name, moving=True).frame_count == 24
    (tmp_path / "p.yaml").write_text(f"name: p\nmode: video\ninput: {name}\nmethod: {{name: multistyle, style: 0}}\n"
                                     "original_colors: '0.1 * t'\n")
    with pytest.raises(PresetError, match=r"original_colors: expected values between 0 and 1, found 1.1 at frame 11"):
        Plan(load_preset(tmp_path / "p.yaml"))


def test_a_raw_stream_cut_between_keyframes_is_measured_from_the_first(tmp_path):
    """A camera's stream cut mid-GOP: the packets before its first keyframe cannot be decoded, and
    counted as frames they made a render of every frame end "cut short or damaged"."""
    import av

    _h264(tmp_path / "whole.h264", frames=36, format="h264")  # a keyframe every 6 frames
    with av.open(str(tmp_path / "whole.h264")) as whole:
        packets = [bytes(packet) for packet in whole.demux(video=0) if packet.size]
    (tmp_path / "cut.h264").write_bytes(b"".join(packets[3:]))  # from the middle of the first group
    clip = open_source(tmp_path / "cut.h264", moving=True)
    assert clip.frame_count == 30 and len(numbers(clip)) == 30


def test_a_raw_h264_stream_plays_at_the_rate_its_headers_give(tmp_path):
    """FFmpeg gives a stream without a container an average of 25 fps, a placeholder: 90 frames
    of 60 fps rendered 3.6 s long, and video.start 0.5 s cut from frame 12."""
    _h264(tmp_path / "raw.h264", frames=90, rate=60, format="h264")
    clip = open_source(tmp_path / "raw.h264", 0.5, 0.5, moving=True)
    assert clip.fps == 60 and len([frame for frame in clip]) == 30


def test_recordings_joined_end_to_end_are_refused_not_cut_to_the_first(tmp_path):
    """Two MPEG-TS clips joined byte for byte, each from timestamp 0 (as `cat a.ts b.ts` makes,
    and cameras split and join): the second clip's frames were dropped but its last, exit 0."""
    for name in ("a", "b"):
        _h264(tmp_path / f"{name}.ts", format="mpegts")
    (tmp_path / "ab.ts").write_bytes((tmp_path / "a.ts").read_bytes() + (tmp_path / "b.ts").read_bytes())
    assert len(list(open_source(tmp_path / "a.ts", moving=True))) == 24  # one clip alone reads whole
    with pytest.raises(MediaError, match=r"ab.ts: its timestamps go back from 0.96 s to 0.00 s \(recordings joined"):
        list(open_source(tmp_path / "ab.ts", moving=True))


def test_a_file_of_one_frame_is_a_still_to_video_mode_whatever_its_container(tmp_path):
    """An AVIF still (in FFmpeg's MP4 demuxer) or a video of one frame made a one-frame, one-second
    video with exit 0; it is a still image, as a PNG named clip.mp4 is."""
    _h264(tmp_path / "one.mp4", frames=1)
    with pytest.raises(MediaError, match=r"one.mp4: a still image, where a moving picture is needed"):
        open_source(tmp_path / "one.mp4", moving=True)
    assert open_source(tmp_path / "one.mp4").first().shape == (48, 64, 3)  # as a loop's or a still's input it reads


def test_a_relative_name_with_a_colon_is_a_file_not_a_protocol(tmp_path, monkeypatch):
    _h264(tmp_path / "12:30.mp4", frames=3)  # FFmpeg read `12:30.mp4` as protocol 12's address
    monkeypatch.chdir(tmp_path)
    assert len(list(open_source(Path("12:30.mp4"), moving=True))) == 3


def test_a_pause_in_a_b_frame_stream_is_no_second_timeline(tmp_path):
    """An MP4's frame durations follow decode order: with B-frames a 1 s pause's length was a
    neighbour's, and the frame after it seemed to go back in time."""
    import av

    with av.open(str(tmp_path / "pause.mp4"), "w") as box:
        stream = box.add_stream("libx264", rate=30, options={"bf": "3"})
        stream.width, stream.height, stream.pix_fmt, stream.time_base = 64, 48, "yuv420p", Fraction(1, 90000)
        for n, i in enumerate([*range(20), *range(50, 71)]):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), n * 6, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i * 3000, Fraction(1, 90000)
            box.mux(stream.encode(frame))
        box.mux(stream.encode())
    assert len(list(open_source(tmp_path / "pause.mp4", moving=True))) == 71


def test_an_avi_cut_short_is_refused_as_its_header_counts_its_frames(tmp_path):
    """A cut AVI loses its index, and FFmpeg's duration is then of the frames left: one cut at nine
    tenths was rendered 43 frames long, with exit 0. Its header still counts 48."""
    import av

    frames = [frame.image for frame in open_source(SAMPLES / "pan.mp4", moving=True)]
    with av.open(str(tmp_path / "whole.avi"), "w") as box:
        stream = box.add_stream("mjpeg", rate=24)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuvj420p"
        for image in frames:
            box.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        box.mux(stream.encode(None))
    data = (tmp_path / "whole.avi").read_bytes()
    assert sum(1 for _ in open_source(tmp_path / "whole.avi", moving=True)) == 48
    for tenths in (1, 5, 9):
        (tmp_path / "cut.avi").write_bytes(data[:len(data) * tenths // 10])
        with pytest.raises(MediaError, match=r"cut\.avi: the video ends after \d+ frames where it declares 48: it is cut "
                                             r"short or damaged$"):
            for _ in open_source(tmp_path / "cut.avi", moving=True):
                pass


def test_a_gif_cut_short_is_refused_as_a_render_source(tmp_path):
    """FFmpeg decodes a cut GIF without a word: its last frame part painted, the rest the frame
    before. A render of it was a video ending in a half-painted frame, with exit 0."""
    from fractions import Fraction

    from animator.errors import MediaError
    from animator.media.frame import Frame
    from animator.media.sink import GifSink, encoding
    from animator.media.source import VideoSource
    from animator.media.image import read_image

    coffee = read_image(SAMPLES / "coffee.png")
    with encoding([GifSink(tmp_path / "whole.gif", Fraction(10))]) as put:
        for i in range(6):
            put(Frame(i, Fraction(i, 10), coffee[10 * i:10 * i + 64, :96].copy()))
    data = (tmp_path / "whole.gif").read_bytes()
    for cut in (len(data) // 2, len(data) - 40):
        (tmp_path / "cut.gif").write_bytes(data[:cut])
        with pytest.raises(MediaError, match=r"cut\.gif: the GIF is cut short \(its data ends after \d whole frames\)"):
            VideoSource(tmp_path / "cut.gif")
    for cut in range(len(data) - 258, len(data) - 1):  # up to its last data block's end: one at least between two blocks
        (tmp_path / "cut.gif").write_bytes(data[:cut])
        with pytest.raises(MediaError, match=r"cut\.gif: the GIF is cut short"):
            VideoSource(tmp_path / "cut.gif")
    (tmp_path / "no-end.gif").write_bytes(data[:-1])  # the trailer byte alone missing: every frame whole, as players read it
    assert len(list(VideoSource(tmp_path / "no-end.gif"))) == 6
    (tmp_path / "clip.gif").write_bytes((SAMPLES / "pan.mp4").read_bytes())  # another format under the name: FFmpeg reads it
    assert VideoSource(tmp_path / "clip.gif").frame_count == 48


def test_a_gif_cut_in_or_after_a_frames_header_is_refused_not_a_traceback(tmp_path):
    """Pillow, asked whether a GIF is animated, read past the end of one cut after an image's
    header (before its data) and raised IndexError, or struct.error for one cut inside it: the
    render ended in a traceback."""
    from animator.errors import MediaError

    chelsea = Image.open(SAMPLES / "chelsea.png").convert("RGB").resize((48, 32))
    frames = [chelsea, chelsea.transpose(Image.Transpose.FLIP_LEFT_RIGHT), chelsea.transpose(Image.Transpose.FLIP_TOP_BOTTOM)]
    frames[0].save(tmp_path / "whole.gif", save_all=True, append_images=frames[1:], duration=100)
    data = (tmp_path / "whole.gif").read_bytes()
    # every 0x2C may start an image descriptor: 10 bytes, then a local palette where its flag says
    starts = [at for at in range(13, len(data) - 10) if data[at] == 0x2C]
    cuts = {at + 10 + (3 << ((data[at + 9] & 7) + 1) if data[at + 9] & 0x80 else 0) for at in starts}
    cuts |= {at + inside for at in starts for inside in range(1, 10)}
    for cut in sorted(c for c in cuts if c < len(data) - 1):
        (tmp_path / "cut.gif").write_bytes(data[:cut])
        with pytest.raises(MediaError, match=r"cut\.gif: "):
            list(open_source(tmp_path / "cut.gif", moving=True))


def test_an_animated_png_cut_short_is_refused_as_a_render_source(tmp_path):
    """With threads, FFmpeg drops its error on a cut APNG's frame: a render of half an animation
    was a video half as long, with exit 0."""
    from fractions import Fraction

    from animator.errors import MediaError
    from animator.media.frame import Frame
    from animator.media.sink import ApngSink, encoding
    from animator.media.source import VideoSource
    from animator.media.image import read_image

    coffee = read_image(SAMPLES / "coffee.png")
    with encoding([ApngSink(tmp_path / "whole.png", Fraction(10))]) as put:
        for i in range(6):
            put(Frame(i, Fraction(i, 10), coffee[10 * i:10 * i + 64, :96].copy()))
    data = (tmp_path / "whole.png").read_bytes()
    assert len(list(VideoSource(tmp_path / "whole.png"))) == 6
    chunks, at = [], 8  # where each chunk ends
    while at < len(data):
        at += 12 + int.from_bytes(data[at:at + 4], "big")
        chunks.append(at)
    last_control = data.rindex(b"fcTL") + 4 + 26 + 4  # its type, its data, its CRC
    for cut in (len(data) // 2, len(data) - 40, len(data) - 12, len(data) - 5, last_control, *chunks[-4:-1]):
        (tmp_path / "cut.png").write_bytes(data[:cut])  # at chunk boundaries too: whole chunks, frames missing
        with pytest.raises(MediaError, match=r"cut\.png: the animated PNG is cut short \(its data ends before its end "
                                             r"chunk; it declares 6 frames\)"):
            VideoSource(tmp_path / "cut.png")


def test_an_animated_pngs_damaged_frame_is_left_out_and_its_last_ones_damaged_refused(tmp_path, caplog):
    """Bytes flipped in a frame's compressed data: FFmpeg's decoder refuses it (zlib's error, an
    "external" one), which refused the file ("decoding failed (Generic error in an external
    library)"). It is left out, as a video's refused picture is; where its last frames are the
    ones lost, the animation is refused as short of the frames it declares."""
    from fractions import Fraction

    from animator.errors import MediaError
    from animator.media.frame import Frame
    from animator.media.sink import ApngSink, encoding
    from animator.media.source import VideoSource

    frames = [frame.image for frame in open_source(SAMPLES / "pan.mp4", moving=True)][:12:2]
    with encoding([ApngSink(tmp_path / "whole.png", Fraction(6))]) as put:
        for i, image in enumerate(frames):
            put(Frame(i, Fraction(i, 6), image))
    data = (tmp_path / "whole.png").read_bytes()
    whole = [frame.image for frame in VideoSource(tmp_path / "whole.png")]
    pictures, at, first = [], 8, False  # where each frame's first data chunk (IDAT, fdAT) begins, and its length
    while at < len(data):
        length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        first = first or kind == b"fcTL"  # a frame's control, then its data in chunks
        if kind in (b"IDAT", b"fdAT") and first:
            pictures.append((at + 8, length))
            first = False
        at += 12 + length
    assert len(pictures) == len(whole) == 6

    def damaged(*numbers: int) -> Path:
        flipped = bytearray(data)
        for number in numbers:
            start, length = pictures[number]
            for k in range(start + length // 3, start + length - 8, 7):
                flipped[k] ^= 0xFF
        path = tmp_path / f"damaged{''.join(map(str, numbers))}.png"
        path.write_bytes(bytes(flipped))
        return path

    with caplog.at_level("WARNING"):
        read = [frame.image for frame in VideoSource(damaged(2))]
    assert len(read) == 6 and [np.array_equal(a, b) for a, b in zip(read[:2], whole)] == [True, True]
    assert len(caplog.messages) == 1 and "picture data damaged after 0.17 s" in caplog.messages[0]
    assert len(list(VideoSource(damaged(5)))) == 5  # a frame short: as a declared length may be
    with pytest.raises(MediaError, match=r"damaged45\.png: the video ends after 4 frames where it declares 6"):
        list(VideoSource(damaged(4, 5)))


def test_an_animated_png_missing_a_frame_it_declares_is_refused(tmp_path):
    """Whole to its end chunk, one frame's chunks gone: a render of it would be a frame short."""
    from fractions import Fraction

    from animator.errors import MediaError
    from animator.media.frame import Frame
    from animator.media.sink import ApngSink, encoding
    from animator.media.source import VideoSource

    coffee = read_image(SAMPLES / "coffee.png")
    with encoding([ApngSink(tmp_path / "whole.png", Fraction(10))]) as put:
        for i in range(6):
            put(Frame(i, Fraction(i, 10), coffee[10 * i:10 * i + 64, :96].copy()))
    data = (tmp_path / "whole.png").read_bytes()
    chunks, at = [], 8  # (type, start, end) of each chunk
    while at < len(data):
        end = at + 12 + int.from_bytes(data[at:at + 4], "big")
        chunks.append((data[at + 4:at + 8], at, end))
        at = end
    controls = [start for kind, start, _ in chunks if kind == b"fcTL"]
    (tmp_path / "short.png").write_bytes(data[:controls[-1]] + data[chunks[-1][1]:])  # the last frame's chunks dropped
    with pytest.raises(MediaError, match=r"short\.png: a damaged animated PNG \(it declares 6 frames and holds 5\)"):
        VideoSource(tmp_path / "short.png")


def test_deep_samples_beyond_their_range_are_refused_not_read_as_a_flat_picture(tmp_path):
    """A TIFF of floats from 0 to 255, or of 32-bit integers, was read clipped to white: a flat
    picture, rendered with exit 0. Floats from 0 to 1 and 16-bit integers are read as before."""
    grey = np.asarray(Image.open(SAMPLES / "chelsea.png").convert("L"))
    Image.fromarray(grey.astype(np.float32) / 255).save(tmp_path / "unit.tif")
    Image.fromarray(grey.astype(np.int32) * 257).save(tmp_path / "sixteen.tif")
    for name in ("unit.tif", "sixteen.tif"):
        assert np.abs(read_image(tmp_path / name)[..., 0].astype(int) - grey).max() <= 1
    Image.fromarray(grey.astype(np.float32)).save(tmp_path / "levels.tif")
    Image.fromarray(grey.astype(np.int32) * 2 ** 23).save(tmp_path / "wide.tif")
    for name, words in (("levels.tif", "floating-point samples from 4 to 194"), ("wide.tif", "integer samples from")):
        with pytest.raises(MediaError, match=f"{name}: {words}.*save it as an 8- or 16-bit image"):
            read_image(tmp_path / name)


@pytest.mark.parametrize("codec", ["libvpx-vp9", "libvpx"])
def test_a_webms_transparency_is_laid_over_white(tmp_path, codec):
    # FFmpeg's own VP8 and VP9 decoders drop the alpha plane a WebM carries beside the picture:
    # the colours under the transparent half came out (red here), where a browser shows the page
    import av

    path = tmp_path / "sticker.webm"
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[:, :32] = (255, 0, 0, 0)  # transparent, red under it
    rgba[:, 32:] = (0, 0, 255, 255)  # opaque blue
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuva420p"
        stream.options = {"auto-alt-ref": "0"}  # VP8's alpha takes no hidden reference frames
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuva420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    frames = [frame.image for frame in open_source(path, moving=True)]
    assert len(frames) == 6
    for image in frames:
        assert image[:, :28].min() >= 235  # white
        assert np.abs(image[:, 36:].astype(int) - (0, 0, 255)).max() <= 24  # blue, as it was


def test_a_clip_whose_title_is_not_utf_8_is_read_with_its_sound(tmp_path):
    """Tags are text in any encoding (a title in Latin-1, a damaged header): PyAV raised
    UnicodeDecodeError as the file opened, and a render of the clip, of its sound, or measured
    against it, ended in a traceback."""
    import av

    from animator.media.audio import decode_audio
    from animator.media.sink import Mp4Sink, encoding
    from animator.media.soundcopy import AudioSpan
    from tests.media.test_sink import moving_square

    clip = tmp_path / "clip.mp4"
    with av.open(str(SAMPLES / "pan.mp4")) as video, av.open(str(SAMPLES / "groove.m4a")) as sound, \
            av.open(str(clip), "w") as out:
        out.metadata["title"] = "TITLE-TO-BE-BYTES"
        copies = {source: out.add_stream_from_template(source) for source in (video.streams.video[0], sound.streams.audio[0])}
        for source, copy in copies.items():
            for packet in source.container.demux(source):
                if packet.dts is not None and packet.pts * source.time_base < 0.5:
                    packet.stream = copy
                    out.mux(packet)
    data = clip.read_bytes()
    clip.write_bytes(data.replace(b"TITLE-TO-BE-BYTES", b"Caf\xe9 \xff\xfe latin-1 \x80"))  # as long: the boxes hold

    source = open_source(clip, moving=True)
    assert (source.frame_count, sum(1 for _ in source)) == (12, 12)
    assert decode_audio(clip).seconds == pytest.approx(0.5, abs=0.03)
    with encoding([Mp4Sink(tmp_path / "out.mp4", Fraction(24), audio=AudioSpan(clip, 0.0, 0.5))]) as put:
        for frame in moving_square(12):
            put(frame)
    with av.open(str(tmp_path / "out.mp4")) as out:
        assert [s.type for s in out.streams] == ["video", "audio"]


def test_pillow_is_heard_on_one_thread_at_a_time_so_pythons_warnings_are_left_as_they_were(tmp_path):
    """Reading a picture records Pillow's warnings with `catch_warnings`, which swaps the warnings
    module's state: two threads inside it at once could leave one's recorder in place, and every
    later warning of the program's went into its list, never shown. A second thread waits."""
    shown, filters = warnings._showwarnmsg_impl, list(warnings.filters)
    inside, leave, second_inside = threading.Event(), threading.Event(), threading.Event()

    def first():
        with pillow_told(tmp_path / "a.png"):
            inside.set()
            leave.wait(10)

    def second():
        inside.wait(10)
        with pillow_told(tmp_path / "b.png"):
            second_inside.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(10)
    waited = not second_inside.wait(0.3)  # while the first is inside
    leave.set()
    for thread in threads:
        thread.join(10)
    assert waited and second_inside.is_set()
    assert warnings._showwarnmsg_impl is shown and warnings.filters == filters


def test_damaged_picture_data_a_decoder_conceals_is_told_once_and_rendered_as_players_show_it(tmp_path, caplog):
    """Bytes flipped in the pan's first keyframe: H.264's decoder conceals the damage from the
    pictures around it (21-74 levels off) and marks the frame; that was rendered without a word."""
    data = bytearray((SAMPLES / "pan.mp4").read_bytes())
    pictures = data.find(b"mdat") + 8
    for k in range(200, 260):
        data[pictures + 7 * k] ^= 0xFF
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with caplog.at_level("WARNING"):
        whole = [frame.image for frame in open_source(SAMPLES / "pan.mp4", moving=True)]
        assert caplog.messages == []
        read = [frame.image for frame in open_source(damaged, moving=True)]
        read_again = [frame.image for frame in open_source(damaged, moving=True)]
    assert len(read) == len(whole) == 48 and np.abs(read[0].astype(int) - whole[0]).mean() > 5
    assert [np.array_equal(a, b) for a, b in zip(read, read_again)] == [True] * 48
    assert caplog.messages == [f"{damaged}: picture data damaged at 0.00 s (and perhaps later): rendered as players "
                               "show it, the damage concealed from the pictures around it"]
    sought = tmp_path / "sought.mp4"  # a span whose seek lands on that keyframe: its picture is damaged, not part-way
    sought.write_bytes(bytes(data))
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert sum(1 for _ in open_source(sought, start=1.0, moving=True)) == 24
    assert caplog.messages == [f"{sought}: picture data damaged at 0.00 s (and perhaps later): rendered as players "
                               "show it, the damage concealed from the pictures around it"]


def pan_remuxed(path: Path) -> list[tuple[int, int]]:
    """The pan's pictures copied into `path` (its suffix picks the container), and each picture's
    (place in the file, size)."""
    import av

    with av.open(str(SAMPLES / "pan.mp4")) as source, av.open(str(path), "w") as out:
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    with av.open(str(path)) as box:
        return [(packet.pos, packet.size) for packet in box.demux(video=0) if packet.size]


def flipped(data: bytes, at: int, size: int) -> bytes:
    damaged = bytearray(data)
    for k in range(size // 4, size - 8, 7):
        damaged[at + k] ^= 0xFF
    return bytes(damaged)


def test_a_picture_the_decoder_refuses_is_left_out_told_once_and_the_render_is_what_players_show(tmp_path, caplog):
    """Bytes flipped in a picture that H.264's decoder refuses outright (an error, where it
    conceals the damage of others; more than half of the pan's pictures so damaged) refused the
    whole file ("decoding failed"), where players show the picture before it in its place."""
    import re

    pictures = pan_remuxed(tmp_path / "pan.mkv")
    whole = [frame.image for frame in open_source(tmp_path / "pan.mkv", moving=True)]
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(flipped((tmp_path / "pan.mkv").read_bytes(), *pictures[13]))  # a picture none leans on
    with caplog.at_level("WARNING"):
        read = [frame.image for frame in open_source(damaged, moving=True)]
    assert [np.array_equal(a, b) for a, b in zip(read, whole)] == [True] * 12 + [False] + [True] * 35
    assert np.array_equal(read[12], whole[11])
    # told after the last picture decoded before it: how many pictures late the decoder's threads
    # refuse one depends on the cores
    assert len(caplog.messages) == 1 and re.fullmatch(
        rf"{re.escape(str(damaged))}: picture data damaged after 0\.\d\d s \(and perhaps later\): rendered as players "
        r"show it, a picture the decoder cannot read left out, the one before it shown on", caplog.messages[0])
    # its one keyframe damaged, nothing decodes: the decoder's own refusal, not "ends after 0 frames"
    (tmp_path / "keyframe.mkv").write_bytes(flipped((tmp_path / "pan.mkv").read_bytes(), *pictures[0]))
    with pytest.raises(MediaError, match=r"keyframe\.mkv: decoding failed \(Invalid data found when processing input\)$"):
        list(open_source(tmp_path / "keyframe.mkv", moving=True))
    # and cut after it: the file is cut, whichever its last picture's fault (an encoder's threads decide)
    (tmp_path / "cut.mkv").write_bytes((tmp_path / "keyframe.mkv").read_bytes()[:pictures[1][0]])
    with pytest.raises(MediaError, match=r"cut\.mkv: the video ends after 0 frames where it declares 48: it is cut "
                                         r"short or damaged$"):
        list(open_source(tmp_path / "cut.mkv", moving=True))


def test_a_damaged_clip_decodes_to_the_same_frames_every_time_from_any_start(tmp_path):
    """H.264's decoder on threads conceals damage differently from run to run: the frames of a
    damaged clip, and of a span of it (a render's `video.start`, a split batch's chunk), differed
    between runs and from the whole clip's. From the first damage on, the decoder has no threads."""
    import av

    from animator.media.source import VideoSource

    with av.open(str(MEDIA / "chaplin.mp4")) as box:
        pictures = sorted((packet.pos, packet.size) for packet in box.demux(video=0) if packet.size)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(flipped((MEDIA / "chaplin.mp4").read_bytes(), *pictures[57]))  # concealed at 2.28 s
    whole = [frame.image for frame in VideoSource(damaged, 0.0, 3.2)]
    for start in (2.0, 2.4, 2.4, 2.6):
        span = [frame.image for frame in VideoSource(damaged, start, 0.6)]
        first = round(start * 25)
        assert [np.array_equal(a, b) for a, b in zip(span, whole[first:])] == [True] * 15, start


def test_concealed_damage_in_a_files_last_picture_is_told_at_its_own_time_and_a_cut_file_is_only_refused(tmp_path, caplog):
    """Damage is told once the file goes on past it, or ends whole: in its last picture, only the
    end tells it. Its time is on the file's own clock (an MPEG-TS's starts past 0). A file cut
    short ends in a picture cut part-way, and its refusal alone says so."""
    told = "picture data damaged at {} s (and perhaps later): rendered as players show it, the damage concealed " \
           "from the pictures around it"
    pictures = pan_remuxed(tmp_path / "pan.mkv")
    data = (tmp_path / "pan.mkv").read_bytes()
    (tmp_path / "last.mkv").write_bytes(flipped(data, *pictures[-1]))
    import av

    from animator.media.frame import Frame
    from animator.media.sink import Mp4Sink, encoding

    clip = tmp_path / "clip.mp4"  # its index (moov) first: it declares every frame
    with encoding([Mp4Sink(clip, Fraction(24), crf=30)]) as put:
        for i, frame in enumerate(open_source(SAMPLES / "pan.mp4", moving=True)):
            put(Frame(i, Fraction(i, 24), frame.image))
    with av.open(str(clip)) as box:
        at, size = sorted((packet.pos, packet.size) for packet in box.demux(video=0) if packet.size)[0]
    # its first picture damaged, and the file cut after it: the damage is a cut file's last picture's
    (tmp_path / "cut.mp4").write_bytes(flipped(clip.read_bytes(), at, size)[:at + size])
    ts = pan_remuxed(tmp_path / "pan.ts")
    (tmp_path / "middle.ts").write_bytes(flipped((tmp_path / "pan.ts").read_bytes(), *ts[12]))
    with caplog.at_level("WARNING"):
        assert sum(1 for _ in open_source(tmp_path / "last.mkv", moving=True)) == 48
        assert caplog.messages == [f"{tmp_path / 'last.mkv'}: {told.format('1.96')}"]
        caplog.clear()
        assert sum(1 for _ in open_source(tmp_path / "middle.ts", moving=True)) == 48
        assert caplog.messages == [f"{tmp_path / 'middle.ts'}: {told.format('0.54')}"]  # the 13th picture decoded
        caplog.clear()
        with pytest.raises(MediaError, match=r"cut\.mp4: the video ends after \d+ frames where it declares 48: it is cut "
                                             r"short or damaged$"):
            for _ in open_source(tmp_path / "cut.mp4", moving=True):
                pass
        assert caplog.messages == []
