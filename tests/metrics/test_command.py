"""`animator metrics` given clips that do not belong together, or that a GIF or a folder holds:
the right frames paired, or one line naming the file at fault."""

from __future__ import annotations

import functools
import json
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from animator.media.frame import Frame
from animator.media.sink import GifSink, Mp4Sink, encoding
from animator.media.image import read_image
from tests.conftest import SAMPLES
from tests.faults.test_cases import animator, refused


def camera(count: int, steps: list[tuple[int, int]] | None = None) -> list[np.ndarray]:
    """Frames of a camera over coffee.png that moves by `steps` (right 2 px a frame for half the
    clip, then down 2 px: pairing a frame with the wrong one shows)."""
    coffee = read_image(SAMPLES / "coffee.png")
    x = y = 0
    frames = []
    for t in range(count):
        frames.append(coffee[80 + y:152 + y, 100 + x:196 + x].copy())
        x, y = (x + 2, y) if t < count // 2 else (x, y + 2)
    return frames


def write(path, frames, fps, sink=Mp4Sink, **options):
    with encoding([sink(path, Fraction(fps), **options)]) as put:
        for i, image in enumerate(frames):
            put(Frame(i, Fraction(i) / Fraction(fps), image))
    return path


def figures(result) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    frames = camera(40)
    write(folder / "source.mp4", frames, 25, crf=0)
    write(folder / "tail.mp4", frames[20:], 25, crf=0)  # a render from 0.8 s on that changed nothing
    (folder / "frames").mkdir()
    for i, image in enumerate(frames):
        Image.fromarray(image).save(folder / "frames" / f"{i:04d}.png")
    return folder


def test_a_folder_source_is_cut_at_its_renders_rate(clips):
    """`--start` on a folder was counted at 24 fps whatever the renders' rate: 25 fps renders from
    0.8 s were paired with the folder's frames from 19 on, the wrong ones, with exit 0."""
    by_file = figures(animator("metrics", "tail.mp4", "--source", "source.mp4", "--start", "0.8", "--json", cwd=clips))
    by_folder = figures(animator("metrics", "tail.mp4", "--source", "frames", "--start", "0.8", "--json", cwd=clips))
    assert by_file[0]["warping_error"] < 1e-5 and by_folder[0]["warping_error"] < 1e-5, (by_file, by_folder)


def test_a_source_of_another_shape_is_another_clip(clips, tmp_path):
    """It was resized to the renders' size and measured, with exit 0."""
    write(tmp_path / "turned.mp4", [np.ascontiguousarray(f.transpose(1, 0, 2)) for f in camera(20)], 25, crf=0)
    write(tmp_path / "cropped.mp4", [f[:, :40] for f in camera(20)], 25, crf=0)
    for source in ("turned.mp4", "cropped.mp4"):
        refused(animator("metrics", clips / "source.mp4", "--source", source, cwd=tmp_path),
                f"error: {source}: the source is ", "of another shape")
    write(tmp_path / "rounded.mp4", [f[:, :90] for f in camera(20)], 25, crf=0)  # 90x72 renders at 96x72 (sides of 8)
    figures(animator("metrics", "rounded.mp4", "--source", clips / "source.mp4", "--json", cwd=tmp_path))


def test_a_source_of_another_shape_is_another_clip_beside_a_render_with_a_side_at_its_least(clips, tmp_path):
    """A render with a side of 16 px (its least, to which a thinner one is stretched) let any source
    pass: its 24x16 of the camera was measured against the camera turned, with exit 0."""
    small = [np.asarray(Image.fromarray(f).resize((24, 16), Image.Resampling.LANCZOS)) for f in camera(20)]
    write(tmp_path / "small.mp4", small, 25, crf=0)
    write(tmp_path / "turned.mp4", [np.ascontiguousarray(f.transpose(1, 0, 2)) for f in camera(20)], 25, crf=0)
    refused(animator("metrics", "small.mp4", "--source", "turned.mp4", cwd=tmp_path),
            "error: turned.mp4: the source is 72x96, the renders 24x16: of another shape")
    figures(animator("metrics", "small.mp4", "--source", clips / "source.mp4", "--json", cwd=tmp_path))
    thin = [np.asarray(Image.fromarray(f[:12]).resize((24, 16), Image.Resampling.LANCZOS)) for f in camera(20)]
    write(tmp_path / "thin.mp4", thin, 25, crf=0)  # 96x12 at 24 px is 24x3, stretched to 24x16
    write(tmp_path / "strip.mp4", [f[:12] for f in camera(20)], 25, crf=0)
    figures(animator("metrics", "thin.mp4", "--source", "strip.mp4", "--json", cwd=tmp_path))


