"""The `animator` command: render, batch, preview, stylize, validate, metrics, presets, info."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from animator import __version__
from animator.bundled import presets_folder
from animator.errors import AnimatorError, MediaError, PresetError, RenderError
from animator.metrics.command import cmd_metrics
from animator.preset import Preset, load_preset, parse_overrides, preset_from_dict
from animator.preset.load import Override, applied
from animator.preset.resolve import motion_at_scale
from animator.preset.schema import NUM_BUILTIN_STYLES

log = logging.getLogger("animator")
# Lines are not broken at 80 columns in a log (a render's list of outputs was); progress bars only on
# a terminal: in a log, a bar that ends leaves a blank line.
console = Console(stderr=True, soft_wrap=True)


def resolve_preset_path(name: str) -> Path:
    """A path as given, or the name of a bundled preset (`melt` for presets/melt.yaml), which a
    folder of that name here does not hide (`--out melt` makes one)."""
    path, bundled = Path(name), presets_folder() / f"{name}.yaml"
    if not path.is_file() and path.suffix == "" and bundled.is_file():
        return bundled
    return path


def load_all(names: list[str], sets: list[str], defaults: dict = {}, **flags) -> list[Preset]:
    overrides = parse_overrides(sets, defaults, **flags)
    return [load_preset(resolve_preset_path(n), overrides) for n in names]


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


class FpsColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:5.2f} fps" if speed else "  -.-- fps", style="progress.data.speed")


def run_render(presets: list[Preset], out_dir: Path, fresh: bool, quiet: bool, image: Path | None = None) -> None:
    """`image`: stylize's one picture, written there alone (out_dir its folder): no record, the
    work folder a temporary one (`-o melt.png` never touches the work folder of a render of melt)."""
    from animator.media.sink import PngSink
    from animator.render.plan import checked

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), FpsColumn(), TimeRemainingColumn())
    picture = lambda preset: [PngSink(image, preset.outputs[0].size, unlocked=True)] if image else None  # noqa: E731
    plans = [checked(preset, out_dir, image is None, picture(preset)) for preset in presets]  # bad input fails first
    from animator.render.engine import load  # torch loads here, once the presets are found fit to render

    computing()
    if image:  # made here, as a render's work folder makes it
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MediaError(f"{out_dir}: cannot render into it ({(exc.strerror or str(exc)).lower()})") from None
    for plan in plans:
        preset, render = plan.preset, load(plan)
        started = time.perf_counter()
        with (Progress(*columns, console=console, disable=quiet or not console.is_terminal, transient=True) as bar,
              tempfile.TemporaryDirectory() if image else contextlib.nullcontext() as work):
            task = bar.add_task(preset.name, total=render.frame_count)
            outputs = render.run(Path(work or out_dir), fresh=fresh, sinks=picture(preset), resumable=not work,
                                 started=lambda: show_notes(render.plan),
                                 progress=lambda done, total: bar.update(task, completed=done, total=total))
        if not quiet:
            written = ", ".join(str(p) for p in outputs)
            frames = int(bar.tasks[task].completed)
            counted = "1 frame" if frames == 1 else f"{frames} frames"
            console.print(f"{preset.name}: {counted} in {time.perf_counter() - started:.1f} s -> {written}")


def computing() -> None:
    """Set this process up to compute (threads, denormals, freed memory; a batch sets up each of its
    workers instead), when a command gets that far: its mistakes are reported before torch loads
    (0.4 s, against 3 with torch)."""
    from animator.device import configure_process

    configure_process()


def show_notes(plan) -> None:
    for note in plan.notes:
        log.warning(note)


def cmd_render(args: argparse.Namespace) -> None:
    run_render(distinct(load_all(args.presets, args.set, device=args.device)), args.out, args.fresh, args.quiet)


def distinct(presets: list[Preset]) -> list[Preset]:
    """Each preset once (a file given twice renders once); two files of one name are refused, since
    the second's outputs would replace the first's in the output folder."""
    named: dict[str, Preset] = {}
    for preset in presets:
        first = named.setdefault(preset.name, preset)
        if first.source.resolve() != preset.source.resolve():
            raise PresetError(f"{preset.shown}: named {preset.name!r}, as {first.shown} is: its outputs would replace "
                              "that one's; give it another name")
    return list(named.values())


def cmd_stylize(args: argparse.Namespace) -> None:
    if args.output.suffix != ".png":  # the image is written as <name>.png: Cat.PNG would be another file
        raise PresetError(f"-o {args.output}: expected a .png file name")
    # a whole number names a built-in style (not a superscript digit); -1 too, to be refused as one
    builtin = args.style is not None and args.style.isascii() and args.style.removeprefix("-").isdigit()
    method = args.method or ("multistyle" if builtin else "arbitrary")
    if builtin and method != "multistyle":
        raise PresetError(f"--style {args.style}: a built-in style is multistyle's; {method} needs a style image")
    if builtin and not 0 <= int(args.style) < NUM_BUILTIN_STYLES:
        raise PresetError(f"--style {args.style}: expected a built-in style 0-{NUM_BUILTIN_STYLES - 1} or an image file")
    raw = {"mode": "still", "method": {"name": method}, "outputs": [{"format": "png"}]}
    overrides = stylize_overrides(args, builtin)
    edited = applied(raw, overrides)  # as the --set items leave it: a mistake in it is the preset's to name, below
    chosen, still = edited["method"], edited.get("still")
    chosen = chosen if isinstance(chosen, str) else chosen.get("name") if isinstance(chosen, dict) else None
    objective = still.get("objective", "transfer") if isinstance(still, dict) else "transfer"
    if chosen == "multistyle" and args.style is not None and not builtin:  # the preset's hint (style: self) is no fix here
        raise PresetError(f"--style {args.style}: multistyle paints its {NUM_BUILTIN_STYLES} built-in styles: give --style N "
                          f"(0-{NUM_BUILTIN_STYLES - 1}), or --method arbitrary or gatys for an image")
    # a texture and a reconstruction need no style; another mode is refused below
    needs_style = edited.get("mode") == "still" and objective == "transfer" and "style" not in edited
    if chosen in ("arbitrary", "gatys") and needs_style:
        raise PresetError(f"animator stylize: --style IMAGE is needed with the {chosen} method (or --style N for multistyle)")
    preset = preset_from_dict(raw, Path.cwd(), where="animator stylize", overrides=overrides)
    if preset.mode != "still":  # -o names one picture
        raise PresetError(f"--set mode={preset.mode}: stylize makes one still image; render a preset for {preset.mode} mode")
    if [output.format for output in preset.outputs] != ["png"]:  # --set outputs...: -o names one PNG
        raise PresetError(f"-o {args.output}: stylize writes one PNG there, and --set asks for "
                          f"{', '.join(output.format for output in preset.outputs) or 'no output'}")
    run_render([preset], args.output.parent, fresh=True, quiet=args.quiet, image=args.output)


def stylize_overrides(args: argparse.Namespace, builtin: bool) -> list[Override]:
    """The --set items, then what stylize's own flags give, as overrides, so that a mistake in one
    names the flag. A --set at, inside or over a key a flag gives is refused: it would silently
    replace it (`--style 3 --set method.style=4` painted style 4)."""
    flags = [Override(("name",), "stylize", f"-o {args.output}"),  # -o names the file, whatever its name
             Override(("input",), str(args.content), f"CONTENT {args.content}")]
    if builtin:
        flags.append(Override(("method", "style"), int(args.style), f"--style {args.style}"))
    elif args.style is not None:
        flags.append(Override(("style",), args.style, f"--style {args.style}"))
    if args.method is not None or builtin:  # --style N is multistyle's
        given = f"--method {args.method}" if args.method else f"--style {args.style}"
        flags.append(Override(("method", "name"), args.method or "multistyle", given))
    overrides = parse_overrides(args.set, {"size": 512}, size=args.size, device=args.device)
    for override in overrides:
        if flag := next((f for f in flags if overlaps(override.path, f.path)), None):
            raise PresetError(f"{override.text}: stylize takes the {'.'.join(flag.path)} from {flag.text}; give one")
    return [*overrides, *flags]


def overlaps(a: tuple, b: tuple) -> bool:
    """Whether two key paths are one, or one holds the other."""
    return a[:len(b)] == b or b[:len(a)] == a


def cmd_preview(args: argparse.Namespace) -> None:
    """A contact sheet of a preset rendered small: every K-th frame, numbered."""
    from animator.media.sheet import is_sheet

    if args.output is not None and args.output.suffix.lower() != ".png":
        raise PresetError(f"-o {args.output}: expected a .png file name")
    started = time.perf_counter()
    if args.every is not None and args.every < 1:
        raise AnimatorError(f"--every {args.every}: expected 1 or more")
    preset = load_preview(args.preset, args.set, args.size, args.device)
    output = args.output or args.out / f"{preset.name}-preview.png"  # beside the render's own outputs, named as they are
    if args.output is None and (output.is_symlink() or output.exists()) and not is_sheet(output):
        raise MediaError(f"{output}: is in the way of the preview and is not a preview's sheet; move it away, "
                         "or name the sheet with -o")
    from animator.media.sheet import SheetSink
    from animator.render.outputs import check_destinations

    check_destinations(preset, output.parent, [SheetSink(output, 1)], record=False)  # its place, before torch loads
    from animator.render.preview import describe, preview, preview_plan  # torch loads here

    computing()
    plan = preview_plan(preset)
    show_notes(plan)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), FpsColumn(), TimeRemainingColumn())
    tile = PREVIEW_SIZE if plan.preset.size > PREVIEW_SIZE and args.size is None and own_size_loop(preset) else None
    with Progress(*columns, console=console, disable=args.quiet or not console.is_terminal, transient=True) as bar:
        task = bar.add_task(f"{preset.name} (preview)", total=plan.frame_count)
        every = preview(plan, output, args.every, lambda done, total: bar.update(task, completed=done, total=total), tile)
    if not args.quiet:
        shown = "its one frame" if plan.frame_count == 1 else "every frame" if every == 1 else f"every {ordinal(every)} frame"
        tiles = f" (tiles of {tile} px)" if tile else ""
        console.print(f"{preset.name}: {shown} at {describe(plan.preset)}{tiles} in {time.perf_counter() - started:.1f} s -> {output}")


PREVIEW_SIZE = 128
OVERLAP = 12  # frames each chunk of a --split video starts early, cross-faded into the chunk before


def own_size_loop(preset: Preset) -> bool:
    """A feed-forward network's feedback loop, which a preview renders at its own size: the networks
    paint strokes of a fixed size in pixels, so at another size it is another loop (`melt` at 128
    px flattens by its first quarter, where at its 384 it stays alive for minutes)."""
    return preset.mode == "iterate" and preset.method.name != "gatys"


def load_preview(name: str, sets: list[str], size: int | None, device: str | None) -> Preset:
    """The preset a preview renders: at --size, else at PREVIEW_SIZE or, a network's loop, at its
    own size with tiles of PREVIEW_SIZE (a --set of size: the preset as edited, checked as
    written). A preset is checked at its own size, and the optimization method's coarse-to-fine
    `scales` are scaled with it (those that reach the preview's size dropped): a preset whose
    scales fit its size is not refused for the preview's (`scales: [64, 128]` of a 256 px
    render), whether the preview's size is the default or given as --size."""
    from animator.preset.load import Override

    path = resolve_preset_path(name)
    overrides = parse_overrides(sets, size=size, device=device)  # a --size beside a --set of size: refused here
    if size is None and any(o.path[0] == "size" for o in overrides):
        return load_preset(path, overrides)
    own = [o for o in overrides if o.path[0] != "size"]
    preset, target = load_preset(path, own), PREVIEW_SIZE if size is None else size  # --size 0 is refused, not 128
    if size is None and own_size_loop(preset):
        return preset
    text = f"--size {size}" if size is not None else f"--size {PREVIEW_SIZE} (the default)"
    method = preset.method
    if method.name == "gatys" and method.scales:
        scaled = sorted({round(s * target / preset.size) for s in method.scales})
        own.append(Override(("method", "scales"), [s for s in scaled if 16 <= s < target], text))
    smaller = load_preset(path, [*own, Override(("size",), target, text)])  # checked again at the preview's size
    return motion_at_scale(smaller, target / preset.size)


