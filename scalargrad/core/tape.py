"""The tape's lifetime: what keeps its links from keeping finished graphs alive.

Each node keeps a link to the node recorded just before it (``_previous``, set in
recording.py), so the nodes form a list, newest first, that a reverse sweep walks from its
output without first gathering and sorting the graph (autodiff.py). Creation order is a
topological order, and a stretch of that list holds every live node made in its span of
time, so a sweep that walks it meets every node before the nodes it depends on.

What keeps the links from keeping finished graphs alive:

- a reverse sweep ends the tape (the next node starts a new one), so that a training step's
  graph never links to the previous step's, and cuts the link below the oldest node its
  output depends on, so that a kept output keeps no older unrelated nodes alive;
- at cycle collections (Python runs one every few hundred allocations unless it is paused),
  now and then, the tape is compacted: a node that nothing but the next node's link refers
  to can never be used again, so it is taken out of the list and freed, and so is the
  newest node once nothing but the tape refers to it. A graph dropped without being
  differentiated is therefore freed at a collection (at once by ``gc.collect()``), and a
  loop that records and never differentiates keeps only what it still holds. Compactions
  are spaced so that their walks cost at most about one step per node recorded. This
  relies on CPython's reference counts (sys.getrefcount).
- With the collector paused, only sweeps and ``end_tape()`` end the tape;
  ``cycle_collector_paused()`` ends it when its block ends.

Sweeps never rely on the tape being complete: what a walk does not reach (nodes recorded on
an earlier tape) they find from the graph itself (autodiff.py).
"""
from __future__ import annotations

import gc
import sys
from contextlib import contextmanager
from typing import Dict, Iterator

from . import recording

COMPACT_EVERY = 16  # collections at least between compactions (about 700 allocations each)
_ALLOCATIONS_PER_COLLECTION = gc.get_threshold()[0] or 700

_collections = 0                  # collections since the last compaction
_next_compaction = COMPACT_EVERY  # collections to wait before the next one


def end_tape() -> None:
    """Start a new tape with the next node: nothing recorded from now on links to older nodes."""
    recording._last = None


def compact() -> int:
    """Take every node nothing else refers to out of the tape (freeing it); return how many
    nodes are left on it."""
    getrefcount = sys.getrefcount
    head = recording._last
    while head is not None and getrefcount(head) <= 3:  # recording._last, head, the argument
        head = recording._last = head._previous
    left = 0
    node = head
    del head
    while node is not None:
        left += 1
        previous = node._previous
        # referred to by node's link, the name previous and the argument: by nothing else
        while previous is not None and getrefcount(previous) <= 3:
            following = previous._previous
            node._previous = following
            previous = following
        node = previous
    return left


def _on_collection(phase: str, info: Dict[str, int]) -> None:
    """Compact the tape at a full collection (gc.collect() makes one), and at others once
    enough has been recorded since the last time to pay for walking what is left (a
    doubling schedule, like the collector's own)."""
    global _collections, _next_compaction
    if phase != "start":
        return
    _collections += 1
    if _collections >= _next_compaction or info.get("generation") == 2:
        _collections = 0
        _next_compaction = max(COMPACT_EVERY, compact() // _ALLOCATIONS_PER_COLLECTION)


gc.callbacks.append(_on_collection)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Disable the cycle collector inside the block (if it was enabled), then restore it.

    scalargrad's graphs hold no reference cycles (nodes point only at older nodes; no
    closures), so reference counting alone frees them. The cycle collector still rescans
    every live node whenever enough objects have been allocated, and with a graph of a
    million nodes that rescanning can cost more than building the graph. Training loops
    pause it around each step; any cycles the user's own code makes are collected once it
    resumes. The block ends the tape.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        end_tape()
        if was_enabled:
            gc.enable()
