"""A training run's measurements over time: JSON lines while it trains, curves after.

``MetricsRecorder`` listens to a run (it is its Callbacks). Every ``every`` steps, and at
the end of each epoch, it writes one JSON object a line, flushed at once (a run stopped or
crashed keeps what it logged):

    {"kind": "step", "run": "5f0c2a9e41d7b803", "step": 120, "epoch": 3,
     "examples": 123840, "loss": 0.41, "accuracy": 0.88, "examples_per_second": 14210.5,
     "lr": 0.05}
    {"kind": "epoch", "run": "5f0c2a9e41d7b803", "step": 1875, "epoch": 1,
     "examples": 60000, "loss": 0.38, "accuracy": 0.89, "test_accuracy": 0.896,
     "complete": true, "seconds": 5.9, "examples_per_second": 10169.5, "lr": 0.05}

``run`` is the run's id (scalargrad.train.loop: a resumed run keeps it), ``step`` counts batches
since the run began and ``examples`` the examples trained, over all epochs (so a resumed
run goes on counting where it stopped); ``loss`` and ``accuracy``
are the epoch's running means, as the progress bar shows them; ``examples_per_second``
is measured since the previous line of the epoch; ``lr`` is the learning rate of the line's
step (of the epoch's last step, for an epoch), as the run's schedule gave it.

For charts (scalargrad.view.training_chart) it also keeps each step's own loss and accuracy,
those of its batch alone (thinned, series.py), against the epoch as a fraction: one series
over the whole run, continuous across epochs, as TensorBoard plots a loss per step. A
batch's values come from the running means before and after it; the first batch after
a run resumes in the middle of an epoch has no "before", and is left out.

A resumed run appends to its log only if the log is its own: ``check_continues`` accepts a
file whose last record is of the same run at the same step (or an empty or missing file),
and refuses, naming the file and what it found, a file that is not a metrics log (a model
file, random bytes) or whose last record is of another run or another step.
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from ..errors import DataError
from .loop import Callbacks, EpochRecord
from ..series import Thinned
from .model import BatchReport



class MetricsRecorder(Callbacks):
    """See the module docstring. ``out`` is a text file to write the lines to, or None."""

    def __init__(self, batch_size: int, lr: Union[float, Callable[[int], Optional[float]]],
                 every: int = 10, out: Optional[IO[str]] = None,
                 run: Optional[str] = None) -> None:
        """``lr`` is the learning rate, or the rate of the step taken after so many steps
        (TrainingRun.rate, for a schedule; None falls back to nothing better: null)."""
        if every < 1:
            raise ValueError("every must be at least 1")
        self.batch_size, self.lr, self.every, self.out = batch_size, lr, every, out
        self.run = run
        self.failed: Optional[OSError] = None  # why the lines stopped being written
        self.records: List[Dict[str, Any]] = []  # epoch records (step records are only written)
        # (epoch as a fraction, the batch's loss, the batch's accuracy), each step
        self.steps: Thinned[Tuple[float, float, float]] = Thinned(2000)
        self._epoch, self._total = 1, 1
        self._since: Tuple[float, int] = (0.0, 0)  # clock and examples at the last line
        self._before: Optional[BatchReport] = None  # the running means before this batch

    def _step(self, epoch: int, examples: int) -> int:
        per_epoch = math.ceil(self._total / self.batch_size)
        return (epoch - 1) * per_epoch + math.ceil(examples / self.batch_size)

    def _lr(self, step: int) -> Optional[float]:
        """The learning rate of step number ``step`` (counted from 1)."""
        return self.lr(max(step - 1, 0)) if callable(self.lr) else self.lr

    def _speed(self, examples: int) -> Optional[float]:
        clock, before = self._since
        seconds = time.perf_counter() - clock
        self._since = (time.perf_counter(), examples)
        return (examples - before) / seconds if seconds > 0 else None

    def _write(self, record: Dict[str, Any]) -> None:
        """Write a line; if the file cannot be written (a full disk), stop writing and keep
        the error (``failed``) for the end of the run, which goes on."""
        if self.out is not None:
            try:
                self.out.write(json.dumps(record) + "\n")
                self.out.flush()
            except OSError as error:
                self.failed, self.out = error, None

    def epoch_started(self, epoch: int, examples: int, total: int) -> None:
        self._epoch, self._total = epoch, total
        self._since = (time.perf_counter(), examples)
        self._before = BatchReport(0, 0.0, 0.0) if examples == 0 else None

    def batch_done(self, report: BatchReport) -> None:
        epoch, total = self._epoch, self._total
        before, self._before = self._before, report
        if before is not None and report.examples > before.examples:
            size = report.examples - before.examples
            loss = (report.loss * report.examples - before.loss * before.examples) / size
            right = round(report.accuracy * report.examples - before.accuracy * before.examples)
            self.steps.add((epoch - 1 + report.examples / total, loss, right / size))
        step = self._step(epoch, report.examples)
        if step % self.every == 0:
            self._write({"kind": "step", "run": self.run, "step": step, "epoch": epoch,
                         "examples": (epoch - 1) * total + report.examples,
                         "loss": report.loss, "accuracy": report.accuracy,
                         "examples_per_second": self._speed(report.examples),
                         "lr": self._lr(step)})

    def epoch_ended(self, record: EpochRecord) -> None:
        total = self._total
        record_line = {
            "kind": "epoch", "run": self.run, "step": self._step(record.epoch, record.examples),
            "epoch": record.epoch, "examples": (record.epoch - 1) * total + record.examples,
            "loss": record.loss, "accuracy": record.train_accuracy,
            "test_accuracy": record.test_accuracy, "complete": record.complete,
            "seconds": record.seconds,
            "examples_per_second": record.examples / record.seconds if record.seconds else None,
            "lr": self._lr(self._step(record.epoch, record.examples))}
        self.records.append(record_line)
        self._write(record_line)


MAX_LINE_BYTES = 64 * 1024  # far more than a record takes


def _records(path: str, refused: str = "") -> Iterator[Tuple[int, Dict[str, Any]]]:
    """(line number, record) for each record of a metrics file; DataError naming the line
    where the file is not a metrics log (not UTF-8 text, not a JSON object, too long),
    with ``refused`` added to say what that means."""
    try:
        with open(path, "rb") as lines:
            number = 0
            while True:
                raw = lines.readline(MAX_LINE_BYTES + 1)
                if not raw:
                    return
                number += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise DataError(f"{path}, line {number}: longer than {MAX_LINE_BYTES:,} "
                                    f"bytes{refused}")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise DataError(f"{path}, line {number}: not UTF-8 text{refused}") from None
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    record = None
                if not isinstance(record, dict):
                    raise DataError(f"{path}, line {number}: not a JSON object{refused}")
                yield number, record
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None


def read_metrics(path: str) -> List[Dict[str, Any]]:
    """The records of a metrics file, in order; DataError naming the line if one is not a
    JSON object."""
    return [record for _, record in _records(path)]


def last_record(path: str) -> Optional[Dict[str, Any]]:
    """The last record of a metrics log (None if it is empty or missing); DataError naming
    the first line that is not one of MetricsRecorder's records."""
    if not os.path.lexists(path):
        return None
    refused = ": not a metrics log, so it is not appended to; give --metrics another file"
    last = None
    for number, record in _records(path, refused):
        if not (record.get("kind") in ("step", "epoch") and type(record.get("step")) is int
                and type(record.get("examples")) is int):
            raise DataError(f"{path}, line {number}: not a record of kind step or epoch, with "
                            f"a step and examples{refused}")
        last = record
    return last


