"""Every primitive of the rule table against hand-derived derivatives: first and second
order, every pairing of modes, both argument positions, several points and the extremes."""
import math
import operator

import pytest

import scalargrad as sg
from scalargrad import DivisionByZero, DomainError, NumericOverflow, Scalar
from scalargrad import finite_difference, forward_autodiff, reverse_autodiff
from scalargrad.core import rules
from scalargrad.core.scalar import edges


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# ---------------------------------------------------------------------------------------
# Every rule of the table, against derivatives worked out by hand (independent of the
# table's own expressions), at first and second order in every pairing of modes. A rule
# added to the table without a line here fails test_every_rule_is_covered.

# rule name -> (how user code calls it, value by hand, first partials by hand, points)
UNARY_TRUTH = {
    "neg": (operator.neg, lambda x: -x, lambda x: -1.0, [-2.0, 0.5, 3.0]),
    "abs": (abs, abs, lambda x: math.copysign(1.0, x), [-2.0, -0.3, 3.0]),
    "exp": (sg.exp, math.exp, math.exp, [-2.0, 0.0, 1.5]),
    "expm1": (sg.expm1, math.expm1, math.exp, [-1.0, 0.0, 2.0]),
    "log": (sg.log, math.log, lambda x: 1 / x, [0.1, 1.0, 7.0]),
    "log1p": (sg.log1p, math.log1p, lambda x: 1 / (1 + x), [-0.5, 0.0, 3.0]),
    "sqrt": (sg.sqrt, math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.25, 1.0, 9.0]),
    "sin": (sg.sin, math.sin, math.cos, [-1.0, 0.0, 2.0]),
    "cos": (sg.cos, math.cos, lambda x: -math.sin(x), [-1.0, 0.3, 2.0]),
    "tan": (sg.tan, math.tan, lambda x: 1 / math.cos(x) ** 2, [-1.0, 0.0, 0.5]),
    "atan": (sg.atan, math.atan, lambda x: 1 / (1 + x * x), [-3.0, 0.0, 0.5]),
    "tanh": (sg.tanh, math.tanh, lambda x: 1 / math.cosh(x) ** 2, [-2.0, 0.0, 0.7]),
    "sigmoid": (sg.sigmoid, sigmoid, lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2,
                [-30.0, -1.0, 0.0, 2.0]),
    "softplus": (sg.softplus, lambda x: math.log(1 + math.exp(x)), sigmoid, [-3.0, 0.0, 4.0]),
    "relu": (sg.relu, lambda x: max(x, 0.0), lambda x: 1.0 if x > 0 else 0.0, [-2.0, 0.5, 3.0]),
}
BINARY_TRUTH = {
    "add": (operator.add, lambda a, b: a + b, lambda a, b: (1.0, 1.0)),
    "sub": (operator.sub, lambda a, b: a - b, lambda a, b: (1.0, -1.0)),
    "mul": (operator.mul, lambda a, b: a * b, lambda a, b: (b, a)),
    "div": (operator.truediv, lambda a, b: a / b, lambda a, b: (1 / b, -a / b ** 2)),
    "pow": (operator.pow, lambda a, b: a ** b,
            lambda a, b: (b * a ** (b - 1), a ** b * math.log(a))),
    "maximum": (sg.maximum, max, lambda a, b: (1.0, 0.0) if a > b else (0.0, 1.0)),
    "minimum": (sg.minimum, min, lambda a, b: (1.0, 0.0) if a < b else (0.0, 1.0)),
}
BINARY_POINTS = [(1.5, 2.0), (3.0, -0.5), (0.7, 1.3)]


def _softmax(values):
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    return [w / sum(weights) for w in weights]


