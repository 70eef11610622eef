"""Data-parallel training on many machines, one process per MPI rank (mpi4py).

Every rank runs the whole training loop on its own copy of the run (same settings, same
seed, so the same model and the same shuffled order) and ``AllreduceTraining.step`` is its
batch step: the rank differentiates its shard of the batch (scalargrad.train.gradient), one
``Allreduce`` adds the ranks' gradients, losses and counts in a buffer of doubles, and every
rank takes the same optimizer step on the same sums, so the copies stay identical without
ever sending parameters. Loss checks and stop requests are agreed on by all ranks
(``agreed``), so that every rank leaves the loop after the same batch.

mpi4py is an optional dependency (``pip install 'scalargrad[mpi]'``): it is imported only
when a communicator is asked for.
"""
from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple

from ..errors import InputError
from ..optim import Optimizer
from .gradient import GradientFactory, ShardResult, bounds, make_gradient
from .model import Classifier, Rows
from .step import GRADIENT_PHASE, BatchAbandoned, Rate, checked_loss, update

if TYPE_CHECKING:
    from .loop import TrainingRun

MPI_HINT = "install the mpi extra: pip install 'scalargrad[mpi]'"


def world() -> Any:
    """MPI's COMM_WORLD; InputError if mpi4py (or the MPI library under it) is missing."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise InputError(f"--distributed needs mpi4py ({error}): {MPI_HINT}") from None
    return MPI.COMM_WORLD


class AllreduceTraining:
    """This rank's part in training one model with the other ranks of ``comm``."""

    def __init__(self, model: Classifier, optimizer: Optimizer, rows: Rows,
                 labels: Sequence[int], comm: Any, mode: str = "reverse",
                 make_gradient: GradientFactory = make_gradient,
                 rate: Optional[Rate] = None) -> None:
        """``rate`` gives each step's learning rate (step.Rate; every rank reads the same)."""
        from mpi4py import MPI  # comm is an mpi4py communicator, so this import works
        self.sum, self.logical_or = MPI.SUM, MPI.LOR
        self.comm, self.rank, self.size = comm, comm.Get_rank(), comm.Get_size()
        self.model, self.optimizer, self.rows, self.labels = model, optimizer, rows, labels
        self.rate = rate
        self.gradient = make_gradient(model, mode)
        self.count = len(model.parameters())
        # the gradient, then the loss, the count correct and how many ranks abandoned the
        # batch (step.GradientPhase): one buffer, one Allreduce
        self.sent = array("d", bytes(8 * (self.count + 3)))
        self.summed = array("d", bytes(8 * (self.count + 3)))

    @classmethod
    def for_run(cls, run: "TrainingRun", comm: Any,
                make_gradient: GradientFactory = make_gradient) -> "AllreduceTraining":
        """For a TrainingRun: its model, optimizer, training data and mode."""
        return cls(run.model, run.optimizer, run.data.train_rows, run.data.train_labels, comm,
                   run.settings.mode, make_gradient, run.rate)

    def step(self, batch: Sequence[int]) -> Tuple[float, int]:
        """Train on the examples with these indices, with the other ranks (a BatchStep:
        every rank must call it with the same batch)."""
        first, last = bounds(len(batch), self.size)[self.rank]
        shard = batch[first:last]
        abandoned = 0.0
        try:
            with GRADIENT_PHASE:
                result = self.gradient([self.rows[i] for i in shard],
                                       [self.labels[i] for i in shard])
        except BatchAbandoned:  # a stop here: the others must still be answered, and told
            abandoned = 1.0
            result = ShardResult(0.0, 0, [0.0] * self.count)
        count, sent = self.count, self.sent
        sent[:count] = array("d", result.gradient)
        sent[count], sent[count + 1], sent[count + 2] = result.loss_sum, result.correct, abandoned
        self.comm.Allreduce(sent, self.summed, op=self.sum)
        summed = self.summed
        if summed[count + 2]:  # a rank was stopped while it computed: every rank drops it
            raise BatchAbandoned
        # an overflow here (its loss is infinite, as the others see it) is told in its words
        loss = checked_loss(summed[count], len(batch), result.overflow)
        update(self.optimizer, summed[:count], len(batch),
               None if self.rate is None else self.rate(self.optimizer.steps))
        return loss, int(summed[count + 1])

    def predict(self, rows: Rows) -> List[int]:
        """The model's prediction for each row, each rank predicting a part (a
        model.Predict: every rank must call it with the same rows)."""
        first, last = bounds(len(rows), self.size)[self.rank]
        parts = self.comm.allgather(self.model.predict(rows[first:last]))
        return [label for part in parts for label in part]

    def agreed(self, should_stop: Callable[[], bool]) -> Callable[[], bool]:
        """A should_stop for TrainingRun.train that is true on every rank as soon as it is
        true on one: ranks ask it at the same points of the loop, and leave it together."""
        return lambda: bool(self.comm.allreduce(bool(should_stop()), op=self.logical_or))

