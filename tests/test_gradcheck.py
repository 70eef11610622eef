import math

import pytest

import scalargrad as sg
from scalargrad import check_gradients


def test_report_for_a_smooth_function():
    report = check_gradients(lambda x, y: sg.sin(x) * y + sg.exp(x * y), [0.5, 2.0], names=["x", "y"])
    assert report.ok and report.kinks == []
    assert report.value == pytest.approx(math.sin(0.5) * 2 + math.exp(1.0))
    x, y = report.inputs
    assert x.name == "x" and x.at == 0.5
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


def test_a_nan_from_either_mode_fails_the_check():
    """sqrt'(0) is +inf, and forward mode's tangent for x passes through sqrt(y), where inf
    times a zero tangent may make the derivative nan. Wherever either mode gives nan, the
    check must fail rather than let max() skip the nan."""
    report = check_gradients(lambda x, y: x + sg.sqrt(y), [1.0, 0.0], names=["x", "y"])
    x = report.inputs[0]
    assert x.reverse == 1.0 and x.finite_difference == pytest.approx(1.0, rel=1e-9)
    assert x.ok is (x.forward == 1.0)
    assert math.isnan(x.abs_error) is math.isnan(x.forward)


def test_tolerances_are_respected():
    loose = check_gradients(lambda x: sg.sqrt(x), [1e-3], rtol=1e-1)
    assert loose.ok


def test_hessian_check_of_a_polynomial():
    from scalargrad.gradcheck import check_hessian
    report = check_hessian(lambda x, y: x ** 3 * y + y * y, [2.0, -1.0], names=["x", "y"])
    assert report.ok
    exact = {("x", "x"): 6 * 2.0 * -1.0, ("x", "y"): 3 * 4.0, ("y", "x"): 12.0, ("y", "y"): 2.0}
    for entry in report.entries:
        assert entry.forward_over_reverse == pytest.approx(exact[(entry.row, entry.column)])
        assert entry.reverse_over_reverse == pytest.approx(exact[(entry.row, entry.column)])
        assert entry.finite_difference == pytest.approx(exact[(entry.row, entry.column)], rel=1e-7)