def cmd_batch(args: argparse.Namespace) -> int:
    """Every preset rendered or found up to date; failures reported, the rest go on. Exit 1 if
    any failed."""
    from animator import interrupt

    interrupt.install()  # a `kill` of the batch stops its workers too
    overlap = batch_overlap(args)
    overrides = parse_overrides(args.set, device=args.device)
    check_batch_device(args)
    from animator.batch.plan import find_presets, plan  # torch loads here, once the flags are found fit
    from animator.batch.run import run_batch

    items = plan(find_presets(args.presets, presets_folder()), overrides, args.out, args.force, args.split, overlap)
    judged = [item for item in items if item.preset is not None]  # one that fails to load whatever --set says: not asked
    for override in overrides:  # a --set no preset takes is a bad argument, as in render
        if judged and all(override.text in item.refused for item in judged):
            raise AnimatorError(judged[0].refused[override.text])
    executor = batch_executor(args, items)
    for item in items:  # nothing refused the batch: now what its plans found worth saying
        for note in item.notes:
            log.warning(note)
    for override in overrides:
        if skipped := [item.name for item in items if override.text in item.refused]:
            log.warning("%s: not for %s (rendered without it)", override.text, ", ".join(skipped))
    started = time.perf_counter()

    def report(result) -> None:
        if not args.quiet:
            console.print(f"{result.name}: {result.status}" + (f" in {result.seconds:.1f} s" if result.status == "rendered" else ""))

    results = run_batch(items, executor, args.out, args.split, overlap, report)
    print_batch(results, time.perf_counter() - started)
    return 1 if any(r.failed for r in results) else 0


