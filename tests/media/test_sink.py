import errno
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animator.media.frame import Frame, output_size
from animator.media.sheet import SheetSink
from animator.media.sink import ApngSink, GifSink, MovSink, Mp4Sink, PngSink, WebmSink, WebpSink, encoding
from animator.media.image import read_image
from tests.conftest import decode_video, ffmpeg_probe


def moving_square(count: int, width: int = 160, height: int = 96) -> list[Frame]:
    frames = []
    for i in range(count):
        image = np.full((height, width, 3), 40, np.uint8)
        image[20:60, 5 * i: 5 * i + 40] = (230, 60, 20)
        image[..., 2] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
        frames.append(Frame(i, Fraction(i), image))
    return frames


def test_mp4_is_h264_yuv420p_at_the_exact_rate_with_every_frame(tmp_path):
    rate = Fraction(30000, 1001)
    with encoding([Mp4Sink(tmp_path / "a.mp4", rate, crf=12)]) as put:
        for frame in moving_square(20):
            put(frame)
    facts, frames = decode_video(tmp_path / "a.mp4")
    assert facts["codec"] == "h264" and facts["pix_fmt"] == "yuv420p"
    assert facts["rate"] == rate and facts["size"] == (160, 96) and len(frames) == 20
    assert np.abs(frames[7].astype(int) - moving_square(20)[7].image).mean() < 3  # the right picture, in order
    probe = ffmpeg_probe(tmp_path / "a.mp4")
    assert (probe["codec"], probe["pix_fmt"], probe["frames"]) == ("h264", "yuv420p", 20)
    assert probe["fps"] == pytest.approx(29.97, abs=0.01)


@pytest.mark.parametrize("preset, subme", [("ultrafast", b"subme=0"), ("medium", b"subme=7")])
def test_mp4_uses_the_x264_preset_asked_for(tmp_path, preset, subme):
    with encoding([Mp4Sink(tmp_path / "a.mp4", Fraction(24), preset=preset)]) as put:
        for frame in moving_square(3):
            put(frame)
    assert subme in (tmp_path / "a.mp4").read_bytes()  # x264 writes its settings into the stream


def test_gif_loops_forever_with_every_frame_at_its_own_size(tmp_path):
    with encoding([GifSink(tmp_path / "a.gif", Fraction(12), size=80)]) as put:
        for frame in moving_square(15):
            put(frame)
    gif = Image.open(tmp_path / "a.gif")
    assert gif.info["loop"] == 0 and gif.n_frames == 15
    assert gif.size == (80, 48)
    gif.seek(9)
    assert np.asarray(gif.convert("RGB"))[15, 27:37].mean(axis=0)[0] > 150  # the square, where frame 9 has it (half size)


@pytest.mark.parametrize("sink, delays", [(GifSink, [80, 90, 80, 80, 90]),  # 0, 0.08, 0.17, 0.25, 0.33 to 0.42 s
                                           (WebpSink, [83, 84, 83, 83, 84])])  # ... 0.333 to 0.417 s (5/12 s)
def test_an_animated_images_delays_add_up_to_the_clips_length(tmp_path, sink, delays):
    """Frames start and end on the nearest tick of the format's clock, the last one too."""
    with encoding([sink(tmp_path / "a", Fraction(12))]) as put:
        for frame in moving_square(5):
            put(frame)
    image, shown = Image.open(tmp_path / "a"), []
    for i in range(image.n_frames):
        image.seek(i)
        image.load()  # a WebP frame's duration is known once it is loaded
        shown.append(image.info["duration"])
    assert shown == delays