# n-ary rules: (how user code calls it on a flat list of arguments, value, partials)
NARY_TRUTH = {
    "sum": (sg.sum, sum, lambda v: [1.0] * len(v)),
    "dot": (lambda v: sg.dot(v[:len(v) // 2], v[len(v) // 2:]),
            lambda v: sum(a * b for a, b in zip(v[:len(v) // 2], v[len(v) // 2:])),
            lambda v: v[len(v) // 2:] + v[:len(v) // 2]),
    "logsumexp": (sg.logsumexp, lambda v: math.log(sum(math.exp(x) for x in v)), _softmax),
}
NARY_POINTS = [[0.3, -1.2, 2.0, 0.5], [1.0, 1.0, -0.25, 3.0]]


def test_every_rule_is_covered():
    assert set(rules.RULES) == set(UNARY_TRUTH) | set(BINARY_TRUTH) | set(NARY_TRUTH)


def _second_derivatives(function, point, inner, outer):
    """The Hessian of function at point: inner mode with create_graph, then outer mode."""
    xs = [Scalar(v) for v in point]
    y = function(*xs)
    first = (reverse_autodiff if inner == "reverse" else forward_autodiff)(y, xs, create_graph=True)
    second = reverse_autodiff if outer == "reverse" else forward_autodiff
    return [second(g, xs) for g in first]


def _finite_difference_of(partials, point):
    """Central differences of the hand-derived first partials: the Hessian's truth."""
    rows = []
    for i in range(len(point)):
        rows.append(finite_difference(lambda *v, i=i: partials(*v)[i], list(point),
                                      richardson=True))
    return rows


MODE_PAIRS = [(inner, outer) for inner in ("reverse", "forward") for outer in ("reverse", "forward")]


@pytest.mark.parametrize("name", sorted(UNARY_TRUTH))
def test_unary_rule_first_and_second_derivatives(name):
    call, value, derivative, points = UNARY_TRUTH[name]
    for at in points:
        x = Scalar(at)
        y = call(x)
        assert y.value == pytest.approx(value(at), rel=1e-12, abs=1e-300)
        assert reverse_autodiff(y, x) == pytest.approx(derivative(at), rel=1e-12, abs=1e-15)
        assert forward_autodiff(y, x) == pytest.approx(derivative(at), rel=1e-12, abs=1e-15)
        truth = finite_difference(derivative, at, richardson=True)
        for inner, outer in MODE_PAIRS:
            (second,), = _second_derivatives(call, [at], inner, outer)
            assert second == pytest.approx(truth, rel=1e-6, abs=1e-7), (name, at, inner, outer)


@pytest.mark.parametrize("name", sorted(BINARY_TRUTH))
@pytest.mark.parametrize("point", BINARY_POINTS)
def test_binary_rule_in_both_positions_first_and_second_derivatives(name, point):
    call, value, partials = BINARY_TRUTH[name]
    a, b = point
    expected = partials(a, b)
    x, y = Scalar(a), Scalar(b)
    both = call(x, y)
    assert both.value == pytest.approx(value(a, b), rel=1e-12)
    assert reverse_autodiff(both, [x, y]) == pytest.approx(expected, rel=1e-12)
    assert forward_autodiff(both, [x, y]) == pytest.approx(expected, rel=1e-12)
    # a plain number in either position is a constant
    assert reverse_autodiff(call(x, b), x) == pytest.approx(expected[0], rel=1e-12)
    assert forward_autodiff(call(a, y), y) == pytest.approx(expected[1], rel=1e-12)
    truth = _finite_difference_of(partials, point)
    for inner, outer in MODE_PAIRS:
        hessian = _second_derivatives(call, point, inner, outer)
        for row, true_row in zip(hessian, truth):
            assert row == pytest.approx(true_row, rel=1e-6, abs=1e-7), (name, point, inner, outer)
        # and with the other argument a number, in each position
        (left,), = _second_derivatives(lambda s: call(s, b), [a], inner, outer)
        (right,), = _second_derivatives(lambda s: call(a, s), [b], inner, outer)
        assert left == pytest.approx(truth[0][0], rel=1e-6, abs=1e-7)
        assert right == pytest.approx(truth[1][1], rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("name", sorted(NARY_TRUTH))
@pytest.mark.parametrize("point", NARY_POINTS)
def test_nary_rule_first_and_second_derivatives(name, point):
    call, value, partials = NARY_TRUTH[name]

    def function(*v):
        return call(list(v))

    xs = [Scalar(v) for v in point]
    y = function(*xs)
    assert y.value == pytest.approx(value(point), rel=1e-12)
    assert reverse_autodiff(y, xs) == pytest.approx(partials(point), rel=1e-12)
    assert forward_autodiff(y, xs) == pytest.approx(partials(point), rel=1e-12)
    truth = _finite_difference_of(lambda *v: partials(list(v)), point)
    for inner, outer in MODE_PAIRS:
        for row, true_row in zip(_second_derivatives(function, point, inner, outer), truth):
            assert row == pytest.approx(true_row, rel=1e-6, abs=1e-7), (name, inner, outer)


@pytest.mark.parametrize("numbers_at", [(1,), (0, 3), (2,), (1, 2), (1, 3), (0, 2)])
def test_dot_mixing_scalars_and_numbers_keeps_each_partial_with_its_argument(numbers_at):
    """Some arguments plain numbers, on either side: partials must stay aligned, at second
    order too (d/dw of w*x is x: a Scalar when x is one)."""
    point = [0.5, -1.5, 2.0, 0.25]
    _, value, partials = NARY_TRUTH["dot"]

    def function(*v):
        args = [point[i] if i in numbers_at else v[i] for i in range(4)]
        return sg.dot(args[:2], args[2:])

    xs = [Scalar(v) for v in point]
    y = function(*xs)
    expected = [0.0 if i in numbers_at else p for i, p in enumerate(partials(point))]
    assert y.value == value(point)
    assert reverse_autodiff(y, xs) == expected
    assert forward_autodiff(y, xs) == expected
    truth = [[0.0 if i in numbers_at or j in numbers_at else (1.0 if abs(i - j) == 2 else 0.0)
              for j in range(4)] for i in range(4)]
    for inner, outer in MODE_PAIRS:
        assert _second_derivatives(function, point, inner, outer) == truth


def test_extremes_stay_finite_and_right():
    x = Scalar(-1000.0)
    assert sg.sigmoid(x).value == 0.0 and reverse_autodiff(sg.sigmoid(x), x) == 0.0
    (second,), = _second_derivatives(sg.sigmoid, [-1000.0], "reverse", "forward")
    assert second == 0.0
    big = Scalar(1000.0)
    assert sg.softplus(big).value == 1000.0 and reverse_autodiff(sg.softplus(big), big) == 1.0
    (second,), = _second_derivatives(sg.softplus, [1000.0], "forward", "reverse")
    assert second == 0.0
    # logsumexp with a -inf argument: that argument has weight exactly 0
    a = Scalar(0.5)
    lse = sg.logsumexp([a, -math.inf])
    assert lse.value == 0.5 and reverse_autodiff(lse, a) == 1.0
    minus_inf = Scalar(-math.inf)
    lse = sg.logsumexp([a, minus_inf])
    assert reverse_autodiff(lse, [a, minus_inf]) == [1.0, 0.0]
    # a power whose partial is beyond a float: +-inf, not an error
    tiny = Scalar(1e-300)
    y = tiny ** -0.5
    assert y.value == pytest.approx(1e150)
    assert reverse_autodiff(y, tiny) == -math.inf


@pytest.mark.parametrize("function", [sg.exp, sg.log, sg.sqrt, sg.sin, sg.tanh, sg.sigmoid,
                                      sg.relu, sg.softplus, sg.log1p, sg.atan])
def test_a_float_in_gives_a_float_out(function):
    result = function(0.5)
    assert type(result) is float
    assert type(function(2)) is float


def test_functions_reject_non_numbers():
    with pytest.raises(TypeError):
        sg.exp("1")


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


def test_nary_nodes_with_numbers_among_the_arguments():
    ws = [Scalar(v) for v in (1.0, -2.0, 3.0)]
    s = sg.sum(ws + [10.0])
    assert s.value == 12.0 and forward_autodiff(s, ws) == [1.0, 1.0, 1.0]
    lse = sg.logsumexp([ws[0], 2.0])
    assert reverse_autodiff(lse, ws[0]) == pytest.approx(_softmax([1.0, 2.0])[0])
    assert sg.mean(ws).value == pytest.approx(2 / 3)
    assert reverse_autodiff(sg.mean(ws), ws) == pytest.approx([1 / 3] * 3)


def test_nary_nodes_have_one_node_and_no_nodes_for_data():
    ws = [Scalar(1.0) for _ in range(50)]
    d = sg.dot(ws, [2.0] * 50)
    parents, partials = edges(d)
    assert d.operation == "dot" and len(parents) == 50  # only the 50 weights are parents
    assert all(p.is_leaf for p in parents) and partials == (2.0,) * 50


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


def test_more_extremes_of_the_float_helpers():
    x = Scalar(-1000.0)
    assert sg.softplus(x).value == 0.0 and reverse_autodiff(sg.softplus(x), x) == 0.0
    assert sg.logsumexp([-math.inf, -math.inf]) == -math.inf
    assert sg.logsumexp([math.inf, 1.0]) == math.inf
    assert sg.sum([1e308, 1e308]) == math.inf and math.isnan(sg.sum([math.inf, -math.inf]))
    assert sg.sum([0.1] * 10) == 1.0  # correctly rounded, unlike a chain of additions


@pytest.mark.parametrize("base, exponent, value, partials", [
    (2.0, 0.0, 1.0, (0.0, math.log(2.0))),   # x**0: d/dx is 0
    (0.0, 0.0, 1.0, (0.0, 0.0)),             # 0**0 = 1 (as for floats)
    (0.0, 0.5, 0.0, (math.inf, 0.0)),        # the convention at a = 0, 0 < b < 1
    (0.0, 2.0, 0.0, (0.0, 0.0)),
    (-1e-10, -30.0, 1e300, (math.inf, math.nan)),    # partial beyond a float, odd b - 1
    (1e-10, -30.0, 1e300, (-math.inf, None)),
    (-1e-300, -1.0, -1e300, (-math.inf, math.nan)),  # even b - 1
])
def test_power_at_its_edges(base, exponent, value, partials):
    a, b = Scalar(base), Scalar(exponent)
    y = a ** b
    assert y.value == pytest.approx(value, rel=1e-12)
    da, db = reverse_autodiff(y, [a, b])
    assert da == partials[0]
    if partials[1] is None:
        assert db == pytest.approx(value * math.log(base), rel=1e-12)
    elif math.isnan(partials[1]):
        assert math.isnan(db)
    else:
        assert db == partials[1]
