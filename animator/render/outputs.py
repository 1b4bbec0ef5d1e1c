"""A render's outputs: the sinks its preset asks for, each at its own frame rate, and publishing
them when they are done.

Sinks write under hidden partial names; nothing replaces a finished output until every new one is
complete. Then the old record goes, each output is moved into place (a folder of frames swapped in
with no moment where neither the old nor the new one exists), and the new record, which names
each output's checksum, is written last: an interrupted publish leaves no record that calls a
mixed set of outputs up to date. This is the one place that writes a record. Only our own files
are ever replaced: a path in the way that is not one of them, or that the render reads, is a
one-line error before anything renders.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from animator import faults
from animator.errors import MediaError
from animator.files import write_atomically
from animator.media.frame import Frame
from animator.media.sink import ApngSink, GifSink, MovSink, Mp4Sink, PngSink, Sink, WebmSink, WebpSink, remove
from animator.media.soundcopy import AudioSpan
from animator.preset.resolve import Part, input_files
from animator.preset.schema import ANIMATED_MAX_FPS, OutputConfig, Preset
from animator.render.record import input_hashes, is_record, output_hash, publishing_path, record_path, write_record

H264_CRF = 18  # x264's visually near-lossless setting; the other encoders' defaults live in their sinks


def make_sinks(preset: Preset, out_dir: Path, fps: Fraction, audio: AudioSpan | None = None,
               gpu: int | None = None) -> list[Sink]:
    """The preset's outputs; `fps` is the render's own rate: an output at another rate takes,
    for each of its frames, the render's frame nearest in time (see Retimed). `gpu`: the index
    of the GPU the render runs on, if it does (its video encoder may then be used)."""
    single = preset.frame_count == 1
    sinks = []
    for output in preset.outputs:
        rate = output.fps or animated_rate(fps, ANIMATED_MAX_FPS.get(output.format))
        sink = make_sink(output, out_dir, preset.name, rate, audio, single, gpu)
        sinks.append(Retimed(sink, fps) if getattr(sink, "fps", fps) != fps else sink)
    return sinks


def animated_rate(fps: Fraction, most: int | None) -> Fraction:
    """An output's default rate: the render's, or every k-th of its frames for the smallest k that
    brings it to `most` or under (a GIF of 60 fps: 30), so its frames stay evenly spaced."""
    return fps if most is None else fps / math.ceil(fps / most)


class Retimed:
    """A sink at its own frame rate, fed the render's frames in order: its frame k, at k / rate,
    is the render's frame nearest that time, so it lasts as long as the render (and its sound),
    to within a frame, rather than being sped up or slowed down."""

    def __init__(self, sink: Sink, render_fps: Fraction):
        self.sink, self.step = sink, Fraction(render_fps) / Fraction(sink.fps)  # render frames per output frame
        self.next = 0  # the output frame to write next
        self.last: Frame | None = None

    def __getattr__(self, name: str):
        return getattr(self.sink, name)

    def write(self, frame: Frame) -> None:
        while math.floor(self.next * self.step + Fraction(1, 2)) == frame.index:
            self._put(frame.image)
        self.last = frame

    def finish(self, publish: bool = True) -> Path:
        """The output frames still within the render's time take its last frame, the nearest."""
        while self.last is not None and self.next * self.step < self.last.index + 1:
            self._put(self.last.image)
        return self.sink.finish(publish)

    def _put(self, image) -> None:
        self.sink.write(Frame(self.next, Fraction(self.next) / self.sink.fps, image))
        self.next += 1