def check_continues(path: str, run: Optional[str], step: int, examples: int) -> None:
    """DataError unless a resumed run (its id, the steps and examples it has trained) may
    append to the metrics log at path: the file is missing or empty, or its last record
    is this run's at this step. Records written before runs had ids have none (null): they
    match a run saved without one."""
    last = last_record(path)
    if last is None:
        return
    found = (last.get("run"), last["step"], last["examples"])
    if found == (run, step, examples):
        return
    if last.get("run") != run:
        where = f"of another run (run {last.get('run')}, step {last['step']})"
    else:
        where = (f"at step {last['step']} ({last['examples']:,} examples) of this run, which "
                 f"was saved at step {step} ({examples:,} examples): the log went on after the "
                 "save")
    raise DataError(f"{path}: its last record is {where}, not the run being resumed (run "
                    f"{run}, step {step}): appending would mix two runs; give --metrics "
                    "another file")


class Broadcast(Callbacks):
    """Several callbacks as one: the run tells each in turn (a display and a recorder)."""

    def __init__(self, *listeners: Callbacks) -> None:
        self.listeners = listeners

    def epoch_started(self, epoch: int, examples: int, total: int) -> None:
        for listener in self.listeners:
            listener.epoch_started(epoch, examples, total)

    def batch_done(self, report: BatchReport) -> None:
        for listener in self.listeners:
            listener.batch_done(report)

    def epoch_ended(self, record: EpochRecord) -> None:
        for listener in self.listeners:
            listener.epoch_ended(record)
