import math

import pytest

from scalargrad import finite_difference, log, sqrt
from scalargrad.errors import InputError
from scalargrad.numerical import check_step


def test_central_difference_of_smooth_functions():
    assert finite_difference(math.sin, 1.0) == pytest.approx(math.cos(1.0), rel=1e-9)
    assert finite_difference(lambda x: x ** 3, -2.0) == pytest.approx(12.0, rel=1e-9)


def test_list_of_arguments_gives_list_of_partials():
    partials = finite_difference(lambda a, b: a * a * b, [3.0, 2.0])
    assert partials == pytest.approx([12.0, 9.0], rel=1e-8)


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_step_scales_with_the_argument(scale):
    # d/dx x^2 = 2x at very different magnitudes: one fixed step would fail at one end
    assert finite_difference(lambda x: x * x, scale) == pytest.approx(2 * scale, rel=1e-7)


def test_richardson_gives_more_digits():
    exact = math.exp(0.7)
    plain = abs(finite_difference(math.exp, 0.7) - exact)
    extrapolated = abs(finite_difference(math.exp, 0.7, richardson=True) - exact)
    assert extrapolated < plain and extrapolated / exact < 1e-11


def test_one_sided_next_to_a_domain_boundary():
    # log near 0: a central step of the default size would leave the domain
    assert finite_difference(log, 3e-6) == pytest.approx(1 / 3e-6, rel=1e-3)
    assert finite_difference(sqrt, 0.0) > 1e2


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
