import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import DomainError, Scalar, check_gradients
from scalargrad.check.gradcheck import check_hessian
from scalargrad.check.finite_differences import CENTRAL_STEP


def test_report_for_a_smooth_function():
    report = check_gradients(lambda x, y: sg.sin(x) * y + sg.exp(x * y), [0.5, 2.0], names=["x", "y"])
    assert report.ok and report.kinks == [] and report.unchecked == []
    assert report.value == pytest.approx(math.sin(0.5) * 2 + math.exp(1.0))
    x, y = report.inputs
    assert x.name == "x" and x.at == 0.5 and x.stencil == "central" and x.note == ""
    assert x.reverse == pytest.approx(math.cos(0.5) * 2 + 2 * math.exp(1.0))
    assert y.forward == pytest.approx(math.sin(0.5) + 0.5 * math.exp(1.0))
    assert x.abs_error < 1e-6 and x.rel_error < 1e-8


def test_a_kink_is_reported_and_fails_the_comparison():
    report = check_gradients(lambda x: sg.relu(x), [0.0])
    assert not report.ok
    assert report.kinks == ["relu(0.0)"]
    assert report.inputs[0].reverse == 0.0 and report.inputs[0].finite_difference == pytest.approx(0.5)


def test_a_wrong_derivative_is_caught():
    def inconsistent(x):
        return x * x if isinstance(x, sg.Scalar) else x * x * 1.01

    report = check_gradients(inconsistent, [1.0])
    assert not report.ok and report.inputs[0].abs_error == pytest.approx(0.02, rel=1e-3)


def cube_recorded_off_by(relative):
    """x**3, whose value is right on floats and on Scalars, but whose recorded derivative is
    3x^2 (1 + relative): the added term is 0 in value with slope relative * 3x^2."""
    def cube(x):
        y = x * x * x
        if isinstance(x, Scalar):
            y = y + relative * 3 * x.value ** 2 * (x - x.value)
        return y
    return cube


@pytest.mark.parametrize("relative", [2e-5, 1e-4, -1e-3])
def test_a_recorded_derivative_slightly_wrong_is_caught(relative):
    """Just above the default rtol = 1e-5: central differences are good to ~1e-10 here."""
    x = 1.3
    report = check_gradients(cube_recorded_off_by(relative), [x])
    (check,) = report.inputs
    assert check.reverse == pytest.approx(3 * x * x * (1 + relative), rel=1e-12)
    assert check.forward == pytest.approx(3 * x * x * (1 + relative), rel=1e-12)
    assert check.finite_difference == pytest.approx(3 * x * x, rel=1e-9)
    assert check.ok is False and not report.ok
    assert check.rel_error == pytest.approx(abs(relative) / (1 + max(relative, 0)), rel=1e-3)


def test_the_right_derivative_passes_and_tolerances_decide():
    x = 1.3
    assert check_gradients(cube_recorded_off_by(0.0), [x]).ok
    off = cube_recorded_off_by(1e-4)
    assert not check_gradients(off, [x]).ok
    assert check_gradients(off, [x], rtol=1e-3).ok
    assert check_gradients(off, [x], atol=1e-3).ok  # the error is 1e-4 * 3 * 1.69 = 5.1e-4
    assert not check_gradients(off, [x], atol=4e-4).ok


def test_a_nan_from_either_mode_fails_the_check():
    """sqrt'(0) is +inf, and forward mode's tangent for x passes through sqrt(y), where inf
    times a zero tangent may make the derivative nan. Wherever either mode gives nan, the
    check must fail rather than let max() skip the nan."""
    report = check_gradients(lambda x, y: x + sg.sqrt(y), [1.0, 0.0], names=["x", "y"])
    x = report.inputs[0]
    assert x.reverse == 1.0 and x.finite_difference == pytest.approx(1.0, rel=1e-9)
    assert x.ok is (x.forward == 1.0)
    assert math.isnan(x.abs_error) is math.isnan(x.forward)


