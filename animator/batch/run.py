"""A batch from start to end: each preset up to date, failed to load, or rendered by the executor
(a split video as its chunks, joined once they are all back), reported as it finishes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from animator.batch.plan import Item
from animator.batch.task import Result, Task
from animator.errors import AnimatorError


def run_batch(items: list[Item], executor, out_dir: Path, split: int = 1, overlap: int = 12,
              report: Callable[[Result], None] = lambda result: None) -> list[Result]:
    """Results in the order of `items`; failures are results too, so one never stops the rest."""
    results: dict[str, Result] = {}
    tasks: list[Task] = []
    splits, chunks_of, owner = {}, {}, {}

    def done(result: Result) -> None:
        results[result.name] = result
        report(result)

    for item in items:
        if item.error:
            done(Result(item.name, "failed", error=item.error))
        elif item.current is not None:
            done(Result(item.name, "up to date", item.current.get("frames"), 0.0, item.current.get("outputs", [])))
        elif split > 1 and item.preset.mode == "video":
            from animator.batch.split import Split  # loads the engine: only when a video is split

            try:
                splits[item.name] = Split(item.preset, out_dir, split, overlap)
            except AnimatorError as exc:
                done(Result(item.name, "failed", error=str(exc)))
                continue
            chunk_tasks = splits[item.name].tasks()
            chunks_of[item.name] = {}
            owner.update({task.name: item.name for task in chunk_tasks})
            tasks += chunk_tasks
        else:
            tasks.append(Task.of(item.preset, out_dir))
    for result in executor.run(tasks):
        if result.name not in owner:
            done(result)
            continue
        name = owner[result.name]
        chunks_of[name][result.name] = result
        if len(chunks_of[name]) == len(splits[name].chunks):
            try:
                done(splits[name].join(list(chunks_of[name].values())))
            except AnimatorError as exc:
                done(Result(name, "failed", error=str(exc)))
    return [results[item.name] for item in items]
