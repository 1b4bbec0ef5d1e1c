"""Ctrl-C, made certain. Python raises KeyboardInterrupt wherever the main thread happens to be,
and one raised inside a finalizer (a generator closed by the garbage collector, say) is printed
and dropped, so a render could run on to the end and exit 0. The handler here also remembers the
key press, and a render checks between frames and before it publishes."""

from __future__ import annotations

import os
import signal
import threading

_pressed = threading.Event()


def _on_ctrl_c(signum, frame) -> None:
    _pressed.set()
    if _importing(frame):  # raised inside Python's import machinery (Python code itself), it can leave a
        # module's import lock held, and a library's bare `except:` swallow it: a thread importing that
        # module later (the encoder, in PyAV) waits forever, and the render with it. Sent again, later.
        threading.Timer(AGAIN, os.kill, (os.getpid(), signum)).start()
        return
    raise KeyboardInterrupt


AGAIN = 0.05  # seconds before a signal that came during an import is sent again


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def install() -> None:
    """In the main thread (signal handlers can be set nowhere else), first thing, and again by a
    command that renders. A `kill` (SIGTERM) stops it as Ctrl-C does: its frames kept to resume
    from, a batch's workers stopped with it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_ctrl_c)
        signal.signal(signal.SIGTERM, _on_ctrl_c)


def check() -> None:
    """KeyboardInterrupt if Ctrl-C was pressed, even if the one Python raised was lost."""
    if _pressed.is_set():
        raise KeyboardInterrupt
