"""Pausing Python's cycle collector while a graph is built and differentiated.

scalargrad's graphs hold no reference cycles (nodes point only at older nodes; no
closures), so reference counting alone frees them. The cycle collector still rescans
every live node whenever enough objects have been allocated, and with a graph of a
million nodes that rescanning can cost more than building the graph. Training loops pause
it around each step; any cycles the user's own code makes are collected once it resumes.
The tape (tape.py) relies on collections to bound what it keeps, so the block ends it.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

from .tape import end_tape


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Disable the cycle collector inside the block (if it was enabled), then restore it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        end_tape()
        if was_enabled:
            gc.enable()
