"""Every primitive against hand-derived derivatives, in both modes, at several points."""
import math

import pytest

import scalargrad as sg
from scalargrad import DivisionByZero, DomainError, NumericOverflow, Scalar
from scalargrad import forward_autodiff, reverse_autodiff


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# (function, plain-math value, hand-derived derivative, points)
UNARY = [
    (sg.exp, math.exp, math.exp, [-2.0, 0.0, 1.5]),
    (sg.expm1, math.expm1, math.exp, [-1.0, 0.0, 2.0]),
    (sg.log, math.log, lambda x: 1 / x, [0.1, 1.0, 7.0]),
    (sg.log1p, math.log1p, lambda x: 1 / (1 + x), [-0.5, 0.0, 3.0]),
    (sg.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.25, 1.0, 9.0]),
    (sg.sin, math.sin, math.cos, [-1.0, 0.0, 2.0]),
    (sg.cos, math.cos, lambda x: -math.sin(x), [-1.0, 0.0, 2.0]),
    (sg.tan, math.tan, lambda x: 1 / math.cos(x) ** 2, [-1.0, 0.0, 0.5]),
    (sg.atan, math.atan, lambda x: 1 / (1 + x * x), [-3.0, 0.0, 0.5]),
    (sg.tanh, math.tanh, lambda x: 1 - math.tanh(x) ** 2, [-2.0, 0.0, 0.7]),
    (sg.sigmoid, sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)), [-30.0, -1.0, 0.0, 2.0]),
    (sg.softplus, lambda x: math.log(1 + math.exp(x)), sigmoid, [-3.0, 0.0, 4.0]),
    (sg.relu, lambda x: max(x, 0.0), lambda x: 1.0 if x > 0 else 0.0, [-2.0, 0.0, 3.0]),
    (abs, abs, lambda x: (x > 0) - (x < 0), [-2.0, 0.0, 3.0]),
    (lambda x: -x, lambda x: -x, lambda x: -1.0, [-2.0, 0.0, 3.0]),
]


@pytest.mark.parametrize("function, plain, derivative, points", UNARY,
                         ids=[getattr(u[0], "__name__", "op") for u in UNARY])
