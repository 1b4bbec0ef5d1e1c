"""Where a batch's tasks run: worker processes on this machine, or tasks on a Ray cluster.

Both take a list of Tasks and yield a Result for each as it finishes, in any order.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from animator.batch.task import Result, Task, render_shipped, render_task, ship
from animator.env import threads_asked
from animator.errors import AnimatorError
from animator.media.sink import partial_path, remove
from animator.preset.convert import to_plain
from animator.preset.resolve import anchor


WORKER_DIED = ("a worker process died (killed, or out of memory), so the batch's unfinished presets stopped; "
               "run it again to finish them (a preset that finished is up to date, the rest resume; so do a split "
               "video's chunks)")


def _init_worker(threads: int) -> None:
    if multiprocessing.parent_process() is not None:  # a worker process, not the batch's own
        signal.signal(signal.SIGINT, _on_stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held since it started (ctrl_c_held)
        threading.Thread(target=_stop_with_the_batch, daemon=True, name="batch-watch").start()
    from animator.device import configure_process

    configure_process(threads)


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Ctrl-C (and a `kill`) held back meanwhile, and let in as the block ends. A worker process
    started meanwhile inherits the hold, until its own handler is set (_init_worker): pressed
    while the worker started (its imports, a second or two), it printed the worker's traceback.
    Blocked in this thread, the signal may still land on another thread started earlier, and
    Python runs its handler in this one wherever it is: while a worker's start-up was being
    written to it, which then read nothing and printed a traceback. So it is also only noted here."""
    held: list[int] = []
    note = lambda signum, frame: held.append(signum)  # noqa: E731
    try:
        with contextlib.ExitStack() as undo:  # every undo runs, even where a signal comes in between
            undo.callback(signal.pthread_sigmask, signal.SIG_SETMASK, signal.pthread_sigmask(signal.SIG_BLOCK, []))
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            if threading.current_thread() is threading.main_thread():  # (the only one that sets handlers)
                for signum in (signal.SIGINT, signal.SIGTERM):
                    if signal.getsignal(signum) is not None:  # (None: set from C, and not to be set back)
                        undo.callback(signal.signal, signum, signal.signal(signum, note))
            yield
    finally:
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)


def _stop_with_the_batch(grace: float = 30.0) -> None:
    """In a worker: when the batch's own process dies (a kill -9 leaves it no time to stop its
    workers), stop as on Ctrl-C, the frames kept to resume from; orphaned, a worker would render
    on and hold its work folder's lock against the batch run again."""
    multiprocessing.connection.wait([multiprocessing.parent_process().sentinel])
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.monotonic() + grace
    while _rendering and time.monotonic() < deadline:  # a render stopping keeps its frames first
        time.sleep(0.05)
    os._exit(130)  # nothing to report to: the worker would wait on its dead queue


_rendering = False  # in a worker: whether a task is under way


def _on_stop(signum, frame) -> None:
    """Ctrl-C, or the batch stopping its workers: a render stops as one does (its frames kept to
    resume from), and the worker ends; an idle worker just ends, without a traceback from the
    queue it waited on."""
    if _rendering:
        raise KeyboardInterrupt
    os._exit(130)


def _render_in_worker(plain: dict, out_dir: Path, part=None) -> Result:
    global _rendering
    _rendering = True
    try:
        return render_task(plain, out_dir, part=part)
    except KeyboardInterrupt:  # stopped, its frames kept: handed back, the worker would wait idle for the
        os._exit(130)  # batch's stop, which had come already (the batch waited 10 s for it, then killed it)
    finally:
        _rendering = False


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
            try:
                with ctrl_c_held():  # the workers start as the tasks are submitted
                    futures = {pool.submit(_render_in_worker, to_plain(task.preset), task.out_dir, part=task.part): task
                               for task in tasks}
                for future in as_completed(futures):
                    try:
                        yield future.result()
                    except BrokenProcessPool:  # a worker killed (out of memory, a signal): the pool ends with it
                        yield Result(futures[future].name, "failed", error=f"{futures[future].name}: {WORKER_DIED}")
            except BaseException:  # Ctrl-C or a `kill` of the batch: its workers would render on, orphaned
                stop(list((pool._processes or {}).values()))  # (no public handle on them)
                manager = pool._executor_manager_thread
                pool.shutdown(wait=False, cancel_futures=True)
                # With the workers gone the pool's manager thread ends at once: waited for (a while at most),
                # since one left running closed its wake-up pipe as Python 3.11's exit handler wrote to it,
                # "Exception ignored ... Bad file descriptor" after the one line (a lock from 3.12.8 on)
                if manager is not None:
                    manager.join(timeout=5)
                raise


