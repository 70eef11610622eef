"""Data-parallel training on one machine: worker processes that share the parameters and
the gradients in shared memory.

``SharedMemoryTraining`` starts ``workers - 1`` processes (this process is worker 0) and
gives TrainingRun.train a batch step (and a way to predict, so that each worker evaluates
a part of the test set too). A step has two phases:

1. gradients: the batch is cut into more contiguous pieces than there are workers
   (PIECES_PER_WORKER each; scalargrad.train.gradient.split), handed out one at a time as
   workers become free, this process taking its own between handing them out: a worker
   slowed down by another program on its core computes fewer of them. Each piece's
   gradient (its ShardResult, at the shared parameter values) goes into the piece's own row
   of a shared table, whoever computed it, and its loss and count correct come back
   through the pipe; this process checks that the batch's loss is finite. Since the rows
   are added in piece order, the step does not depend on which worker took which piece:
   a run is the same whatever the timing (and equal to one process's to rounding).
2. update: every worker owns a contiguous slice of the parameters. It adds the table's rows
   over its slice, divides by the batch size and steps an optimizer of its own over the
   slice, writing the new values into the shared parameters (scalargrad.train.slices). It
   ends when every worker has answered.

Through the pipes go only a piece's indices and a few numbers: nothing that grows with the
model is pickled. The training examples are copied into shared memory once. The
workers are forked (so this needs the fork start method: Linux), before any thread starts.

While training, the optimizer's state lives in the slices: leaving the ``with`` block
gathers it into the run's optimizer, so that a checkpoint taken afterwards is the one a
single process would have made. A worker that dies or fails raises WorkerFailed when its
answer is awaited, and the other workers are stopped. The optimizer's per-parameter state
is also kept in shared memory, copied there by each worker after its update, so that even
then the run's model and optimizer are left as they were after the last whole step, ready
to be saved and resumed (``WorkerFailed.recovered``): a slice whose worker died before
copying it is stepped by this process. Only a worker that dies while it copies its slice
leaves nothing to recover.
"""
from __future__ import annotations

import gc
import math
import multiprocessing
import os
import signal
import time
from array import array
from multiprocessing.connection import Connection, wait
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Type

from ..errors import InputError, WorkerFailed
from ..optim import Optimizer
from .gradient import GradientFactory, ShardGradient, bounds, make_gradient, split
from .model import Classifier, Rows
from .slices import OptimizerSlice, SharedArray, join_states, split_state
from .step import GRADIENT_PHASE, BatchAbandoned, Rate, checked_loss

if TYPE_CHECKING:
    from .loop import TrainingRun

# Waiting for a message spins this long before it sleeps: a sleeping process on another
# core takes a while to wake, several times per step (measured in docs/benchmarks.md).
COORDINATOR_SPIN = 0.0002
WORKER_SPIN = 0.001
PIECES_PER_WORKER = 3  # pieces of a batch per worker: the more, the finer the balance, but
                       # each piece costs a message and a call of the gradient


def _arrived(connection: Connection, seconds: float = COORDINATOR_SPIN) -> bool:
    """Whether a message is there to read, asking again and again for ``seconds``."""
    deadline = time.perf_counter() + seconds
    while not connection.poll():
        if time.perf_counter() > deadline:
            return False
    return True


# A worker's answer: ("done", loss_sum, correct, overflow: why or None) for a piece, its
# gradient in the piece's row, ("abandoned",) (a
# stop while it computed: see step.GradientPhase), ("failed", why), ("updated",),
# ("state", its slice's optimizer state), ("reloaded",) or ("predicted", labels).
Answer = Tuple[Any, ...]
ABANDON_SIGNAL = signal.SIGUSR1  # the coordinator's word to drop the shard being computed