def test_an_outputs_size_is_its_long_side_as_asked(tmp_path):
    """The render's sides are multiples of 8 for the networks; an output's own `size` is only a
    resampling: its long side as asked, even sides only where the codec subsamples colour."""
    kinds = {"a.gif": GifSink, "a.webp": WebpSink, "a.apng": ApngSink, "a.mp4": Mp4Sink, "a.webm": WebmSink, "a.mov": MovSink}
    sinks = [sink(tmp_path / name, Fraction(12), size=75) for name, sink in kinds.items()]
    with encoding([*sinks, PngSink(tmp_path / "f", size=75)]) as put:
        for frame in moving_square(3):
            put(frame)
    sizes = {name: Image.open(tmp_path / name).size if name[2:] in ("gif", "webp", "apng") else
             decode_video(tmp_path / name)[0]["size"] for name in kinds}
    assert sizes == {"a.gif": (75, 45), "a.webp": (75, 45), "a.apng": (75, 45), "a.mp4": (76, 46), "a.webm": (76, 46),
                     "a.mov": (76, 46)}
    assert read_image(tmp_path / "f" / "000000.png").shape == (45, 75, 3)


@pytest.mark.parametrize("width, height, size, multiple, shape", [(160, 96, 33, 2, (34, 20)), (160, 96, 75, 2, (76, 46)),
                                                                 (200, 100, 73, 1, (73, 37)), (200, 100, 75, 1, (75, 38))])
def test_an_outputs_side_halfway_between_two_is_rounded_up_whatever_its_parity(width, height, size, multiple, shape):
    # Python's round takes a half to the even side: a `size: 33` MP4 was 32 wide where 75 was 76
    assert output_size(width, height, size, multiple) == shape


def test_png_frames_are_lossless(tmp_path):
    frames = moving_square(3)
    with encoding([PngSink(tmp_path / "f")]) as put:
        for frame in frames:
            put(frame)
    stored = sorted((tmp_path / "f").iterdir())
    assert [p.name for p in stored] == ["000000.png", "000001.png", "000002.png"]
    assert all(np.array_equal(read_image(p), f.image) for p, f in zip(stored, frames))


def test_a_failed_render_leaves_no_output(tmp_path):
    sinks = [Mp4Sink(tmp_path / "a.mp4", Fraction(24)), GifSink(tmp_path / "a.gif", Fraction(12)), PngSink(tmp_path / "f")]
    with pytest.raises(RuntimeError, match="stylize failed"):
        with encoding(sinks) as put:
            for frame in moving_square(4):
                put(frame)
            raise RuntimeError("stylize failed")
    assert list(tmp_path.iterdir()) == []


def test_an_encoder_error_reaches_the_caller_and_cleans_up(tmp_path):
    frames = moving_square(3)
    odd = Frame(3, Fraction(3), np.zeros((97, 161, 3), np.uint8))  # a frame of another size mid-stream
    sink = Mp4Sink(tmp_path / "a.mp4", Fraction(24))
    sink.encode = lambda frame, image: (_ for _ in ()).throw(ValueError(f"cannot encode {image.shape}"))
    with pytest.raises(ValueError, match="cannot encode"):
        with encoding([sink]) as put:
            for frame in [*frames, odd]:
                put(frame)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_a_media_error(tmp_path):
    from animator.errors import MediaError

    blocker = tmp_path / "file"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(MediaError, match=r"a.mp4: cannot write"):
        with encoding([Mp4Sink(blocker / "a.mp4", Fraction(24))]) as put:
            for frame in moving_square(2):
                put(frame)


FULL_DISK = Path("/dev/full")  # every write to it fails with ENOSPC, as on a full disk


@pytest.mark.skipif(not FULL_DISK.exists(), reason="no /dev/full")
@pytest.mark.parametrize("make, frame", [(lambda d: PngSink(d / "a.png"), None), (lambda d: PngSink(d / "f"), "000001.png"),
                                         (lambda d: SheetSink(d / "s.png", every=1), None)], ids=["png", "frames", "sheet"])
