"""A batch from start to end: each preset up to date, failed to load, or rendered by the executor
(a split video as its chunks, joined once they are all back), reported as it finishes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from animator.batch.plan import Item
from animator.batch.split import Split, split_of
from animator.batch.task import Result, Task, internal_error
from animator.errors import AnimatorError


def run_batch(items: list[Item], executor, out_dir: Path, split: int = 1, overlap: int = 12,
              report: Callable[[Result], None] = lambda result: None) -> list[Result]:
    """Results in the order of `items`; failures are results too, so one never stops the rest."""
    results: dict[str, Result] = {}
    tasks: list[Task] = []
    splits = Splits()

    def done(result: Result, item: Item | None = None) -> None:
        results[id(item) if item else result.name] = result  # a file that fails to load is named by its stem: not unique
        report(result)

    split_names = {item.name for item in items if item.preset and not item.error and split_of(item.preset, split, overlap)}
    for item in items:
        chunk_of = re.fullmatch(r"(.+)\.part\d+", item.name)  # its results would be taken for that video's chunk's
        if item.error:
            done(Result(item.name, "failed", error=item.error), item)
        elif chunk_of and chunk_of.group(1) in split_names:
            done(Result(item.name, "failed", error=f"{item.name}: named as a chunk of the split video {chunk_of.group(1)}; "
                                                   "give it another name"), item)
        elif item.current is not None:
            done(Result(item.name, "up to date", item.current.get("frames"), 0.0, item.current.get("outputs", [])))
        elif split_of(item.preset, split, overlap):
            try:
                chunks, joined = splits.add(Split(item.preset, out_dir, split, overlap), fresh=item.forced)
            except AnimatorError as exc:
                done(Result(item.name, "failed", error=str(exc)))
                continue
            tasks += chunks
            if joined is not None:  # every chunk was finished by an earlier run
                done(joined)
        else:
            tasks.append(Task(item.preset, out_dir))
    for result in executor.run(tasks):
        if not splits.owns(result):
            done(result)
        elif (joined := splits.collect(result)) is not None:
            done(joined)
    return [results.get(id(item)) or results[item.name] for item in items]


class Splits:
    """A batch's split videos: their chunks sent out as tasks, and each video joined once all
    its chunks are back."""

    def __init__(self):
        self.of_chunk: dict[str, Split] = {}  # chunk task name -> its video
        self.back: dict[str, dict[str, Result]] = {}  # video name -> its chunks' results so far

    def add(self, split: Split, fresh: bool = False) -> tuple[list[Task], Result | None]:
        """The video's chunks to render, as tasks; and its result, where an earlier run finished
        every chunk (unless `fresh`: --force renders them all)."""
        tasks, finished = split.tasks(fresh)
        self.of_chunk.update({task.name: split for task in tasks})
        self.back[split.preset.name] = {result.name: result for result in finished}
        return tasks, None if tasks else self.join(split)

    def owns(self, result: Result) -> bool:
        return result.name in self.of_chunk

    def collect(self, result: Result) -> Result | None:
        """The video's result once this was its last chunk, else None."""
        split = self.of_chunk[result.name]
        self.back[split.preset.name][result.name] = result
        return self.join(split) if len(self.back[split.preset.name]) == len(split.chunks) else None

    def join(self, split: Split) -> Result:
        back = self.back[split.preset.name]
        try:
            return split.join(list(back.values()))
        except AnimatorError as exc:
            return Result(split.preset.name, "failed", error=str(exc))
        except Exception as exc:  # a bug, reported with its place as a render's is: the other presets go on
            return Result(split.preset.name, "failed", error=internal_error(exc))