def batch_overlap(args: argparse.Namespace) -> int:
    """The frames each chunk of a split video starts early, once the batch's flags are found fit:
    a flag every preset would fail on is a bad argument, refused before anything is planned."""
    for flag, value, least in (("--jobs", args.jobs, 1), ("--split", args.split, 1), ("--overlap", args.overlap, 0)):
        if value is not None and value < least:
            raise AnimatorError(f"{flag} {value}: expected {least} or more")
    if args.address and args.executor != "ray":
        raise AnimatorError("--address is for --executor ray")
    if args.overlap is not None and args.split == 1:  # taken without a word, it would change nothing
        raise AnimatorError(f"--overlap {args.overlap} is for --split N: the frames each chunk starts early")
    place = next((p for p in (args.out, *args.out.parents) if p.exists()), None)  # it, or the folder it would be made in
    if place is not None and not place.is_dir():
        raise AnimatorError(f"--out {args.out}: is a file, where a folder for the outputs goes" if place == args.out
                            else f"--out {args.out}: {place} is a file, where a folder goes")
    return OVERLAP if args.overlap is None else args.overlap


def check_batch_device(args: argparse.Namespace) -> None:
    """A --device this machine lacks is a bad argument, as every preset would fail on it (torch
    loads to tell). Not for Ray: its tasks run on the cluster's machines, which may have the GPU
    this driver lacks (a task asks the cluster for one)."""
    if args.device not in (None, "auto", "cpu") and args.executor != "ray":
        from animator.device import select_device

        try:
            select_device(args.device)
        except AnimatorError as exc:
            raise AnimatorError(f"--device {args.device}: {exc}") from None


