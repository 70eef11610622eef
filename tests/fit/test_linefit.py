"""The line-fitting library: data, CSV reading, least squares, and the gradient-descent fit."""
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad.fit import linefit
from scalargrad.optim import OPTIMIZERS
from scalargrad.errors import DataError, Diverged, InputError
from scalargrad.fit.linefit import Line, fit_line, least_squares


def polyfit(xs, ys):
    slope, intercept = np.polyfit(xs, ys, 1)
    return Line(float(slope), float(intercept))


def test_synthetic_points_are_reproducible_and_on_the_line_without_noise():
    xs, ys = linefit.synthetic_points(50, slope=2.0, intercept=-1.0, noise=0.0, seed=3)
    assert len(xs) == len(ys) == 50
    assert all(0.0 <= x <= 10.0 for x in xs)
    assert all(y == pytest.approx(2.0 * x - 1.0) for x, y in zip(xs, ys))
    assert linefit.synthetic_points(10, seed=1) == linefit.synthetic_points(10, seed=1)
    assert linefit.synthetic_points(10, seed=1) != linefit.synthetic_points(10, seed=2)


def test_least_squares_matches_numpy():
    xs, ys = linefit.synthetic_points(200, noise=2.0, seed=5)
    ours, theirs = least_squares(xs, ys), polyfit(xs, ys)
    assert ours.slope == pytest.approx(theirs.slope, rel=1e-12)
    assert ours.intercept == pytest.approx(theirs.intercept, rel=1e-12)
    assert least_squares([0.0, 1.0, 2.0], [1.0, 3.0, 5.0]) == pytest.approx((2.0, 1.0))


def test_least_squares_far_from_the_origin_centres_on_the_exact_mean():
    # x = 1e15, 1e15, 1e15 + 1/8 (1.0000000000000001e15 rounds to the float 1e15 + 0.125)
    # and y = 1, 2, 3. By hand, with d = 1/8: the mean of x is 1e15 + d/3, so the deviations
    # are -d/3, -d/3, 2d/3 and those of y are -1, 0, 1; sum(dx*dy) = d/3 + 2d/3 = d,
    # sum(dx*dx) = (1 + 1 + 4) d^2/9 = 2d^2/3, slope = d / (2d^2/3) = 3/(2d) = 12, and the
    # intercept is 2 - 12 (1e15 + d/3) = -1.2e16 - 1/2 + 2 = -11999999999999998.5.
    xs = [1e15, 1e15, 1.0000000000000001e15]
    assert xs[2] - xs[0] == 0.125
    line = least_squares(xs, [1.0, 2.0, 3.0])
    assert line.slope == pytest.approx(12.0, rel=4e-16)  # within 2 rounding steps of 12
    assert line.intercept == pytest.approx(-11999999999999998.5, rel=4e-16)
    fitted = fit_line(xs, [1.0, 2.0, 3.0], tolerance=1e-12)
    assert fitted.converged and fitted.line.slope == pytest.approx(12.0, rel=1e-11)


@pytest.mark.parametrize("xs, ys, slope", [
    ([1e200, 2e200, 3e200], [1.0, 2.0, 3.0], 1e-200),   # x*x overflows
    ([0.0, 1e-300], [0.0, 1.0], 1e300),                 # (x - mean)**2 underflows to 0
    ([-1.5e308, 1.5e308], [1.5e308, -1.5e308], -1.0),   # the range of x overflows
])
def test_extreme_magnitudes_are_fitted_where_the_line_is_a_float(xs, ys, slope):
    # Each set lies exactly on y = slope * x (intercept 0).
    scale = max(map(abs, ys))
    for line in (least_squares(xs, ys), fit_line(xs, ys, tolerance=1e-9).line):
        assert line.slope == pytest.approx(slope, rel=1e-8)
        assert abs(line.intercept) <= 1e-8 * scale


def test_a_line_beyond_the_range_of_floats_is_refused():
    with pytest.raises(DataError, match="slope is about 1.0e\\+310, beyond the range of floats"):
        least_squares([0.0, 1e-300], [0.0, 1e10])
    # y = 2e308 - 0.5e308 x: both points are floats, the intercept is not
    with pytest.raises(DataError, match="intercept is about 2.0e\\+308"):
        least_squares([1.0, 2.0], [1.5e308, 1.0e308])
    with pytest.raises(DataError, match="beyond the range of floats"):
        fit_line([0.0, 1e-300], [0.0, 1e10])


