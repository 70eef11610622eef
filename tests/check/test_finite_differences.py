"""Finite differences against closed-form derivatives, with error bounds derived from the step.

A central difference with step h is off by the truncation error h^2 f'''(t) / 6 for some t
within h of x, plus rounding: each value carries an error of about eps |f|, and their
difference is divided by 2h, so eps |f| / h in all (doubled below for slack). Richardson's
combination of h and h/2 is off by h^4 f^(5)(t) / 480 plus about 3 eps |f| / h; the
second-order one-sided difference by h^2 f'''(t) / 3 plus about 4 eps |f| / h.
"""
import math
import sys

import pytest

from scalargrad import DomainError, exp, finite_difference, log, sqrt
from scalargrad.errors import InputError
from scalargrad.check.expression import parse
from scalargrad.check.finite_differences import (CENTRAL_STEP, RICHARDSON_STEP, check_step, jacobian_partials,
                                  partials)

EPS = sys.float_info.epsilon


def exact_step(x, h):
    """The step the code takes: rounded so that x + h is a float."""
    return (x + h) - x


# (name, f, f', bound on |f'''| near x, x)
SMOOTH = [
    ("sin", math.sin, math.cos, 1.0, 1.0),
    ("exp", math.exp, math.exp, math.exp(0.7 + 1e-3), 0.7),
    ("log", math.log, lambda x: 1 / x, 2 / (2.0 - 1e-3) ** 3, 2.0),
    ("atan", math.atan, lambda x: 1 / (1 + x * x), 2.0, 0.3),
    ("cube", lambda x: x ** 3, lambda x: 3 * x * x, 6.0, -2.0),
]


