"""A training run's curves as chart panels: loss, and train and test accuracy, against epochs.

Fed by the run's history (scalargrad.train.loop's EpochRecord) and the steps its metrics
recorder keeps (scalargrad.train.metrics.MetricsRecorder.steps); drawn by chart_svg.py and
by the command line's text charts.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ..train.loop import EpochRecord
from .chart import Dots, Line, Panel

LOSS_COLOUR, TRAIN_COLOUR, TEST_COLOUR = "#1f6fb4", "#e07b00", "#2a9d3a"


def curves(history: Sequence[EpochRecord], steps: Sequence[Tuple[float, float, float]] = (),
           epoch_size: Optional[int] = None) -> List[Panel]:
    """Two panels against epochs: loss, and accuracy (train and test).

    Each epoch's end is a dot, from the run's history (a resumed run's earlier epochs
    included; an epoch stopped early sits where it stopped, given the epoch_size); the
    steps (epoch as a fraction, running loss, running accuracy) draw the curves within
    epochs, as MetricsRecorder.steps keeps them.
    """
    ends = [(float(r.epoch) if r.complete or not epoch_size
             else r.epoch - 1 + r.examples / epoch_size, r) for r in history]
    loss = Panel("Loss", "epoch", "cross-entropy", [
        Line([(x, y) for x, y, _ in steps], "running loss, this epoch", LOSS_COLOUR),
        Dots([(x, r.loss) for x, r in ends], "epoch's loss", LOSS_COLOUR)])
    accuracy = Panel("Accuracy", "epoch", "accuracy", [
        Line([(x, a) for x, _, a in steps], "running train accuracy", TRAIN_COLOUR),
        Dots([(x, r.train_accuracy) for x, r in ends], "epoch's train accuracy", TRAIN_COLOUR),
        Dots([(x, r.test_accuracy) for x, r in ends], "test accuracy", TEST_COLOUR)],
        percent_y=True)
    return [loss, accuracy]
