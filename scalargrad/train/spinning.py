"""Waiting for a worker's message: ask for it again and again for a moment before sleeping,
unless this process has to share its core with another program.

A process that sleeps until a message arrives is woken by it 50-90 µs later on an idle
core, several times a step (docs/benchmarks.md), so the processes of a parallel run spin
for a moment first. But when other programs want the cores too, spinning costs more than
it saves: the scheduler counts the time spent spinning as time this process has had, so
when the message comes it is not run before another program's time slice ends
(milliseconds), whereas a process that slept is run at once. Measured at 7x7/32 with a
core kept busy by another program, a worker that spun waited 2.1 ms a step (median) for
its next command, one that slept 0.04 ms.

``Spinner`` tells the two cases apart by the kernel's count of this process's involuntary
context switches (the times the scheduler took a core from it to run something else),
averaged over its last waits: a process of a parallel run alone on the cores had 0.03 a
wait, one that shared them with a busy program 0.6-1.0. It spins while that average is
below ``CROWDED``.
"""
from __future__ import annotations

import time
from multiprocessing.connection import Connection

try:
    import resource
except ImportError:  # not on Unix: no count to read, and always spinning
    resource = None  # type: ignore[assignment]

CROWDED = 0.2  # involuntary context switches a wait, on average, above which it sleeps
NEWEST = 0.05  # the weight of the last wait's switches in the average: about 20 waits


def _switches() -> int:
    """How many times the scheduler has taken a core from this process to run another."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw if resource else 0


class Spinner:
    """Asks a connection whether a message is there, for up to ``seconds`` at a time (see
    the module docstring)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.switches = _switches()
        self.crowding = 0.0  # involuntary context switches a wait, on average

    def arrived(self, connection: Connection) -> bool:
        """Whether a message is there to read, asking again and again for up to ``seconds``
        unless the cores are crowded; False when the caller should sleep until it comes."""
        switches = _switches()
        self.crowding += NEWEST * (switches - self.switches - self.crowding)
        self.switches = switches
        if self.crowding > CROWDED:
            return connection.poll()
        deadline = time.perf_counter() + self.seconds
        while not connection.poll():
            if time.perf_counter() > deadline:
                return False
        return True
