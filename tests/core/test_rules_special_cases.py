"""Partials with special cases keep their dependence on the arguments, at every order, and
partials keep their accuracy where they used to cancel or overflow (issue 17, items 1-2).

A special case that returned a plain constant (pow's d/da at b = 0, sqrt' at 0, a partial
beyond a float, d/db at a < 0) made every higher derivative through it 0. The truths here
are worked out by hand (or are the documented one-sided limits).
"""
import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import NumericOverflow, Scalar, forward_autodiff, grad, reverse_autodiff
from scalargrad.core import rules
from scalargrad_cli.main import cli

MODES = {"reverse": reverse_autodiff, "forward": forward_autodiff}


def hessians(function, point):
    """The Hessian of function at point in each of the four pairings of modes."""
    found = []
    for inner in MODES.values():
        for outer in MODES.values():
            xs = [Scalar(v) for v in point]
            first = inner(function(*xs), xs, create_graph=True)
            found.append([outer(g, xs) for g in first])
    return found


def power_hessian(a, b):
    """Of a**b, by hand (a > 0)."""
    log_a = math.log(a)
    return [[b * (b - 1) * a ** (b - 2), a ** (b - 1) * (1 + b * log_a)],
            [a ** (b - 1) * (1 + b * log_a), a ** b * log_a ** 2]]


# ---------------------------------------------------------------------------------------
# Item 1: the reproductions.
def test_hessian_of_x_to_the_y_at_y_0_is_symmetric_and_right():
    """It was [[0, 0], [0.5, 0.48]]: d/db of d/da (b * a**(b-1)) is a**(b-1) = 1/2 at b = 0."""
    truth = power_hessian(2.0, 0.0)
    for hessian in hessians(lambda x, y: x ** y, [2.0, 0.0]):
        for row, true_row in zip(hessian, truth):
            assert row == pytest.approx(true_row, rel=1e-15)
    xs = [Scalar(2.0), Scalar(0.0)]
    assert sg.hessian(xs[0] ** xs[1], xs) == [[0.0, 0.5], [0.5, pytest.approx(math.log(2) ** 2)]]


def test_the_derivative_in_b_of_the_derivative_in_a_at_b_0():
    found = grad(lambda b: grad(lambda a: a ** b)(3.0))(0.0)
    assert found == pytest.approx(1 / 3, rel=1e-15)


def test_check_grad_of_x_to_the_y_at_y_0_to_second_order_passes():
    result = CliRunner().invoke(cli, ["check-grad", "x**y", "--at", "x=3,y=0", "--order", "2",
                                      "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True


def test_a_negative_base_has_nan_for_every_second_derivative_through_b():
    """d/db is NaN for a < 0 (a**b exists only at integer b), and so is every derivative
    taken through it, in both orders: the rows disagreed (nan one way, 0 the other)."""
    for hessian in hessians(lambda x, y: x ** y, [-2.0, 2.0]):
        assert hessian[0][0] == 2.0  # d2/da2 = b (b - 1) a**(b - 2)
        assert all(math.isnan(h) for h in (hessian[0][1], hessian[1][0], hessian[1][1]))
    assert math.isnan(grad(grad(lambda y: sg.power(-2.0, y)))(2.0))
    assert math.isnan(grad(lambda y: sg.power(-2.0, y))(2.0))


def test_a_second_derivative_beyond_a_float_is_infinite_not_zero():
    """d2/dx2 of x**-1 at 1e-300 is 2/x**3 = 2e900: beyond a float, +inf (it was 0)."""
    assert grad(lambda x: x ** -1.0)(1e-300) == -math.inf
    assert grad(grad(lambda x: x ** -1.0))(1e-300) == math.inf
    assert grad(grad(grad(lambda x: x ** -1.0)))(1e-300) == -math.inf
    assert grad(grad(lambda x: x ** -0.5))(1e-300) == math.inf  # 0.75 x**-2.5


def test_sqrt_at_zero_has_its_one_sided_limits_at_every_order():
    for sqrt in (sg.sqrt, lambda x: x ** 0.5):
        assert grad(sqrt)(0.0) == math.inf
        assert grad(grad(sqrt))(0.0) == -math.inf
        assert grad(grad(grad(sqrt)))(0.0) == math.inf
    for inner in MODES.values():
        for outer in MODES.values():
            x = Scalar(0.0)
            assert outer(inner(sg.sqrt(x), x, create_graph=True), x) == -math.inf


def test_a_power_at_zero_with_an_exponent_between_0_and_1_has_its_one_sided_limits():
    """At a = 0, 0 < b < 1: d/da = +inf, d/db = 0; d2/da2 and d2/da db -> -inf as a -> 0+,
    d2/db2 -> 0 (a**b log(a)**2 -> 0): the Hessian is symmetric there too."""
    xs = [Scalar(0.0), Scalar(0.5)]
    assert reverse_autodiff(xs[0] ** xs[1], xs) == [math.inf, 0.0]
    for hessian in hessians(lambda a, b: a ** b, [0.0, 0.5]):
        assert hessian == [[-math.inf, -math.inf], [-math.inf, 0.0]]
    # the limits the conventions stand for, at a small a: the same signs, growing
    near = power_hessian(1e-200, 0.5)
    assert near[0][0] < -1e290 and near[0][1] < -1e100 and 0 < near[1][1] < 1e-90


def test_a_power_at_zero_with_exponent_0_has_every_derivative_0():
    """0**0 is 1, as x**0 is for every x: the documented convention at (0, 0)."""
    xs = [Scalar(0.0), Scalar(0.0)]
    assert reverse_autodiff(xs[0] ** xs[1], xs) == [0.0, 0.0]
    for hessian in hessians(lambda a, b: a ** b, [0.0, 0.0]):
        assert hessian == [[0.0, 0.0], [0.0, 0.0]]
    assert "at a = 0, b = 0 every derivative is 0" in rules.POW.convention


def test_a_power_whose_first_derivative_is_0_but_second_is_beyond_a_float_raises():
    """x**y at a subnormal x and y = 0: d/dx = 0, but d2/dx dy = 1/x is beyond a float: the
    engine's overflow error, not a silent 0."""
    x, y = Scalar(1e-310), Scalar(0.0)
    assert reverse_autodiff(x ** y, [x, y]) == [0.0, pytest.approx(math.log(1e-310))]
    with pytest.raises(NumericOverflow):
        sg.hessian(x ** y, [x, y])


@settings(max_examples=150, deadline=None)
@given(st.floats(-30, 30), st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5, 3.7, -2.25, 1e-300]))
def test_the_hessian_of_a_power_is_symmetric_and_right_at_any_exponent(log_a, b):
    a = math.exp(log_a)
    truth = power_hessian(a, b)
    # d2/da db = a**(b-1) + b a**(b-1) log(a) cancels near b log(a) = -1: allow roundings of
    # its terms' size there
    mixed_scale = a ** (b - 1) * (1 + abs(b * math.log(a)))
    for hessian in hessians(lambda x, y: x ** y, [a, b]):
        assert hessian[0][1] == pytest.approx(hessian[1][0], rel=1e-14, abs=1e-14 * mixed_scale)
        assert hessian[0][1] == pytest.approx(truth[0][1], rel=1e-12, abs=1e-14 * mixed_scale)
        assert [hessian[0][0], hessian[1][1]] == pytest.approx([truth[0][0], truth[1][1]], rel=1e-12,
                                                               abs=1e-300)