def stop(workers: list, grace: float = 10.0) -> None:
    """Stop worker processes as Ctrl-C stops a render (their frames kept to resume from), and
    end those still running after `grace` seconds."""
    for worker in workers:
        with contextlib.suppress(OSError):
            os.kill(worker.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.terminate()


class RayExecutor:
    """Each preset a Ray task asking for its share of the cluster's CPUs (and a GPU when its
    device is CUDA, or `auto` on a cluster with GPUs: unasked, every task would share a node's first). Inputs travel with the task and outputs come back into the driver's
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
            if address or os.environ.get("RAY_ADDRESS"):  # Ray's start reads the environment's without one
                reachable(address or os.environ["RAY_ADDRESS"], "--address" if address else "RAY_ADDRESS")
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                if "ray[client]" in str(exc):  # a ray:// address, and Ray without its client's packages
                    raise AnimatorError(f"--address {address}: a Ray Client address needs pip install 'ray[client]'") from None
                raise AnimatorError(f"--address {address}: cannot reach a Ray cluster ({exc})") from None
            from animator import interrupt

            interrupt.install()  # Ray's start replaced the handler of `kill` (SIGTERM) with its own, which dumps and exits 1
        self.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)) // jobs)
        self.gpus = ray.cluster_resources().get("GPU", 0) > 0  # where `auto` renders on a GPU, it asks for one
        self.threads = asked or self.cpus

    def run(self, tasks: list[Task]) -> Iterator[Result]:
        from animator.render.outputs import check_destinations, publish
        from animator.render.resume import held

        remote = self.ray.remote(_remote_render)
        pending = {}
        for task in tasks:
            try:  # here, before the render: its outputs are published here, not where it runs
                began = check_destinations(task.preset, task.out_dir)
            except AnimatorError as exc:
                yield Result(task.name, "failed", error=str(exc))
                continue
            if task.cuda and not self.gpus:  # the task would wait for one forever, without a word
                yield Result(task.name, "failed", error=f"{task.name}: device {task.preset.device}: the Ray cluster has no GPU")
                continue
            plain, files = ship(task.preset)
            if task.cuda:  # the GPU Ray gives the task is the one it sees, numbered 0: cuda:1 would be none
                plain["device"] = "cuda"
            gpus = 1 if task.cuda or task.preset.device == "auto" and self.gpus else 0
            # not retried: a worker that died (out of memory) would render the preset again from the top, three times
            ref = remote.options(num_cpus=self.cpus, num_gpus=gpus, max_retries=0).remote(
                plain, files, self.threads, task.part, str(anchor(task.preset)))
            pending[ref] = task, began
        while pending:
            (ref,), _ = self.ray.wait(list(pending), num_returns=1)
            task, began = pending.pop(ref)
            try:
                result, outputs = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:  # its worker crashed, or the cluster lost it
                yield Result(task.name, "failed", error=f"{task.name}: its Ray task failed ({type(exc).__name__})")
                continue
            if not result.failed:  # recorded with this machine's paths, as a local render would be
                try:
                    with held(task.preset, task.out_dir):
                        publish(_received(outputs, task.out_dir), task.out_dir, began, task.preset, result.frames, result.seconds,
                                part=task.part)
                except AnimatorError as exc:  # a render of it here meanwhile
                    result = Result(task.name, "failed", error=str(exc))
                except OSError as exc:  # a full disk here: one line, as a local render's, and the batch goes on
                    from animator.render.engine import WRITE_ERRORS

                    if exc.errno not in WRITE_ERRORS:
                        raise
                    where = exc.filename or task.out_dir
                    result = Result(task.name, "failed", error=f"{where}: {os.strerror(exc.errno).lower()} (not recorded: "
                                                               "the batch run again renders it again)")
            yield result


def _remote_render(plain: dict, files: dict[str, bytes], threads: int, part=None, origin: str = ""):
    _init_worker(threads)
    return render_shipped(plain, files, part, origin)


def reachable(address: str, given: str = "--address", seconds: float = 10.0) -> None:
    """A cluster's address answers: Ray's own start retries an address that does not for minutes,
    deaf to Ctrl-C for half a minute at a time."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    if address == "auto" or not port.isdigit():
        return  # Ray's own rules: `auto` finds a local cluster; it refuses a malformed address at once
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc)).lower()
        raise AnimatorError(f"{given} {address}: cannot reach a Ray cluster there ({reason})") from None


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