def test_a_start_line_beyond_the_range_of_floats_in_standardised_units_is_refused():
    # y spans 1e-300, so a slope of 1e300 is 1e600 in standardised units
    with pytest.raises(InputError, match="start line .* beyond the range of floats"):
        fit_line([0.0, 1.0], [0.0, 1e-300], start=Line(1e300, 0.0))


def test_huge_noise_is_fitted_and_its_loss_reported_in_root_mean_square():
    xs, ys = linefit.synthetic_points(200, noise=1e200, seed=3)
    result = fit_line(xs, ys, tolerance=1e-9)
    # numpy on the y values divided by 1e200, then scaled back: an independent reference
    slope, intercept = (v * 1e200 for v in np.polyfit(xs, [y / 1e200 for y in ys], 1))
    assert result.line.slope == pytest.approx(slope, rel=1e-7)
    assert result.line.intercept == pytest.approx(intercept, rel=1e-7)
    residuals = [y / 1e200 - (slope * x + intercept) / 1e200 for x, y in zip(xs, ys)]
    rms = math.sqrt(sum(r * r for r in residuals) / len(xs)) * 1e200
    assert result.loss == math.inf  # about 1e400
    assert result.rmse == pytest.approx(rms, rel=1e-9)


@pytest.mark.parametrize("xs, ys, message", [
    ([1.0], [2.0], "at least 2 points"),
    ([], [], "at least 2 points"),
    ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], "all x values are equal"),
    ([1.0, math.nan], [1.0, 2.0], "finite"),
    ([1.0, 2.0], [1.0, math.inf], "finite"),
    ([1.0, 2.0], [1.0], "2 x values but 1 y values"),
])
def test_unusable_points(xs, ys, message):
    with pytest.raises(DataError, match=message):
        least_squares(xs, ys)
    with pytest.raises(DataError, match=message):
        fit_line(xs, ys)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_each_optimizer_reaches_least_squares(optimizer):
    xs, ys = linefit.synthetic_points(100, seed=1)
    result = fit_line(xs, ys, optimizer=optimizer, start=Line(-2.0, 0.0))
    best = polyfit(xs, ys)
    assert result.converged and result.gradient_norm <= 1e-6
    assert abs(result.line.slope - best.slope) < 1e-5
    assert abs(result.line.intercept - best.intercept) < 1e-5
    residuals = [y - (best.slope * x + best.intercept) for x, y in zip(xs, ys)]
    assert result.loss == pytest.approx(sum(r * r for r in residuals) / len(xs), rel=1e-9)


def test_forward_and_reverse_modes_follow_the_same_trajectory():
    xs, ys = linefit.synthetic_points(30, seed=2)
    trajectories = {}
    for mode in linefit.MODES:
        seen = []
        fit_line(xs, ys, optimizer="adam", mode=mode, steps=50, tolerance=0.0,
                 start=Line(-2.0, 0.0), callback=seen.append)
        trajectories[mode] = seen
    reverse, forward = trajectories["reverse"], trajectories["forward"]
    assert len(reverse) == len(forward) == 51
    for r, f in zip(reverse, forward):
        assert r.step == f.step
        assert r.line.slope == pytest.approx(f.line.slope, rel=1e-12, abs=1e-12)
        assert r.line.intercept == pytest.approx(f.line.intercept, rel=1e-12, abs=1e-12)
        assert r.loss == pytest.approx(f.loss, rel=1e-12)


def test_callback_sees_the_start_and_every_step():
    xs, ys = [0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 5.0, 7.0]
    seen = []
    result = fit_line(xs, ys, steps=5, tolerance=0.0, start=Line(-2.0, 0.5), callback=seen.append)
    assert [s.step for s in seen] == [0, 1, 2, 3, 4, 5]
    assert seen[0].line == pytest.approx((-2.0, 0.5))
    start_loss = sum((y - (-2.0 * x + 0.5)) ** 2 for x, y in zip(xs, ys)) / 4
    assert seen[0].loss == pytest.approx(start_loss)
    assert result.steps == 5 and not result.converged
    assert seen[-1].line == result.line
    assert all(later.loss < earlier.loss for earlier, later in zip(seen, seen[1:]))


def test_default_start_is_the_mean_of_y_and_a_fit_can_need_no_steps():
    xs, ys = [0.0, 1.0, 2.0], [5.0, 5.0, 5.0]
    result = fit_line(xs, ys)
    assert result.steps == 0 and result.converged
    assert result.line == pytest.approx((0.0, 5.0))