def picky(x, y):
    """x*x + y, defined only where y is exactly 2: no finite difference in y."""
    if float(y) != 2.0:
        raise DomainError(f"picky(y={y!r}): y must be 2")
    return x * x + y


def test_an_input_no_stencil_fits_is_not_checkable_and_does_not_fail_the_report():
    report = check_gradients(picky, [3.0, 2.0], names=["x", "y"])
    x, y = report.inputs
    assert x.ok is True and x.finite_difference == pytest.approx(6.0, rel=1e-9)
    assert (y.finite_difference, y.abs_error, y.rel_error, y.ok, y.stencil) == (None,) * 5
    assert (y.reverse, y.forward) == (1.0, 1.0)
    assert y.note.startswith("not checkable by finite differences") and "y must be 2" in y.note
    assert report.ok and report.unchecked == ["y"]


def test_a_checkable_input_that_disagrees_still_fails_beside_an_unchecked_one():
    def wrong_in_x(x, y):
        return picky(x, y) + (0.01 * (x - x.value) if isinstance(x, Scalar) else 0.0)

    report = check_gradients(wrong_in_x, [3.0, 2.0], names=["x", "y"])
    assert report.inputs[0].ok is False and report.inputs[1].ok is None and not report.ok


def test_the_point_itself_outside_the_domain_raises():
    with pytest.raises(DomainError, match="log"):
        check_gradients(lambda x: sg.log(x), [-1.0])


def test_hessian_check_of_a_polynomial():
    report = check_hessian(lambda x, y: x ** 3 * y + y * y, [2.0, -1.0], names=["x", "y"])
    assert report.ok
    exact = {("x", "x"): 6 * 2.0 * -1.0, ("x", "y"): 3 * 4.0, ("y", "x"): 12.0, ("y", "y"): 2.0}
    for entry in report.entries:
        assert entry.forward_over_reverse == pytest.approx(exact[(entry.row, entry.column)])
        assert entry.reverse_over_reverse == pytest.approx(exact[(entry.row, entry.column)])
        assert entry.finite_difference == pytest.approx(exact[(entry.row, entry.column)], rel=1e-7)


def test_hessian_costs_two_gradients_per_input_and_reports_progress():
    """Finite differences of the whole gradient per column: 2n gradients, not 2n^2."""
    calls, progress = [], []

    def func(*xs):
        calls.append(xs)
        return sg.sum([x * x * x for x in xs])

    n = 6
    report = check_hessian(func, [0.5 + i for i in range(n)],
                           progress=lambda done, total: progress.append((done, total)))
    assert report.ok
    for entry in report.entries:
        i, j = int(entry.row[1:]), int(entry.column[1:])
        assert entry.finite_difference == pytest.approx(6 * (0.5 + i) if i == j else 0.0,
                                                        rel=1e-7, abs=1e-9)
    # the recorded gradient, the gradient at the point, then the gradient at x_j +- h
    assert len(calls) == 2 + 2 * n
    assert progress == [(j, n) for j in range(1, n + 1)]


def test_hessian_entries_no_stencil_fits_are_not_checkable():
    report = check_hessian(picky, [3.0, 2.0], names=["x", "y"])
    entries = {(e.row, e.column): e for e in report.entries}
    assert entries["x", "x"].ok is True
    assert entries["x", "x"].finite_difference == pytest.approx(2.0)
    assert entries["y", "x"].ok is True and entries["y", "x"].finite_difference == 0.0
    assert entries["x", "y"].ok is None and entries["y", "y"].ok is None
    assert "y must be 2" in entries["x", "y"].note
    assert report.ok


# When finite differences cannot be trusted (issue 17, item 14) ---------------------------
def test_a_finite_difference_that_does_not_settle_is_not_checkable_rather_than_a_failure():
    """x**(10**10) at 1: every step of the usual sizes overflows or lands in the region where
    (1 + h)**1e10 explodes; the estimates at h, h/2 disagree by orders of magnitude."""
    report = check_gradients(lambda x: x ** 1e10, [1.0])
    (check,) = report.inputs
    assert check.reverse == check.forward == 1e10
    assert check.ok is None and check.finite_difference is None and report.ok
    assert "do not settle when the step shrinks" in check.note and report.unchecked == ["x0"]


