"""A training run's curves as chart panels: loss, and train and test accuracy, against epochs.

As TensorBoard and W&B plot them: the loss and the train accuracy of every step (its batch
alone), one series over the whole run, continuous across epochs, raw and faint under a
smoothed line; the test accuracy after each epoch as squares joined by a line. Fed by the
run's history (scalargrad.train.loop's EpochRecord) and the steps its metrics recorder keeps
(scalargrad.train.metrics.MetricsRecorder.steps); drawn by chart_svg.py and by the command
line's text charts.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ..train.loop import EpochRecord
from .chart import Dots, Line, Panel, smoothed

LOSS_COLOUR, TRAIN_COLOUR, TEST_COLOUR = "#1f6fb4", "#e07b00", "#2a9d3a"
SMOOTHED_OVER = 25  # a chart's smoothing averages about 1/SMOOTHED_OVER of its steps


def smoothing(count: int) -> float:
    """The weight of the moving average for a chart of ``count`` steps."""
    return max(0.0, 1.0 - SMOOTHED_OVER / count) if count else 0.0


def curves(history: Sequence[EpochRecord], steps: Sequence[Tuple[float, float, float]] = (),
           epoch_size: Optional[int] = None) -> List[Panel]:
    """Two panels against epochs: loss, and accuracy (train and test).

    ``steps`` are (epoch as a fraction, the step's loss, the step's accuracy), as
    MetricsRecorder.steps keeps them; the test accuracy comes from the run's history (a
    resumed run's earlier epochs included; an epoch stopped early sits where it stopped,
    given the epoch_size).
    """
    ends = [(float(r.epoch) if r.complete or not epoch_size
             else r.epoch - 1 + r.examples / epoch_size, r) for r in history]
    losses = [(x, loss) for x, loss, _ in steps]
    accuracies = [(x, accuracy) for x, _, accuracy in steps]
    weight = smoothing(len(steps))
    loss = Panel("Loss", "epoch", "cross-entropy", [
        Line(losses, "each step (raw)", LOSS_COLOUR, faint=True),
        Line(smoothed(losses, weight), "each step, smoothed", LOSS_COLOUR)])
    accuracy = Panel("Accuracy", "epoch", "accuracy", [
        Line(accuracies, "", TRAIN_COLOUR, faint=True),
        Line(smoothed(accuracies, weight), "train, each step, smoothed", TRAIN_COLOUR),
        Dots([(x, r.test_accuracy) for x, r in ends], "test (after each epoch)", TEST_COLOUR,
             shape="square", joined=True)],
        percent_y=True)
    return [loss, accuracy]
