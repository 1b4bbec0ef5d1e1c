"""Threads joined by bounded queues, so decode, stylize and encode overlap in constant memory."""

from __future__ import annotations

import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()
# Ctrl-C raises KeyboardInterrupt wherever the main thread is (animator/interrupt.py), inside a
# queue's notify too, after it took a waiting thread off the condition and before it woke it: that
# thread would sleep for ever, and the render would hang at its end instead of stopping. The
# stages' threads wait a tick at a time, so a lost wake-up costs a tick.
TICK = 0.1


def _put(q: queue.Queue, item, stop: threading.Event | None = None) -> bool:
    """q.put(item), a tick at a time; False if `stop` was set first."""
    while not (stop is not None and stop.is_set()):
        try:
            q.put(item, timeout=TICK)
            return True
        except queue.Full:
            pass
    return False


def _get(q: queue.Queue):
    """q.get(), a tick at a time."""
    while True:
        try:
            return q.get(timeout=TICK)
        except queue.Empty:
            pass


def background(items: Iterable[T], maxsize: int = 8, name: str = "background") -> Iterator[T]:
    """Iterate `items` in a producer thread named after its stage; re-raises its exception in
    the consumer."""
    q: queue.Queue = queue.Queue(maxsize)
    stop, ended = threading.Event(), threading.Event()  # ended: not the thread's is_alive (see Worker)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for item in items:
                if not _put(q, item, stop):
                    return
        except BaseException as exc:  # handed to the consumer below
            failure.append(exc)
        finally:
            _put(q, _DONE, stop)
            ended.set()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not _DONE:
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        # unblock a producer waiting on a full queue; not at the interpreter's exit, where this runs as the
        # generator is collected after an error and the producer, a daemon thread, is frozen for good
        while not ended.is_set() and not sys.is_finalizing():
            try:
                q.get_nowait()
            except queue.Empty:
                ended.wait(0.01)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, name: str = "stylize") -> Iterator[R]:
    """fn(item) for each item, computed in `workers` threads, yielded in input order. At most
    workers + 1 items are in flight (unlike Executor.map, which takes the whole input at once)."""
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


class Worker:
    """Calls `handle(item)` for each item put, in its own thread, behind a bounded queue.

    The first exception is kept: later `put`s re-raise it, and `close` re-raises it after the
    thread has stopped, so the caller sees the failure and can clean up. Waited for by an event,
    not Thread.join: in Python 3.11 a join that Ctrl-C interrupts leaves the thread marked as
    stopped while it runs on, and a second join returns at once.
    """

    def __init__(self, handle: Callable[[T], None], maxsize: int = 8, name: str = "encode"):
        self._handle = handle
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._error: BaseException | None = None
        self._dropping = False  # abandoned: what is still queued is not handled
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while (item := _get(self._queue)) is not _DONE:
                if self._error is None and not self._dropping:
                    try:
                        self._handle(item)
                    except BaseException as exc:
                        self._error = exc
        finally:
            self._ended.set()

    def put(self, item: T) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(_DONE)
        self._ended.wait()
        if self._error is not None:
            raise self._error

    def abandon(self) -> bool:
        """Stop after the item in hand, the rest dropped; returns once the thread has ended (True:
        what it writes to may be closed), or at a Ctrl-C meanwhile (False: an item in hand that
        does not end, a stalled disk, is no reason for a render that cannot be stopped)."""
        self._dropping = True
        try:
            _put(self._queue, _DONE)  # room soon: the thread drops what is queued
            self._ended.wait()
        except KeyboardInterrupt:
            return False
        return True