def make_sink(output: OutputConfig, out_dir: Path, name: str, fps: Fraction, audio: AudioSpan | None, single: bool,
              gpu: int | None = None) -> Sink:
    """One output as `<out_dir>/<name>.<format>` (PNG: `<name>_frames/`, or `<name>.png` for one frame)."""
    path = out_dir / f"{name}.{output.format}"
    match output.format:
        case "mp4":
            crf = H264_CRF if output.crf is None else output.crf
            return Mp4Sink(path, fps, crf, output.size, audio, output.preset, output.bitrate, gpu)
        case "webm":
            return WebmSink(path, fps, output.codec or "vp9", output.crf, output.size, audio, output.preset, output.bitrate)
        case "mov":
            return MovSink(path, fps, output.size, audio)
        case "webp":
            return WebpSink(path, fps, output.size, output.quality, output.lossless)
        case "apng":
            return ApngSink(path, fps, output.size)
        case "gif":
            return GifSink(path, fps, output.size, output.palette, output.dither, output.max_colors)
        case "png":
            return PngSink(path if single else out_dir / f"{name}_frames", output.size, fps)
    raise AssertionError(f"no sink for format {output.format}")  # the schema's Literal lists every format


@dataclass(frozen=True)
class Began:
    """What a render began from, as `publish` holds it against what is there when it ends: what
    stood at each of its outputs' places (and its record's), and its input files' SHA-256."""

    places: dict[Path, tuple | None]
    inputs: dict[str, str]


def standing(path: Path) -> tuple | None:
    """What stands at a path, as `publish` compares it with what stood there when the render
    began: the file or folder itself (its inode), its size and its last change; None: nothing."""
    try:
        stat = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # nothing there, or no folder for it (a file: refused after)
        return None
    return stat.st_dev, stat.st_ino, stat.st_mode, stat.st_size, stat.st_mtime_ns


def check_destinations(preset: Preset, out_dir: Path, sinks: list[Sink] | None = None, record: bool = True) -> Began:
    """Every output path (of `sinks`, or of the preset's own outputs in out_dir) is free, or holds
    what a render of ours wrote there, and is none of the files the render reads (its input, a
    style image, its sound: a preset named after its clip, rendered into the clip's folder);
    anything else stays, and is an error. Ours: a file of its format where a file goes, not a
    link, that this name's record lists (its outputs, and earlier ones since dropped) or that a
    publish of this name cut short named; a folder of numbered frames where frames go; a render's
    record where the `record` goes. Returns what the render begins from, for `publish`."""
    reads = input_files(preset)
    record_file = record_path(preset, out_dir)
    sinks = make_sinks(preset, out_dir, Fraction(1)) if sinks is None else sinks  # paths do not depend on the rate
    for folder in dict.fromkeys([out_dir, *(sink.path.parent for sink in sinks)]):
        check_folder(folder)
    if record and (record_file.exists() or record_file.is_symlink()) and not is_record(record_file):
        raise MediaError(f"{record_file}: is in the way of this render's record and is not one it wrote; "
                         "move it, or render into another --out")
    written = owned(preset, out_dir) if record else None  # None: a preview's own paths
    for sink in sinks:
        path = sink.path
        if not path.exists() and not path.is_symlink():
            continue
        if path.exists() and any(file.exists() and (path.samefile(file) or path.resolve() in file.resolve().parents)
                                 for file in reads):
            raise MediaError(f"{path}: is this render's own input, and its output would replace it; "
                             "write the output elsewhere or under another name")
        frames = isinstance(getattr(sink, "sink", sink), PngSink) and path.suffix != ".png"  # Retimed holds its sink
        if not ours(path, frames, written):
            raise MediaError(f"{path}: is in the way of this render's output and is not one it wrote; "
                             f"move it, or {'render into another --out' if record else 'name another file with -o'}")
    places = [*(sink.path for sink in sinks), *([record_file] if record else [])]
    return Began({place: standing(place) for place in places}, input_hashes(preset))


def check_folder(folder: Path) -> None:
    """A folder the outputs go in can be made, or is one: a file where it, or a folder above it,
    goes is an error before anything renders (and before torch loads), not once the render makes it."""
    for place in (folder, *folder.parents):
        if place.exists() or place.is_symlink():
            if not place.is_dir():
                raise MediaError(f"{folder}: cannot render into it (not a directory)")
            return


