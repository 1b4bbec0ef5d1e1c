"""The `animator metrics` command: its flags checked, the clips found (a render's record names its
clip and the time it starts at: metrics/made.py) and paired at one rate (all before torch loads),
then the figures printed, as text or JSON: a video render's steadiness
against its source, and its cost against the per-frame render and the style (metrics/clip.py);
or a loop's life (metrics/loop.py)."""

from __future__ import annotations

import argparse
import math
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from animator.errors import AnimatorError
from animator.metrics.made import all_loops, read_records, recorded_span

if TYPE_CHECKING:
    import torch  # for annotations alone: torch loads once the files are found fit


def cmd_metrics(args: argparse.Namespace) -> None:
    """Temporal consistency of a video render against its source, and, given the per-frame render
    of the same clip, what that consistency cost in detail and style."""
    from animator.media.source import numbering_fault, open_source

    renders = [*args.outputs, *([args.reference] if args.reference else [])]
    made = read_records(renders)
    args = loops_as_recorded(args, made)
    check_metrics_flags(args)

    def frames(path: Path, rate: Fraction | None = None):
        clip = open_source(path, moving=True)
        if rate is not None and not path.is_dir() and clip.fps != rate:  # a GIF same_rate took at its source's rate
            # placed on its own (a GIF's 30 for 29.97) it would drift by a frame every ~17 s: paired with the wrong frames
            clip.frame_count = None if clip.frame_count is None else round(clip.frame_count * rate / clip.fps)
            clip.fps = rate
        return (f.image for f in clip)

    if args.loop:
        loops = [open_source(output, moving=True) for output in args.outputs]  # every file opened before the first is measured
        from animator.device import configure_process  # torch loads here, once the files are found

        configure_process()
        for output, loop in zip(args.outputs, loops):
            recorded = not args.moving and made[output] is not None and made[output].moving
            print_loop(output, (f.image for f in loop), args.json, args.moving or recorded, recorded)
        return
    clip, start = recorded_span(made, args.source, args.start)  # as given, or as a render's record says
    rate = same_rate(clip, renders)
    source = source_from(clip, start, rate)
    for folder in (path for path in renders if path.is_dir()):
        frames_found = open_source(folder, moving=True)  # a folder of frames has no rate for same_rate to read: opened here
        if fault := numbering_fault(frames_found.files):  # every frame after the gap paired with the wrong one
            raise AnimatorError(f"{folder}: {fault}: a render's frames are measured in order, each against its "
                                "source frame")
    if args.style:  # an image that will not open, or will not fit, found before torch loads
        from animator.media.image import read_image

        check_style_fits(args.style, read_image(args.style), args.style_size)
    from animator.device import configure_process  # torch loads here, once the files are found fit
    from animator.metrics.clip import Mismatch, measure_clips

    configure_process()
    style = style_image(args.style, args.style_size) if args.style else None
    weight = 0.7 if args.weight is None else args.weight
    names = [str(output) + (f" ({i + 1})" if output in args.outputs[:i] else "") for i, output in enumerate(args.outputs)]
    try:  # a file named twice is measured twice
        measured = measure_clips({name: frames(output, rate) for name, output in zip(names, args.outputs)}, (f.image for f in source),
                                 frames(args.reference, rate) if args.reference else None, style, weight=weight,
                                 flow=args.flow or "dis", every=args.every or 1)
    except Mismatch as exc:
        files = {"renders": args.outputs, "source": [clip], "reference": [args.reference]}[exc.whose]
        raise AnimatorError(f"{' '.join(map(str, files))}: {exc}") from None
    print_measured(args, measured, clip, start, weight)


def print_measured(args: argparse.Namespace, measured: dict, clip: Path, start: float, weight: float) -> None:
    """The figures, a JSON line a render or its lines of text, after what was read from a record."""
    import json

    if not args.json and (args.source is None or (args.start is None and start)):
        print(f"against {clip} from {start:g} s, as the render's record says")
    for output, figures in zip(args.outputs, measured.values()):
        if args.json:
            print(json.dumps(json_figures({"output": str(output), "source": str(clip), "start": start, **figures}), allow_nan=False))
        else:
            print_clip(str(output), figures, weight)


