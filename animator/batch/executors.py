"""Where a batch's tasks run: worker processes on this machine, or tasks on a Ray cluster.

Both take a list of Tasks and yield a Result for each as it finishes, in any order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from animator.batch.task import Result, Task, render_shipped, render_task, ship
from animator.env import threads_asked
from animator.errors import AnimatorError
from animator.media.sink import partial_path, remove
from animator.preset.convert import to_plain


def _init_worker(threads: int) -> None:
    from animator.device import configure_process

    configure_process(threads)


class LocalExecutor:
    """`jobs` worker processes (spawned, so each starts clean), each with its share of the
    cores as torch threads, or ANIMATOR_THREADS as a render has. One job renders in this process."""

    def __init__(self, jobs: int = 1):
        self.jobs = jobs
        self.threads = threads_asked() or max(1, (os.cpu_count() or 1) // jobs)  # a bad value refused before any task

    def run(self, tasks: list[Task]) -> Iterator[Result]:
        if not tasks:
            return  # nothing to render: torch need not even load
        if self.jobs == 1:
            _init_worker(self.threads)
            for task in tasks:
                yield render_task(to_plain(task.preset), task.out_dir, part=task.part)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_worker, initargs=(self.threads,)) as pool:
            futures = [pool.submit(render_task, to_plain(task.preset), task.out_dir, part=task.part) for task in tasks]
            for future in as_completed(futures):
                yield future.result()


class RayExecutor:
    """Each preset a Ray task asking for its share of the cluster's CPUs (and a GPU when its
    device is CUDA). Inputs travel with the task and outputs come back into the driver's
    output folder, so workers need no shared file system. Without an address, and unless Ray is
    already initialized in this process, a local Ray instance is started."""

    def __init__(self, jobs: int = 1, address: str | None = None):
        asked = threads_asked()  # a bad value refused before Ray starts
        try:
            import ray
        except ImportError:
            raise AnimatorError("--executor ray needs Ray: pip install 'animator[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise AnimatorError(f"--address {address}: cannot reach a Ray cluster ({exc})") from None
        self.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)) // jobs)
        self.threads = asked or self.cpus

    def run(self, tasks: list[Task]) -> Iterator[Result]:
        from animator.render.outputs import check_destinations, publish

        remote = self.ray.remote(_remote_render)
        pending = {}
        for task in tasks:
            try:  # here, before the render: its outputs are published here, not where it runs
                check_destinations(task.preset, task.out_dir)
            except AnimatorError as exc:
                yield Result(task.name, "failed", error=str(exc))
                continue
            ref = remote.options(num_cpus=self.cpus, num_gpus=1 if task.cuda else 0).remote(*ship(task.preset), self.threads, task.part)
            pending[ref] = task
        while pending:
            (ref,), _ = self.ray.wait(list(pending), num_returns=1)
            task = pending.pop(ref)
            result, outputs = self.ray.get(ref)
            if not result.failed:  # recorded with this machine's paths, as a local render would be
                publish(_received(outputs, task.out_dir), task.out_dir, task.preset, result.frames, result.seconds)
            yield result


def _remote_render(plain: dict, files: dict[str, bytes], threads: int, part=None):
    _init_worker(threads)
    return render_shipped(plain, files, part)


def _received(outputs: dict[str, bytes], out_dir: Path) -> dict[Path, Path]:
    """Write a remote task's outputs into the driver's folder, each file or folder of frames
    under its hidden partial name; returns {final path: partial path} to publish."""
    staged: dict[Path, Path] = {}
    for name, data in outputs.items():
        top, _, inside = name.partition("/")
        target = out_dir / top
        if target not in staged:
            staged[target] = partial_path(target)
            remove(staged[target])
        path = staged[target] / inside if inside else staged[target]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return staged
