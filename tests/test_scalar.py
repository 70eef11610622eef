import math

import pytest

from scalargrad import Scalar, value_of


def test_wraps_ints_and_floats_as_float_values():
    assert Scalar(12).value == 12.0 and isinstance(Scalar(12).value, float)
    assert float(Scalar(2.5)) == 2.5
    assert int(Scalar(2.7)) == 2
    assert Scalar(Scalar(3)).value == 3.0


@pytest.mark.parametrize("bad", ["1", None, [1.0], True, 1j])
def test_rejects_non_numbers(bad):
    with pytest.raises(TypeError):
        Scalar(bad)


def test_repr_and_str_show_the_value():
    assert repr(Scalar(339)) == "Scalar(339.0)"
    assert str(Scalar(-0.5)) == "Scalar(-0.5)"
    assert f"{Scalar(1 / 3):.3f}" == "0.333"


def test_comparisons_compare_values_and_return_bool():
    x, y = Scalar(1.0), Scalar(2.0)
    assert (x < y) is True and (x <= 1) is True and (y > x) is True and (2 >= y) is True
    assert (x == 1.0) is True and (x != y) is True and (Scalar(2.0) == y) is True
    assert (1.0 == x) is True
    assert (x == "1") is False


def test_scalars_are_unhashable_because_values_change():
    with pytest.raises(TypeError):
        hash(Scalar(1.0))


def test_truthiness_follows_the_value():
    assert not Scalar(0.0) and Scalar(-1.0)


def test_comparisons_drive_user_control_flow():
    def piecewise(x):
        return x * x if x > 0 else -x

    assert piecewise(Scalar(3.0)).value == 9.0
    assert piecewise(Scalar(-3.0)).value == 3.0


def test_value_of_numbers_and_scalars():
    assert value_of(Scalar(2)) == 2.0 and value_of(3) == 3.0
    assert math.isnan(value_of(float("nan")))


def test_leaves_and_recorded_nodes():
    x = Scalar(2.0)
    assert x.is_leaf and not (x * 3).is_leaf
    assert (+x) is x
