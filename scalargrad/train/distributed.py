"""Data-parallel training on many machines, one process per MPI rank (mpi4py).

Every rank runs the whole training loop on its own copy of the run (same settings, same
seed, so the same model and the same shuffled order), and its batch step differentiates
its shard of the batch (scalargrad.train.gradient). Two ways of adding the shards up:

- ``ZeroTraining`` (what ``--distributed`` runs: ZeRO stage 1, the optimizer's state
  sharded). Every rank owns a contiguous slice of the parameters and the optimizer's state
  for that slice alone. A step is a small ``Allreduce`` of the loss, the count correct and
  whether a rank abandoned the batch, then a ``Reduce_scatter`` of the gradient (each rank
  receives the sum over its slice), the rank's optimizer step over its slice, and an
  ``Allgatherv`` of the slices' new values, so that every copy of the model is whole
  again, bit for bit the same on every rank. Each rank steps P/N parameters where
  ``AllreduceTraining`` steps all P, and keeps 1/N of the optimizer's state; the bytes on
  the wire are those of a bandwidth-optimal Allreduce (which is a reduce-scatter and an
  allgather). The optimizer's state is gathered into the run's optimizer when it is asked
  for (``pull``: at an epoch's start, before a rollback, and at the end), so that a
  checkpoint is the whole one a single process would have made.
- ``AllreduceTraining``: one ``Allreduce`` adds the ranks' gradients, losses and counts in
  a buffer of doubles, and every rank takes the same optimizer step over every parameter
  on the same sums (the plainer way, kept to measure ZeRO-1 against:
  benchmarks/mpi_zero.py).

Loss checks and stop requests are agreed on by all ranks (``agreed``), so that every rank
leaves the loop after the same batch.

mpi4py is an optional dependency (``pip install 'scalargrad[mpi]'``): it is imported only
when a communicator is asked for.
"""
from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple

from ..errors import InputError
from ..optim import Optimizer
from .gradient import GradientFactory, ShardResult, bounds, make_gradient
from .model import Classifier, Rows, set_values
from .slices import OptimizerSlice, split_state
from .step import GRADIENT_PHASE, BatchAbandoned, Rate, checked_loss, rate_at, update

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


class _RankTraining:
    """What both ways share: this rank's place in ``comm``, predicting and stopping together."""

    comm: Any
    rank: int
    size: int
    model: Classifier
    logical_or: Any

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


class AllreduceTraining(_RankTraining):
    """This rank's part in training one model with the other ranks of ``comm``, every rank
    stepping the whole optimizer on the gradient one Allreduce added up."""

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
               rate_at(self.rate, self.optimizer.steps))
        return loss, int(summed[count + 1])


class ZeroTraining(_RankTraining):
    """This rank's part in training one model with the other ranks of ``comm``, stepping
    the optimizer over its own slice of the parameters only (ZeRO stage 1: see the module
    docstring). Give it to TrainingRun.train as ``sync`` too: the run's optimizer holds the
    whole state only once pulled (``pull``); ``push`` hands the run's state back out."""

    def __init__(self, model: Classifier, optimizer: Optimizer, rows: Rows,
                 labels: Sequence[int], comm: Any, mode: str = "reverse",
                 make_gradient: GradientFactory = make_gradient,
                 rate: Optional[Rate] = None) -> None:
        """``rate`` gives each step's learning rate (step.Rate; every rank reads the same)."""
        from mpi4py import MPI  # comm is an mpi4py communicator, so this import works
        self.sum, self.logical_or, self.double = MPI.SUM, MPI.LOR, MPI.DOUBLE
        self.comm, self.rank, self.size = comm, comm.Get_rank(), comm.Get_size()
        self.model, self.optimizer, self.rows, self.labels = model, optimizer, rows, labels
        self.rate = rate
        self.gradient = make_gradient(model, mode)
        self.parameters = model.parameters()
        count = len(self.parameters)
        slices = bounds(count, self.size)
        self.counts = [last - first for first, last in slices]
        self.offsets = [first for first, _ in slices]
        self.lo, self.hi = slices[self.rank]
        self.own = self._own_slice()
        # the loss, the count correct and how many ranks abandoned the batch: one Allreduce
        self.flags, self.flag_sums = array("d", bytes(24)), array("d", bytes(24))
        self.gradient_sum = array("d", bytes(8 * (self.hi - self.lo)))  # over the slice
        self.values = array("d", bytes(8 * count))  # every slice's, gathered

    @classmethod
    def for_run(cls, run: "TrainingRun", comm: Any,
                make_gradient: GradientFactory = make_gradient) -> "ZeroTraining":
        """For a TrainingRun: its model, optimizer, training data, mode and schedule."""
        return cls(run.model, run.optimizer, run.data.train_rows, run.data.train_labels, comm,
                   run.settings.mode, make_gradient, run.rate)

    def _own_slice(self) -> OptimizerSlice:
        """This rank's slice of the run's optimizer, state and all."""
        kind = type(self.optimizer)
        edges = self.offsets + [len(self.parameters)]
        state = split_state(self.optimizer.state_dict(), kind, edges)[self.rank]
        return OptimizerSlice(self.lo, self.hi, kind, state)

    def step(self, batch: Sequence[int]) -> Tuple[float, int]:
        """Train on the examples with these indices, with the other ranks (a BatchStep:
        every rank must call it with the same batch)."""
        first, last = bounds(len(batch), self.size)[self.rank]
        shard = batch[first:last]
        flags, sums = self.flags, self.flag_sums
        try:
            with GRADIENT_PHASE:
                result = self.gradient([self.rows[i] for i in shard],
                                       [self.labels[i] for i in shard])
            flags[0], flags[1], flags[2] = result.loss_sum, result.correct, 0.0
        except BatchAbandoned:  # a stop here: the others must still be answered, and told
            result = None
            flags[0], flags[1], flags[2] = 0.0, 0.0, 1.0
        self.comm.Allreduce(flags, sums, op=self.sum)
        if sums[2]:  # a rank was stopped while it computed: every rank drops the batch
            raise BatchAbandoned
        assert result is not None  # this rank's is counted in sums[2] otherwise
        # an overflow here (its loss is infinite, as the others see it) is told in its words
        loss = checked_loss(sums[0], len(batch), result.overflow)
        self.comm.Reduce_scatter(array("d", result.gradient), self.gradient_sum,
                                 recvcounts=self.counts, op=self.sum)
        own = self.own  # its step count is the run's
        new_values = own.step([p._value for p in self.parameters[self.lo:self.hi]],
                              self.gradient_sum, len(batch),
                              rate_at(self.rate, own.optimizer.steps))
        self.comm.Allgatherv(array("d", new_values),
                             [self.values, (self.counts, self.offsets), self.double])
        set_values(self.parameters, self.values)
        return loss, int(sums[1])

    def refresh_model(self) -> None:
        """Nothing: every step leaves the latest values in the run's model already."""

    def pull(self) -> bool:
        """Gather every slice's optimizer state into the run's optimizer, on every rank (a
        collective: every rank calls it at the same point); always whole (True)."""
        kind = type(self.optimizer)
        state = self.own.optimizer.state_dict()
        gathered = array("d", bytes(8 * len(self.parameters)))
        for key in kind.BUFFERS:
            self.comm.Allgatherv(array("d", state[key]),
                                 [gathered, (self.counts, self.offsets), self.double])
            state[key] = gathered.tolist()
        self.optimizer.load_state_dict(state)
        return True

    def push(self) -> None:
        """Take this rank's slice of the run's optimizer state again (the run went back to
        an earlier step: every rank's run holds the same values and state)."""
        self.own = self._own_slice()
