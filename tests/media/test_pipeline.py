"""The stages' threads stop when they are told to, even where Ctrl-C broke a wake-up."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from animator.media.pipeline import Worker, background


def lose_wake_ups(condition: threading.Condition) -> None:
    """What a KeyboardInterrupt inside `notify` leaves: the waiting threads taken off the
    condition, never woken."""
    with condition:
        condition._waiters.clear()


def test_the_encoder_thread_stops_though_its_wake_up_was_lost():
    """Ctrl-C landing in a queue's notify left the encode thread asleep, and a render hung at its
    end (1 time in 3, SIGINT to a temporal render) instead of exiting 130."""
    seen = []
    worker = Worker(seen.append, maxsize=2)
    time.sleep(0.2)  # the thread waits for work
    lose_wake_ups(worker._queue.not_empty)
    worker.put(1)
    finished = threading.Thread(target=worker.close)
    finished.start()
    finished.join(5)
    assert not finished.is_alive() and seen == [1]


def test_a_producer_stops_though_its_wake_up_was_lost():
    """A stage's producer waiting on a full queue, its wake-up lost: the consumer that stops
    must not wait for it for ever."""
    made = []

    def items():
        for i in range(100):
            made.append(i)
            yield i

    stream = background(items(), maxsize=1)
    assert next(stream) == 0
    time.sleep(0.2)  # the producer waits on the full queue
    queue = stream.gi_frame.f_locals["q"]
    lose_wake_ups(queue.not_full)
    closed = threading.Thread(target=stream.close)
    closed.start()
    closed.join(5)
    assert not closed.is_alive() and len(made) < 100


class SlowSink:
    """What `encoding` needs of a sink, slow to write, and telling whether it was closed while a
    frame was being written into it."""

    path = None

    def __init__(self):
        self.writing, self.closed_while_writing = False, []

    def write(self, frame) -> None:
        self.writing = True
        time.sleep(0.4)
        self.writing = False

    def finish(self, publish: bool) -> None:
        pass

    def abort(self) -> None:
        self.closed_while_writing.append(self.writing)


@contextlib.contextmanager
def ctrl_c_once_in(function):
    """Sends Ctrl-C (SIGINT) to this process once the main thread is inside `function`, within the
    block alone: the watching thread is stopped and joined on leaving it, so no SIGINT comes after
    the test's handler is gone, however late a busy machine ran that thread (a timer that fired
    late interrupted the test runner after the test; a watcher left polling would fire in the
    next test whose main thread enters `function`)."""
    import os
    import signal
    import sys

    main = threading.main_thread().ident

    def inside() -> bool:
        frame = sys._current_frames().get(main)
        while frame is not None and frame.f_code is not function.__code__:
            frame = frame.f_back
        return frame is not None

    stop = threading.Event()

    def watch() -> None:
        while not inside():
            if stop.wait(0.005):
                return
        os.kill(os.getpid(), signal.SIGINT)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def test_ctrl_c_while_the_encoder_drains_closes_no_sink_under_it():
    """Python 3.11 marks a thread whose join Ctrl-C interrupted as stopped while it runs: the
    render closed its encoders under the encode thread's feet, and once hung for good (SIGINT
    and SIGTERM ignored) with both threads in PyAV."""
    import signal

    from animator.media.sink import encoding

    sink = SlowSink()
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)  # a test runner's worker may ignore it
    try:
        with ctrl_c_once_in(Worker.close), pytest.raises(KeyboardInterrupt):  # while the encoder drains, at the end
            with encoding([sink]) as put:
                put(None)
                put(None)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert sink.closed_while_writing == [False]


def test_a_second_ctrl_c_stops_waiting_for_an_encoder_that_does_not_end():
    """Waiting for the encoder to end took every Ctrl-C (and SIGTERM): one stuck in a write (a
    stalled disk) made a render only SIGKILL could stop."""
    import signal

    taken, stuck = threading.Event(), threading.Event()
    worker = Worker(lambda item: (taken.set(), stuck.wait()), maxsize=2)
    worker.put(1)
    assert taken.wait(5)  # in hand: one still queued would be dropped, and the thread end at once
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    ends = threading.Timer(5, stuck.set)  # the write ends at last: without the fix, the wait did too
    ends.start()
    try:
        started = time.monotonic()
        with ctrl_c_once_in(Worker.abandon):
            abandoned = worker.abandon()
        assert abandoned is False and time.monotonic() - started < 4
    finally:
        signal.signal(signal.SIGINT, handler)
        stuck.set()
        ends.cancel()


def test_a_producers_failure_reaches_the_consumer_after_what_it_made():
    """A decoder that fails part-way: the frames before come through, then its error, so a render
    stops with it rather than ending short as if the source had ended there."""
    def items():
        yield 0
        yield 1
        raise ValueError("decoding failed")

    got = []
    with pytest.raises(ValueError, match="decoding failed"):
        for item in background(items(), maxsize=1):
            got.append(item)
    assert got == [0, 1]


def test_a_failed_write_stops_the_frames_that_follow_it():
    """The encoder's first error is raised at the next frame put, not only when the render ends:
    a render whose output cannot be written stops rather than rendering every frame first."""
    def handle(item):
        raise OSError(28, "No space left on device")

    worker = Worker(handle, maxsize=2)
    worker.put(1)
    deadline = time.monotonic() + 30  # for the worker's thread to run at all on a busy machine; it takes ms
    with pytest.raises(OSError, match="No space left"):
        while time.monotonic() < deadline:
            worker.put(2)
            time.sleep(0.01)
    with pytest.raises(OSError, match="No space left"):
        worker.close()
