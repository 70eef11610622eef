"""scalargrad.view.training_chart: a run's curves as chart panels."""
import pytest

from scalargrad.train.loop import EpochRecord
from scalargrad.view.chart import Dots, Line, smoothed
from scalargrad.view.training_chart import curves, smoothing


def test_curves_are_steps_raw_and_smoothed_and_test_accuracy_joined():
    history = [EpochRecord(1, 50, True, 0.9, 0.7, 0.75, 1.0),
               EpochRecord(2, 20, False, 0.5, 0.8, 0.85, 0.4)]
    steps = [(k / 10, 2.0 - k / 20, k / 30) for k in range(1, 15)]
    loss, accuracy = curves(history, steps, 50)
    raw, smooth = loss.series
    assert raw.faint and raw.points == [(x, y) for x, y, _ in steps]
    assert not smooth.faint and smooth.points == smoothed(raw.points, smoothing(14))
    raw, smooth, test = accuracy.series
    assert raw.faint and raw.points == [(x, a) for x, _, a in steps] and accuracy.percent_y
    assert isinstance(smooth, Line) and smooth.points == smoothed(raw.points, smoothing(14))
    # test accuracy after each epoch (one stopped early sits where it stopped), joined
    assert isinstance(test, Dots) and test.joined and test.shape != "circle"
    assert test.points == [(1.0, 0.75), (1.4, 0.85)]


def test_smoothing_grows_with_the_steps():
    assert smoothing(0) == smoothing(10) == 0.0
    assert 0 < smoothing(100) < smoothing(2000) < 1
    assert smoothing(2000) == pytest.approx(1 - 25 / 2000)