def test_exact_line_is_recovered():
    xs = [float(x) for x in range(-3, 8)]
    ys = [3.0 * x - 2.0 for x in xs]
    result = fit_line(xs, ys, tolerance=1e-10)
    assert result.line == pytest.approx((3.0, -2.0), abs=1e-9)
    assert result.loss < 1e-18


def test_badly_scaled_data_converges():
    xs, ys = linefit.synthetic_points(60, slope=2e-9, intercept=1e-3, noise=1e-7, seed=4,
                                      x_range=(1e6, 1.001e6))
    best = least_squares(xs, ys)
    for optimizer in OPTIMIZERS:
        result = fit_line(xs, ys, optimizer=optimizer, tolerance=1e-9)
        assert result.converged
        assert result.line.slope == pytest.approx(best.slope, rel=1e-6)
        predicted = [result.line.slope * x + result.line.intercept for x in xs]
        exact = [best.slope * x + best.intercept for x in xs]
        assert max(abs(p - e) for p, e in zip(predicted, exact)) < 1e-12


def test_a_large_learning_rate_diverges():
    xs, ys = linefit.synthetic_points(20)
    with pytest.raises(Diverged, match="diverged"):
        fit_line(xs, ys, lr=50.0)


def test_unknown_optimizer_and_mode():
    with pytest.raises(ValueError, match="optimizer"):
        fit_line([0.0, 1.0], [0.0, 1.0], optimizer="lbfgs")
    with pytest.raises(ValueError, match="mode"):
        fit_line([0.0, 1.0], [0.0, 1.0], mode="sideways")


# Minibatches -----------------------------------------------------------------------------
def standard_errors_from_least_squares(xs, ys, line):
    """How far line is from least squares, in its standard errors (numpy as the reference).

    The slope's standard error is s / (std(x) sqrt(n)), that of the line's height at the
    mean of x is s / sqrt(n), s the root mean squared residual; the distance combines both.
    """
    x, y = np.array(xs), np.array(ys)
    slope, intercept = np.polyfit(x, y, 1)
    s = np.sqrt(np.mean((y - slope * x - intercept) ** 2))
    n, mean = len(x), x.mean()
    d_slope = (line.slope - slope) * x.std() * math.sqrt(n) / s
    d_height = ((line.slope - slope) * mean + line.intercept - intercept) * math.sqrt(n) / s
    return math.hypot(d_slope, d_height)


def mean_squared_error(xs, ys, line):
    x, y = np.array(xs), np.array(ys)
    return float(np.mean((y - line.slope * x - line.intercept) ** 2))


def test_batch_sizes():
    assert linefit.batch_size(10_000) == 10_000  # all the points
    assert linefit.batch_size(10_001) == 1_000
    assert linefit.batch_size(1_000_000) == 4_000  # an epoch of 250 steps


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("noise", [0.5, 50.0])
def test_minibatch_fits_land_within_a_quarter_standard_error_of_least_squares(optimizer, noise):
    xs, ys = linefit.synthetic_points(12_000, noise=noise, seed=7)
    result = fit_line(xs, ys, optimizer=optimizer, start=Line(-2.0, 0.0))
    assert result.batch_size == 1_000 and result.converged and result.steps < 1000
    assert standard_errors_from_least_squares(xs, ys, result.line) <= 0.25 * (1 + 1e-6)
    assert result.threshold > result.gradient_norm > 1e-6  # noisy: not to the tolerance
    assert result.loss == pytest.approx(mean_squared_error(xs, ys, result.line), rel=1e-9)


def test_minibatch_fits_reach_the_tolerance_on_points_exactly_on_a_line():
    xs, ys = linefit.synthetic_points(20_000, slope=2.0, intercept=-1.0, noise=0.0, seed=2)
    result = fit_line(xs, ys, start=Line(-2.0, 0.0))
    assert result.converged and result.threshold == 1e-6 and result.gradient_norm <= 1e-6
    assert result.line == pytest.approx((2.0, -1.0), abs=1e-5)


def test_minibatch_trajectories_in_forward_and_reverse_mode_agree():
    xs, ys = linefit.synthetic_points(12_000, seed=3)
    results, seen = {}, {}
    for mode in linefit.MODES:
        seen[mode] = []
        results[mode] = fit_line(xs, ys, optimizer="adam", mode=mode, steps=40,
                                 callback=seen[mode].append)
    assert [s.step for s in seen["reverse"]] == [s.step for s in seen["forward"]]
    for r, f in zip(seen["reverse"], seen["forward"]):
        assert r.line == pytest.approx(f.line, rel=1e-10)
    assert results["reverse"].line == pytest.approx(results["forward"].line, rel=1e-10)


