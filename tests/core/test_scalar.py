import math

import pytest

import scalargrad as sg
from scalargrad import GraphLostError, Scalar, forward_autodiff, reverse_autodiff, value_of


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


def test_strict_conversions_find_where_a_graph_is_lost():
    x = Scalar(0.5)
    y = x * 2
    assert math.exp(y) == math.exp(1.0)  # silently a float, with no derivative
    with sg.strict_conversions():
        with pytest.raises(GraphLostError, match=r"float\(\) of a recorded Scalar \(made by mul"):
            math.exp(y)
        for convert in (float, int, round):
            with pytest.raises(GraphLostError):
                convert(y)
        assert float(x) == 0.5 and round(x) == 0  # leaves still convert: that is how values get out
        assert sg.exp(y).value == math.exp(1.0)  # scalargrad's functions keep the graph
    assert float(y) == 1.0  # off again after the block


def test_strict_conversions_still_apply_inside_library_code():
    """The library reads values with .value, never float(): strict mode does not trip it."""
    xs = [Scalar(0.3), Scalar(-0.2)]
    with sg.strict_conversions():
        y = sg.logsumexp([xs[0] * xs[1], sg.dot(xs, [1.0, 2.0])]) ** 1.5
        assert sg.hessian(y, xs)
        assert reverse_autodiff(y, xs) == pytest.approx(forward_autodiff(y, xs), rel=1e-12)
        m = sg.Matrix([xs]) @ sg.Matrix([[1.0], [2.0]])
        assert m.tolist() == [[pytest.approx(-0.1)]]


def test_round_and_operation():
    x = Scalar(2.567)
    assert round(x, 1) == 2.6 and round(x) == 3 and type(round(x)) is int
    assert (x * 2).operation == "mul" and x.operation == "" and sg.tanh(x).operation == "tanh"
