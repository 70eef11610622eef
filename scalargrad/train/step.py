"""A training step: a batch's gradient (scalargrad.train.gradient), checked, then one
optimizer update; and the phase of a step that a stop may abandon.

Every way of training takes its steps through this module, whichever process computes the
gradient: ``step_with`` in this process, scalargrad.train.parallel's workers and
scalargrad.train.distributed's ranks all call ``checked_loss`` on the batch's summed loss
and ``update`` on its summed gradient. ``Diverged`` is made here alone: a loss that is not
finite or grew too much (``checked_loss``, ``LossGuard``), a weight that is not finite
(``check_weights``).
"""
from __future__ import annotations

import math
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from ..errors import Diverged
from ..optim import DIVERGENCE_FACTOR, Optimizer
from .gradient import DEFAULT_ENGINE, ShardGradient, make_gradient
from .model import Classifier, Rows

Rate = Callable[[int], Optional[float]]
"""The learning rate of the step taken after so many steps (None: the optimizer's own rate):
a run's schedule (TrainingRun.rate), read when each step is taken."""


def rate_at(rate: Optional[Rate], steps: int) -> Optional[float]:
    """The learning rate of the step taken after ``steps`` steps, by ``rate`` if there is
    one (None: the optimizer's own)."""
    return None if rate is None else rate(steps)


BatchStep = Callable[[Sequence[int]], Tuple[float, int]]
"""Trains the model on the training examples with these indices: one optimizer step on the
gradient of their mean loss. Returns that mean loss and how many of the examples the model
classified right before the step; raises Diverged, before stepping, if the loss is not
finite. step_with makes one in this process; scalargrad.train.parallel and
scalargrad.train.distributed share the work between processes (parallel's leaves the new
values in shared memory until the run's sync refreshes the model: loop.Sync)."""


class BatchAbandoned(BaseException):
    """A batch dropped before its update: a stop was asked for (Ctrl-C) while its gradient
    was being computed, which changes nothing. A BaseException, like KeyboardInterrupt, so
    that no handler of errors takes it for one."""


class GradientPhase:
    """Whether this process is computing a batch's gradient (``with GRADIENT_PHASE:``), the
    part of a step that changes nothing, so that a stop may abandon it at once
    (``interrupt``, called by a signal handler) rather than wait for the batch to end: a
    batch of forward mode on a large model takes minutes. The update is never abandoned.
    A stop asked for between gradients drops the next one as it begins (a worker's signal
    can overtake the command to compute its shard): TrainingRun.train forgets it first."""

    def __init__(self) -> None:
        self.active = self.pending = False
        # while other processes compute shards of this process's batch: how to tell them
        self.others: Optional[Callable[[], None]] = None

    def __enter__(self) -> "GradientPhase":
        if self.pending:
            self.pending = False
            raise BatchAbandoned
        self.active = True
        return self

    def __exit__(self, *exception: object) -> None:
        self.active = False

    def interrupt(self) -> None:
        """Have the other processes abandon their shards, and raise BatchAbandoned (into
        the code a signal interrupted) if a gradient is being computed here; else the next
        one will be abandoned as it begins."""
        if self.others is not None:
            self.others()
        if not self.active:
            self.pending = True
            return
        self.active = False
        raise BatchAbandoned


GRADIENT_PHASE = GradientPhase()  # this process's (signals are delivered to a process)


def checked_loss(loss_sum: float, examples: int, overflow: Optional[str] = None) -> float:
    """A batch's mean loss from its examples' summed loss; Diverged, for the step not to be
    taken, if a value overflowed computing it (``overflow`` says why) or it is not finite."""
    return _finite(loss_sum / examples, overflow)


def _finite(loss: float, overflow: Optional[str] = None) -> float:
    if overflow is not None or not math.isfinite(loss):
        raise Diverged(overflow or f"the loss became {loss}")
    return loss


def scaled(gradient_sum: Sequence[float], examples: int) -> List[float]:
    """The gradient of the mean loss of ``examples`` examples, from the gradient of their
    summed loss: divided here, once, whoever added it up."""
    scale = 1.0 / examples
    return [g * scale for g in gradient_sum]


def update(optimizer: Optimizer, gradient_sum: Sequence[float], examples: int,
           lr: Optional[float] = None) -> None:
    """One optimizer step on the gradient of the mean loss of ``examples`` examples, given
    the gradient of their summed loss (scaled), at the learning rate ``lr`` (None: the
    optimizer's own)."""
    optimizer.step(scaled(gradient_sum, examples), lr)


def check_weights(values: Iterable[float], examples: int) -> None:
    """Diverged if a weight is not finite (``examples`` into the epoch)."""
    bad = next((value for value in values if not math.isfinite(value)), None)
    if bad is not None:
        raise Diverged(f"a weight became {bad} after {examples} examples")


class LossGuard:
    """A batch step whose loss is watched: Diverged once it exceeds DIVERGENCE_FACTOR times
    the larger of the first loss seen and ``floor`` (the loss of a uniform guess, log 10 for
    ten classes, so that a run starting from a very good model is not held to a tiny one).
    A loss that is not finite has diverged too (the steps check that before they update)."""

    def __init__(self, step: BatchStep, floor: float) -> None:
        self.step, self.floor = step, floor
        self.first: Optional[float] = None

    def __call__(self, batch: Sequence[int]) -> Tuple[float, int]:
        loss, correct = self.step(batch)
        _finite(loss)
        if self.first is None:
            self.first = loss
        elif loss > DIVERGENCE_FACTOR * max(self.first, self.floor):
            raise Diverged(f"the loss grew to {loss:.3g}, more than {DIVERGENCE_FACTOR:g} times "
                           f"its first value ({self.first:.3g})")
        return loss, correct


def step_with(gradient: ShardGradient, optimizer: Optimizer, rows: Rows,
              labels: Sequence[int], rate: Optional[Rate] = None) -> BatchStep:
    """The batch step that computes each whole batch's gradient with one ShardGradient in
    this process (one shard, all the batch), and steps at the learning rate ``rate`` gives
    (by default the optimizer's own). The gradient is taken at the model's values, which
    the optimizer sets."""
    def step(batch: Sequence[int]) -> Tuple[float, int]:
        with GRADIENT_PHASE:
            result = gradient([rows[i] for i in batch], [labels[i] for i in batch])
        loss = checked_loss(result.loss_sum, len(batch), result.overflow)
        update(optimizer, result.gradient, len(batch),
               rate_at(rate, optimizer.steps))
        return loss, result.correct
    return step


def local_step(model: Classifier, optimizer: Optimizer, rows: Rows, labels: Sequence[int],
               mode: str = "reverse", engine: str = DEFAULT_ENGINE,
               rate: Optional[Rate] = None) -> BatchStep:
    """The batch step of a run in one process: step_with the gradient make_gradient
    chooses (compiled code unless engine is "recording" or mode "forward")."""
    return step_with(make_gradient(model, mode, engine), optimizer, rows, labels, rate)
