"""A training run of the MNIST classifier, the same for every front end.

A run is its settings, its data, the model, the optimizer, the shuffling RNG and how far it
has got: ``TrainingRun.train`` runs epochs, tells a front end about progress through
``Callbacks``, can be asked to stop after any batch, and returns a ``Summary``. A
``Checkpoint`` holds everything the run needs to go on later exactly as if it had never
stopped, even in the middle of an epoch (scalargrad.train.checkpoint saves and loads them).

Data arrive as rows of floats (see scalargrad.train.mnist for reading MNIST): this module knows
nothing of numpy.
"""
from __future__ import annotations

import math
import random
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, cast

from ..core.scalar import cycle_collector_paused
from ..errors import Diverged, InputError, WorkerFailed
from ..optim import OPTIMIZERS, SCHEDULES, Optimizer, Schedule, make_optimizer
from .checks import whole
from .gradient import DEFAULT_ENGINE, MODES
from .recipes import recipe
from .model import (ACTIVATIONS, DEFAULT_ACTIVATION, BatchReport, Classifier, EpochProgress,
                    Predict, Rows, accuracy)
from .step import GRADIENT_PHASE, BatchAbandoned, BatchStep, LossGuard, check_weights, local_step

IMAGE_SIZES = (7, 14, 28)  # the sizes scalargrad.train.mnist shrinks MNIST's images to
CLASSES = 10
MAX_HIDDEN = 4096


# Forward mode makes one sweep per parameter over each batch's graph, which holds about one
# node per parameter and example: a run visits about parameters² × examples × epochs nodes,
# each visit about 75-165 ns here (7x7 and 14x14 models, measured).
FORWARD_VISIT_SECONDS = 1e-7
FORWARD_LIMIT = 1e10  # node visits a forward-mode run may make unless told to go on (~17 min)


def parameter_count(settings: "Settings") -> int:
    """The model's parameters: weights and biases of each layer."""
    widths = [settings.size * settings.size, settings.hidden, CLASSES]
    widths = [width for width in widths if width]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(widths, widths[1:]))


def forward_cost(settings: "Settings", examples: int, epochs: int) -> Tuple[float, float]:
    """(node visits, seconds) a forward-mode run of so many epochs of so many examples
    would take, estimated (see FORWARD_VISIT_SECONDS)."""
    visits = float(parameter_count(settings)) ** 2 * examples * epochs
    return visits, visits * FORWARD_VISIT_SECONDS