def loops_as_recorded(args: argparse.Namespace, made: dict) -> argparse.Namespace:
    """`--loop` for renders that are loops by their records, where no flag says what to measure
    them against (whether each has feedback motion, its record says too: `cmd_metrics`)."""
    clip_flags = (args.source, args.start, args.reference, args.style, args.style_size, args.weight, args.every, args.flow)
    if args.loop or any(flag is not None for flag in clip_flags) or not all_loops(made):
        return args
    return argparse.Namespace(**{**vars(args), "loop": True})


def source_from(path: Path, start: float, rate: Fraction | None):
    """The source from `--start` on; a folder of frames at the renders' rate (its own is 24 fps)."""
    from animator.media.source import open_source

    try:
        return open_source(path, start, fps=rate, moving=True)
    except AnimatorError as exc:  # the sources name the preset's key
        raise type(exc)(str(exc).replace("video.start", "--start", 1)) from None


VGG_BYTES_PER_PIXEL = 1100  # VGG19's activations over a style image, measured: 4.0 GB at 3 MP, 6.9 GB at 6 MP
VGG_BYTES = 0.6e9  # its weights, and torch


def check_style_fits(path: Path, image, size: int | None) -> None:
    """A style seen at its own size must fit in memory: a phone's 12 MP photo takes about 13 GB,
    and past what the system has the kernel ends the process without a word."""
    from animator.env import available_memory

    pixels = image.shape[0] * image.shape[1] * (1 if size is None else (size / max(image.shape[:2])) ** 2)
    need = pixels * VGG_BYTES_PER_PIXEL + VGG_BYTES
    if (free := available_memory()) is not None and need > free:
        seen = "at its own size" if size is None else f"at --style-size {size}"
        raise AnimatorError(f"{path}: {image.shape[1]}x{image.shape[0]} seen {seen} takes about {need / 2**30:.0f} GiB, "
                            f"and {free / 2**30:.1f} GiB is free: give --style-size N (a render's size)")


def check_metrics_flags(args: argparse.Namespace) -> None:
    """Values in range, and no flag whose figures this measure does not make: it would be taken
    without a word."""
    for flag, value, fine, expected in (("--every", args.every, args.every is None or args.every >= 1, "1 or more"),
                                        ("--weight", args.weight, args.weight is None or 0 <= args.weight < 1,
                                         "a number from 0 up to 1"),
                                        ("--start", args.start, args.start is None or 0 <= args.start < math.inf, "0 or more seconds"),
                                        ("--style-size", args.style_size, args.style_size is None or 16 <= args.style_size <= 8192,
                                         "16 to 8192 pixels, as a render's size")):
        if not fine:
            raise AnimatorError(f"{flag} {value}: expected {expected}")
    given = {flag: value for flag, value in (("--source", args.source), ("--start", args.start), ("--reference", args.reference),
                                             ("--style", args.style), ("--style-size", args.style_size),
                                             ("--weight", args.weight), ("--every", args.every), ("--flow", args.flow))
             if value is not None}
    if args.loop and given:  # a loop is measured by itself: these would be ignored without a word
        raise AnimatorError(f"animator metrics: {next(iter(given))} measures a render against its clip, not a loop (--loop)")
    if args.moving and not args.loop:
        raise AnimatorError("animator metrics: --moving is for a loop (--loop)")
    for flag, needs in (("--style-size", ("--style",)), ("--weight", ("--reference",)), ("--every", ("--reference", "--style"))):
        if flag in given and not any(need in given for need in needs):  # what it sets is measured only with them
            raise AnimatorError(f"animator metrics: {flag} is for the figures {' or '.join(needs)} brings; give it too")


def same_rate(source: Path, renders: list[Path]) -> Fraction | None:
    """The rate the clips are paired at. Frames are paired by their place in each clip, so every
    render must keep its source's rate (an output at its own `fps`, a GIF of a 60 fps clip at 30,
    would be paired with the wrong frames). A folder of frames has no rate of its own: a folder
    render is taken at its source's, and a folder source at its renders', which must then agree
    among themselves (None: every clip is a folder)."""
    from animator.media.source import open_source

    files = [render for render in renders if not render.is_dir()]
    rate = None if source.is_dir() else open_source(source, moving=True).fps
    for render in files:
        fps = open_source(render, moving=True).fps
        if rate is not None and fps != rate and not gif_at(render, rate):
            whose = f"its source {float(rate):.4g}" if not source.is_dir() else f"{files[0]} {float(rate):.4g}"
            raise AnimatorError(f"{render}: {float(fps):.4g} fps, {whose}: metrics pairs frames by their place in the "
                                "clip, so it needs a render at its source's rate")
        rate = rate or fps
    return rate