def test_a_reference_at_fault_is_the_file_named(clips, tmp_path):
    write(tmp_path / "small.mp4", [f[::2, ::2] for f in camera(40)], 25, crf=0)
    refused(animator("metrics", "source.mp4", "--source", "source.mp4", "--reference", tmp_path / "small.mp4", cwd=clips),
            f"error: {tmp_path / 'small.mp4'}: the reference is 48x36")
    refused(animator("metrics", "source.mp4", "--source", "tail.mp4", cwd=clips), "error: tail.mp4: the source ends after 20")


def test_the_moving_average_baseline_is_at_weight_0_7_unless_given(clips, tmp_path):
    """The flow-free baseline smooths the per-frame render's flicker: its figures move with --weight,
    and without one are those of --weight 0.7."""
    rng = np.random.default_rng(0)
    flicker = [np.clip(f.astype(int) + rng.integers(-20, 21, f.shape), 0, 255).astype(np.uint8) for f in camera(40)[20:]]
    write(tmp_path / "per-frame.mp4", flicker, 25, crf=0)
    run = lambda *weight: figures(animator("metrics", clips / "tail.mp4", "--source", clips / "source.mp4", "--start", "0.8",  # noqa: E731
                                           "--reference", "per-frame.mp4", "--every", "10", *weight, "--json", cwd=tmp_path))[0]
    default, stated, lighter = run(), run("--weight", "0.7"), run("--weight", "0.3")
    keys = ("moving_average_warping_error", "moving_average_gradient_energy")
    assert [default["relative"][k] for k in keys] == pytest.approx([stated["relative"][k] for k in keys], rel=1e-9)
    assert default["relative"]["moving_average_warping_error"] != pytest.approx(lighter["relative"]["moving_average_warping_error"],
                                                                                rel=1e-3)