@dataclass(frozen=True)
class Settings:
    """Everything that decides what a run computes; a resumed run keeps all of them.

    Checked when made: InputError (one line) names the first unusable value. ``lr``,
    ``batch_size``, ``schedule`` and ``warmup`` None mean the defaults measured for the
    model and optimizer (scalargrad.train.recipes), which are put in. ``lr`` is the peak
    of the schedule; ``warmup`` the fraction of the run's planned steps the rate rises over
    (TrainingRun.plan).
    """
    size: int = 7
    hidden: int = 0
    activation: str = DEFAULT_ACTIVATION
    optimizer: str = "adam"
    lr: Optional[float] = None
    batch_size: Optional[int] = None
    seed: int = 0
    limit: Optional[int] = None  # train on the first `limit` training examples only
    mode: str = "reverse"
    schedule: Optional[str] = None  # one of optim.SCHEDULES
    warmup: Optional[float] = None

    def __post_init__(self) -> None:
        checks = [
            ("size", self.size in IMAGE_SIZES and type(self.size) is int,
             f"one of {', '.join(map(str, IMAGE_SIZES))}"),
            ("hidden", whole(self.hidden, 0, MAX_HIDDEN),
             f"a whole number from 0 to {MAX_HIDDEN}"),
            ("activation", self.activation in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
            ("optimizer", self.optimizer in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
            ("lr", self.lr is None or (isinstance(self.lr, (int, float))
                                       and not isinstance(self.lr, bool)
                                       and 0 < self.lr < math.inf), "a positive finite number"),
            ("batch_size", self.batch_size is None or whole(self.batch_size, 1),
             "a whole number >= 1"),
            ("seed", type(self.seed) is int, "a whole number"),
            ("limit", self.limit is None or whole(self.limit, 1), "a whole number >= 1 or none"),
            ("mode", self.mode in MODES, f"one of {', '.join(MODES)}"),
            ("schedule", self.schedule is None or self.schedule in SCHEDULES,
             f"one of {', '.join(SCHEDULES)}"),
            ("warmup", self.warmup is None or (isinstance(self.warmup, (int, float))
                                               and not isinstance(self.warmup, bool)
                                               and 0 <= self.warmup <= 1),
             "a fraction from 0 to 1"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise InputError(f"{name} must be {expected}, not {getattr(self, name)!r}")
        defaults = recipe(self.size, self.hidden, self.optimizer, self.schedule)
        for name in ("lr", "batch_size", "schedule", "warmup"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))
        object.__setattr__(self, "lr", float(cast(float, self.lr)))
        object.__setattr__(self, "warmup", float(cast(float, self.warmup)))
        if self.limit is not None and cast(int, self.batch_size) > self.limit:
            raise InputError(f"batch_size {self.batch_size} is larger than limit {self.limit}")

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "Settings":
        """Settings from to_dict()'s output; InputError if data does not hold them all."""
        if not isinstance(data, dict):
            raise InputError(f"the options must be an object, not {type(data).__name__}")
        names = [name for name in cls.__dataclass_fields__]
        missing = [name for name in names if name not in data]
        if missing:
            raise InputError(f"the options lack {', '.join(missing)}")
        return cls(**{name: data[name] for name in names})


@dataclass(frozen=True)
class Dataset:
    """The examples a run trains and evaluates on: rows of floats and integer labels."""
    train_rows: Rows
    train_labels: Sequence[int]
    test_rows: Rows
    test_labels: Sequence[int]


@dataclass(frozen=True)
class EpochRecord:
    """One epoch in a run's history; ``complete`` is false for an epoch stopped early, and
    ``examples`` says how far it got."""
    epoch: int
    examples: int
    complete: bool
    loss: float
    train_accuracy: float
    test_accuracy: float  # after the epoch (or the part of it that ran)
    seconds: float


@dataclass
class Checkpoint:
    """Everything a run needs to continue exactly as if it had never stopped.

    ``random_state`` is the shuffling RNG's state when the epoch in progress began, and
    ``unfinished`` how far that epoch got (None between epochs): resuming draws the same
    order again and skips what was trained. ``run_id`` names the run (TrainingRun.run_id):
    what it writes elsewhere, its metrics log, can be told from another run's.
    ``optimizer`` is None for a model saved without its training state (format version 1),
    which can be evaluated or trained further as a new run, but not resumed.
    """
    settings: Settings
    model: Classifier
    optimizer: Optional[Dict[str, Any]] = None
    random_state: Optional[tuple] = None
    epochs: int = 0         # complete epochs
    examples: int = 0       # examples trained, over all epochs
    unfinished: Optional[EpochProgress] = None
    history: List[EpochRecord] = field(default_factory=list)
    test_accuracy: Optional[float] = None
    run_id: Optional[str] = None  # None in files saved before runs had ids
    schedule: Optional[Dict[str, Any]] = None  # Schedule.state_dict(), once planned

    @property
    def resumable(self) -> bool:
        return self.optimizer is not None


@dataclass
class Summary:
    """What one call of TrainingRun.train did, and how the model does on the test set."""
    settings: Settings
    test_accuracy: float
    predictions: List[int]    # for each test example
    train_accuracy: Optional[float]  # of the last epoch trained in this call
    epochs: int               # epochs that ended in this call
    examples: int             # examples trained in this call
    total_epochs: int         # complete epochs of the whole run
    total_examples: int
    interrupted: bool         # stopped by should_stop before the epochs asked for
    seconds: float            # the whole call, evaluation included
    training_seconds: float   # training steps only
    history: List[EpochRecord]

    @property
    def examples_per_second(self) -> Optional[float]:
        return self.examples / self.training_seconds if self.training_seconds else None

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable report (without the predictions)."""
        return {"test_accuracy": self.test_accuracy, "train_accuracy": self.train_accuracy,
                "epochs": self.epochs, "examples": self.examples,
                "total_epochs": self.total_epochs, "total_examples": self.total_examples,
                **self.settings.to_dict(), "interrupted": self.interrupted,
                "seconds": self.seconds, "examples_per_second": self.examples_per_second,
                "history": [asdict(record) for record in self.history]}


def train_epoch(model: Classifier, optimizer: Optimizer, rows: Rows, labels: Sequence[int],
                batch_size: int, rng: random.Random, mode: str = "reverse",
                on_batch: Optional[Callable[[BatchReport], None]] = None,
                should_stop: Callable[[], bool] = lambda: False,
                resume: Optional[EpochProgress] = None,
                step: Optional[BatchStep] = None) -> EpochProgress:
    """One pass over the data in batches, in an order drawn from rng; stops after a batch
    when should_stop() says so, or before one abandoned (BatchAbandoned) while its gradient
    was computed (fewer examples than rows in the result).

    ``resume`` continues an epoch that stopped early: give rng the state it had when that
    epoch began, so that the same order is drawn, and the examples trained are skipped.
    ``step`` trains each batch (default: step.local_step on model and optimizer).
    """
    if step is None:
        step = local_step(model, optimizer, rows, labels, mode)
    order = list(range(len(rows)))
    rng.shuffle(order)
    start = time.perf_counter()
    done = resume or EpochProgress()
    seen, loss_sum, correct = done.examples, done.loss_sum, done.correct
    for first in range(seen, len(order), batch_size):
        batch = order[first:first + batch_size]
        try:
            with cycle_collector_paused():  # a step makes lists of a model's floats, no cycle
                loss, batch_correct = step(batch)
        except BatchAbandoned:  # stopped while its gradient was computed: as before it
            break
        except Diverged as error:  # how far the epoch got, for the run to roll back
            diverged = Diverged(f"{error} after {seen} examples")
            diverged.progress = EpochProgress(seen, loss_sum, correct,
                                              done.seconds + time.perf_counter() - start)
            raise diverged from None
        except WorkerFailed as error:  # how far the epoch got, for the run to be saved
            error.progress = EpochProgress(seen, loss_sum, correct,
                                           done.seconds + time.perf_counter() - start)
            raise
        seen += len(batch)
        loss_sum += loss * len(batch)
        correct += batch_correct
        if on_batch is not None:
            on_batch(BatchReport(seen, loss_sum / seen, correct / seen))
        if should_stop():
            break
    return EpochProgress(seen, loss_sum, correct, done.seconds + time.perf_counter() - start)


class Callbacks:
    """What a front end hears from a running run; each method does nothing by default."""

    def epoch_started(self, epoch: int, examples: int, total: int) -> None:
        """Epoch number ``epoch`` starts, ``examples`` of its ``total`` already trained."""

    def batch_done(self, report: BatchReport) -> None:
        """A batch was trained (report.examples counts the whole epoch so far)."""

    def epoch_ended(self, record: EpochRecord) -> None:
        """An epoch ended, or stopped early (record.complete is then false)."""


class TrainingRun:
    """A run of the classifier on a dataset; see the module docstring."""

    def __init__(self, settings: Settings, data: Dataset,
                 model: Optional[Classifier] = None) -> None:
        """A new run: a fresh model from settings.seed unless one is given (trained
        further, it keeps its weights), a new optimizer, an RNG seeded with settings.seed.
        InputError if the model or the data do not fit the settings."""
        expected = (settings.size * settings.size, CLASSES, settings.hidden, settings.activation)
        if model is None:
            model = Classifier(*expected, seed=settings.seed)
        found = (model.inputs, model.classes, model.hidden, model.activation)
        if found != expected:
            raise InputError(f"the model (inputs, classes, hidden, activation) is {found}, "
                             f"but the settings ask for {expected}")
        examples = len(data.train_rows)
        if not 0 < cast(int, settings.batch_size) <= examples:
            raise InputError(f"the batch size {settings.batch_size} is larger than the "
                             f"{examples} training examples")
        self.settings, self.data, self.model = settings, data, model
        lr = cast(float, settings.lr)  # never None once made: __post_init__ puts the default in
        self.optimizer = make_optimizer(settings.optimizer, model.parameters(), lr)
        self.rng = random.Random(settings.seed)
        self.epoch_start_state = self.rng.getstate()  # when the epoch in progress began
        self.epochs = 0
        self.examples = 0
        self.unfinished: Optional[EpochProgress] = None
        self.history: List[EpochRecord] = []
        self.test_accuracy: Optional[float] = None
        self.run_id = secrets.token_hex(8)  # a new run: kept by checkpoints and resume
        self.schedule: Optional[Schedule] = None  # planned by the first train() (plan)

    @classmethod
    def resume(cls, checkpoint: Checkpoint, data: Dataset) -> "TrainingRun":
        """The run a checkpoint was taken of, on the same data, ready to go on."""
        if not checkpoint.resumable:
            raise InputError("the model was saved without its training state, so its run "
                             "cannot be resumed")
        run = cls(checkpoint.settings, data, checkpoint.model)
        unfinished = checkpoint.unfinished
        if unfinished is not None and unfinished.examples >= len(data.train_rows):
            raise InputError(f"the run stopped {unfinished.examples} examples into an epoch, "
                             f"but there are only {len(data.train_rows)} training examples")
        # Resumable means the optimizer's state is there, and with it (checkpoint() and version
        # 2 files record both) the RNG's; the checker cannot see that through the property.
        run.optimizer.load_state_dict(cast(Dict[str, Any], checkpoint.optimizer))
        run.epoch_start_state = cast(tuple, checkpoint.random_state)
        run.epochs, run.examples = checkpoint.epochs, checkpoint.examples
        run.unfinished, run.history = unfinished, list(checkpoint.history)
        run.test_accuracy = checkpoint.test_accuracy
        run.run_id = checkpoint.run_id or run.run_id  # a file from before ids: a new one
        if checkpoint.schedule is not None:
            run.schedule = Schedule(**checkpoint.schedule)
        return run

    @property
    def steps_per_epoch(self) -> int:
        """Batches in an epoch (the last one may be smaller)."""
        return math.ceil(len(self.data.train_rows) / cast(int, self.settings.batch_size))

    def plan(self, epochs: int) -> None:
        """Plan the learning-rate schedule over ``epochs`` epochs, counted from the start of
        the run, unless it is planned already (by an earlier call, or in the checkpoint a
        run was resumed from): the first train() call plans it over its epochs."""
        if self.schedule is None and epochs > 0:
            settings = self.settings
            steps = epochs * self.steps_per_epoch
            self.schedule = Schedule(cast(str, settings.schedule), cast(float, settings.lr),
                                     steps, round(cast(float, settings.warmup) * steps))

    def check_plan(self, epochs: int) -> None:
        """InputError if ``epochs`` more epochs (an unfinished one counting as the first)
        would train past the end of a schedule that falls to 0 there (cosine, onecycle)."""
        schedule = self.schedule
        if schedule is None or schedule.kind == "constant" or epochs == 0:
            return
        planned = schedule.steps // self.steps_per_epoch
        left = planned - self.epochs
        if epochs > left:
            raise InputError(
                f"the run's {schedule.kind} schedule was planned over {planned} "
                f"epoch{'s' if planned != 1 else ''} and its rate is 0 after them: "
                + (f"at most {left} more can be trained" if left > 0
                   else "the run has trained them all")
                + " (--load the file to train its weights on, in a run with a plan of its own)")

    def rate(self, steps: int) -> Optional[float]:
        """The learning rate of the step after ``steps`` steps: the schedule's (None before
        it is planned: the optimizer's own)."""
        return None if self.schedule is None else self.schedule.rate(steps)

    def checkpoint(self) -> Checkpoint:
        """The run's state now (the model itself, not a copy: save it before training on)."""
        return Checkpoint(self.settings, self.model, self.optimizer.state_dict(),
                          self.epoch_start_state, self.epochs, self.examples, self.unfinished,
                          list(self.history), self.test_accuracy, self.run_id,
                          None if self.schedule is None else self.schedule.state_dict())

    def train(self, epochs: int, callbacks: Optional[Callbacks] = None,
              should_stop: Callable[[], bool] = lambda: False,
              step: Optional[BatchStep] = None, predict: Optional[Predict] = None,
              sync: Optional[Sync] = None, engine: str = DEFAULT_ENGINE) -> Summary:
        """Train until ``epochs`` more epochs have ended, or should_stop() is true after a
        batch; then evaluate on the test set (also after each epoch, finished or not).

        An unfinished epoch (from a run stopped early) is continued where it stopped and
        counts as the first of ``epochs``. ``step`` trains each batch and ``predict``
        evaluates, by default in this process (step.local_step with ``engine``; see
        step.BatchStep):
        scalargrad.train.parallel and scalargrad.train.distributed make ones that share the
        work (and ``sync``, where the optimizer's state and the latest parameter values live
        elsewhere while training: the model is refreshed before it is read). If
        one of those processes fails (WorkerFailed), the batches done are recorded as for a
        stop (evaluated in this process), then the error is raised again: the run can be
        saved as it stands, once its optimizer is whole (WorkerFailed.recovered).

        The first call plans the learning-rate schedule over its ``epochs`` (plan); InputError,
        before anything is trained, if the epochs asked for go past the end of a schedule
        that falls to 0 there (check_plan).

        Diverged if a loss is not finite or grows by more than DIVERGENCE_FACTOR over the
        first (model.LossGuard), or a weight is not finite at an epoch's end: the run is
        first put back as it stood after its last good step (the step before the one whose
        result diverged), by going back to the start of that epoch and training again up to
        it (the same batches, the same arithmetic), recorded as an epoch stopped there, and
        Diverged.rolled_back says so; False if no step of this call was good.
        """
        callbacks = callbacks or Callbacks()
        data, settings = self.data, self.settings
        started = time.perf_counter()
        ended, trained, training_seconds = 0, 0, 0.0
        train_accuracy, evaluation = None, None
        interrupted = False
        failure: Optional[WorkerFailed] = None

        def evaluate() -> Tuple[float, List[int]]:
            nonlocal failure, predict
            if sync is not None:
                sync.refresh_model()
            try:
                return accuracy(self.model, data.test_rows, data.test_labels, predict)
            except WorkerFailed as error:  # then evaluated in this process, for the record
                failure, predict = failure or error, None
                return accuracy(self.model, data.test_rows, data.test_labels)

        GRADIENT_PHASE.pending = False  # a stop asked for before this call is not this call's
        self.check_plan(epochs)
        self.plan(epochs)
        guarded = LossGuard(step or local_step(
            self.model, self.optimizer, data.train_rows, data.train_labels, settings.mode,
            engine, self.rate), math.log(CLASSES))
        # the run at the start of this call and of its last epochs
        marks: List[Optional[_Mark]] = []
        for _ in range(epochs):
            if should_stop():
                interrupted = True
                break
            marks = [*marks[-1:], _Mark.of(self, sync)]
            before = self.unfinished or EpochProgress()
            callbacks.epoch_started(self.epochs + 1, before.examples, len(data.train_rows))
            try:
                progress = self._epoch(guarded, callbacks.batch_done, should_stop, sync)
            except WorkerFailed as error:  # recorded as if stopped there, then raised again
                if error.progress is None:
                    raise
                failure, progress, predict = error, error.progress, None
            except Diverged as error:
                raise self._rolled_back(error, marks, guarded, callbacks, evaluate,
                                        sync) from None
            if progress.examples == before.examples:  # stopped (abandoned) or failed before
                interrupted = True                     # its first batch: nothing to record
                break
            trained += progress.examples - before.examples
            training_seconds += progress.seconds - before.seconds
            evaluation = evaluate()
            record = self._record(progress, evaluation[0], callbacks)
            train_accuracy = record.train_accuracy
            if not record.complete:
                interrupted = True
                break
            ended += 1
            if failure is not None:
                break
        if evaluation is None:  # nothing trained: the model as it came
            evaluation = evaluate()
        self.test_accuracy = evaluation[0]
        if failure is not None:
            raise failure
        return Summary(settings, evaluation[0], evaluation[1], train_accuracy, ended, trained,
                       self.epochs, self.examples, interrupted, time.perf_counter() - started,
                       training_seconds, list(self.history))

    def _epoch(self, step: BatchStep, on_batch: Callable[[BatchReport], None],
               should_stop: Callable[[], bool], sync: Optional["Sync"]) -> EpochProgress:
        """The epoch in progress, trained (on from where it stopped) until its end or a stop;
        Diverged (with the progress) if a weight is not finite once it ends."""
        data = self.data
        self.rng.setstate(self.epoch_start_state)
        progress = train_epoch(self.model, self.optimizer, data.train_rows, data.train_labels,
                               cast(int, self.settings.batch_size), self.rng, self.settings.mode, on_batch,
                               should_stop, resume=self.unfinished, step=step)
        if sync is not None:
            sync.refresh_model()
        try:
            check_weights(self.model.values(), progress.examples)
        except Diverged as error:
            error.progress = progress
            raise
        return progress

    def _record(self, progress: EpochProgress, test_accuracy: float,
                callbacks: Callbacks) -> EpochRecord:
        """Record how far the epoch in progress got (evaluated: test_accuracy), as the
        end of the epoch, or as an epoch stopped there."""
        before = self.unfinished or EpochProgress()
        self.examples += progress.examples - before.examples
        complete = progress.examples == len(self.data.train_rows)
        record = EpochRecord(self.epochs + 1, progress.examples, complete, progress.loss,
                             progress.accuracy, test_accuracy, progress.seconds)
        if self.unfinished is not None:
            self.history[-1] = record  # the same epoch, further along
        else:
            self.history.append(record)
        callbacks.epoch_ended(record)
        if complete:
            self.epochs, self.unfinished = self.epochs + 1, None
            self.epoch_start_state = self.rng.getstate()
        else:
            self.unfinished = progress
        return record

    def _rolled_back(self, error: Diverged, marks: List[Optional["_Mark"]], step: BatchStep,
                     callbacks: Callbacks, evaluate: Callable[[], Tuple[float, List[int]]],
                     sync: Optional[Sync]) -> Diverged:
        """The error, once the run is back at its last good step (if this call made one).

        The batch that diverged began error.progress.examples into the epoch; the update
        before it (the last batch's) made the weights that diverged, so the last good state
        is the one before that update: found by restoring the mark of the epoch it was in
        and training again up to its start."""
        diverged = Diverged(f"{error} of epoch {self.epochs + 1}")
        size, total = cast(int, self.settings.batch_size), len(self.data.train_rows)
        position = error.progress.examples if error.progress is not None else None
        mark = marks[-1]
        if mark is not None and position == mark.position and len(marks) > 1:
            mark, position = marks[0], total  # that update ended the epoch before
        if mark is None or position is None or position <= mark.position:
            return diverged  # no step of this call was good, or none can be gone back to
        target = (position - 1) // size * size  # where the update before it began
        mark.restore(self, sync)
        if target > mark.position:
            seen = [mark.position]
            callbacks.epoch_started(self.epochs + 1, mark.position, total)
            progress = self._epoch(step, lambda report: seen.__setitem__(0, report.examples),
                                   lambda: seen[0] >= target, sync)
            self._record(progress, evaluate()[0], callbacks)
            if sync is not None and not sync.pull():  # the optimizer's state, trained again
                return diverged
        if self.history:  # as train() leaves it: the last evaluation's
            self.test_accuracy = self.history[-1].test_accuracy
        diverged.rolled_back = True
        return diverged


class Sync(Protocol):
    """Where the optimizer's state, and maybe the latest parameter values, live elsewhere
    while training (scalargrad.train.parallel keeps them in shared memory):
    ``refresh_model`` puts the values into the run's model, ``pull`` puts them and the
    optimizer's state into the run's model and optimizer (False if they cannot be had
    whole), ``push`` puts the run's parameters and optimizer state back there."""

    def refresh_model(self) -> None: ...

    def pull(self) -> bool: ...

    def push(self) -> None: ...


@dataclass
class _Mark:
    """A training run's state at a point between batches, to go back to."""
    position: int  # examples into the epoch in progress
    values: List[float]
    optimizer: Dict[str, Any]
    epoch_start_state: tuple
    epochs: int
    examples: int
    unfinished: Optional[EpochProgress]
    history: List[EpochRecord]
    test_accuracy: Optional[float]

    @classmethod
    def of(cls, run: TrainingRun, sync: Optional[Sync]) -> Optional["_Mark"]:
        """The run's state now; None if the optimizer's cannot be had whole (sync)."""
        if sync is not None and not sync.pull():
            return None
        unfinished = run.unfinished
        return cls(unfinished.examples if unfinished else 0,
                   run.model.values(), run.optimizer.state_dict(),
                   run.epoch_start_state, run.epochs, run.examples, unfinished,
                   list(run.history), run.test_accuracy)

    def restore(self, run: TrainingRun, sync: Optional[Sync]) -> None:
        run.model.load(self.values)
        run.optimizer.load_state_dict(self.optimizer)
        run.epoch_start_state, run.epochs, run.examples = (self.epoch_start_state, self.epochs,
                                                           self.examples)
        run.unfinished, run.history = self.unfinished, list(self.history)
        run.test_accuracy = self.test_accuracy
        if sync is not None:
            sync.push()