def test_minibatch_steps_run_out_before_an_epoch():
    # 15,000 points in minibatches of 1,000: an epoch is 15 steps, the fit gets 12
    xs, ys = linefit.synthetic_points(15_000, seed=4)
    seen = []
    result = fit_line(xs, ys, steps=12, start=Line(-2.0, 0.0), callback=seen.append)
    assert [s.step for s in seen] == list(range(12)) + [12]  # before each update, then the result
    assert result.steps == 12 and not result.converged
    assert seen[-1].line == result.line
    assert seen[-1].loss == result.loss == pytest.approx(
        mean_squared_error(xs, ys, result.line), rel=1e-9)


def test_a_zero_tolerance_runs_every_minibatch_step():
    xs, ys = linefit.synthetic_points(15_000, seed=6)  # epochs of 15 steps
    result = fit_line(xs, ys, steps=45, tolerance=0.0)
    assert result.steps == 45 and result.threshold == 0.0 and not result.converged
    # the result is the mean line of the third epoch, close to least squares by then
    assert standard_errors_from_least_squares(xs, ys, result.line) < 1.0


def test_minibatch_order_follows_the_seed():
    xs, ys = linefit.synthetic_points(12_000, seed=5)
    first, again, other = (fit_line(xs, ys, steps=5, seed=seed).line for seed in (1, 1, 2))
    assert first == again and first != other


