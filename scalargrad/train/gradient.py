"""The unit of work of data-parallel training: the gradient over a shard of a batch.

A minibatch's gradient is a sum over its examples, so a batch can be split into shards
(``split``), each differentiated on its own, at the same parameter values, and the results
added. A ``ShardGradient`` is what a worker does with its shard: given the parameter
values (``load``), it returns the *summed* loss of the examples, how many of them the model
classifies right, and the gradient of that summed loss, as plain floats in the order of
``model.parameters()``. Whoever adds the shards divides by the batch size once.

``RecordedGradient`` computes it with Scalars (record, then reverse or forward mode). Any
object with the same two methods can stand in for it, such as a compiled gradient:
scalargrad.train.parallel and scalargrad.train.distributed take a factory of them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, List, Protocol, Sequence, Tuple, cast

from ..core.autodiff import forward_autodiff, reverse_autodiff
from ..core.scalar import cycle_collector_paused
from ..errors import Diverged
from ..matrix import Matrix
from ..core.scalar import Scalar
from ..optim import Optimizer
from .model import GRADIENT_PHASE, BatchStep, Classifier, Rows, argmax


@dataclass
class ShardResult:
    """What one shard of a batch contributes to the batch's step."""
    loss_sum: float        # the examples' cross-entropies, added
    correct: int           # examples classified right at these parameter values
    gradient: List[float]  # of loss_sum, one entry per parameter


class ShardGradient(Protocol):
    """Computes ShardResults for one model's architecture (see the module docstring)."""

    def load(self, values: Sequence[float]) -> None:
        """Take these parameter values (in the order of model.parameters())."""

    def __call__(self, rows: Rows, labels: Sequence[int]) -> ShardResult:
        """The summed loss, the count correct and the gradient over these examples;
        Diverged if a value overflowed on the way."""


GradientFactory = Callable[[Classifier, str], ShardGradient]
"""Makes the ShardGradient for a model and a mode ("reverse" or "forward")."""


def bounds(count: int, parts: int) -> List[Tuple[int, int]]:
    """(first, last) of each of ``parts`` contiguous ranges that cut range(count) into
    sizes differing by at most one, the first ones larger (empty when parts > count)."""
    size, extra = divmod(count, parts)
    return [(k * size + min(k, extra), (k + 1) * size + min(k + 1, extra))
            for k in range(parts)]


def split(batch: Sequence[int], parts: int) -> List[List[int]]:
    """The batch in ``parts`` contiguous shards (see bounds)."""
    return [list(batch[first:last]) for first, last in bounds(len(batch), parts)]


class RecordedGradient:
    """A ShardGradient by Scalars: the model's loss is recorded, then differentiated."""

    def __init__(self, model: Classifier, mode: str = "reverse") -> None:
        if mode not in ("reverse", "forward"):
            raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
        self.model = model
        self.parameters = model.parameters()
        self.differentiate = reverse_autodiff if mode == "reverse" else forward_autodiff

    def load(self, values: Sequence[float]) -> None:
        for parameter, value in zip(self.parameters, values):
            parameter.value = value

    def __call__(self, rows: Rows, labels: Sequence[int]) -> ShardResult:
        if not rows:
            return ShardResult(0.0, 0, [0.0] * len(self.parameters))
        with cycle_collector_paused():
            try:
                logits = self.model.logits(Matrix(rows))
                loss_sum = cast(Scalar, logits.cross_entropy(labels) * len(rows))
            except OverflowError as error:  # parameters so large that a value overflowed
                raise Diverged(str(error)) from None
            gradient = self.differentiate(loss_sum, self.parameters)
        correct = sum(argmax(row) == label
                      for row, label in zip(logits.tolist(), labels))
        return ShardResult(loss_sum.value, correct, gradient)


def step_with(gradient: ShardGradient, optimizer: Optimizer, rows: Rows,
              labels: Sequence[int]) -> BatchStep:
    """The batch step (model.BatchStep) that computes each whole batch's gradient with
    one ShardGradient in this process, such as a compiled one: one shard, all the batch.
    (A ShardGradient takes the gradient at the model's values: the optimizer sets them.)"""
    def step(batch: Sequence[int]) -> Tuple[float, int]:
        with GRADIENT_PHASE:
            result = gradient([rows[i] for i in batch], [labels[i] for i in batch])
        loss = result.loss_sum / len(batch)
        if not math.isfinite(loss):
            raise Diverged(f"the loss became {loss}")
        scale = 1.0 / len(batch)
        optimizer.step([g * scale for g in result.gradient])
        return loss, result.correct
    return step