def gif_at(path: Path, rate: Fraction) -> bool:
    """A GIF whose every frame starts within half its clock's tick (1/100 s) of its place at
    `rate`: a GIF cannot say 29.97 fps, and a render's GIF at that rate reads as 30."""
    from animator.media.container import open_media

    if path.suffix.lower() != ".gif":
        return False
    with open_media(path) as container:
        stream = container.streams.video[0]
        starts = [packet.pts * stream.time_base for packet in container.demux(stream) if packet.pts is not None]
    return all(abs(start - starts[0] - i / rate) <= Fraction(1, 200) for i, start in enumerate(starts))


def style_image(path: Path, size: int | None) -> torch.Tensor:
    """The style as the Gram distance sees it: at its own size, or fitted to a long side as a
    render of that size fits it (what `gatys` matches)."""
    from animator.media.frame import fitted, to_tensor
    from animator.media.image import read_image

    image = read_image(path)
    return fitted(image, size) if size else to_tensor(image)


def shown_figure(value: float, spec: str, unit: str = "") -> str:
    """A figure as the table prints it; one that could not be measured (t-10 of a clip under 11
    frames, a clip whose every frame follows a cut, a ratio to a reference's figure of 0: a frozen
    or black per-frame render) is n/a."""
    return f"{value:{spec}}{unit}" if value is not None and math.isfinite(value) else "n/a"


def json_figures(value):
    """Figures for JSON: a figure that could not be measured is null (NaN is not JSON)."""
    if isinstance(value, dict):
        return {key: json_figures(v) for key, v in value.items()}
    if isinstance(value, list):
        return [json_figures(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def print_clip(output: str, figures: dict, weight: float) -> None:
    print(f"{output}: {figures['frames']} frames, warping error {shown_figure(figures['warping_error'], '.6f')} "
          f"(t-10: {shown_figure(figures['long_term_error'], '.6f')}), flicker {shown_figure(figures['flicker'], '.3f')} /255, "
          f"gradient energy {figures['gradient_energy']:.4f}")
    if "relative" not in figures and "gram_distance" in figures:  # a style without a reference: the distance alone
        print(f"Gram distance to the style {figures['gram_distance']:.4f}")
    if "relative" in figures:
        r = figures["relative"]
        print(f"against the per-frame render: warping error {shown_figure(r['warping_error'], '.3f', 'x')} "
              f"(t-10: {shown_figure(r['long_term_error'], '.3f', 'x')}), "
              f"gradient energy {shown_figure(r['gradient_energy'], '.3f')}, Gram distance {shown_figure(r.get('gram_distance'), '.3f', 'x')}, "
              f"perceptual distance {figures['perceptual_distance']:.4f}; the flow-free moving average at weight "
              f"{weight:g}: warping error {shown_figure(r['moving_average_warping_error'], '.3f', 'x')}, gradient energy "
              f"{shown_figure(r['moving_average_gradient_energy'], '.3f')}")


def print_loop(path: Path, frames, as_json: bool, moving: bool, recorded: bool = False) -> None:
    """Is the loop alive: its figures per quarter (metrics/loop.py); `moving`: it has feedback
    motion, which takes the bar off its change per frame (`recorded`: its record says so)."""
    import json

    from animator.metrics.loop import lifeless, loop_figures

    try:
        figures = loop_figures(frames)
    except ValueError as exc:
        raise AnimatorError(f"{path}: {exc}") from None
    if as_json:
        print(json.dumps({"output": str(path), **figures, "moving": moving, "lifeless": lifeless(figures, moving)}))
        return
    motion = ", its change not judged: feedback motion moves every pixel" + (" (its record says)" if recorded else "")
    print(f"{path}: {figures['frames']} frames; per quarter, against frame 0{motion if moving else ''}")
    print("frames      detail  colour  change/255  flat  coherence")
    for q in figures["quarters"]:
        print(f"{q['frames'][0]:>4}-{q['frames'][1]:<5} {q['detail']:7.2f} {q['colour']:7.2f} {q['change']:10.2f} "
              f"{q['flat']:6.2f} {q['coherence']:9.2f}")
    faults = lifeless(figures, moving)
    print("alive in every quarter" if not faults else "not alive: " + "; ".join(faults))
