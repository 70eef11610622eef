"""Ctrl-C as KeyboardInterrupt, also when it arrives while a garbage-collector callback runs.

Python runs gc.callbacks (scalargrad's tape has one) in the middle of collections, and an
exception raised in one is printed as "Exception ignored" and dropped: a Ctrl-C landing
there would be lost, and the command would go on. This handler raises KeyboardInterrupt as
Python's own does, except inside a gc callback: there it has the interrupt delivered again
a moment later (RETRY seconds), by when the callback has returned.
"""
from __future__ import annotations

import _thread
import gc
import signal
import threading
from types import FrameType
from typing import Optional

RETRY = 0.01  # seconds


def _in_gc_callback(frame: Optional[FrameType]) -> bool:
    callbacks = gc.callbacks
    while frame is not None:
        code = frame.f_code
        for callback in callbacks:
            if getattr(callback, "__code__", None) is code:
                return True
        frame = frame.f_back
    return False


def raise_keyboard_interrupt(signum: int, frame: Optional[FrameType]) -> None:
    """A SIGINT handler: KeyboardInterrupt, raised where it cannot be dropped."""
    if _in_gc_callback(frame):
        retry = threading.Timer(RETRY, _thread.interrupt_main, (signum,))
        retry.daemon = True
        retry.start()
        return
    raise KeyboardInterrupt


def install() -> None:
    """Handle Ctrl-C with raise_keyboard_interrupt (in place of Python's handler)."""
    signal.signal(signal.SIGINT, raise_keyboard_interrupt)
