"""Train with whichever of two ways of taking a step is faster here and now, measured.

``FasterStep`` is a BatchStep over two ``Way``s, the first the safe one (one process), the
second one that is often faster but not always (worker processes, which wait for the
slowest of them: a core kept busy by another program makes them slower than one process).
Both take the same step: the same sum of the same gradients, so the run's trajectory does
not depend on the choice beyond the order of float additions.

It times each step of the way in use, per example, and keeps the last ``trial`` of each
way's times. A *trial* hands the run to the other way (``Way.take_over``: it takes the
parameters and the optimizer's state where the run stands) for 1 + ``trial`` steps (the
first is not timed: it may compile code, or find cold caches), then keeps the way with the
lower median time per example: the second only if it is faster by MARGIN, so that a tie goes
to the safe way. The first trial comes once the first way has its ``trial`` times.

No trial comes before the time the last one lost (the slower way's steps and both
hand-overs, beyond what the faster way would have taken) is at most ``budget`` of the time
of the steps since: so a run loses at most that share to trials once its first has ended.
Then one comes as soon as the chosen way's latest ``trial`` times are slower by MARGIN than
the other way's in the last trial (a load came, or that trial was unlucky), and at the
latest after ``least`` steps (a load may have gone).
"""
from __future__ import annotations

import math
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Deque, Optional, Sequence, Tuple

from .step import BatchStep

TRIAL = 5          # timed steps of each way that a choice is made from
LEAST = 200        # steps between trials, at least
BUDGET = 0.02      # of the time between trials, at most, lost to a trial
MARGIN = 1.05      # how much faster the second way must be to be chosen


@dataclass
class Way:
    """One way of taking a run's steps: ``step``, by so many ``processes``; ``take_over``
    makes it hold the run's parameters and optimizer state as the other way left them."""
    processes: int
    step: BatchStep
    take_over: Callable[[], object]
    times: Deque[float] = field(default_factory=deque)  # seconds per example, the latest

    @property
    def label(self) -> str:
        return f"{self.processes} process{'es' if self.processes != 1 else ''}"


class FasterStep:
    """A BatchStep that takes each step by the faster of two ways (see the module docstring).

    ``clock`` is the timer (time.perf_counter); ``trial``, ``least`` and ``budget`` as above.
    """

    def __init__(self, first: Way, second: Way, trial: int = TRIAL, least: int = LEAST,
                 budget: float = BUDGET, clock: Callable[[], float] = time.perf_counter) -> None:
        self.ways = (first, second)
        for way in self.ways:
            way.times = deque(maxlen=trial)
        self.trial, self.least, self.budget, self.clock = trial, least, budget, clock
        self.active = self.chosen = 0  # the way in use, and the way a trial goes back to
        self.fresh = True               # the active way's next step is its first: not timed
        self.trying = 0                 # steps of a trial still to take (0: none under way)
        self.until_trial = 1 + trial    # steps of the chosen way before the next trial
        self.trial_seconds = 0.0        # that a trial under way has taken, hand-overs too
        self.trial_examples = 0
        self.speedup: Optional[float] = None  # the second way's speed / the first's, last measured
        self.trials = self.switches = 0
        self.since_trial = 0            # timed steps since the last trial ended
        self.earliest = 1 << 62         # of them, before a trial may come (none before the first)
        self.steps_by = [0, 0]          # steps each way took

    @property
    def way(self) -> Way:
        """The way in use."""
        return self.ways[self.active]

    def describe(self) -> str:
        """Which way the run is trained with (between trials) and why, e.g.
        ``2 processes: 1.18x 1 process`` or ``1 process: 2 processes were 0.60x``."""
        way = self.ways[self.chosen]
        if self.speedup is None:
            return f"{way.label}, measuring"
        if self.chosen == 1:
            return f"{way.label}: {self.speedup:.2f}x {self.ways[0].label}"
        return f"{way.label}: {self.ways[1].label} were {self.speedup:.2f}x"

    def __call__(self, batch: Sequence[int]) -> Tuple[float, int]:
        if not self.trying and self.until_trial <= 0:
            self.trial_seconds, self.trial_examples = 0.0, 0
            self._switch(1 - self.chosen)
            self.trying = 1 + self.trial
            self.trials += 1
        way = self.way
        start = self.clock()
        result = way.step(batch)  # an exception (a stop, divergence) leaves all as it was
        seconds = self.clock() - start
        self.steps_by[self.active] += 1
        if not self.fresh:
            way.times.append(seconds / len(batch))
            self.since_trial += 1
        self.fresh = False
        if not self.trying:
            self.until_trial -= 1
            if self.since_trial >= self.earliest and self._slower_than_measured():
                self.until_trial = 0
            return result
        self.trial_seconds += seconds
        self.trial_examples += len(batch)
        self.trying -= 1
        if not self.trying:
            self._decide(len(batch))
        return result

    def _slower_than_measured(self) -> bool:
        """Whether the chosen way's latest ``trial`` steps are slower by MARGIN than the
        other way was in the last trial."""
        way, other = self.ways[self.chosen], self.ways[1 - self.chosen]
        return statistics.median(way.times) > MARGIN * statistics.median(other.times)

    def _decide(self, batch_size: int) -> None:
        """The trial's end: keep the faster way, and plan the next trial (see the module
        docstring)."""
        first, second = (statistics.median(way.times) for way in self.ways)
        self.speedup = first / second
        faster = 1 if first > MARGIN * second else 0
        if faster != self.active:
            self._switch(faster)
        self.chosen = faster
        best = min(first, second)
        lost = self.trial_seconds - self.trial_examples * best
        within_budget = math.ceil(lost / (self.budget * best * batch_size))
        self.earliest = max(self.trial, within_budget)  # all its times since, too
        self.until_trial = max(self.least, within_budget)
        self.since_trial = 0

    def _switch(self, to: int) -> None:
        start = self.clock()
        self.ways[to].take_over()  # if it fails, the way in use stays the one that was
        self.trial_seconds += self.clock() - start
        self.active, self.fresh = to, True
        self.switches += 1
