"""scalargrad.view.chart: ranges, ticks and tick labels of chart panels."""
import math

import pytest

from scalargrad.view.chart import Dots, Line, Panel, log_ticks, smoothed, tick_label, ticks


def test_ticks_are_round_and_within_the_range():
    assert ticks(0.0, 10.0, 5) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert ticks(0.013, 0.087, 4) == pytest.approx([0.02, 0.04, 0.06, 0.08])
    assert ticks(-3.0, 7.0, 2) == [0.0, 5.0]
    assert ticks(-1e-9, 1e-9, 2) == pytest.approx([-1e-9, 0.0, 1e-9])
    assert ticks(5.0, 5.0, 4) == [5.0]


def test_log_ticks_are_powers_of_ten_or_steps_within_a_decade():
    assert log_ticks(-1.3, 2.6, 5) == [-1.0, 0.0, 1.0, 2.0]
    assert log_ticks(-12.0, 12.0, 5) == [-12.0, -7.0, -2.0, 3.0, 8.0]
    within = [10 ** t for t in log_ticks(math.log10(2.0), math.log10(9.0), 4)]
    assert within == pytest.approx([2.0, 5.0])
    # fewer than three decades: 1, 2 and 5 times each power of ten, evenly apart on the axis
    across = [10 ** t for t in log_ticks(math.log10(0.2), math.log10(5.0), 4)]
    assert across == pytest.approx([0.2, 0.5, 1.0, 2.0, 5.0])


def test_a_log_axis_ends_at_ticks_around_the_data():
    panel = Panel("loss", "step", "loss", [Line([(0, 4.1), (1, 0.23)], "loss", "red")],
                  log_y=True)
    low, high = panel.y_range()
    values = panel.ticks_y(5)
    assert values[0] == pytest.approx(0.2) and values[-1] == pytest.approx(5.0)
    assert 10 ** low < 0.2 < 0.23 and 4.1 < 5.0 < 10 ** high


def test_tick_labels_of_large_numbers_tell_the_ticks_apart():
    values = [1e15 + k for k in (0, 2, 4, 6)]
    labels = [tick_label(values, v) for v in values]
    assert len(set(labels)) == 4 and [float(t) for t in labels] == values


def test_tick_labels_have_the_decimals_that_write_them_exactly():
    assert [tick_label([0, 0.5, 1], v) for v in (0, 0.5, 1)] == ["0.0", "0.5", "1.0"]
    assert tick_label([0.1, 0.2, 0.30000000000000004], 0.30000000000000004) == "0.3"
    assert [tick_label([0, 20, 40], v) for v in (0, 20, 40)] == ["0", "20", "40"]
    assert tick_label([1e6, 2e6], 2e6) == "2e+06"


def test_ranges_leave_out_what_cannot_be_drawn():
    panel = Panel("t", "x", "y", [Line([(0, 1), (1, math.nan), (2, 100)], "a", "red"),
                                  Dots([(3, 0.0)], "b", "blue")], log_y=True)
    assert panel.x_range() == (0, 2)  # (3, 0) has no logarithm
    low, high = panel.y_range()
    assert low == pytest.approx(-0.04) and high == pytest.approx(2.04)  # 2% of 2 decades
    assert panel.ticks_y(4) == [1.0, 10.0, 100.0]


def test_smoothing_is_a_debiased_moving_average():
    points = [(0, 1.0), (1, 3.0), (2, math.nan), (3, 3.0)]
    assert smoothed(points, 0.0) == [(0, 1.0), (1, 3.0), (3, 3.0)]
    # by hand: averages 0.5, 0.25 + 1.5 = 1.75, 0.875 + 1.5 = 2.375 over weights
    # 0.5, 0.75, 0.875
    result = smoothed(points, 0.5)
    assert [x for x, _ in result] == [0, 1, 3]
    assert [y for _, y in result] == pytest.approx([1.0, 1.75 / 0.75, 2.375 / 0.875])


def test_one_value_still_spans_a_range():
    panel = Panel("t", "x", "y", [Dots([(1.0, 5.0)], "", "red")])
    assert panel.x_range() == (0.9, 1.1)
    assert panel.y_range()[0] < 5.0 < panel.y_range()[1]
    assert Panel("empty", "x", "y").x_range() == (0.0, 1.0)


def test_percent_labels():
    panel = Panel("t", "x", "y", percent_y=True)
    assert panel.y_label_of(0.875, [0.85, 0.875, 0.9]) == "87.5%"
