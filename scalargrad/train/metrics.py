"""A training run's measurements over time: JSON lines while it trains, curves after.

``MetricsRecorder`` listens to a run (it is its Callbacks). Every ``every`` steps, and at
the end of each epoch, it writes one JSON object a line, flushed at once (a run stopped or
crashed keeps what it logged):

    {"kind": "step", "step": 120, "epoch": 3, "examples": 123840, "loss": 0.41,
     "accuracy": 0.88, "examples_per_second": 14210.5, "lr": 0.05}
    {"kind": "epoch", "step": 1875, "epoch": 1, "examples": 60000, "loss": 0.38,
     "accuracy": 0.89, "test_accuracy": 0.896, "complete": true, "seconds": 5.9,
     "examples_per_second": 10169.5, "lr": 0.05}

``step`` counts batches since the run began and ``examples`` the examples trained, over
all epochs (so a resumed run goes on counting where it stopped); ``loss`` and ``accuracy``
are the epoch's running means, as the progress bar shows them; ``examples_per_second``
is measured since the previous line of the epoch.

For charts (scalargrad.view.training_chart) it also keeps each step's own loss and accuracy,
those of its batch alone (thinned, series.py), against the epoch as a fraction: one series
over the whole run, continuous across epochs, as TensorBoard plots a loss per step. A
batch's values come from the running means before and after it; the first batch after
a run resumes in the middle of an epoch has no "before", and is left out.
"""
from __future__ import annotations

import json
import math
import time
from typing import IO, Any, Dict, List, Optional, Tuple

from ..errors import DataError
from .loop import Callbacks, EpochRecord
from ..series import Thinned
from .model import BatchReport



class MetricsRecorder(Callbacks):
    """See the module docstring. ``out`` is a text file to write the lines to, or None."""

    def __init__(self, batch_size: int, lr: float, every: int = 10,
                 out: Optional[IO[str]] = None) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.batch_size, self.lr, self.every, self.out = batch_size, lr, every, out
        self.records: List[Dict[str, Any]] = []  # epoch records (step records are only written)
        # (epoch as a fraction, the batch's loss, the batch's accuracy), each step
        self.steps: Thinned[Tuple[float, float, float]] = Thinned(2000)
        self._epoch, self._total = 1, 1
        self._since: Tuple[float, int] = (0.0, 0)  # clock and examples at the last line
        self._before: Optional[BatchReport] = None  # the running means before this batch

    def _step(self, epoch: int, examples: int) -> int:
        per_epoch = math.ceil(self._total / self.batch_size)
        return (epoch - 1) * per_epoch + math.ceil(examples / self.batch_size)

    def _speed(self, examples: int) -> Optional[float]:
        clock, before = self._since
        seconds = time.perf_counter() - clock
        self._since = (time.perf_counter(), examples)
        return (examples - before) / seconds if seconds > 0 else None

    def _write(self, record: Dict[str, Any]) -> None:
        if self.out is not None:
            self.out.write(json.dumps(record) + "\n")
            self.out.flush()

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
            self._write({"kind": "step", "step": step, "epoch": epoch,
                         "examples": (epoch - 1) * total + report.examples,
                         "loss": report.loss, "accuracy": report.accuracy,
                         "examples_per_second": self._speed(report.examples), "lr": self.lr})

    def epoch_ended(self, record: EpochRecord) -> None:
        total = self._total
        record_line = {
            "kind": "epoch", "step": self._step(record.epoch, record.examples),
            "epoch": record.epoch, "examples": (record.epoch - 1) * total + record.examples,
            "loss": record.loss, "accuracy": record.train_accuracy,
            "test_accuracy": record.test_accuracy, "complete": record.complete,
            "seconds": record.seconds,
            "examples_per_second": record.examples / record.seconds if record.seconds else None,
            "lr": self.lr}
        self.records.append(record_line)
        self._write(record_line)


def read_metrics(path: str) -> List[Dict[str, Any]]:
    """The records of a metrics file, in order; DataError naming the line if one is not a
    JSON object."""
    records = []
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if not isinstance(record, dict):
                    raise DataError(f"{path}, line {number}: not a JSON object")
                records.append(record)
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    return records


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
