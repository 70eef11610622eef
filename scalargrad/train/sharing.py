"""Who computes a run's batches: this process, worker processes on this machine
(scalargrad.train.parallel) or MPI ranks (scalargrad.train.distributed), each with the
gradient engine gradient.make_gradient chooses.

``sharing`` gives the keyword arguments of TrainingRun.train (should_stop, step, and where
the work is shared predict and sync) for the length of a ``with`` block: workers are
started when it is entered and stopped, their optimizer state gathered, when it is left
(MPI ranks gather theirs likewise).

``workers="auto"`` starts a worker per core (at most one per example of a batch) and trains
with whichever is faster, measured while the run trains: one process or the workers
(scalargrad.train.choice). Both ways step the run's one model; the optimizer's state is
handed over when the way changes (the workers' ``push``, ``pull``).
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator, List, Optional, Union, cast

from .choice import FasterStep, Way
from .distributed import ZeroTraining
from .gradient import DEFAULT_ENGINE, GradientFactory, factory
from .loop import TrainingRun
from .parallel import SharedMemoryTraining, cores
from .model import Rows
from .step import local_step, step_with

AUTO = "auto"
Chooser = Callable[[Way, Way], FasterStep]


@contextlib.contextmanager
def sharing(run: TrainingRun, should_stop: Callable[[], bool], workers: Union[int, str] = 1,
            comm: Any = None, engine: str = DEFAULT_ENGINE,
            choose: Optional[Chooser] = None) -> Iterator[Dict[str, Any]]:
    """run.train's keyword arguments for training in ``workers`` processes on this machine,
    or as this rank of the MPI communicator ``comm`` (every rank agreeing on should_stop),
    with gradients by ``engine`` ("compiled" or "recording"; forward mode records), each
    step at the run's scheduled learning rate (TrainingRun.rate). ``workers`` "auto": the
    faster of one process and a worker per core, chosen by ``choose`` (by default a
    FasterStep made with its defaults; the step given is the one it makes)."""
    make_gradient = factory(engine)
    if workers == AUTO:
        workers = min(cores(), cast(int, run.settings.batch_size))
        if workers > 1:
            with _faster(run, should_stop, workers, make_gradient,
                         choose or FasterStep) as work:
                yield work
            return
    if isinstance(workers, str):
        raise ValueError(f"workers must be a whole number or {AUTO!r}, not {workers!r}")
    if comm is not None:
        training = ZeroTraining.for_run(run, comm, make_gradient)
        yield {"should_stop": training.agreed(should_stop), "step": training.step,
               "predict": training.predict, "sync": training}
        training.pull()  # every rank leaves together, its run's optimizer whole
    elif workers > 1:
        with SharedMemoryTraining.for_run(run, workers, make_gradient) as shared:
            yield {"should_stop": should_stop, "step": shared.step,
                   "predict": shared.predict, "sync": shared}
    else:
        data = run.data
        yield {"should_stop": should_stop,
               "step": local_step(run.model, run.optimizer, data.train_rows, data.train_labels,
                                  run.settings.mode, engine, run.rate)}


@contextlib.contextmanager
def _faster(run: TrainingRun, should_stop: Callable[[], bool], workers: int,
            make_gradient: GradientFactory, choose: Chooser) -> Iterator[Dict[str, Any]]:
    """run.train's keyword arguments for training by the faster of one process and
    ``workers`` processes; one model, its gradient made once (the workers').

    The run's optimizer holds the state while one process steps, the workers' slices while
    they do; each way takes it over from the other (push, pull) when it takes over the run.
    """
    with SharedMemoryTraining.for_run(run, workers, make_gradient) as shared:
        data = run.data
        alone = Way(1, step_with(shared.gradient, run.optimizer, data.train_rows,
                                 data.train_labels, run.rate), shared.pull)
        chooser = choose(alone, Way(workers, shared.step, shared.push))
        either = _Either(chooser, shared)
        yield {"should_stop": should_stop, "step": chooser, "predict": either.predict,
               "sync": either}
        if chooser.active == 0:  # leaving gathers the slices' state: make it the run's
            shared.push()


class _Either:
    """TrainingRun.train's sync and predict for a FasterStep over one process and workers:
    those of the way in use."""

    def __init__(self, chooser: FasterStep, shared: SharedMemoryTraining) -> None:
        self.chooser, self.shared = chooser, shared

    def refresh_model(self) -> None:
        if self.chooser.active == 1:
            self.shared.refresh_model()

    def pull(self) -> bool:
        return self.shared.pull() if self.chooser.active == 1 else True

    def push(self) -> None:
        if self.chooser.active == 1:
            self.shared.push()

    def predict(self, rows: Rows) -> List[int]:
        if self.chooser.active == 1:
            return self.shared.predict(rows)
        return self.shared.model.predict(rows)
