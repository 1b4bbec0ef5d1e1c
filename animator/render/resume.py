"""What a render keeps so that a killed render resumes and ends with the same frames.

A hidden work folder beside the outputs holds the finished frames, losslessly, in short video
segments, and the float state after the last frame of each of the last few closed segments. The
frames are H.264 in RGB at qp 0: exact, about 7x smaller than raw, and written in 4 ms a 640x360
frame against 25 for a PNG, which matters on a render's hot path. A segment closes every few
seconds (ANIMATOR_CHECKPOINT_SECONDS, default 2), so a kill loses at most that much work, and
Ctrl-C closes the open one. Re-running replays the stored frames into fresh sinks and continues
from the newest state.

Nothing in the folder is trusted unread. A manifest, replaced atomically when a segment closes,
names every segment with its frame count and SHA-256 and every state with its SHA-256: a segment
that does not match (truncated, garbage, missing) is dropped with everything after it and made
again, with a warning. A folder that cannot be used at all (no readable manifest, a changed
preset, another version's) is moved aside to `.<name>.work.bad-N`, and the render says so; it is
removed once a render of the name finishes, if it holds nothing but a checkpoint's files (the
outputs it would have made are replaced by then), and kept for good otherwise. One holding nothing but a checkpoint's own files and no manifest (a render killed before
its first checkpoint) names no frame to resume, and is cleared. A lock file, held with an OS
lock for as long as the render runs, keeps a second render of the same output out of the folder;
the OS releases it when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import io
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from animator import faults
from animator.env import env_number
from animator.errors import AnimatorError, MediaError
from animator.files import write_atomically
from animator.media.container import file_name
from animator.media.frame import Frame
from animator.preset.resolve import Part, follows_clip, render_fps
from animator.preset.schema import Preset
from animator.render.record import fingerprint

log = logging.getLogger("animator")


COSMETIC = ("description", "outputs", "device", "precision")  # keys that do not decide the frames


def frames_key(preset: Preset, engine: str = "", part: Part | None = None) -> str:
    """What decides the frames: the preset less its cosmetic keys, its input files' content, the
    engine (device type, compute type and CPU threads, as resolved on this machine), the animator
    version, but for a clip's frames, the render's rate: an output's `fps` sets it
    (resolve.render_fps), and with it the seconds of every schedule and the music's features, and
    for a chunk of a split video, where it sits in the whole (its `t`, `T`, random draws and music
    features are the whole render's: one chunk's span of another cut of the clip is not its frames)."""
    rate = () if follows_clip(preset) else (f"{render_fps(preset)} fps",)
    whole = () if part is None else (f"frames from {part.first} of {part.total}",)
    return fingerprint(preset, ignore=COSMETIC, extra=(engine, *rate, *whole))


def segment_seconds() -> float:
    seconds = env_number("ANIMATOR_CHECKPOINT_SECONDS", float, 0, "a number of seconds, 0 or more (0: a segment a frame)")
    return 2.0 if seconds is None else seconds


class Segment:
    """Frames appended to one lossless video file."""

    def __init__(self, path: Path, first: int, width: int, height: int):
        self.path, self.first, self.count, self.opened = path, first, 0, time.monotonic()
        self.container = av.open(file_name(path), "w", format="matroska")
        self.stream = self.container.add_stream("libx264rgb", rate=24)  # the rate is unused: frames are counted
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "rgb24"
        self.stream.options = {"qp": "0", "preset": "ultrafast"}

    def write(self, image: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, self.count = self.count, self.count + 1
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()


def read_segment(path: Path) -> Iterator[np.ndarray]:
    with av.open(file_name(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


KEPT_STATES = 3  # states of the newest segments kept, so a damaged last segment does not mean starting over
MANIFEST = "manifest.json"
LOCK = "lock"
OWN = re.compile(r"(open|\d{6}-\d{6})\.mkv|state-\d{6}\.pt|manifest\.json|\..+\.tmp")  # what a checkpoint writes


def own(entry: Path) -> bool:
    """A file a checkpoint writes (by its name), not a folder or a link someone put there."""
    return bool(OWN.fullmatch(entry.name)) and entry.is_file() and not entry.is_symlink()


def well_formed(manifest: Any) -> bool:
    """A manifest as a checkpoint writes it: every entry's fields of their types, and its files
    named as a checkpoint names them (no path: `../x` or `/x` would be deleted as a damaged one)."""
    def entry(item: Any, number: str, pattern: str) -> bool:
        return (isinstance(item, dict) and isinstance(item.get("file"), str) and re.fullmatch(pattern, item["file"]) is not None
                and isinstance(item.get("sha256"), str) and type(item.get(number)) is int)

    return (isinstance(manifest, dict) and isinstance(manifest.get("key"), str)
            and isinstance(manifest.get("segments"), list) and isinstance(manifest.get("states"), list)
            and all(entry(s, "first", r"\d{6}-\d{6}\.mkv") and type(s.get("count")) is int for s in manifest["segments"])
            and all(entry(s, "index", r"state-\d{6}\.pt") for s in manifest["states"]))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def held(preset: Preset, out_dir: Path) -> Iterator[None]:
    """The lock of the preset's work folder in out_dir, for writing its outputs other than by
    rendering there (a split video's join, a Ray task's outputs): a render of it there meanwhile
    stops at once, as it would for another render."""
    lock = Checkpoint(out_dir / f".{preset.name}.work", preset)
    lock.lock()
    try:
        yield
    finally:
        lock.release(done=False)


class Checkpoint:
    def __init__(self, folder: Path, preset: Preset, engine: str = "", part: Part | None = None):
        self.folder, self.key = folder, frames_key(preset, engine, part)
        self.seconds = segment_seconds()  # read once, so a bad value is refused before the first frame
        self.open: Segment | None = None
        self.held = -1  # frames up to this index are stored already (a resume replays them)
        self.last: tuple[int, Any] | None = None  # the newest stored frame that carried a state
        self.segments: list[dict] = []  # the manifest's: {"file", "first", "count", "sha256"}
        self.states: list[dict] = []  # the manifest's: {"index", "file", "sha256"}
        self.lock_file = None

    # --- the lock -----------------------------------------------------------------------------

    def lock(self) -> None:
        """Hold the folder's lock for this process; a render already holding it is a one-line
        error naming its pid. Creates the folder."""
        if self.folder.is_symlink() or self.folder.exists() and not self.folder.is_dir():  # a link: what it holds is
            # another folder's, which a render would move aside as not its own, and fill with its frames
            raise MediaError(f"{self.folder}: exists and is not a work folder{' (a link)' if self.folder.is_symlink() else ''}: "
                             "move it away to render here")
        while True:
            handle = self._open_lock()
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise AnimatorError(f"{self.folder.parent}: another render of {self.folder.name[1:-5]!r} is writing "
                                    f"here (pid {holder}); wait for it, or render into another --out") from None
            if os.path.exists(handle.name) and os.stat(handle.name).st_ino == os.fstat(handle.fileno()).st_ino:
                break  # not a lock file that a finishing render removed in between
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.lock_file = handle

    def _open_lock(self):
        """The lock file, opened; the folder made first. An output folder that cannot be made
        or written (a file in its way, no permission) is the user's to fix: one line."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return open(self.folder / LOCK, "a+")
        except OSError as exc:
            raise MediaError(f"{self.folder.parent}: cannot render into it ({(exc.strerror or str(exc)).lower()})") from None

    def release(self, done: bool) -> None:
        """Give the lock up. The folder goes first when the render is `done`, or when it holds
        nothing to resume from. A `done` render also removes the folders set aside from earlier
        renders of its name that hold nothing but a render's own files (a changed preset's): the
        outputs they would have made are replaced by its own. One holding anything else stays."""
        if done or not any(p.name != LOCK for p in self.folder.iterdir()):
            shutil.rmtree(self.folder, ignore_errors=True)
        if done:
            for aside in self.folder.parent.glob(glob.escape(self.folder.name) + ".bad-*"):
                if re.fullmatch(r"\.bad-[1-9][0-9]*", aside.name[len(self.folder.name):]) and aside.is_dir() and \
                        not aside.is_symlink() and all(own(entry) for entry in aside.iterdir()):
                    shutil.rmtree(aside, ignore_errors=True)
        if self.lock_file is not None:
            self.lock_file.close()
            self.lock_file = None

    # --- resuming -----------------------------------------------------------------------------

    def load(self) -> tuple[int, Any] | None:
        """(index, state) to resume from: the newest state whose frames all verify; or None to
        start from the beginning (an unusable folder's content moved aside first)."""
        entries = [p for p in self.folder.iterdir() if p.name != LOCK] if self.folder.is_dir() else []
        if entries and not (self.folder / MANIFEST).exists() and all(own(entry) for entry in entries):
            for entry in entries:  # a render killed before its first checkpoint: no frame is named to resume
                entry.unlink()
            return None
        if not entries:
            return None
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text())
        except (OSError, ValueError):
            manifest = None
        if not well_formed(manifest):  # a file it names is deleted on a mismatch: only its own, in the folder
            return self._start_over("it has no readable manifest")
        if manifest["key"] != self.key:
            return self._start_over("the preset, an output's fps, its input files, the device, the precision or the CPU "
                                    "threads changed")
        self.segments, self.states = list(manifest["segments"]), list(manifest["states"])
        self._drop_damaged()
        covered = self._covered()
        for entry in reversed(self.states):
            state = self._read_state(entry) if entry["index"] <= covered else None
            if state is not None:
                self._forget_after(entry["index"])
                self.held = entry["index"]
                return entry["index"], state
        return self._start_over("none of its states can be read")

    def frames(self, last: int, fps: Fraction) -> Iterator[Frame]:
        """The stored frames 0..last, for replay into fresh sinks. Where a segment kept at an
        interruption ran past its state, the next segment holds the frames made again: those win."""
        segments = self.segments
        for i, segment in enumerate(segments):
            first = segment["first"]
            if first > last:
                return
            end = min(last, segments[i + 1]["first"] - 1) if i + 1 < len(segments) else last
            for index, image in zip(range(first, end + 1), read_segment(self.folder / segment["file"])):
                yield Frame(index, index / fps, image)

    def _drop_damaged(self) -> None:
        """Segments are trusted in order up to the first that does not match the manifest; that
        one and those after it are removed, to be made again."""
        for i, segment in enumerate(self.segments):
            path = self.folder / segment["file"]
            problem = "is missing" if not path.is_file() else "does not match its checksum" if sha256(path) != segment["sha256"] else None
            if problem:
                log.warning("%s: %s; frames from %d on are made again", path, problem, segment["first"])
                for later in self.segments[i:]:
                    (self.folder / later["file"]).unlink(missing_ok=True)
                self.segments = self.segments[:i]
                return

    def _covered(self) -> int:
        """The last frame index the verified segments hold without a gap from frame 0, or -1."""
        end = -1
        for segment in self.segments:
            if segment["first"] > end + 1:
                break
            end = max(end, segment["first"] + segment["count"] - 1)
        return end

    def _read_state(self, entry: dict) -> Any | None:
        path = self.folder / entry["file"]
        try:
            if sha256(path) != entry["sha256"]:
                raise ValueError("checksum")
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # any unreadable state: an older one, or starting over, will do
            log.warning("%s: cannot be read (%s); resuming from an earlier state", path, exc)
            return None

    def _forget_after(self, index: int) -> None:
        """Segments starting after the resume point hold frames that will be made again."""
        for segment in [s for s in self.segments if s["first"] > index]:
            (self.folder / segment["file"]).unlink(missing_ok=True)
            self.segments.remove(segment)
        self.states = [s for s in self.states if s["index"] <= index]
        self._write_manifest()

    def _start_over(self, why: str) -> None:
        """Move what the folder holds (its lock aside) to a new `.<name>.work.bad-N`, and say so."""
        n = 1
        while (aside := self.folder.with_name(f"{self.folder.name}.bad-{n}")).exists():
            n += 1
        aside.mkdir()
        entries = [entry for entry in self.folder.iterdir() if entry.name != LOCK]
        until = " until a render of this name finishes" if all(own(entry) for entry in entries) else ""  # see release
        for entry in entries:
            os.replace(entry, aside / entry.name)
        log.warning("%s: cannot resume from it (%s); starting over, what it held is kept in %s%s", self.folder, why, aside,
                    until)
        self.segments, self.states = [], []
        return None

    # --- storing ------------------------------------------------------------------------------

    def save(self, frame: Frame, state: Any = None) -> None:
        """Store a finished frame (called by the encoder thread, after the outputs have it). A
        segment closes only at a frame with a state: that is where a render can resume."""
        if frame.index <= self.held:
            return
        if self.open is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            height, width = frame.image.shape[:2]
            self.open = Segment(self.folder / "open.mkv", frame.index, width, height)
        self.open.write(frame.image)
        self.held = frame.index
        if state is not None:
            self.last = (frame.index, state)
            if time.monotonic() - self.open.opened >= self.seconds:
                self.close()

    def close(self) -> None:
        """Close the open segment, then store the last state it holds and name both in the
        manifest: the manifest never points past a stored frame."""
        if self.open is None:
            return
        segment, self.open = self.open, None
        try:
            segment.close()
        except BaseException:
            segment.path.unlink(missing_ok=True)  # unfinished (a full disk): nothing to resume from
            raise
        if self.last is None or self.last[0] < segment.first:
            segment.path.unlink()  # no state to resume from: its frames would be made again anyway
            return
        name = f"{segment.first:06d}-{segment.first + segment.count - 1:06d}.mkv"
        index, state = self.last
        state_file = self.folder / f"state-{index:06d}.pt"
        os.replace(segment.path, self.folder / name)
        try:  # all of it or none: a failure (a full disk) leaves the folder as the manifest has it
            faults.point("segment")
            segments = [*self.segments, {"file": name, "first": segment.first, "count": segment.count,
                                         "sha256": sha256(self.folder / name)}]
            data = io.BytesIO()  # in memory: torch.save reports a full disk as a RuntimeError, not ENOSPC
            torch.save(on_cpu(state), data)
            write_atomically(state_file, data.getbuffer())
            states = [*self.states, {"index": index, "file": state_file.name, "sha256": sha256(state_file)}]
            self._write_manifest(segments, states[-KEPT_STATES:])
        except BaseException:
            for file in (self.folder / name, state_file):
                file.unlink(missing_ok=True)
            raise
        self.segments, self.states, old = segments, states[-KEPT_STATES:], states[:-KEPT_STATES]
        for entry in old:
            (self.folder / entry["file"]).unlink(missing_ok=True)

    def _write_manifest(self, segments: list[dict] | None = None, states: list[dict] | None = None) -> None:
        """The manifest naming `segments` and `states` (by default, those held now)."""
        segments = self.segments if segments is None else segments
        states = self.states if states is None else states
        write_atomically(self.folder / MANIFEST, json.dumps({"key": self.key, "segments": segments,
                                                             "states": states}, indent=1).encode())

    def keep(self, quiet: bool = False) -> None:
        """On an interrupted render: close the open segment if it can still be written. `quiet`
        where the render's own error is a write error (a full disk): its one line says what was
        kept, and a warning that the same disk could not take the last frames would be a second."""
        try:
            self.close()
        except Exception as exc:  # the render's own error matters more; resume then starts earlier
            if not quiet:
                log.warning("%s: the last frames could not be kept for resuming (%s)", self.folder, exc)
            with contextlib.suppress(OSError):
                (self.folder / "open.mkv").unlink()

    def clear(self) -> None:
        """Forget every stored frame (--fresh), keeping the lock. Only what a checkpoint writes is
        deleted: a folder holding anything else is moved aside whole, as one that cannot be
        resumed from is."""
        if self.open is not None:
            with contextlib.suppress(Exception):
                self.open.close()
            self.open = None
        if self.folder.is_dir():
            entries = [entry for entry in self.folder.iterdir() if entry.name != LOCK]
            if all(own(entry) for entry in entries):
                for entry in entries:
                    entry.unlink()
            else:
                self._start_over("--fresh, and it holds files no render wrote")
        self.segments, self.states, self.held, self.last = [], [], -1, None


def on_cpu(state: Any) -> Any:
    """A state (a tensor, or a dict of tensors and None) detached and on the CPU, for saving."""
    if isinstance(state, dict):
        return {key: on_cpu(value) for key, value in state.items()}
    return state.detach().cpu() if isinstance(state, torch.Tensor) else state