def batch_executor(args: argparse.Namespace, items: list):
    """Ray starts (5 s) for work only: a batch whose presets are all up to date takes no more than
    a local one's check."""
    if args.executor == "ray" and any(item.current is None and not item.error for item in items):
        from animator.batch.executors import RayExecutor

        return RayExecutor(args.jobs, args.address)
    from animator.batch.executors import LocalExecutor

    return LocalExecutor(args.jobs)


def print_batch(results: list, seconds: float) -> None:
    """A table of what happened to each preset, then each failure's reason on a line of its own."""
    table = Table("preset", "status", "frames", "seconds", "outputs", title=f"batch: {len(results)} presets in {seconds:.1f} s")
    for r in results:
        style = {"failed": "red", "rendered": "green"}.get(r.status, "")
        table.add_row(r.name, Text(r.status, style=style), str(r.frames or ""), f"{r.seconds:.1f}" if r.seconds else "",
                      ", ".join(r.outputs))
    Console().print(table)
    for r in results:
        if r.failed:
            error = r.error.removeprefix(f"{r.name}: ")  # some messages name the preset themselves
            console.print(Text.assemble((f"{r.name}: ", "bold red"), one_line(error)), soft_wrap=True)


def cmd_validate(args: argparse.Namespace) -> int:
    """Each preset checked as a render would be, short of loading a network: its input opened and
    a video's schedules checked against its clip. Every preset is checked; each that fails says
    why on a line of its own that names it, and the command exits 2."""
    from animator.render.plan import Plan, check_fits, on_the_cpu

    overrides, failed, named = parse_overrides(args.set), False, {}
    for name in args.presets:
        path = resolve_preset_path(name)
        try:
            preset = load_preset(path, overrides)
            distinct([named.setdefault(preset.name, preset), preset])  # as render refuses a second of one name
            plan = Plan(preset)
            if on_the_cpu(preset):
                check_fits(preset, plan.first)
        except AnimatorError as exc:  # a PresetError, or a MediaError: an input that will not open
            message, failed = str(exc), True
            if len(args.presets) > 1 and not message.startswith(str(path)):  # a clip's or a --set's: which preset's
                message = f"{path}: {message}"
            print_error(AnimatorError(message))
            continue
        show_notes(plan)
        frames = plan.frame_count
        length = "source frames" if frames is None else "1 frame" if frames == 1 else f"{frames} frames"
        print(f"{preset.shown}: ok ({preset.mode}, {preset.method.name}, {length})")
    return 2 if failed else 0