@pytest.mark.parametrize("name", ["abs", "relu", "maximum", "minimum"])
def test_kinks_have_second_derivative_0_at_the_kink_as_documented(name):
    call = {"abs": lambda x: abs(x), "relu": sg.relu, "maximum": lambda x: sg.maximum(x, 0.0),
            "minimum": lambda x: sg.minimum(x, 0.0)}[name]
    assert "0" in rules.RULES[name].convention.split(";")[-1]  # the second-order convention
    for hessian in hessians(call, [0.0]):
        assert hessian == [[0.0]]


# ---------------------------------------------------------------------------------------
# Item 2: derivatives that cancelled to 0 or overflowed.
def test_tanh_derivative_where_tanh_rounds_to_1():
    for at in (10.0, 20.0, 300.0, -20.0):
        assert grad(sg.tanh)(at) == pytest.approx(1 / math.cosh(at) ** 2, rel=1e-14, abs=0)
    assert grad(sg.tanh)(20.0) == pytest.approx(1.6993417021166355e-17, rel=1e-14)


def test_sigmoid_derivative_where_sigmoid_rounds_to_1():
    for at in (40.0, 700.0, -40.0, -700.0):
        truth = math.exp(-abs(at)) / (1 + math.exp(-abs(at))) ** 2
        assert grad(sg.sigmoid)(at) == pytest.approx(truth, rel=1e-14, abs=0)
        assert grad(grad(sg.softplus))(at) == pytest.approx(truth, rel=1e-14, abs=0)
    # near 0, sigmoid'' = -x/8 keeps its digits (the derivative of out * (1 - out) cancelled)
    assert grad(grad(sg.sigmoid))(1e-10) == pytest.approx(-1e-10 / 8, rel=1e-12)


def test_atan_derivative_where_x_squared_overflows():
    assert grad(sg.atan)(1e160) == pytest.approx(1e-320, abs=1e-323)
    assert grad(sg.atan)(-1e200) == 0.0  # 1e-400: below the smallest float
    assert grad(sg.atan)(1e150) == pytest.approx(1e-300, rel=1e-15)
    assert grad(grad(sg.atan))(1e100) == pytest.approx(-2e-300, rel=1e-14)


def test_expm1_derivative_far_below_zero():
    """expm1' = exp(x): out + 1 cancelled for x << 0 (1 + expm1(-30) keeps 3 digits)."""
    assert grad(sg.expm1)(-30.0) == pytest.approx(math.exp(-30.0), rel=1e-15)
    assert grad(sg.expm1)(-700.0) == pytest.approx(math.exp(-700.0), rel=1e-15)