def test_a_cut_short_gif_is_refused_not_measured_with_its_half_painted_frame(clips, tmp_path):
    gif = write(tmp_path / "whole.gif", camera(12), 25, sink=GifSink)
    data = gif.read_bytes()
    (tmp_path / "cut.gif").write_bytes(data[:len(data) * 2 // 3])
    (tmp_path / "no-trailer.gif").write_bytes(data[:-1])  # whole frames, the end byte missing: players read it
    write(tmp_path / "source.mp4", camera(12), 25, crf=0)
    refused(animator("metrics", "cut.gif", "--source", "source.mp4", cwd=tmp_path), "error: cut.gif: the GIF is cut short")
    for name in ("whole.gif", "no-trailer.gif"):
        assert figures(animator("metrics", name, "--source", "source.mp4", "--json", cwd=tmp_path))[0]["frames"] == 12


def test_a_gif_of_a_render_at_29_97_fps_is_measured_and_one_at_another_rate_is_not(tmp_path):
    """A GIF's clock counts hundredths: a 29.97 fps render's GIF reads as 30 fps, and was refused."""
    frames = camera(24)
    write(tmp_path / "source.mp4", frames, Fraction(30000, 1001), crf=0)
    write(tmp_path / "render.gif", frames, Fraction(30000, 1001), sink=GifSink)
    write(tmp_path / "other.gif", frames, 25, sink=GifSink)
    assert figures(animator("metrics", "render.gif", "--source", "source.mp4", "--json", cwd=tmp_path))[0]["frames"] == 24
    refused(animator("metrics", "other.gif", "--source", "source.mp4", cwd=tmp_path), "other.gif: 25 fps, its source 29.97")
    write(tmp_path / "source24.mp4", frames, 24, crf=0)  # a GIF at 25 of a 24 fps clip drifts 1/600 s a frame: 40 ms by its end
    refused(animator("metrics", "other.gif", "--source", "source24.mp4", cwd=tmp_path), "other.gif: 25 fps, its source 24")


def test_pictures_under_16_px_are_stretched_for_vgg19_as_a_renders_are(clips, tmp_path):
    """A 12 px style, or clips 12 px high, ended in a traceback after the whole clip was measured."""
    Image.fromarray(read_image(SAMPLES / "brick.png")[:12, :12]).save(tmp_path / "tiny.png")
    result = figures(animator("metrics", clips / "tail.mp4", "--source", clips / "tail.mp4", "--style", "tiny.png", "--json",
                              cwd=tmp_path))
    assert result[0]["gram_distance"] > 0
    write(tmp_path / "thin.mp4", [f[:12, :64] for f in camera(12)], 25, crf=0)
    result = figures(animator("metrics", "thin.mp4", "--source", "thin.mp4", "--reference", "thin.mp4", "--json", cwd=tmp_path))
    assert result[0]["relative"]["gradient_energy"] == pytest.approx(1.0)


def test_every_render_named_is_measured_and_every_file_opened_first(clips, tmp_path):
    result = figures(animator("metrics", "tail.mp4", "tail.mp4", "--source", "source.mp4", "--start", "0.8", "--json", cwd=clips))
    assert len(result) == 2 and result[0] == result[1]
    write(tmp_path / "half.mp4", [f[::2, ::2] for f in camera(20)], 25, crf=0)
    refused(animator("metrics", "tail.mp4", tmp_path / "half.mp4", "--source", "source.mp4", "--start", "0.8", cwd=clips),
            f"renders of different sizes: tail.mp4 96x72, {tmp_path / 'half.mp4'} 48x36")
    (tmp_path / "garbage.mp4").write_bytes(b"not a video")
    result = animator("metrics", "--loop", clips / "source.mp4", "garbage.mp4", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == "", result.stdout  # no table of the first before the error
    refused(animator("metrics", "tail.mp4", "--source", "source.mp4", "--start", "inf", cwd=clips), "--start inf: expected")
    refused(animator("metrics", "tail.mp4", "--source", "source.mp4", "--start", "100", cwd=clips),
            "error: source.mp4: --start 100.0 s is past the end")


def test_a_long_gif_of_a_29_97_fps_render_is_paired_at_its_sources_rate_not_its_own(tmp_path):
    """Such a GIF was placed on its own 30 fps: from frame 352 on, every third place showed the
    frame before, paired with the wrong source frame, and the figures were those, exit 0."""
    coffee = read_image(SAMPLES / "coffee.png")
    coffee = np.concatenate([coffee, coffee[:, ::-1], coffee], axis=1) // 64 * 85  # 64 colours: a GIF's exactly
    rng, x, frames = np.random.default_rng(0), 0, []
    for _ in range(420):
        frames.append(coffee[100:124, x:x + 32].copy())
        x += int(rng.integers(1, 4))  # irregular: a frame paired one off shows
    rate = Fraction(30000, 1001)
    write(tmp_path / "source.mp4", frames, rate, crf=0)
    (tmp_path / "render").mkdir()
    for i, image in enumerate(frames):
        Image.fromarray(image).save(tmp_path / "render" / f"{i:04d}.png")
    starts = [round(i * 100 / rate) for i in range(len(frames) + 1)]  # a GIF's hundredths
    images = [Image.fromarray(image) for image in frames]
    images[0].save(tmp_path / "render.gif", save_all=True, append_images=images[1:], loop=0,
                   duration=[10 * (b - a) for a, b in zip(starts, starts[1:])])
    pngs, gif = figures(animator("metrics", "render", "render.gif", "--source", "source.mp4", "--json", cwd=tmp_path))
    assert gif["frames"] == pngs["frames"] == 420
    assert gif["warping_error"] == pytest.approx(pngs["warping_error"], rel=1e-6)  # the same frames, paired alike


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Renders beside their records: of the pan from 0.5 s and per frame from 0, from `mine.mp4`, a
    clip of the pan's shape and rate with other pictures (the pan reversed, as is `reversed.mp4`),
    and two loops, one with feedback motion."""
    from tests.conftest import decode_video

    folder, pan = tmp_path_factory.mktemp("recorded"), SAMPLES / "pan.mp4"
    facts, frames = decode_video(pan)
    write(folder / "reversed.mp4", frames[::-1], facts["rate"], crf=0)
    (folder / "mine.mp4").write_bytes((folder / "reversed.mp4").read_bytes())
    for name, clip, start, flow in (("late", pan, 0.5, "dis"), ("early", pan, 0, "none"), ("mine", folder / "mine.mp4", 0, "dis")):
        (folder / f"{name}.yaml").write_text(f"name: {name}\nmode: video\ninput: {clip}\nstyle: {SAMPLES / 'brick.png'}\nsize: 64\n"
                                             f"video: {{start: {start}, duration: 0.5, temporal: {{flow: {flow}}}}}\n"
                                             "outputs: [{format: mp4}]\n")
    for name, motion in (("loop", "{}"), ("drift", "{translate_x: 6}")):
        (folder / f"{name}.yaml").write_text(f"name: {name}\ninput: {SAMPLES / 'chelsea.png'}\nsize: 32\n"
                                             f"iterate: {{steps: 5, motion: {motion}}}\noutputs: [{{format: mp4}}]\n")
    presets = ("late.yaml", "early.yaml", "mine.yaml", "loop.yaml", "drift.yaml")
    assert animator("render", *presets, "--out", "out", "--quiet", cwd=folder).returncode == 0
    (folder / "moved").mkdir()
    (folder / "moved" / "late.mp4").write_bytes((folder / "out" / "late.mp4").read_bytes())  # no record beside it
    return folder


def test_a_render_is_measured_from_where_its_record_says_it_starts_and_against_that_clip(recorded):
    """A render from 0.5 s measured without --start was paired with the clip's first frames, and
    one measured against a clip of the same shape and rate but other content was measured: both
    printed figures with exit 0."""
    pan = SAMPLES / "pan.mp4"
    measure = lambda render, *more: figures(animator("metrics", render, *more, "--json", cwd=recorded))[0]  # noqa: E731
    by_record, stated, unrecorded = (measure("out/late.mp4", "--source", pan), measure("moved/late.mp4", "--source", pan, "--start", "0.5"),
                                     measure("moved/late.mp4", "--source", pan))
    assert by_record["long_term_error"] == stated["long_term_error"] != unrecorded["long_term_error"]
    assert (by_record["start"], stated["start"], unrecorded["start"]) == (0.5, 0.5, 0)
    refused(animator("metrics", "out/late.mp4", "--source", pan, "--start", "0.2", cwd=recorded),
            "error: --start 0.2: out/late.mp4 was rendered from 0.5 s into its clip (its record late.json says)")
    for renders in (["out/late.mp4", "--reference", "out/early.mp4"], ["out/late.mp4", "out/early.mp4"]):
        refused(animator("metrics", *renders, "--source", pan, cwd=recorded),
                "error: out/late.mp4 and out/early.mp4: rendered from 0.5 s and 0 s into their clip (their records say)")
    refused(animator("metrics", "out/late.mp4", "--source", "reversed.mp4", cwd=recorded),
            f"error: reversed.mp4: not the clip out/late.mp4 was rendered from ({pan}, its record late.json says)")
    (recorded / "copy.mp4").write_bytes(pan.read_bytes())  # the same clip elsewhere is that clip
    assert measure("out/late.mp4", "--source", "copy.mp4")["warping_error"] == by_record["warping_error"]


def test_without_source_a_render_is_measured_against_the_clip_its_record_names(recorded):
    """It was "--source IN is needed", where the record says which."""
    pan, mine = SAMPLES / "pan.mp4", recorded / "mine.mp4"
    by_record = figures(animator("metrics", "out/late.mp4", "--source", pan, "--json", cwd=recorded))[0]
    assert figures(animator("metrics", "out/late.mp4", "--json", cwd=recorded))[0] == by_record
    said = animator("metrics", "out/late.mp4", cwd=recorded).stdout.splitlines()  # what was read from the record, said
    assert said[0] == f"against {pan} from 0.5 s, as the render's record says" and said[1].startswith("out/late.mp4: 12 frames")
    refused(animator("metrics", "out/late.mp4", "out/early.mp4", cwd=recorded), "error: out/late.mp4 and out/early.mp4: "
            "rendered from 0.5 s and 0 s into their clip (their records say)")
    refused(animator("metrics", "out/late.mp4", "out/mine.mp4", cwd=recorded),
            f"error: out/late.mp4 and out/mine.mp4: rendered from {pan} and {mine} (their records say)")
    mine.write_bytes(pan.read_bytes())
    refused(animator("metrics", "out/mine.mp4", cwd=recorded), f"error: out/mine.mp4: {mine}, the clip its record mine.json "
            "names, has changed since it was rendered: give --source IN")
    mine.unlink()
    refused(animator("metrics", "out/mine.mp4", cwd=recorded), f"error: out/mine.mp4: {mine}, the clip its record mine.json "
            "names, is not there: give --source IN")
    refused(animator("metrics", "moved/late.mp4", cwd=recorded), "error: animator metrics: --source IN is needed")
    (recorded / "other").mkdir()  # another video under the render's name, beside its record: not the render it names
    (recorded / "other" / "late.json").write_bytes((recorded / "out" / "late.json").read_bytes())
    (recorded / "other" / "late.mp4").write_bytes((recorded / "out" / "early.mp4").read_bytes())
    refused(animator("metrics", "other/late.mp4", cwd=recorded), "error: animator metrics: --source IN is needed")
    refused(animator("metrics", "out/loop.mp4", "--source", pan, cwd=recorded),  # a loop has no clip to pair it with
            "error: out/loop.mp4: a loop (iterate mode, its record says): measure it with --loop")


def test_a_loop_by_its_record_is_measured_as_one_moving_as_its_record_says(recorded):
    """`animator metrics LOOP.mp4` said "--source IN is needed": the record says it is a loop, and
    whether it has feedback motion (which takes the bar off its change per frame)."""
    loop = functools.cache(lambda *flags: figures(animator("metrics", *flags, "--json", cwd=recorded))[0])  # each asked once
    assert loop("out/loop.mp4") == loop("--loop", "out/loop.mp4") != loop("--loop", "--moving", "out/loop.mp4")
    assert not loop("out/loop.mp4")["moving"] and loop("--loop", "--moving", "out/loop.mp4")["moving"]
    # given --loop, a loop with feedback motion was judged as a still camera's unless --moving was given too
    (recorded / "moved" / "drift.mp4").write_bytes((recorded / "out" / "drift.mp4").read_bytes())  # no record beside it
    drifting = loop("out/drift.mp4")
    assert drifting == loop("--loop", "out/drift.mp4") == loop("--loop", "--moving", "moved/drift.mp4") | {"output": "out/drift.mp4"}
    assert drifting != loop("--loop", "moved/drift.mp4") | {"output": "out/drift.mp4"} and drifting["moving"]
    both = [line["moving"] for line in figures(animator("metrics", "--loop", "out/loop.mp4", "out/drift.mp4", "--json",
                                                        cwd=recorded))]
    assert both == [False, True]  # each as its own record says
    said = animator("metrics", "out/drift.mp4", cwd=recorded).stdout.splitlines()[0]
    assert said == ("out/drift.mp4: 6 frames; per quarter, against frame 0, its change not judged: feedback motion moves "
                    "every pixel (its record says)")