# CSV -------------------------------------------------------------------------------------
def write(tmp_path, text, name="points.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_and_without_header(tmp_path):
    assert linefit.read_points_csv(write(tmp_path, "x,y\n1,2\n3,4\n")) == ([1.0, 3.0], [2.0, 4.0])
    assert linefit.read_points_csv(write(tmp_path, "1,2\n\n 3 , 4 \n-1e3,5.5\n")) == (
        [1.0, 3.0, -1000.0], [2.0, 4.0, 5.5])
    assert linefit.read_points_csv(write(tmp_path, '\ufeff"x","y"\n"1","2"\n3,4\n')) == (
        [1.0, 3.0], [2.0, 4.0])


@pytest.mark.parametrize("text, message", [
    ("x,y\n1,2\nx,y\n", "line 3: expected two numbers 'x,y', got 'x,y'"),
    ("1,2\n3\n", "line 2: expected two numbers 'x,y', got '3'"),
    ("1,2\n3,4,5\n", "line 2: expected two numbers"),
    ("1,2\n3,four\n", "line 2: expected two numbers 'x,y', got '3,four'"),
    ("1,2\n3,nan\n", "line 2: x and y must be finite, got '3,nan'"),
    ("1,2\ninf,4\n", "line 2: x and y must be finite"),
    ("nan,1\n2,3\n", "line 1: x and y must be finite"),
    ("x,y\n1,2\n", "at least 2 points, got 1"),
    ("x,y\n", "at least 2 points, got 0"),
    ("2,1\n2,5\n2,7\n", "all x values are equal"),
])
def test_bad_csv(tmp_path, text, message):
    with pytest.raises(DataError) as error:
        linefit.read_points_csv(write(tmp_path, text))
    assert message in str(error.value)


def test_unreadable_csv(tmp_path):
    with pytest.raises(DataError, match="cannot read .*missing.csv: No such file"):
        linefit.read_points_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="cannot read"):
        linefit.read_points_csv(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(DataError, match="line 1: not UTF-8"):
        linefit.read_points_csv(binary)


def test_reading_stops_at_the_limits(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n3,4\n5,6\n")
    assert linefit.read_points_csv(path, max_points=3, max_line_bytes=3) == (
        [1.0, 3.0, 5.0], [2.0, 4.0, 6.0])  # each line is 3 bytes and a newline
    with pytest.raises(DataError) as error:
        linefit.read_points_csv(path, max_points=2)
    assert str(error.value).endswith("more than 3 lines, the limit (a header and 2 points); "
                                     "stopped at line 4, after 16 bytes")
    with pytest.raises(DataError, match="line 3: longer than 3 bytes, the limit for one line "
                                        "\\(read 4 bytes of it\\)"):
        linefit.read_points_csv(write(tmp_path, "x,y\n1,2\n10,2\n"), max_line_bytes=3)
    blank_lines = write(tmp_path, "\n" * 10 + "1,2\n3,4\n")
    with pytest.raises(DataError, match="more than 6 lines"):  # blank lines count
        linefit.read_points_csv(blank_lines, max_points=5)


def test_windows_line_ends_and_a_last_line_without_one(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"x,y\r\n1,2\r\n3,4")
    assert linefit.read_points_csv(path) == ([1.0, 3.0], [2.0, 4.0])


def test_long_lines_are_shortened_in_messages(tmp_path):
    with pytest.raises(DataError) as error:
        linefit.read_points_csv(write(tmp_path, "1,2\n" + "9" * 100 + "\n"))
    assert str(error.value).endswith("got '" + "9" * 57 + "...'")


# The header rule (issue 17, item 7) ------------------------------------------------------
@pytest.mark.parametrize("first", ["1,abc", "0x10,2", "1.5.2,3", "abc,1", "1_000,2", "1,2,3",
                                   "x,1e5", "\uff11,2", " 3 ,y", "1", '"1","y"'])
def test_a_first_line_with_a_number_is_a_malformed_row_not_a_header(tmp_path, first):
    with pytest.raises(DataError) as error:
        linefit.read_points_csv(write(tmp_path, f"{first}\n2,3\n3,5\n"))
    assert "line 1: expected two numbers 'x,y'" in str(error.value)


@pytest.mark.parametrize("header", ["x,y", "x", "time,value,unit", '"x","y"', "x;y", "a b,c",
                                    ",", "x,"])
def test_a_first_line_without_a_number_is_a_header(tmp_path, header):
    assert linefit.read_points_csv(write(tmp_path, f"\n{header}\n2,3\n3,5\n")) == (
        [2.0, 3.0], [3.0, 5.0])


def test_only_the_first_line_can_be_a_header(tmp_path):
    with pytest.raises(DataError, match="line 3: expected two numbers"):
        linefit.read_points_csv(write(tmp_path, "1,2\n3,4\nx,y\n"))


def test_numbers_are_decimal_floats(tmp_path):
    path = write(tmp_path, "1,2\n-2.5,+.5\n3.,1e-7\n4E+2,-0\n")
    assert linefit.read_points_csv(path) == ([1.0, -2.5, 3.0, 400.0], [2.0, 0.5, 1e-07, -0.0])


CELL = st.one_of(st.floats().map(repr), st.sampled_from(["inf", "-Infinity", "NaN", "1e", "--1"]),
                 st.integers(-10**6, 10**6).map(str),
                 st.text(st.characters(codec="utf-8", exclude_characters=",\"\r\n\x00"),
                         max_size=8))


@given(cells=st.lists(CELL, min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_first_line_is_a_header_a_row_or_refused_by_line_number(cells):
    """Independent truth: a cell is a number when Python's float() reads it as a plain
    decimal (digits, '.', an exponent), so the rule can be decided without the reader."""
    def number(cell):
        text = cell.strip()
        if text.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            return True
        if not text or not all(c in "0123456789.eE+-" for c in text) or text.count(".") > 1:
            return False
        try:
            float(text)
        except ValueError:
            return False
        return True
    line = ",".join(cells)
    lines = [line, "2,3", "3,5"]
    numbers = [number(cell) for cell in cells]
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "points.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            xs, ys = linefit.read_points_csv(path)
        except DataError as error:
            assert any(numbers) and "line 1:" in str(error), (line, str(error))
            return
    if line.strip() and not any(numbers):
        assert (xs, ys) == ([2.0, 3.0], [3.0, 5.0])  # a header
    elif not line.strip():
        assert (xs, ys) == ([2.0, 3.0], [3.0, 5.0])  # a blank line
    else:
        assert len(cells) == 2 and all(numbers) and xs[0] == float(cells[0])


def test_a_loss_that_grows_a_millionfold_is_divergence_before_anything_overflows():
    """lr 1.5 doubles the distance to the optimum each step (the Hessian is 2I): after 9
    steps the loss has grown 4**9 < 1e6-fold, after 12 well past it, all of it finite."""
    xs, ys = linefit.synthetic_points(50, noise=0.0)
    for optimizer_steps in (1, 5, 9):
        assert fit_line(xs, ys, lr=1.5, steps=optimizer_steps, start=Line(0.0, 0.0)).steps \
            == optimizer_steps
    with pytest.raises(Diverged, match="diverged after 1[01] steps: it grew more than 1e\\+06"):
        fit_line(xs, ys, lr=1.5, steps=12, start=Line(0.0, 0.0))