def test_a_png_on_a_full_disk_is_no_space_naming_the_file_and_leaves_nothing(tmp_path, make, frame):
    sink = make(tmp_path)
    opened = sink.open

    def open_on_a_full_disk(width: int, height: int) -> None:
        opened(width, height)
        (sink.partial / frame if frame else sink.partial).symlink_to(FULL_DISK)

    sink.open = open_on_a_full_disk
    with pytest.raises(OSError) as raised:
        with encoding([sink]) as put:
            for item in moving_square(3):
                put(item)
    assert raised.value.errno == errno.ENOSPC  # numpy's tofile said "N requested and M written", no errno: a traceback
    assert raised.value.filename == str(sink.partial / frame if frame else sink.partial)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make", [lambda p: Mp4Sink(p / "a.mp4", Fraction(24)), lambda p: MovSink(p / "a.mov", Fraction(24)),
                                  lambda p: WebmSink(p / "a.webm", Fraction(24)),
                                  lambda p: WebmSink(p / "a.webm", Fraction(24), codec="av1"),
                                  lambda p: WebpSink(p / "a.webp", Fraction(24)), lambda p: ApngSink(p / "a.png", Fraction(24)),
                                  lambda p: GifSink(p / "a.gif", Fraction(24))],
                         ids=["mp4", "mov", "webm", "webm-av1", "webp", "apng", "gif"])
def test_the_same_frames_make_the_same_bytes(tmp_path, make):
    """A render made again, or resumed after a kill, gives the same file (WebM wrote a random id).
    At 384x216: x264 at tiny sizes now and then encodes the same frames otherwise (the README's
    "A killed render resumes"; 160x96 gave two streams in ~200 tries)."""
    files = []
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        sink = make(tmp_path / run)
        with encoding([sink]) as put:
            for frame in moving_square(4, 384, 216):
                put(frame)
        files.append(sink.path.read_bytes())
    assert files[0] == files[1]


