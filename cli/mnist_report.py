"""train-mnist --report: the run's page (scalargrad.view.training_report), written after
each epoch while the run trains and once more at its end, atomically each time."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from scalargrad.output_file import write_atomically
from scalargrad.train import mnist
from scalargrad.train.loop import Callbacks, EpochRecord, Summary, TrainingRun
from scalargrad.train.metrics import MetricsRecorder
from scalargrad.view import training_report

DIGITS_SHOWN = 24  # misclassified test digits drawn in the report
SIDE = 14          # at 14x14, whatever size was trained on


class ReportWriter(Callbacks):
    """Writes the report at each epoch's end (listen after the recorder, whose steps it
    shows). A failure to write is kept for the end, and does not stop the run. ``engine()``
    says how the gradients are computed, as each page is written (--workers auto may
    change it)."""

    def __init__(self, path: str, run: TrainingRun, recorder: MetricsRecorder,
                 engine: Callable[[], str], last_epoch: int) -> None:
        self.path, self.run, self.recorder = path, run, recorder
        self.engine, self.last_epoch = engine, last_epoch
        self.error: Optional[str] = None

    def _write(self, outcome: Optional[training_report.Outcome]) -> None:
        run = self.run
        so_far = training_report.RunSoFar(run.settings, self.engine(), self.last_epoch,
                                          list(run.history), self.recorder.steps.items(),
                                          len(run.data.train_rows), outcome)
        try:
            write_atomically(self.path, training_report.page(so_far))
            self.error = None
        except OSError as error:
            self.error = f"cannot write the report to {self.path}: {error.strerror or error}"

    def epoch_ended(self, record: EpochRecord) -> None:
        self._write(None)

    def finish(self, summary: Summary, test_images: Any) -> Optional[str]:
        """The final page; the error to report (after the summary) if it could not be written."""
        labels = self.run.data.test_labels
        wrong = [i for i, (t, p) in enumerate(zip(labels, summary.predictions)) if t != p]
        wrong = wrong[:DIGITS_SHOWN]
        pixels: Sequence[Sequence[float]] = (
            mnist.downsample(test_images[wrong], SIDE).tolist() if wrong else [])
        outcome = training_report.Outcome(
            summary.test_accuracy, labels, summary.predictions, list(zip(wrong, pixels)), SIDE,
            summary.seconds, summary.examples_per_second, summary.interrupted)
        self._write(outcome)
        return self.error