def cores() -> int:
    """The cores this process may run on: the most workers worth starting."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SharedMemoryTraining:
    """``workers`` processes, this one included, training one model's batches together.

    Use it as a context manager around TrainingRun.train, passing ``step`` and
    ``predict``::

        with SharedMemoryTraining.for_run(run, workers=4) as training:
            summary = run.train(epochs, callbacks, should_stop, step=training.step,
                                predict=training.predict)

    The model and optimizer given are this process's (the run's): the model holds the
    latest values after every step, the optimizer its state only once the block is left
    without an error (``finish``).
    """

    def __init__(self, model: Classifier, optimizer: Optimizer, rows: Rows,
                 labels: Sequence[int], workers: int, mode: str = "reverse",
                 make_gradient: GradientFactory = make_gradient,
                 predictions: int = 0, rate: Optional[Rate] = None) -> None:
        """Copy the data and the parameters into shared memory and start the workers.

        ``predict`` shares the predictions for up to ``predictions`` rows at a time (more
        are predicted in this process alone): room for them is made before the fork.
        ``rate`` gives each step's learning rate (step.Rate), read here and sent to the
        workers with each update.

        ``make_gradient(model, mode)`` makes each worker's ShardGradient (by default the one
        gradient.make_gradient chooses); the one for this process's model must leave the
        model holding the values it is loaded with (as both engines do), since the run
        evaluates and saves that model.
        """
        if type(workers) is not int or workers < 1:
            raise ValueError(f"workers must be a whole number >= 1, not {workers!r}")
        if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
            raise InputError("worker processes are forked, which this system cannot do: "
                             "train in one process, or with MPI (--distributed)")
        self.model, self.optimizer, self.workers = model, optimizer, workers
        self.rate = rate
        self.rows, self.labels = rows, labels
        self.processes: List[multiprocessing.process.BaseProcess] = []
        self.connections: List[Connection] = []
        self._arrays: List[SharedArray] = []
        parameters = model.parameters()
        count = len(parameters)
        self.bounds = [count * k // workers for k in range(workers + 1)]
        try:
            self.values = self._shared("d", count)
            self.values[:] = array("d", model.values())
            pieces = PIECES_PER_WORKER * workers if workers > 1 else 1
            table = self._shared("d", count * pieces)  # one row per piece of a batch
            self.table = [table[k * count:(k + 1) * count] for k in range(pieces)]
            shared_rows = rows if workers > 1 else []  # only other processes read them
            width = len(shared_rows[0]) if shared_rows else 0
            examples = self._shared("d", width * len(shared_rows))
            for i, row in enumerate(shared_rows):
                examples[i * width:(i + 1) * width] = array("d", row)
            shared_labels = self._shared("q", len(shared_rows))
            shared_labels[:] = array("q", labels[:len(shared_rows)])
            self.inputs = model.inputs
            self.to_predict = self._shared("d", model.inputs * predictions if workers > 1 else 0)
            kind = type(optimizer)
            state = optimizer.state_dict()
            # The optimizer's state is shared too: if a worker dies, the state after the last
            # step every worker finished is still here (recover()).
            self.buffers = {key: self._shared("d", count) for key in kind.BUFFERS}
            for key, shared in self.buffers.items():
                shared[:] = array("d", state[key])
            self.steps_done = optimizer.steps
            self.marks = self._shared("q", workers)  # each slice's steps (OptimizerSlice.update)
            self.marks[:] = array("q", [optimizer.steps] * workers)
            self.updating = False  # between sending "update" and every worker's answer
            self.broken: Optional[WorkerFailed] = None  # a failure to raise at the next command
            states = split_state(state, kind, self.bounds)
            self.gradient = make_gradient(model, mode)
            self.own_slice = OptimizerSlice(parameters, self.bounds[0], self.bounds[1], kind,
                                            states[0])
            self._start(_WorkerSetup(model, mode, make_gradient, kind, self.values, self.table,
                                     examples, width, shared_labels, self.to_predict,
                                     self.buffers, self.marks), states)
        except BaseException:
            self.close(graceful=False)
            raise

    @classmethod
    def for_run(cls, run: "TrainingRun", workers: int,
                make_gradient: GradientFactory = make_gradient) -> "SharedMemoryTraining":
        """For a TrainingRun: its model, optimizer, training data, mode and test set."""
        return cls(run.model, run.optimizer, run.data.train_rows, run.data.train_labels,
                   workers, run.settings.mode, make_gradient, len(run.data.test_rows),
                   run.rate)

    def _shared(self, typecode: str, length: int) -> memoryview:
        self._arrays.append(SharedArray(typecode, length))
        return self._arrays[-1].view

    def _start(self, setup: "_WorkerSetup", states: List[Dict[str, Any]]) -> None:
        """Fork the workers. Ctrl-C is blocked meanwhile (a worker ignores it: this process
        decides when to stop), and so is ABANDON_SIGNAL until a worker handles it; the
        garbage collector is kept from touching this process's objects in the children,
        which would copy their memory page by page."""
        context = multiprocessing.get_context("fork")
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, ABANDON_SIGNAL})
        gc.freeze()
        try:
            for k in range(1, self.workers):
                ours, theirs = context.Pipe()
                owned = (self.bounds[k], self.bounds[k + 1])  # its slice of the parameters
                process = context.Process(target=_serve, name=f"scalargrad worker {k}",
                                          args=(k, theirs, self.connections + [ours], setup,
                                                owned, states[k]), daemon=True)
                process.start()
                theirs.close()
                self.processes.append(process)
                self.connections.append(ours)
        finally:
            gc.unfreeze()
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    # The batch step ----------------------------------------------------------------------
    def step(self, batch: Sequence[int]) -> Tuple[float, int]:
        """Train on the examples with these indices (a step.BatchStep)."""
        if self.broken is not None:
            raise self.broken
        pieces = split(batch, min(len(batch), len(self.table)))
        answers = self._gradients(pieces)
        overflow = next((answer[3] for answer in answers if answer[3] is not None), None)
        loss = checked_loss(math.inf if overflow else math.fsum(answer[1] for answer in answers),
                            len(batch), overflow)
        self._update(len(batch), len(pieces))
        self.gradient.load(self.values.tolist())
        return loss, sum(answer[2] for answer in answers)

    def _gradients(self, pieces: List[List[int]]) -> List[Answer]:
        """Every piece's answer, in piece order, its gradient in its row of the table: each
        worker is given a piece, and another whenever it answers, this process computing
        pieces too in between. BatchAbandoned, once every worker has answered, if a stop
        came meanwhile (no piece is handed out after it)."""
        waiting = list(range(len(pieces)))[::-1]  # popped from the end: in order
        answers: List[Answer] = [("abandoned",)] * len(pieces)
        busy: Dict[int, int] = {}  # worker -> the piece it computes
        stopped = False

        def give(k: int) -> None:
            i = waiting.pop()
            self._send(k, ("gradient", i, pieces[i], first[k]))
            busy[k], first[k] = i, False

        first = [True] * self.workers  # its first piece of this step: load the values first
        for k in range(1, self.workers):
            if waiting:
                give(k)
        GRADIENT_PHASE.others = self._abandon_shards  # a stop meanwhile reaches the workers
        try:
            while waiting or busy:
                for k in self._answered(list(busy), block=not waiting):
                    i = busy.pop(k)
                    answers[i] = self._answer(k)
                    stopped = stopped or answers[i][0] == "abandoned"
                    if waiting and not stopped:
                        give(k)
                if stopped:
                    waiting.clear()
                elif waiting:
                    i = waiting.pop()
                    try:
                        with GRADIENT_PHASE:
                            answers[i] = self._own_gradient(i, pieces[i])
                    except BatchAbandoned:
                        stopped = True
        finally:
            GRADIENT_PHASE.others = None
        if stopped:
            raise BatchAbandoned
        return answers

    def _answered(self, workers: List[int], block: bool) -> List[int]:
        """Those of these workers whose answer is there; with ``block``, at least one (or
        one that died, which _answer tells), asking again and again for COORDINATOR_SPIN
        before sleeping."""
        connections = [self.connections[k - 1] for k in workers]
        deadline = time.perf_counter() + COORDINATOR_SPIN
        while True:
            ready = [k for k, connection in zip(workers, connections) if connection.poll()]
            if ready or not block or time.perf_counter() > deadline:
                break
        if ready or not block:
            return ready
        owner: Dict[Any, int] = dict(zip(connections, workers))
        owner.update({self.processes[k - 1].sentinel: k for k in workers})
        return sorted({owner[woken] for woken in wait(list(owner))})

    def _abandon_shards(self) -> None:
        """Have every worker drop the shard it computes (it answers "abandoned"): a
        signal, which its handler turns into BatchAbandoned while it computes a gradient."""
        for process in self.processes:
            if process.pid is not None:
                try:
                    os.kill(process.pid, ABANDON_SIGNAL)
                except ProcessLookupError:
                    pass

    def _update(self, batch_size: int, pieces: int) -> None:
        """Every slice's optimizer steps. A worker that dies or fails meanwhile has its slice
        stepped here, if it had not begun to share it, so that the step is whole; its failure
        is raised at the next command. Otherwise (it died while sharing it) raised now."""
        self.updating = True
        lr = None if self.rate is None else self.rate(self.steps_done)
        told, failures = [], []
        for k in range(1, self.workers):
            try:
                self._send(k, ("update", batch_size, lr, pieces))
                told.append(k)
            except WorkerFailed as failed:
                failures.append(failed)
        self.own_slice.update(self.table[:pieces], self.values, batch_size, self.buffers,
                              self.marks, 0, lr)
        for k in told:
            try:
                self._answer(k)
            except WorkerFailed as failed:
                failures.append(failed)
        if failures:
            if not self._step_for_the_lost(batch_size, lr, pieces):
                raise failures[0]
            self.broken = failures[0]
        self.updating = False
        self.steps_done += 1

    def _step_for_the_lost(self, batch_size: int, lr: Optional[float], pieces: int) -> bool:
        """Step here the slices no worker stepped (their shared state is still the last
        step's); False if one was left half written."""
        marks = [self.marks[k] for k in range(self.workers)]
        if any(mark not in (self.steps_done, self.steps_done + 1) for mark in marks):
            return False
        state = self.optimizer.state_dict()  # its hyperparameters; the rest is shared
        kind, parameters = type(self.optimizer), self.model.parameters()
        for k, mark in enumerate(marks):
            if mark == self.steps_done:
                lo, hi = self.bounds[k], self.bounds[k + 1]
                own = {**state, "steps": mark,
                       **{key: shared[lo:hi].tolist() for key, shared in self.buffers.items()}}
                OptimizerSlice(parameters, lo, hi, kind, own).update(
                    self.table[:pieces], self.values, batch_size, self.buffers, self.marks, k,
                    lr)
        return True

    def predict(self, rows: Rows) -> List[int]:
        """The model's prediction for each row, each worker predicting a part of them (a
        model.Predict, for TrainingRun.train's evaluations)."""
        if self.broken is not None:
            raise self.broken
        width = self.inputs
        if self.workers == 1 or len(rows) * width > len(self.to_predict):
            return self.model.predict(rows)
        for i, row in enumerate(rows):
            self.to_predict[i * width:(i + 1) * width] = array("d", row)
        parts = bounds(len(rows), self.workers)
        self._tell([("predict", first, last) for first, last in parts[1:]])
        own = self.model.predict(rows[:parts[0][1]])
        return own + [label for answer in self._answers() for label in answer[1]]

    def _own_gradient(self, i: int, piece: List[int]) -> Answer:
        """Piece i's gradient, computed here, into its row."""
        result = self.gradient([self.rows[j] for j in piece], [self.labels[j] for j in piece])
        self.table[i][:] = array("d", result.gradient)
        return ("done", result.loss_sum, result.correct, result.overflow)

    def _tell(self, commands: Sequence[Tuple[Any, ...]]) -> None:
        """Send worker k the command commands[k - 1]."""
        for k, command in enumerate(commands, 1):
            self._send(k, command)

    def _send(self, k: int, command: Tuple[Any, ...]) -> None:
        """Send worker k a command; WorkerFailed if it is gone."""
        try:
            self.connections[k - 1].send(command)
        except OSError:  # the pipe is broken: the worker is gone
            raise self._lost(k) from None

    def _answers(self) -> List[Answer]:
        """Every worker's answer to the command just sent; WorkerFailed if one died or failed."""
        return [self._answer(k) for k in range(1, self.workers)]

    def _answer(self, k: int) -> Answer:
        """Worker k's answer to the command just sent; WorkerFailed if it died or failed."""
        connection, process = self.connections[k - 1], self.processes[k - 1]
        if not _arrived(connection) and connection not in wait([connection, process.sentinel]):
            raise self._lost(k)
        try:
            answer = connection.recv()
        except (EOFError, OSError):
            raise self._lost(k) from None
        if answer[0] == "failed":
            raise WorkerFailed(f"worker {k} of {self.workers} failed: {answer[1]}")
        return answer

    def _lost(self, k: int) -> WorkerFailed:
        process = self.processes[k - 1]
        process.join(timeout=1.0)
        code = process.exitcode
        if code is None:
            how = "stopped answering"
        elif code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
        else:
            how = f"exited with status {code}"
        return WorkerFailed(f"worker {k} of {self.workers} (process {process.pid}) {how}; the "
                            f"run cannot go on")

    # The end -----------------------------------------------------------------------------
    def finish(self) -> None:
        """Gather the optimizer's state from the slices into this process's optimizer."""
        if self.broken is not None:
            raise self.broken
        self._tell([("state",)] * len(self.connections))
        states = [self.own_slice.optimizer.state_dict()]
        states += [answer[1] for answer in self._answers()]
        self.optimizer.load_state_dict(join_states(states, type(self.optimizer)))

    def close(self, graceful: bool = True) -> None:
        """Stop the workers (at once unless graceful) and remove the shared memory."""
        for connection, process in zip(self.connections, self.processes):
            if graceful and process.is_alive():
                try:
                    connection.send(("stop",))
                except OSError:
                    pass
        for process in self.processes:
            process.join(timeout=5.0 if graceful else 0.0)
            if process.is_alive():
                process.terminate()
                process.join()
        for connection in self.connections:
            connection.close()
        self.processes, self.connections = [], []
        for table_row in getattr(self, "table", []):
            table_row.release()
        for shared in self._arrays:
            shared.close()
        self._arrays = []

    def __enter__(self) -> "SharedMemoryTraining":
        return self

    # TrainingRun.train's sync: the state, between this process's run and shared memory --
    def pull(self) -> bool:
        """Put the optimizer's state after the last whole step into the run's optimizer
        (recover()); the run's model holds the parameter values already."""
        return self.recover()

    def push(self) -> None:
        """Put the run's parameter values and optimizer state (set in this process: a
        rollback) into shared memory, and have every worker take its slice of them again."""
        if self.broken is not None:
            raise self.broken
        state = self.optimizer.state_dict()
        self.values[:] = array("d", self.model.values())
        for key, shared in self.buffers.items():
            shared[:] = array("d", state[key])
        self.steps_done = state["steps"]
        self.marks[:] = array("q", [self.steps_done] * self.workers)
        self.own_slice.reload(self.values, self.buffers, self.steps_done)
        self._tell([("reload",)] * (self.workers - 1))
        self._answers()

    def recover(self) -> bool:
        """After a worker died: put the optimizer's state after the last step every worker
        finished (kept in shared memory) into this process's optimizer, as finish() would
        have; the model holds those parameter values already. False, with nothing changed,
        if a worker died while updating (some slices a step further than others)."""
        if self.updating:
            return False
        state = self.optimizer.state_dict()
        state["steps"] = self.steps_done
        for key, shared in self.buffers.items():
            state[key] = shared.tolist()
        self.optimizer.load_state_dict(state)
        return True

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        if kind is not None:
            try:
                if isinstance(error, WorkerFailed):
                    error.recovered = self.recover()
            finally:
                self.close(graceful=False)
            return
        try:
            self.finish()
        except WorkerFailed as failed:
            failed.recovered = self.recover()
            raise
        finally:
            self.close()


# In a worker process -----------------------------------------------------------------------
@dataclass
class _WorkerSetup:
    """What every worker inherits: the model to copy, how to differentiate, the optimizer's
    kind, and views of the shared parameters, gradient table, examples and labels."""
    model: Classifier
    mode: str
    make_gradient: GradientFactory
    kind: Type[Optimizer]
    values: memoryview
    table: List[memoryview]
    examples: memoryview  # rows of width doubles
    width: int
    labels: memoryview
    to_predict: memoryview  # rows of model.inputs doubles
    buffers: Dict[str, memoryview]  # the optimizer's per-parameter state, by kind
    marks: memoryview  # how far each slice's shared state is (OptimizerSlice.update)


def _serve(k: int, connection: Connection, inherited: List[Connection], setup: _WorkerSetup,
           bounds: Tuple[int, int], state: Dict[str, Any]) -> None:
    """A worker's life: answer commands until told to stop or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    GRADIENT_PHASE.pending = False  # a stop asked of the process it was forked from is not its
    signal.signal(ABANDON_SIGNAL, lambda signum, frame: GRADIENT_PHASE.interrupt())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, ABANDON_SIGNAL})
    for other in inherited:  # so that EOF reaches the others' pipes when this process ends
        other.close()
    try:
        model = setup.model  # this process's own copy, forked from the run's
        gradient: ShardGradient = setup.make_gradient(model, setup.mode)
        own = OptimizerSlice(model.parameters(), bounds[0], bounds[1], setup.kind, state)
        while True:
            try:
                _arrived(connection, WORKER_SPIN)
                command = connection.recv()
            except EOFError:
                return
            if command[0] == "gradient":  # ("gradient", i, piece, whether to load the values)
                if command[3]:
                    gradient.load(setup.values.tolist())
                connection.send(_gradient(setup, gradient, setup.table[command[1]], command[2]))
            elif command[0] == "update":  # ("update", batch_size, lr, pieces)
                own.update(setup.table[:command[3]], setup.values, command[1], setup.buffers,
                           setup.marks, k, command[2])
                connection.send(("updated",))
            elif command[0] == "state":
                connection.send(("state", own.optimizer.state_dict()))
            elif command[0] == "reload":
                own.reload(setup.values, setup.buffers, setup.marks[k])
                connection.send(("reloaded",))
            elif command[0] == "predict":
                connection.send(("predicted", _predict(setup, command[1], command[2])))
            else:
                return
    except Exception as error:  # reported to the coordinator, which stops the run
        try:
            connection.send(("failed", f"{type(error).__name__}: {error}"))
        except OSError:
            pass


def _predict(setup: _WorkerSetup, first: int, last: int) -> List[int]:
    """The predictions for rows first to last (exclusive) of the shared ones, by the model
    at the latest parameter values."""
    setup.model.load(setup.values.tolist())
    width = setup.model.inputs
    rows = [setup.to_predict[i * width:(i + 1) * width].tolist() for i in range(first, last)]
    return setup.model.predict(rows)


def _gradient(setup: _WorkerSetup, gradient: ShardGradient, row: memoryview,
              shard: List[int]) -> Answer:
    width, examples = setup.width, setup.examples
    rows = [examples[i * width:(i + 1) * width].tolist() for i in shard]
    try:
        with GRADIENT_PHASE:
            result = gradient(rows, [setup.labels[i] for i in shard])
    except BatchAbandoned:
        return ("abandoned",)
    row[:] = array("d", result.gradient)
    return ("done", result.loss_sum, result.correct, result.overflow)