def test_a_kink_inside_the_step_is_not_checkable():
    """maximum(x, y) with y 1e-6 above x: the step 6e-6 straddles the tie, so the central
    difference mixes the two sides, in proportions that change with the step."""
    report = check_gradients(lambda x, y: sg.maximum(x, y), [1.0, 1.000001])
    assert [check.ok for check in report.inputs] == [None, None]


SMOOTH = [(lambda x: sg.sin(x) * sg.exp(x), "sin*exp"), (lambda x: x ** 3 - 2 * x, "cubic"),
          (lambda x: sg.tanh(3 * x) + x * x, "tanh"), (lambda x: sg.log(1 + x * x), "log")]


@pytest.mark.parametrize("function, name", SMOOTH, ids=[name for _, name in SMOOTH])
@given(x=st.floats(-3, 3), relative=st.sampled_from([3e-5, -1e-4, 1e-3, 0.5]))
@settings(max_examples=40, deadline=None)
def test_a_wrong_derivative_of_a_smooth_function_still_fails(function, name, x, relative):
    """The trust check must never hide a wrong rule: the finite differences of a smooth
    function settle, so a recorded derivative off by more than the tolerance is a FAIL."""
    def wrong(t):
        y = function(t)
        if isinstance(t, Scalar):  # same value, derivative off by relative |f'| + 1e-3 more
            slope = check_gradients(function, [t.value]).inputs[0].reverse
            y = y + math.copysign(abs(relative * slope) + 1e-3, relative) * (t - t.value)
        return y
    (right,) = check_gradients(function, [x]).inputs
    (check,) = check_gradients(wrong, [x]).inputs
    assert right.ok is True
    assert check.ok is False and check.finite_difference == pytest.approx(right.finite_difference)


@given(x=st.floats(-30, 30), scale=st.sampled_from([1e-2, 1e-4, CENTRAL_STEP]))
@settings(max_examples=60, deadline=None)
def test_a_coarse_step_fails_a_smooth_function_and_is_not_called_untrustworthy(x, scale):
    """x**3 with a large step: its central difference is 3x**2 + h**2, off by more than the
    tolerance, but it converges as a smooth function's does: the verdict is the FAIL the
    tolerance asks for (or a pass), never 'not checkable'."""
    (check,) = check_gradients(lambda t: t ** 3, [x], step=scale).inputs
    h = scale * max(1.0, abs(x))
    assert check.ok is not None
    assert check.finite_difference == pytest.approx(3 * x * x + h * h, rel=1e-6, abs=1e-6)


def test_hessian_entries_whose_finite_differences_do_not_settle_are_not_checkable():
    report = check_hessian(lambda x: x ** 1e10, [1.0])
    (entry,) = report.entries
    assert entry.forward_over_reverse == pytest.approx(1e10 * (1e10 - 1))
    assert entry.ok is None and "do not settle" in entry.note and report.ok
    wrong = check_hessian(cube_recorded_off_by(1e-3), [1.3])  # recorded slope 3x²(1 + 1e-3)
    assert wrong.entries[0].ok is False  # its second derivative is off too: still a FAIL


@pytest.mark.parametrize("y", [1e-300, 1e-10, -1e-8])
def test_a_pole_within_the_step_is_not_checkable(y):
    """x/y with |y| far below the step (6e-6): the central difference straddles the pole at
    0, and its estimates grow fourfold as the step halves (x/h², not the derivative)."""
    report = check_gradients(lambda a, b: a / b, [1.0, y], names=["x", "y"])
    x, slope = report.inputs
    assert slope.reverse == pytest.approx(-1 / y ** 2) if y ** 2 > 0 else True
    assert slope.ok is None and "do not settle" in slope.note and report.ok