def cmd_presets(args: argparse.Namespace) -> None:
    table = Table("preset", "mode", "method", "frames", "description")
    for path in sorted(presets_folder().glob("*.yaml")):
        p = load_preset(path)
        frames = p.frame_count or ("audio" if p.mode == "iterate" else "source")  # steps: auto lasts as long as its sound
        table.add_row(path.stem, p.mode, p.method.name, str(frames), p.description)
    Console().print(table)


def cmd_info(args: argparse.Namespace) -> None:
    import av
    import numpy
    import torch

    from animator.device import select_device, select_dtype
    from animator.env import idle_threads_wait, render_threads, threads_asked
    from animator.media.sink import h264_encoder, x264_instructions
    from animator.nets import weights

    table = Table("item", "value", show_header=False)
    table.add_row("animator", __version__)
    table.add_row("python", sys.version.split()[0])
    for module in (torch, av, numpy):
        table.add_row(module.__name__, module.__version__)
    device = select_device("auto")
    table.add_row("device (auto)", str(device))
    table.add_row("precision (auto)", str(select_dtype("auto", device)).removeprefix("torch."))
    table.add_row("cuda", torch.cuda.get_device_name() if torch.cuda.is_available() else "not available")
    try:
        threads = f"{render_threads()} ({'ANIMATOR_THREADS' if threads_asked() else 'one a core'})"
    except AnimatorError as exc:  # shown, not raised: this table is where a bad setting is looked into
        threads = f"none: {exc}"
    table.add_row("render threads", threads)
    table.add_row("idle threads", idle_threads_wait())
    encoder = h264_encoder(device.type == "cuda")
    if encoder == "libx264" and x264_instructions():  # what makes its streams repeatable here
        encoder += " (AVX2, not AVX-512)"
    table.add_row("MP4 encoder (auto)", encoder)
    for codec in ("libx264", "libvpx-vp9", "libsvtav1", "prores_ks", "libwebp", "apng", "gif", "png", "aac", "libopus"):
        table.add_row(f"codec {codec}", "yes" if codec in av.codecs_available else "no")
    Console().print(table)
    for wf in weights.ALL:  # full paths and hashes, unwrapped, so they can be copied
        try:
            print(f"{wf.name}  sha256 {wf.sha256}  {weights.locate(wf)}")
        except AnimatorError as exc:
            print(f"{wf.name}  {exc}")


