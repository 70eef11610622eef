"""scalargrad.view.training_chart: a run's curves as chart panels."""
import math

from scalargrad.train.loop import EpochRecord
from scalargrad.view.chart import Dots, Line
from scalargrad.view.training_chart import curves


def test_curves_are_loss_and_accuracy_against_epochs():
    history = [EpochRecord(1, 50, True, 0.9, 0.7, 0.75, 1.0),
               EpochRecord(2, 20, False, 0.5, 0.8, 0.85, 0.4)]
    loss, accuracy = curves(history, [(0.0, math.nan, math.nan), (0.5, 1.2, 0.5)], 50)
    (x0, y0), second = loss.series[0].points
    assert x0 == 0.0 and math.isnan(y0) and second == (0.5, 1.2)
    assert isinstance(loss.series[1], Dots) and loss.series[1].points == [(1.0, 0.9), (1.4, 0.5)]
    assert accuracy.percent_y and isinstance(accuracy.series[0], Line)
    assert [s.points for s in accuracy.series[1:]] == [[(1.0, 0.7), (1.4, 0.8)],
                                                      [(1.0, 0.75), (1.4, 0.85)]]
