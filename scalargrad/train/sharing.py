"""Who computes a run's batches: this process, worker processes on this machine
(scalargrad.train.parallel) or MPI ranks (scalargrad.train.distributed), each with the
gradient engine gradient.make_gradient chooses.

``sharing`` gives the keyword arguments of TrainingRun.train (should_stop, step, and where
the work is shared predict and sync) for the length of a ``with`` block: workers are
started when it is entered and stopped, their optimizer state gathered, when it is left
(MPI ranks gather theirs likewise).
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, Iterator

from .distributed import ZeroTraining
from .gradient import DEFAULT_ENGINE, factory
from .loop import TrainingRun
from .parallel import SharedMemoryTraining
from .step import local_step


@contextlib.contextmanager
def sharing(run: TrainingRun, should_stop: Callable[[], bool], workers: int = 1,
            comm: Any = None, engine: str = DEFAULT_ENGINE) -> Iterator[Dict[str, Any]]:
    """run.train's keyword arguments for training in ``workers`` processes on this machine,
    or as this rank of the MPI communicator ``comm`` (every rank agreeing on should_stop),
    with gradients by ``engine`` ("compiled" or "recording"; forward mode records), each
    step at the run's scheduled learning rate (TrainingRun.rate)."""
    make_gradient = factory(engine)
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