def test_unary_primitives(function, plain, derivative, points):
    for at in points:
        x = Scalar(at)
        y = function(x)
        assert y.value == pytest.approx(plain(at), rel=1e-12, abs=1e-300)
        assert reverse_autodiff(y, x) == pytest.approx(derivative(at), rel=1e-12, abs=1e-15)
        assert forward_autodiff(y, x) == pytest.approx(derivative(at), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("function", [sg.exp, sg.log, sg.sqrt, sg.sin, sg.tanh, sg.sigmoid,
                                      sg.relu, sg.softplus, sg.log1p, sg.atan])
def test_a_float_in_gives_a_float_out(function):
    result = function(0.5)
    assert type(result) is float
    assert type(function(2)) is float


def test_functions_reject_non_numbers():
    with pytest.raises(TypeError):
        sg.exp("1")


BINARY = [
    (lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    (lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    (lambda a, b: a * b, lambda a, b: (b, a)),
    (lambda a, b: a / b, lambda a, b: (1 / b, -a / b ** 2)),
    (lambda a, b: a ** b, lambda a, b: (b * a ** (b - 1), a ** b * math.log(a))),
    (sg.maximum, lambda a, b: (1.0, 0.0) if a >= b else (0.0, 1.0)),
    (sg.minimum, lambda a, b: (1.0, 0.0) if a <= b else (0.0, 1.0)),
]


@pytest.mark.parametrize("function, partials", BINARY, ids=["add", "sub", "mul", "div", "pow", "max", "min"])
@pytest.mark.parametrize("a, b", [(1.5, 2.0), (3.0, -0.5), (0.7, 0.7)])
def test_binary_primitives_with_scalars_and_numbers(function, partials, a, b):
    expected_a, expected_b = partials(a, b)
    x, y = Scalar(a), Scalar(b)
    both = function(x, y)
    assert both.value == pytest.approx(function(a, b))
    assert reverse_autodiff(both, [x, y]) == pytest.approx([expected_a, expected_b])
    assert forward_autodiff(both, [x, y]) == pytest.approx([expected_a, expected_b])
    left = function(x, b)        # the number on the right is a constant
    assert reverse_autodiff(left, x) == pytest.approx(expected_a)
    right = function(a, y)       # and on the left
    assert forward_autodiff(right, y) == pytest.approx(expected_b)


def test_power_with_integer_exponent_of_negative_base():
    x = Scalar(-2.0)
    y = x ** 3
    assert y.value == -8.0
    assert reverse_autodiff(y, x) == 12.0


def test_power_with_scalar_exponent_of_negative_base_is_nan_for_the_exponent():
    a, b = Scalar(-2.0), Scalar(2.0)
    da, db = reverse_autodiff(a ** b, [a, b])
    assert da == -4.0 and math.isnan(db)


def test_documented_conventions_at_kinks():
    zero = Scalar(0.0)
    assert reverse_autodiff(sg.relu(zero), zero) == 0.0
    assert reverse_autodiff(abs(zero), zero) == 0.0
    assert reverse_autodiff(sg.sqrt(zero), zero) == math.inf
    a, b = Scalar(1.0), Scalar(1.0)
    assert reverse_autodiff(sg.maximum(a, b), [a, b]) == [1.0, 0.0]
    assert reverse_autodiff(sg.minimum(a, b), [a, b]) == [1.0, 0.0]


def test_nary_sum_dot_logsumexp_against_hand_derivatives():
    ws = [Scalar(v) for v in (1.0, -2.0, 3.0)]
    data = [0.5, 4.0, -1.0]
    d = sg.dot(ws, data)
    assert d.value == 1.0 * 0.5 - 2.0 * 4.0 - 3.0
    assert reverse_autodiff(d, ws) == data
    s = sg.sum(ws + [10.0])
    assert s.value == 12.0 and forward_autodiff(s, ws) == [1.0, 1.0, 1.0]
    both = sg.dot(ws, ws)  # |w|^2
    assert reverse_autodiff(both, ws) == [2.0, -4.0, 6.0]
    lse = sg.logsumexp(ws)
    total = sum(math.exp(w.value) for w in ws)
    assert lse.value == pytest.approx(math.log(total))
    softmax = [math.exp(w.value) / total for w in ws]
    assert reverse_autodiff(lse, ws) == pytest.approx(softmax)
    assert forward_autodiff(lse, ws) == pytest.approx(softmax)
    assert sg.mean(ws).value == pytest.approx(2 / 3)


def test_nary_nodes_have_one_node_and_no_nodes_for_data():
    ws = [Scalar(1.0) for _ in range(50)]
    d = sg.dot(ws, [2.0] * 50)
    assert d._a is not None and len(d._a) == 50  # only the 50 weights are parents
    assert all(p.is_leaf for p in d._a)


def test_logsumexp_is_stable_for_large_inputs():
    xs = [Scalar(1000.0), Scalar(1000.0)]
    y = sg.logsumexp(xs)
    assert y.value == pytest.approx(1000.0 + math.log(2))
    assert reverse_autodiff(y, xs) == pytest.approx([0.5, 0.5])


def test_nary_on_plain_numbers_gives_floats():
    assert sg.sum([1, 2, 3.5]) == 6.5 and type(sg.dot([1.0, 2.0], [3.0, 4.0])) is float


def test_dot_length_mismatch():
    with pytest.raises(ValueError, match="dot"):
        sg.dot([Scalar(1.0)], [1.0, 2.0])


@pytest.mark.parametrize("make, kind, words", [
    (lambda: sg.log(Scalar(-1.0)), DomainError, "log(-1.0)"),
    (lambda: sg.log(0.0), DomainError, "log(0.0)"),
    (lambda: sg.sqrt(Scalar(-4.0)), DomainError, "sqrt(-4.0)"),
    (lambda: sg.log1p(Scalar(-1.0)), DomainError, "log1p(-1.0)"),
    (lambda: Scalar(1.0) / 0, DivisionByZero, "div(1.0, 0.0)"),
    (lambda: 1 / Scalar(0.0), DivisionByZero, "div(1.0, 0.0)"),
    (lambda: 0 ** Scalar(-1.0), DivisionByZero, "pow(0.0, -1.0)"),
    (lambda: Scalar(-8.0) ** 0.5, DomainError, "pow(-8.0, 0.5)"),
    (lambda: sg.exp(Scalar(1000.0)), NumericOverflow, "exp(1000.0)"),
])
def test_domain_errors_name_the_operation_and_value(make, kind, words):
    with pytest.raises(kind) as caught:
        make()
    assert words in str(caught.value)


def test_domain_errors_are_value_or_zero_division_errors():
    with pytest.raises(ValueError):
        sg.log(Scalar(-1.0))
    with pytest.raises(ZeroDivisionError):
        Scalar(1.0) / 0.0
    with pytest.raises(ValueError):
        Scalar(1.0) / 0.0


def test_unsupported_operand_types_raise_type_error():
    with pytest.raises(TypeError):
        Scalar(1.0) + "a"
    with pytest.raises(TypeError):
        [1] * Scalar(2.0)


def test_divide_on_floats_raises_the_same_error_as_on_scalars():
    assert sg.divide(1, 4) == 0.25 and sg.divide(Scalar(1.0), 4).value == 0.25
    for a, b in ((1.0, 0.0), (Scalar(1.0), 0.0)):
        with pytest.raises(DivisionByZero, match=r"div\(1.0, 0.0\)"):
            sg.divide(a, b)
