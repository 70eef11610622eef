"""How a batch is cut between workers: in proportion to how fast each one has been.

Cutting a batch into equal shards makes every step wait for the slowest worker: a worker
that shares its core with another program computes at half speed, and a step of two
workers then takes as long as one process alone would (measured: 0.51x). ``Balance``
keeps each worker's examples per second of wall time, measured on its last shards (a
moving average, so that a worker slowed down or sped up is followed within a few steps),
and cuts each batch into contiguous shards whose sizes are in proportion to them: the
workers then finish together. Every worker keeps at least one example of a batch that has
one for each, so that its speed is still measured.

The gradient is the same sum whatever the sizes: only the order in which floats are added
changes, as with any other number of workers (a trajectory equal to one process's to
about 1e-12 relative, not bit for bit).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

# The weight of the newest measurement in a worker's average speed: a worker slowed down
# by another program is followed within three or four steps, and one slow step (a page
# fault, a collection) moves the shares by a third of what it seems to say.
NEWEST = 0.35


class Balance:
    """The shard sizes of ``workers`` workers (see the module docstring)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.speeds: List[Optional[float]] = [None] * workers  # examples per second

    def sizes(self, examples: int) -> List[int]:
        """How many of ``examples`` each worker computes: in proportion to its speed (equal
        while any is unmeasured), at least one each when there are enough, adding up."""
        workers = self.workers
        if any(speed is None for speed in self.speeds) or examples < workers:
            size, extra = divmod(examples, workers)
            return [size + (k < extra) for k in range(workers)]
        speeds = [speed or 0.0 for speed in self.speeds]
        total = sum(speeds)
        spare = examples - workers  # one each first
        shares = [spare * speed / total for speed in speeds]
        sizes = [1 + int(share) for share in shares]
        # what is left goes to the largest remainders (the first of equal ones)
        left = examples - sum(sizes)
        order = sorted(range(workers), key=lambda k: int(shares[k]) - shares[k])
        for k in order[:left]:
            sizes[k] += 1
        return sizes

    def split(self, batch: Sequence[int]) -> List[List[int]]:
        """The batch in contiguous shards of ``sizes`` examples, worker 0's first."""
        shards, first = [], 0
        for size in self.sizes(len(batch)):
            shards.append(list(batch[first:first + size]))
            first += size
        return shards

    def measured(self, worker: int, examples: int, seconds: float) -> None:
        """Worker ``worker`` computed ``examples`` examples in ``seconds`` of wall time."""
        if examples <= 0 or seconds <= 0.0:
            return
        speed = examples / seconds
        old = self.speeds[worker]
        self.speeds[worker] = speed if old is None else old + NEWEST * (speed - old)