Owned = dict[Path, frozenset[str] | None]  # a path, and the SHA-256s of what it may hold and be ours (None: anything)


def ours(path: Path, frames: bool, written: Owned | None) -> bool:
    """Whether what is at an output's path may be replaced: a folder of numbered frames where
    `frames` go, else a file of the output's format, not a link; and one of the `written` paths
    holding what it may (see `owned`: not a video of the user's own, named as ours), where there
    is a record (without one, a file the command was named: stylize's -o)."""
    shaped = path.is_dir() and not path.is_symlink() and all(is_frame(p) for p in path.iterdir()) if frames \
        else path.is_file() and not path.is_symlink() and of_its_format(path)
    if not shaped or written is None:
        return shaped
    place = path.resolve()
    return place in written and (written[place] is None or output_hash(path) in written[place])


def owned(preset: Preset, out_dir: Path) -> Owned:
    """What a render of this name may replace: its record's outputs whatever they hold, the
    earlier ones it names while they hold what was written there, and what a publish cut short
    was moving into place, while it holds what that publish moved there or what was ours before."""
    listed = {path: None if digest is None else frozenset([digest])
              for path, digest in recorded(record_path(preset, out_dir)).items()}
    return joined(listed, publishing(preset, out_dir))


def joined(a: Owned, b: Owned) -> Owned:
    """Ours where either says so."""
    both = dict(a)
    for path, digests in b.items():
        both[path] = None if digests is None or path in both and both[path] is None else both.get(path, frozenset()) | digests
    return both


def recorded(record_file: Path, last_written: bool = False) -> dict[Path, str | None]:
    """The outputs a render's record lists, ours whatever they hold (an edited output is made
    again: None), and its name's earlier ones it names, ours while they hold what was written
    there (a file of the user's saved under a dropped format's name is not): their SHA-256, None
    where an older record kept none. With `last_written`, every one's SHA-256 as last written."""
    try:
        record = json.loads(record_file.read_text()) if is_record(record_file) else {}
        earlier = record.get("earlier", [])
        names = dict.fromkeys(record.get("outputs", []))
        if last_written:
            names = {name: record.get("checksums", {}).get(name) for name in names}
        names |= earlier if isinstance(earlier, dict) else dict.fromkeys(earlier)
    except (OSError, ValueError, TypeError, AttributeError):
        names = {}
    return {(record_file.parent / name).resolve(): digest if isinstance(digest, str) else None
            for name, digest in names.items() if isinstance(name, str)}


FRAME = re.compile(r"\d{6}\.png")


def is_frame(path: Path) -> bool:
    """A numbered frame file, as a frames folder of ours holds: a file, not a folder by that name."""
    return FRAME.fullmatch(path.name) is not None and path.is_file() and not path.is_symlink()


# What each format's file starts with (offset, bytes): a file at an output's path that does not
# (a text file named melt.mp4) is not an earlier render's, and stays.
SIGNATURES = {".mp4": (4, b"ftyp"), ".mov": (4, b"ftyp"), ".webm": (0, b"\x1a\x45\xdf\xa3"), ".gif": (0, b"GIF8"),
              ".png": (0, b"\x89PNG"), ".apng": (0, b"\x89PNG"), ".webp": (8, b"WEBP")}


def of_its_format(path: Path) -> bool:
    offset, signature = SIGNATURES.get(path.suffix, (0, b""))
    try:
        with path.open("rb") as file:
            return file.read(offset + len(signature))[offset:] == signature
    except OSError:  # unreadable: not ours to replace
        return False
RENAME_EXCHANGE = 2  # linux/fs.h


