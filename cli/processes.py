"""How train-mnist shares its work between processes: ``--workers`` and ``--distributed``.

``Processes`` is what the command asks: whether this process is the one that prints and
saves (``root``), which batch step and should_stop to give the run (``training``), and,
under MPI, that every rank leaves together. Ranks agree before training that every one of
them is ready (``agree``): a rank that cannot start (a file missing on its machine) makes
the others stop with its error instead of waiting for it. Divergence, a stop request
and the end of training are reached by all ranks together, after the same batch, and end
them normally; any other error (a second Ctrl-C, say) aborts them all, since the others
may be waiting for this rank in a collective.
"""
from __future__ import annotations

import contextlib
import sys
import traceback
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, Union

import click

from scalargrad.errors import Diverged, ScalargradError
from scalargrad.train.distributed import world
from scalargrad.train.gradient import engine_used
from scalargrad.train.loop import TrainingRun
from scalargrad.train.parallel import cores
from scalargrad.train.choice import FasterStep
from scalargrad.train.sharing import AUTO, sharing

from .errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, BadInput, Failure, failure_for


MAX_WORKERS = 256  # more processes than this on one machine is a mistake, and forking
                  # thousands would exhaust its memory


class WorkerCount(click.ParamType):
    """A whole number from 1 to MAX_WORKERS, or 'auto': the faster, measured while the run
    trains, of one process and one per core (scalargrad.train.sharing)."""

    name = "N|auto"

    def convert(self, value: Any, param: Optional[click.Parameter],
                ctx: Optional[click.Context]) -> Union[int, str]:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif str(value).strip().lower() == AUTO:
            return AUTO
        else:
            try:
                number = int(str(value))
            except ValueError:
                self.fail(f"{value!r} is neither a whole number nor 'auto'", param, ctx)
        if number < 1:
            self.fail(f"{number} is not a whole number >= 1", param, ctx)
        if number > MAX_WORKERS:
            self.fail(f"{number} is more than {MAX_WORKERS} processes (this machine has "
                      f"{cores()} cores: 'auto' measures one process against one per core)",
                      param, ctx)
        return number


class Processes:
    """One process (workers 1), shared-memory workers on this machine, or an MPI rank."""

    def __init__(self, workers: Union[int, str], distributed: bool,
                 compiled: bool = True) -> None:
        if distributed and workers != 1:
            raise click.UsageError("--distributed runs one process per MPI rank: give "
                                   "--workers to one or the other, not both")
        self.workers = workers
        self.asked = "compiled" if compiled else "recording"  # the engine asked for
        self.comm = world() if distributed else None
        self.root = self.comm is None or self.comm.Get_rank() == 0
        self.together = False  # every rank is known to be leaving at the same point
        self.chooser: Optional[FasterStep] = None  # with --workers auto, while it trains

    def agree(self, prepare: Callable[[], Any]) -> Any:
        """prepare()'s result; under MPI, once every rank has prepared, the first rank's
        error (in rank order) on all of them."""
        if self.comm is None:
            return prepare()
        error: Optional[BaseException] = None
        result = None
        try:
            result = prepare()
        except (ScalargradError, click.ClickException) as caught:
            error = caught
        reports = self.comm.allgather(None if error is None else _report(error))
        failed = [(rank, report) for rank, report in enumerate(reports) if report is not None]
        if failed:
            rank, (code, message) = failed[0]
            self.together = True
            if rank == self.comm.Get_rank() and error is not None:
                raise error
            raise _failure(code, f"rank {rank}: {message}")
        return result

    def engine(self, run: TrainingRun) -> str:
        """How the gradients are computed: "compiled" code, or the "recording" engine."""
        return engine_used(run.settings.mode, self.asked)

    def described(self) -> str:
        """By how many processes: ``2 processes``, ``auto (1 process: 2 processes were
        0.60x)``; once training has started, for --workers auto."""
        if self.comm is not None:
            return f"{self.comm.Get_size()} MPI ranks"
        if self.workers != AUTO:
            return f"{self.workers} process{'es' if self.workers != 1 else ''}"
        if self.chooser is None:  # nothing to share the batches with, or nothing to share
            return f"auto (1 process: {'1 core' if cores() < 2 else 'batches of 1'})"
        return f"auto ({self.chooser.describe()})"

    def auto_report(self) -> Optional[Dict[str, Any]]:
        """What --workers auto chose and measured, for --json (None without it)."""
        if self.workers != AUTO:
            return None
        chooser = self.chooser
        if chooser is None:
            return {"processes": 1, "speedup": None, "trials": 0, "steps": None}
        return {"processes": chooser.ways[chooser.chosen].processes,
                "speedup": chooser.speedup, "trials": chooser.trials,
                "steps": {str(way.processes): steps
                          for way, steps in zip(chooser.ways, chooser.steps_by)}}

    @contextlib.contextmanager
    def training(self, run: TrainingRun,
                 should_stop: Callable[[], bool]) -> Iterator[Dict[str, Any]]:
        """The keyword arguments of run.train that share its work (scalargrad.train.sharing);
        under MPI, every rank is known to leave together once training ends or diverges."""
        with sharing(run, should_stop, self.workers, self.comm, self.asked) as work:
            if isinstance(work["step"], FasterStep):
                self.chooser = work["step"]
            if self.comm is None:
                yield work
                return
            try:
                yield work
            except Diverged:
                self.together = True
                raise
            self.together = True

    @contextlib.contextmanager
    def leaving_together(self) -> Iterator[None]:
        """Under MPI, errors end every rank: rank 0 shows the error, the others exit
        silently, all with the same status; an error that may have hit this rank alone
        aborts them all."""
        if self.comm is None:
            yield
            return
        try:
            yield
        except click.exceptions.Exit:
            raise
        except BaseException as error:
            code = _exit_code(error)
            shown = failure_for(error) if isinstance(error, ScalargradError) else error
            if isinstance(shown, click.ClickException):
                if self.root:
                    shown.show()
            elif not isinstance(shown, KeyboardInterrupt):
                traceback.print_exc()  # a bug: every rank shows where
            sys.stdout.flush()
            sys.stderr.flush()
            if not self.together:
                self.comm.Abort(code)
            raise SystemExit(code) from None


def _report(error: BaseException) -> Tuple[int, str]:
    failure = failure_for(error) if isinstance(error, ScalargradError) else error
    assert isinstance(failure, click.ClickException)
    return failure.exit_code, failure.format_message()


def _failure(code: int, message: str) -> Failure:
    """Another rank's error, as this rank raises it: bad input (2) or a failure (1)."""
    return BadInput(message) if code == EXIT_BAD_INPUT else Failure(message)


def _exit_code(error: BaseException) -> int:
    if isinstance(error, click.ClickException):
        return error.exit_code
    if isinstance(error, ScalargradError):
        return failure_for(error).exit_code
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(error, SystemExit) and isinstance(error.code, int):
        return error.code
    return EXIT_FAILED