@pytest.mark.parametrize("name, f, derivative, third, x", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_central_difference_within_truncation_plus_rounding(name, f, derivative, third, x):
    h = exact_step(x, CENTRAL_STEP * max(1.0, abs(x)))
    bound = h * h / 6 * third + 2 * EPS * abs(f(x)) / h
    assert abs(finite_difference(f, x) - derivative(x)) <= bound
    assert bound < 1e-9  # it means something: a first-order difference is off by ~h f''/2 ~ 1e-5


def test_central_difference_of_a_cubic_is_off_by_exactly_h_squared():
    """((x+h)^3 - (x-h)^3) / 2h = 3x^2 + h^2: the truncation error, visible with a big step."""
    h = exact_step(1.0, 1e-2)
    central = finite_difference(lambda x: x ** 3, 1.0, step=1e-2)
    assert central == pytest.approx(3 + h * h, abs=1e-12)


def test_richardson_cancels_h_squared_and_leaves_h_to_the_fourth():
    """For x^5 at 1: central is 5 + 10h^2 + h^4, Richardson exactly 5 - h^4/4."""
    h = exact_step(1.0, 1e-2)
    cubic = finite_difference(lambda x: x ** 3, 1.0, richardson=True, step=1e-2)
    assert cubic == pytest.approx(3.0, abs=1e-12)
    richardson = finite_difference(lambda x: x ** 5, 1.0, richardson=True, step=1e-2)
    assert richardson == pytest.approx(5 - h ** 4 / 4, abs=1e-12)


def test_richardson_is_more_accurate_on_a_smooth_function():
    x = 0.7
    h_central = exact_step(x, CENTRAL_STEP)
    h = exact_step(x, RICHARDSON_STEP)
    top = math.exp(x + h)  # bounds |f| and every derivative of exp within h of x
    richardson_bound = h ** 4 / 480 * top + 3 * EPS * top / h
    central_error = abs(finite_difference(math.exp, x) - math.exp(x))
    richardson_error = abs(finite_difference(math.exp, x, richardson=True) - math.exp(x))
    assert richardson_error <= richardson_bound < 3e-12
    assert central_error <= h_central ** 2 / 6 * top + 2 * EPS * top / h_central
    assert richardson_error < central_error


def test_list_of_arguments_gives_list_of_partials():
    partials_ = finite_difference(lambda a, b: a * a * b, [3.0, 2.0])
    assert partials_ == pytest.approx([12.0, 9.0], rel=1e-9)


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_step_scales_with_the_argument(scale):
    # d/dx x^2 = 2x at very different magnitudes: one fixed step would fail at one end
    assert finite_difference(lambda x: x * x, scale) == pytest.approx(2 * scale, rel=1e-7)


# ---------------------------------------------------------------------------------------
# Next to a domain boundary.
def cube_above_one(x):
    if x < 1.0:
        raise ValueError("defined for x >= 1 only")
    return x ** 3


def cube_below_one(x):
    if x > 1.0:
        raise ValueError("defined for x <= 1 only")
    return x ** 3


@pytest.mark.parametrize("f, stencil", [(cube_above_one, "forward"), (cube_below_one, "backward")])
def test_one_sided_at_the_boundary_is_off_by_exactly_two_h_squared(f, stencil):
    """(-3f(x) + 4f(x+h) - f(x+2h)) / 2h of x^3 is 3x^2 - 2h^2, and likewise backward."""
    (estimate,) = partials(f, [1.0])
    h = abs(exact_step(1.0, CENTRAL_STEP if stencil == "forward" else -CENTRAL_STEP))
    assert estimate.stencil == stencil and estimate.step == h
    assert estimate.value == pytest.approx(3 - 2 * h * h, abs=4 * EPS * 1.0 / h)
    assert f"a {stencil} difference" in estimate.note and "defined for x" in estimate.note


def test_sqrt_at_zero_by_a_forward_difference():
    """(4 sqrt(h) - sqrt(2h)) / 2h: the one-sided difference where the derivative is infinite."""
    h = CENTRAL_STEP  # exact at 0
    assert finite_difference(sqrt, 0.0) == pytest.approx((4 - math.sqrt(2)) / (2 * math.sqrt(h)),
                                                         rel=1e-12)


def test_log_near_zero_takes_a_smaller_central_step():
    """At 3e-6 a central step of 6e-6 leaves log's domain; a step well inside it is used."""
    x = 3e-6
    (estimate,) = partials(log, [x])
    h = estimate.step
    assert estimate.stencil == "richardson" and h <= x / 10
    bound = h ** 4 / 480 * 24 / (x - h) ** 5 + 3 * EPS * abs(math.log(x - h)) / h
    assert abs(estimate.value - 1 / x) <= bound < 1e-7 / x
    assert "a smaller step" in estimate.note and "log(-3" in estimate.note


def test_exp_next_to_overflow_takes_a_smaller_central_step():
    """exp(709.78 + 0.0043) overflows, exp(709.78) does not."""
    x = 709.78
    (estimate,) = partials(exp, [x])
    h = estimate.step
    top = math.exp(x + h)
    assert estimate.stencil == "richardson"
    assert abs(estimate.value - math.exp(x)) <= h ** 4 / 480 * top + 3 * EPS * top / h
    assert "too large for a float" in estimate.note
    assert finite_difference(exp, x) == estimate.value


def test_no_estimate_where_both_sides_leave_the_domain():
    """d(x**y)/dy at x = -2: pow is defined only at integer y there."""
    function = parse("x**y").as_function(["x", "y"])
    x, y = partials(function, [-2.0, 2.0])
    assert x.stencil == "central" and x.value == pytest.approx(-4.0, rel=1e-9)
    assert y.stencil is None and math.isnan(y.value)
    assert y.note.startswith("not checkable by finite differences")
    assert "pow(-2.0, 2.00001" in y.note and "pow(-2.0, 1.99998" in y.note  # both sides
    with pytest.raises(DomainError, match="no finite difference at 2.0 \\(argument 1\\)"):
        finite_difference(function, [-2.0, 2.0])


def test_outside_the_domain_at_the_point_itself():
    with pytest.raises(DomainError, match="no finite difference at -1.0"):
        finite_difference(log, -1.0)


# ---------------------------------------------------------------------------------------
# Steps.
@pytest.mark.parametrize("x, step, richardson", [(1e10, 1e-300, False), (1.0, 1e-17, False),
                                                  (1.0, 1.5e-16, True)])
def test_a_step_that_rounds_to_zero_is_refused(x, step, richardson):
    with pytest.raises(InputError, match="too small"):
        check_step(x, step, richardson)
    with pytest.raises(InputError, match="too small"):
        finite_difference(lambda v: v, x, richardson=richardson, step=step)


@pytest.mark.parametrize("step", [0.0, -1e-3, math.nan, math.inf])
def test_a_step_must_be_positive_and_finite(step):
    with pytest.raises(InputError, match="positive finite number"):
        check_step(1.0, step)


def test_the_smallest_step_that_moves_x_is_accepted():
    check_step(1.0, 1.5e-16)  # 1 + 1.5e-16 rounds up to the next float
    # exact for the identity, whose values carry no rounding error
    assert finite_difference(lambda v: v, 1.0, step=1.5e-16) == 1.0


# ---------------------------------------------------------------------------------------
# Vector-valued functions (used for the Hessian: differences of the gradient).
def test_jacobian_partials_against_closed_forms():
    rows = jacobian_partials(lambda a, b: [a * b, math.sin(a) + b ** 3], [0.5, 2.0])
    exact = [[2.0, 0.5], [math.cos(0.5), 12.0]]
    for row, exact_row in zip(rows, exact):
        for estimate, value in zip(row, exact_row):
            assert estimate.stencil == "central"
            assert estimate.value == pytest.approx(value, rel=1e-9)


def test_jacobian_partials_costs_two_calls_per_argument_and_reports_progress():
    calls, progress = [], []

    def func(*xs):
        calls.append(xs)
        return [sum(x * x for x in xs), xs[0]]

    jacobian_partials(func, [1.0, 2.0, 3.0, 4.0],
                      progress=lambda done, total: progress.append((done, total)))
    assert len(calls) == 1 + 2 * 4  # the point, then x_i +- h
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_jacobian_partials_decides_per_output():
    """Output 1 is undefined on both sides of a = 0 (nan there, as d(x**y)/dy at x < 0 is);
    output 0 is not, and keeps its central difference."""
    def func(a):
        return [3 * a, 0.0 if a == 0.0 else math.nan]

    (first,), (second,) = jacobian_partials(func, [0.0])
    assert first.stencil == "central" and first.value == pytest.approx(3.0, rel=1e-12)
    assert second.stencil is None and "the result is nan" in second.note
