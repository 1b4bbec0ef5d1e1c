"""What a finished render records beside its outputs, so that a batch knows it is up to date.

`<out>/<name>.json` holds the render's fingerprint (the resolved preset, the SHA-256 of every
file it reads, the animator version and, for a video a batch rendered in chunks, how it was cut),
the files it wrote with their SHA-256, its frames and seconds. A preset whose record has the same
fingerprint, and whose outputs are all there with the content the record names, is up to date.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from animator import __version__
from animator.files import write_atomically
from animator.preset.convert import to_plain
from animator.preset.resolve import Part, input_files
from animator.preset.schema import Preset

_hashes: dict[tuple, str] = {}  # (path, size, mtime) -> SHA-256: a file is read once per process


def file_hash(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


def input_hashes(preset: Preset) -> dict[str, str]:
    """The SHA-256 of every file the preset reads, by path."""
    return {str(path): file_hash(path) for path in input_files(preset)}


def fingerprint(preset: Preset, ignore: tuple[str, ...] = ("description",), extra: tuple = (),
                inputs: dict[str, str] | None = None) -> str:
    """SHA-256 of the preset less the `ignore`d keys, its input files' content (as `inputs` has
    it, or as it is now), the animator version and `extra`."""
    plain = {key: value for key, value in to_plain(preset).items() if key not in ignore}
    files = [list(item) for item in (input_hashes(preset) if inputs is None else inputs).items()]
    return hashlib.sha256(json.dumps([plain, files, __version__, list(extra)], sort_keys=True).encode()).hexdigest()


def record_path(preset: Preset, out_dir: Path) -> Path:
    return out_dir / f"{preset.name}.json"


def output_hash(path: Path) -> str:
    """SHA-256 of an output: a file's content, or a folder of frames' names and contents."""
    if not path.is_dir():
        return file_hash(path)
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        digest.update(f"{file.name}:{file_hash(file)};".encode())
    return digest.hexdigest()


def made_in(split: tuple[int, int] | None, part: Part | None = None) -> tuple:
    """What the fingerprint adds for a render cut into chunks ((parts, overlap)): its seams are
    cross-faded, so its frames are not those of one render of the whole (nor of another cut);
    and for a chunk, where it sits in the whole: its schedules and random draws are the whole's."""
    return (() if split is None else ("split", *split)) + (() if part is None else ("part", part.first, part.total))


def write_record(preset: Preset, out_dir: Path, outputs: list[Path], frames: int, seconds: float, inputs: dict[str, str],
                 split: tuple[int, int] | None = None, earlier: dict[Path, str | None] | None = None,
                 part: Part | None = None) -> Path:
    """`inputs`: the input files' SHA-256 as the render began, which its frames were made from (a
    file changed since makes it out of date). `earlier`: outputs of this name's earlier renders
    that this one did not make (a format since dropped from the preset), with their SHA-256 as
    last written: ours while they hold it, to be replaced when the format comes back."""
    path = record_path(preset, out_dir)
    record = {"animator": __version__, "fingerprint": fingerprint(preset, extra=made_in(split, part), inputs=inputs),
              "split": None if split is None else {"parts": split[0], "overlap": split[1]}, "preset": to_plain(preset),
              "inputs": inputs,
              "outputs": [os.path.relpath(o, out_dir) for o in outputs],
              "earlier": {os.path.relpath(o, out_dir): digest for o, digest in sorted((earlier or {}).items())},
              "checksums": {os.path.relpath(o, out_dir): output_hash(o) for o in outputs},
              "frames": frames, "seconds": round(seconds, 3)}
    write_atomically(path, json.dumps(record, indent=2).encode(), tmp=path.with_name(f".{path.name}.partial"))
    return path


def publishing_path(preset: Preset, out_dir: Path) -> Path:
    """Where a publish names the outputs it moves into place until its record is written: a
    publish cut short leaves them named as ours."""
    return out_dir / f".{preset.name}.publishing"


def split_work_path(preset: Preset, out_dir: Path) -> Path:
    """Where a batch's `--split` renders the preset's chunks until it joins them."""
    return out_dir / f".{preset.name}.split"


def is_record(path: Path) -> bool:
    """Whether the file at `path` is a render's record (and so may be replaced by another)."""
    try:
        record = json.loads(path.read_text()) if path.is_file() and not path.is_symlink() else None
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and {"animator", "fingerprint", "outputs"} <= record.keys()


def up_to_date(preset: Preset, out_dir: Path, split: tuple[int, int] | None = None, part: Part | None = None) -> dict | None:
    """The record of a finished render of this very preset, made whole or cut as `split` says (or
    a chunk of one, at `part`), whose outputs are all there as it wrote them, or None."""
    try:
        record = json.loads(record_path(preset, out_dir).read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint(preset, extra=made_in(split, part)):
        return None
    checksums = record.get("checksums", {})
    for output in record.get("outputs", []):
        try:
            if checksums.get(output) != output_hash(out_dir / output):
                return None
        except OSError:
            return None
    return record