def test_a_sink_that_publishes_itself_refuses_a_folder_in_its_place(tmp_path):
    # a folder where the file goes was removed whole, what was in it too (`python -m
    # animator.media.synthetic FOLDER` deleted the folder)
    from animator.errors import MediaError

    (tmp_path / "clip.mp4" / "sub").mkdir(parents=True)
    (tmp_path / "clip.mp4" / "sub" / "keep.txt").write_text("mine")
    with pytest.raises(MediaError, match="clip.mp4: is a folder, where this file goes"):
        with encoding([Mp4Sink(tmp_path / "clip.mp4", Fraction(24))]) as put:
            for frame in moving_square(3):
                put(frame)
    assert (tmp_path / "clip.mp4" / "sub" / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no partial left


@pytest.mark.parametrize("module, name", [("animator.media.synthetic", "pan.mp4"), ("animator.music.soundtrack", "groove.m4a")])
def test_the_commands_that_make_the_samples_say_a_bad_place_in_one_line(tmp_path, module, name):
    import subprocess
    import sys

    (tmp_path / name).mkdir()
    (tmp_path / name / "keep.txt").write_text("mine")
    (tmp_path / "a-file").write_text("mine")
    for place in (tmp_path / name, tmp_path / "a-file" / name):  # a folder in its place; a file where its folder goes
        result = subprocess.run([sys.executable, "-m", module, str(place)], capture_output=True, text=True)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {place}"), \
            result.stderr
    assert (tmp_path / name / "keep.txt").read_text() == "mine"


def test_a_picture_written_without_a_renders_lock_keeps_a_partial_of_its_own(tmp_path):
    """`stylize -o out/melt.png` and `preview -o out/melt.png` take no lock, and wrote the partial
    a render of a still `melt` writes, `.melt.png.partial`: each removed the other's and published
    its picture, and the render exited 0 with the stylize's picture as its output."""
    from fractions import Fraction

    from animator.media.frame import Frame
    from animator.media.sheet import SheetSink
    from animator.media.sink import PngSink, encoding
    from animator.media.image import read_image

    red, blue = (np.full((16, 24, 3), colour, np.uint8) for colour in ((200, 0, 0), (0, 0, 200)))
    render = PngSink(tmp_path / "melt.png")
    with encoding([render], publish=False) as put:  # a render's output, waiting for its publish
        put(Frame(0, Fraction(0), red))
    for alone in (PngSink(tmp_path / "melt.png", unlocked=True), SheetSink(tmp_path / "melt.png", 1)):
        with encoding([alone]) as put:
            put(Frame(0, Fraction(0), blue))
        assert read_image(tmp_path / "melt.png")[0, 0, 2] > 150 and read_image(render.partial)[0, 0, 0] == 200


def test_what_a_killed_stylize_left_goes_with_the_next_picture_written_there(tmp_path):
    """A lock-free writer's partial is named by its process: one killed left it for good."""
    import subprocess
    import sys
    from fractions import Fraction

    from animator.media.frame import Frame
    from animator.media.sink import PngSink, encoding

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left, alive = tmp_path / f".cat.png.{int(gone.stdout)}.partial", tmp_path / f".cat.png.{os.getppid()}.partial"
    past = tmp_path / ".cat.png.99999999999.partial"  # no process's: os.kill overflowed, a traceback
    for partial in (left, alive, past):
        partial.write_bytes(b"half a picture")
    with encoding([PngSink(tmp_path / "cat.png", unlocked=True)]) as put:
        put(Frame(0, Fraction(0), np.zeros((8, 8, 3), np.uint8)))
    assert not left.exists() and alive.exists() and (tmp_path / "cat.png").exists()  # one still writing is left alone


def test_a_contact_sheet_shows_every_kth_frame_and_the_last(tmp_path):
    """Frames 0, 3 and 6 of 8 are tiles, and frame 7, the render's last, ends the sheet."""
    colours = [(30 * i, 255 - 30 * i, 100) for i in range(8)]
    with encoding([SheetSink(tmp_path / "s.png", every=3)]) as put:
        for i, colour in enumerate(colours):
            put(Frame(i, Fraction(i, 24), np.full((40, 60, 3), colour, np.uint8)))
    sheet = read_image(tmp_path / "s.png")
    assert sheet.shape == (80, 120, 3)  # four tiles, two by two
    tiles = [sheet[top + 30, left + 50] for top in (0, 40) for left in (0, 60)]  # clear of the numbers
    assert [tuple(tile) for tile in tiles] == [colours[0], colours[3], colours[6], colours[7]]


def test_a_file_written_atomically_is_the_old_one_or_the_new_one_and_leaves_no_temporary(tmp_path):
    from animator.files import write_atomically

    target = tmp_path / "record.json"
    write_atomically(target, b"old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "mine.txt").write_text("kept")
    with pytest.raises(OSError):  # the rename fails: a folder is in the way
        write_atomically(tmp_path / "folder", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "record.json"]  # no .folder.tmp left behind
    assert (tmp_path / "folder" / "mine.txt").read_text() == "kept"


def test_the_same_frames_make_the_same_mp4_every_time_at_any_width(tmp_path):
    """x264's AVX-512 routines made another stream of the same frames now and then, by what the
    memory they read held (at 192x96, 73 of 200 encodes of four frames; at 320x192 none), so a
    small render resumed, or made again, was not the same MP4: x264 runs without them."""
    import hashlib
    import threading

    from tests.conftest import SAMPLES

    def deep(n: int) -> int:  # a thread that used its stack deeply leaves it, as it was, to the next one
        return n and deep(n - 1)

    pan = decode_video(SAMPLES / "pan.mp4")[1][:4]
    frames = [Frame(i, Fraction(i, 24), np.ascontiguousarray(image[:96, :192])) for i, image in enumerate(pan)]
    streams = set()
    for attempt in range(30):
        used = threading.Thread(target=deep, args=(200 + attempt,))
        used.start(), used.join()
        with encoding([Mp4Sink(tmp_path / "out.mp4", Fraction(24))]) as put:
            for frame in frames:
                put(frame)
        streams.add(hashlib.sha256((tmp_path / "out.mp4").read_bytes()).hexdigest())
    assert len(streams) == 1