RENDERING = (cmd_render, cmd_stylize, cmd_preview, cmd_metrics)  # the commands that run networks in this process
RESUMING = (cmd_render, cmd_batch)  # those whose frames are kept to resume from


class Parser(argparse.ArgumentParser):
    """argparse with a user error on one line, as every other error is (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def folder(text: str) -> Path:
    """An --out: an empty one would be the current folder, which nobody means by it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder, found nothing")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="animator", description="Style-transfer animation renderer.")
    parser.add_argument("--version", action="version", version=f"animator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = sub.choices  # for an unknown flag's error line, which names the command it was given to

    def common(p: argparse.ArgumentParser, example: str = "iterate.steps=60", device: str = "overrides the preset") -> None:
        p.add_argument("--set", action="append", default=[], metavar="K=V", help=f"override a preset key, e.g. {example}")
        p.add_argument("--device", help=f"auto, cpu, cuda or cuda:N ({device})")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("render", help="render presets")
    p.add_argument("presets", nargs="+", metavar="PRESET", help="a preset file, or the name of a bundled preset")
    p.add_argument("--out", type=folder, default=Path("renders"), help="output folder (default: ./renders)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming")
    common(p)
    p.set_defaults(run=cmd_render)

    p = sub.add_parser("stylize", help="stylize one image")
    p.add_argument("content", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True, help="output .png")
    p.add_argument("--style", help="a style image (arbitrary) or a built-in style number 0-25 (multistyle)")
    p.add_argument("--method", choices=["arbitrary", "multistyle", "gatys"])
    p.add_argument("--size", type=int, help="long side in pixels (default 512)")
    common(p, "original_colors=1", "default auto")
    p.set_defaults(run=cmd_stylize)

    p = sub.add_parser("batch", help="render many presets; skip what is up to date; go on past failures")
    p.add_argument("presets", nargs="+", metavar="PRESETS_OR_DIRS", help="preset files, folders of them, or bundled names")
    p.add_argument("--jobs", type=int, default=1, help="presets rendered at once (default 1)")
    p.add_argument("--out", type=folder, default=Path("renders"), help="output folder (default: ./renders)")
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="worker processes here, or Ray tasks")
    p.add_argument("--address", help="a Ray cluster to join (default: a local instance)")
    p.add_argument("--force", action="store_true", help="render presets that are up to date too")
    p.add_argument("--split", type=int, default=1, metavar="N", help="cut each video preset into N chunks rendered in parallel")
    p.add_argument("--overlap", type=int, metavar="K", help=f"frames each chunk starts early, cross-faded (default {OVERLAP})")
    common(p)
    p.set_defaults(run=cmd_batch)

    p = sub.add_parser("preview", help="a contact sheet of a preset rendered small and fast")
    p.add_argument("preset", metavar="PRESET")
    p.add_argument("--every", type=int, help="every K-th frame (default: about 16 tiles)")
    p.add_argument("--size", type=int, help="long side of the render (default 128; a network's loop: its own, in 128 px tiles)")
    p.add_argument("-o", "--output", type=Path, help="the sheet (default: OUT/NAME-preview.png)")
    p.add_argument("--out", type=folder, default=Path("renders"), help="output folder (default: ./renders)")
    common(p)
    p.set_defaults(run=cmd_preview)

    p = sub.add_parser("validate", help="check presets without rendering")
    p.add_argument("presets", nargs="+", metavar="PRESET")
    p.add_argument("--set", action="append", default=[], metavar="K=V", help="override a preset key, e.g. iterate.steps=60")
    p.set_defaults(run=cmd_validate)

    p = sub.add_parser("metrics", help="temporal consistency of a rendered video against its source, or a loop's life")
    p.add_argument("outputs", nargs="+", type=Path, metavar="OUTPUT",
                   help="renders of one clip, measured in one pass (with --json, a line each)")
    p.add_argument("--loop", action="store_true", help="a feedback loop's detail, colour, change and pattern per quarter")
    p.add_argument("--moving", action="store_true", help="with --loop: the loop has feedback motion, so change per frame has no upper bar "
                   "(default: as the render's record says)")
    p.add_argument("--source", type=Path, help="the clip the render was made from (default: the one its record names)")
    p.add_argument("--start", type=float, help="where in the source the render starts (seconds; default: as the render's record says, else 0)")
    p.add_argument("--reference", type=Path, help="the per-frame render of the same clip (temporal.flow: none)")
    p.add_argument("--style", type=Path, help="the style image, for the Gram distance (default: the reference's own)")
    p.add_argument("--style-size", type=int, metavar="N", help="the style seen with long side N, as a render of size N "
                   "fits it (gatys matches that; default: its own size)")
    p.add_argument("--weight", type=float, help="with --reference: the moving-average baseline's weight (default 0.7)")
    p.add_argument("--every", type=int, help="VGG19 figures on every K-th frame (default 1)")
    p.add_argument("--flow", choices=["dis", "farneback"], help="the flow the warping error is judged by (default dis)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_metrics)

    sub.add_parser("presets", help="list the bundled presets").set_defaults(run=cmd_presets)
    sub.add_parser("info", help="versions, device, codecs and weight files").set_defaults(run=cmd_info)
    return parser


# Every character that ends a line (str.splitlines'), as a name or a path may hold one: written out as its escape
LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(message: str) -> str:
    """A message as one line, whatever line breaks a name or path in it holds."""
    return message.translate(LINE_BREAKS)


def print_error(exc: AnimatorError) -> None:
    console.print(Text.assemble(("error: ", "bold red"), one_line(str(exc))), soft_wrap=True)


def out_of_memory(exc: BaseException) -> str | None:
    """What an error says of memory running out (numpy's MemoryError, torch's allocators', OpenCV's
    "Insufficient memory"), in a line; None for any other error."""
    import errno

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    said_by_libraries = (isinstance(exc, RuntimeError) or type(exc).__name__ == "error") and any(  # cv2.error
        words in text for words in ("can't allocate memory", "CUDA out of memory", "CUDA error: out of memory",
                                    "MPS backend out of memory", "Insufficient memory", "CUBLAS_STATUS_ALLOC_FAILED",
                                    "CUDNN_STATUS_ALLOC_FAILED"))  # torch's, OpenCV's, cuBLAS', cuDNN's
    if isinstance(exc, MemoryError) or isinstance(exc, OSError) and exc.errno == errno.ENOMEM or said_by_libraries:
        said = re.search(r"(can't allocate memory: you tried to allocate|Failed to allocate) \d+ bytes", text)
        return said.group(0) if said else text[:160]  # torch's and OpenCV's without their C++ places
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would name the top level, where the flag was given to a command
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        if args.run in RENDERING:
            from animator import interrupt

            interrupt.install()
        return args.run(args) or 0
    except AnimatorError as exc:
        print_error(exc)
        return 1 if isinstance(exc, RenderError) else 2
    except KeyboardInterrupt:  # stylize works in a temporary folder: nothing of it is kept to resume from
        remote = getattr(args, "executor", None) == "ray"  # a Ray task's frames are in its worker's temporary folder
        console.print("interrupted: run the same command again to " + ("render what was cut short, from its start" if remote
                      else "resume") if args.run in RESUMING else "interrupted")
        return 130
    except BrokenPipeError:  # a reader that stopped reading (`| head`): what it read is what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python flushes stdout once more at exit
        return 141  # as a command the pipe's signal stopped
    except Exception as exc:
        # memory running out is no bug: torch's, OpenCV's and numpy's words for it, in one line
        if (said := out_of_memory(exc)) is not None:
            print_error(AnimatorError(f"out of memory ({said}): a smaller size needs less"))
            return 1
        # a path the system refuses to look at: a name too long, a folder without permission
        if isinstance(exc, OSError) and exc.filename is not None:
            print_error(AnimatorError(f"{exc.filename}: {(exc.strerror or str(exc)).lower()}"))
            return 2
        raise