def exchange(a: Path, b: Path) -> None:
    """Swap two paths in one step (Linux's renameat2), so neither is ever missing; where the
    system cannot, b goes aside under a's name first, with a moment where b's path is empty."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None and renameat2(-100, os.fsencode(a), -100, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return  # -100: AT_FDCWD, paths relative to the working folder
    aside = b.with_name(f".{b.name}.old")
    remove(aside)
    os.replace(b, aside)
    os.replace(a, b)
    os.replace(aside, a)


def publish(staged: dict[Path, Path], out_dir: Path, began: Began, preset: Preset | None = None, frames: int = 0,
            seconds: float = 0.0, split: tuple[int, int] | None = None, part: Part | None = None) -> list[Path]:
    """Move finished outputs ({final path: partial path}) into place, then, given the preset,
    write the render's record into out_dir (`split`: the (parts, overlap) it was cut into; `part`:
    a chunk's place in the whole), with
    the inputs as the render `began` from them. Returns the final paths. Anything at an output's
    place other than what stood there when the render began came while it ran, and is the
    user's: the publish stops before anything moves."""
    for final in [*staged, *([record_path(preset, out_dir)] if preset is not None else [])]:
        now = standing(final)
        if now is not None and now != began.places.get(final):
            again = "run the command again to publish" if preset is not None else "run the command again"
            raise MediaError(f"{final}: came in the place of this render's output while it ran; move it, and {again}")
    if preset is not None:
        earlier = recorded(record_path(preset, out_dir), last_written=True) | still_ours(publishing(preset, out_dir))
        marker = publishing_path(preset, out_dir)
        moving = joined(owned(preset, out_dir), {final.resolve(): frozenset([output_hash(partial)])
                                                 for final, partial in staged.items()})
        write_atomically(marker, json.dumps({str(path): None if digests is None else sorted(digests)
                                             for path, digests in sorted(moving.items())}).encode(),
                         marker.with_name(f"{marker.name}.tmp"))  # hidden already
        record_path(preset, out_dir).unlink(missing_ok=True)
    for final, partial in staged.items():
        if partial.is_dir() and final.is_dir():  # a folder of frames cannot replace another by a rename
            exchange(partial, final)
            remove(partial)  # the old frames, now under the partial name
        else:
            os.replace(partial, final)
        faults.point("publish")
    outputs = list(staged)
    if preset is not None:
        made = {o.resolve() for o in outputs}
        kept = {path: digest for path, digest in earlier.items() if path not in made and (path.exists() or path.is_symlink())}
        write_record(preset, out_dir, outputs, frames, seconds, began.inputs, split, kept, part)
        marker.unlink()
        for stale in leftovers(preset, out_dir):
            remove(stale)
    return outputs


def leftovers(preset: Preset, out_dir: Path) -> list[Path]:
    """The partial outputs a killed render of this name left, of formats this one did not make:
    the name's work lock keeps any other render of it from writing them now (`stylize` and
    `preview`, which take no lock, write partials named by their process)."""
    names = [f".{preset.name}.{suffix}.partial" for suffix in ("mp4", "webm", "mov", "gif", "webp", "apng", "png")]
    return [path for path in (out_dir / name for name in [*names, f".{preset.name}_frames.partial"])
            if path.exists() or path.is_symlink()]


def publishing(preset: Preset, out_dir: Path) -> Owned:
    """What a publish cut short was moving into place (none where none was), and what each may
    hold and be ours: what the publish moved there, or what was ours there before it."""
    try:
        names = json.loads(publishing_path(preset, out_dir).read_text())
    except (OSError, ValueError):
        return {}
    if isinstance(names, list):  # 0.3.10's and earlier: the names alone
        return {Path(name): None for name in names if isinstance(name, str)}
    return {Path(name): None if digests is None else frozenset(d for d in digests if isinstance(d, str))
            for name, digests in names.items() if isinstance(digests, list | None)} if isinstance(names, dict) else {}


def still_ours(written: Owned) -> dict[Path, str]:
    """Of `written`'s paths, those that hold what they may: their SHA-256 now, for a record."""
    found = {path: output_hash(path) for path in written if path.exists() and not path.is_symlink()}
    return {path: digest for path, digest in found.items() if written[path] is None or digest in written[path]}
