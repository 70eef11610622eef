"""Rows users add to the rule table (scalargrad.primitive, custom_derivative) and
stop_gradient: against hand-derived derivatives and finite differences, at first and
second order in every pairing of modes, as the built-in rules are (tests/core/test_rules.py);
their errors, word for word where it matters.

The primitives here are defined at the top level of this module, so that they pickle (by
reference) and other tests import them."""
import math

import pytest

import scalargrad as sg
from scalargrad import (DivisionByZero, DomainError, NumericOverflow, Scalar, finite_difference,
                        forward_autodiff, reverse_autodiff)
from scalargrad.core import rules
from scalargrad.core.primitives import BUILT_IN, Primitive
from scalargrad.core.scalar import edges
from tests.core.test_rules import (BINARY_TRUTH, MODE_PAIRS, NARY_TRUTH, UNARY_TRUTH,
                                   _finite_difference_of, _second_derivatives)


@sg.primitive(partials=lambda x: [2 / math.sqrt(math.pi) * sg.exp(-x * x)])
def erf(x):
    return math.erf(x)


@sg.primitive(partials=lambda a, b, out: [a / out, b / out])
def hypot(a, b):
    return math.hypot(a, b)


@sg.primitive(partials=lambda a, b, c: [b * c, a * c, a * b])
def product3(a, b, c):
    return a * b * c


@sg.primitive(partials=lambda x, out: [1.0 - out * out])
def my_tanh(x):
    return math.tanh(x)


@sg.custom_derivative(partials=lambda x: [sg.sigmoid(x)])
def log1pexp(x):
    return x + sg.log1p(sg.exp(-x)) if x > 0 else sg.log1p(sg.exp(x))


@sg.custom_derivative(partials=lambda x: [1.0])
def straight_through_round(x):
    return float(round(x))


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


# name -> (the primitive, value by hand, first partials by hand, points, whether the value's
# finite differences are the derivative: not for an estimator, whose partial is chosen)
USER_TRUTH = {
    "erf": (erf, math.erf, lambda x: (2 / math.sqrt(math.pi) * math.exp(-x * x),),
            [(-1.2,), (0.0,), (0.5,), (2.0,)], True),
    "hypot": (hypot, math.hypot, lambda a, b: (a / math.hypot(a, b), b / math.hypot(a, b)),
              [(3.0, 4.0), (-1.5, 0.5), (0.2, -2.0)], True),
    "product3": (product3, lambda a, b, c: a * b * c, lambda a, b, c: (b * c, a * c, a * b),
                 [(1.5, -2.0, 0.5), (0.3, 0.7, -1.1)], True),
    "my_tanh": (my_tanh, math.tanh, lambda x: (1 / math.cosh(x) ** 2,),
                [(-1.5,), (0.0,), (0.4,)], True),
    "log1pexp": (log1pexp, lambda x: math.log1p(math.exp(x)), lambda x: (_sigmoid(x),),
                 [(-30.0,), (-1.0,), (0.0,), (2.5,)], True),
    "straight_through_round": (straight_through_round, lambda x: float(round(x)), lambda x: (1.0,),
                               [(-1.3,), (0.2,), (2.7,)], False),
    "stop_gradient": (sg.stop_gradient, lambda x: x, lambda x: (0.0,), [(-2.0,), (0.5,)], False),
}


def test_every_rule_is_covered_the_users_too():
    """The table's rules, stop_gradient and the rules this module registers, each with its
    truth here or in test_rules.py."""
    mine = {p.name for p in globals().values() if isinstance(p, Primitive)}
    table = set(rules.RULES) | {"stop_gradient"} | mine
    assert table == set(UNARY_TRUTH) | set(BINARY_TRUTH) | set(NARY_TRUTH) | set(USER_TRUTH)
    assert mine == set(USER_TRUTH) - {"stop_gradient"}
    assert BUILT_IN == set(rules.RULES) | {"stop_gradient"}


@pytest.mark.parametrize("name", sorted(USER_TRUTH))
def test_user_rule_first_and_second_derivatives_in_every_pairing(name):
    function, value, partials, points, smooth = USER_TRUTH[name]
    for point in points:
        xs = [Scalar(v) for v in point]
        y = function(*xs)
        assert y.operation == name
        assert y.value == pytest.approx(value(*point), rel=1e-12, abs=1e-300)
        assert function(*point) == y.value and type(function(*point)) is float  # numbers in
        expected = list(partials(*point))
        assert reverse_autodiff(y, xs) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert forward_autodiff(y, xs) == pytest.approx(expected, rel=1e-12, abs=1e-15)
        if smooth:  # the value's own finite differences agree with the partials
            estimated = finite_difference(value, list(point), richardson=True)
            assert expected == pytest.approx(estimated, rel=1e-7, abs=1e-9)
        truth = _finite_difference_of(partials, point)
        for inner, outer in MODE_PAIRS:
            hessian = _second_derivatives(function, point, inner, outer)
            for row, true_row in zip(hessian, truth):
                assert row == pytest.approx(true_row, rel=1e-6, abs=1e-7), (name, point, inner, outer)


@pytest.mark.parametrize("inner, outer", MODE_PAIRS)
def test_numbers_among_a_primitives_arguments_are_constants_at_every_order(inner, outer):
    a, b = 1.5, -0.5
    truth = _finite_difference_of(lambda a, b: (a / math.hypot(a, b), b / math.hypot(a, b)), (a, b))
    (left,), = _second_derivatives(lambda s: hypot(s, b), [a], inner, outer)
    (right,), = _second_derivatives(lambda s: hypot(a, s), [b], inner, outer)
    assert left == pytest.approx(truth[0][0], rel=1e-6) and right == pytest.approx(truth[1][1], rel=1e-6)
    x = Scalar(a)
    node = product3(x, 2, x)  # an int among them; one Scalar twice
    parents, partials = edges(node)
    assert parents == (x, x) and partials == (2 * a, a * 2)
    assert reverse_autodiff(node, x) == forward_autodiff(node, x) == 4 * a


def test_a_primitive_records_one_node_and_works_through_grad_and_hessian():
    x = Scalar(0.5)
    y = erf(x)
    assert y.operation == "erf" and edges(y)[0] == (x,)
    assert sg.grad(sg.grad(erf))(0.5) == pytest.approx(-2 * 0.5 * 2 / math.sqrt(math.pi) * math.exp(-0.25))
    xs = [Scalar(3.0), Scalar(4.0)]
    hessian = sg.hessian(hypot(*xs), xs)
    truth = _finite_difference_of(lambda a, b: (a / math.hypot(a, b), b / math.hypot(a, b)), (3.0, 4.0))
    for row, true_row in zip(hessian, truth):
        assert row == pytest.approx(true_row, rel=1e-7)


def test_third_order_through_a_primitive():
    """d3/dx3 erf = (8x^2 - 4) exp(-x^2) / sqrt(pi): the partials recorded twice over."""
    third = sg.grad(sg.grad(sg.grad(erf)))
    for x in (-0.7, 0.0, 1.1):
        assert third(x) == pytest.approx((8 * x * x - 4) * math.exp(-x * x) / math.sqrt(math.pi), rel=1e-12)


def test_check_gradients_tests_a_primitives_partials():
    assert sg.check_gradients(hypot, [3.0, -4.0]).ok

    @sg.primitive(partials=lambda x: [sg.cos(x) * 1.01])  # a wrong partial
    def wrong_sin(x):
        return math.sin(x)
    report = sg.check_gradients(wrong_sin, [0.3])
    assert not report.ok


# ---------------------------------------------------------------------------------------
# stop_gradient and estimators.
def test_stop_gradient_passes_the_value_and_no_derivative():
    x = Scalar(3.0)
    y = x * sg.stop_gradient(x)  # d/dx = stop_gradient(x) = 3; d2/dx2 = 0
    assert y.value == 9.0
    assert reverse_autodiff(y, x) == forward_autodiff(y, x) == 3.0
    for inner, outer in MODE_PAIRS:
        assert _second_derivatives(lambda s: s * sg.stop_gradient(s), [3.0], inner, outer) == [[0.0]]
    assert sg.grad(sg.grad(lambda s: s * sg.stop_gradient(s) ** 2))(2.0) == 0.0
    assert sg.stop_gradient(2) == 2.0 and type(sg.stop_gradient(2)) is float
    assert reverse_autodiff(sg.stop_gradient(x), x) == forward_autodiff(sg.stop_gradient(x), x) == 0.0
    assert type(forward_autodiff(sg.stop_gradient(x), x)) is float


def test_stop_gradient_passes_nothing_not_even_an_infinite_adjoint():
    x = Scalar(2.0)
    y = sg.stop_gradient(x * x) * math.inf + x  # through a partial 0, inf * 0 would be nan
    assert reverse_autodiff(y, x) == 1.0
    assert forward_autodiff(y, x) == 1.0
    assert sg.jvp(lambda s: sg.stop_gradient(s) * math.inf + s, (2.0,), (1.0,)) == (math.inf, 1.0)


def test_a_straight_through_estimator_rounds_forward_and_passes_the_gradient():
    x = Scalar(1.7)
    y = straight_through_round(x) * 3.0
    assert y.value == 6.0 and reverse_autodiff(y, x) == 3.0


def test_custom_derivative_records_one_node_and_guards_nothing():
    """The branch of log1pexp runs on floats: one node, and compiled code has no guard."""
    x = Scalar(800.0)
    y = log1pexp(x)
    assert y.value == 800.0 and reverse_autodiff(y, x) == 1.0 and edges(y)[0] == (x,)
    with pytest.raises(NumericOverflow):  # what the primitive saves one from
        sg.log(1 + sg.exp(x))
    compiled = sg.compile(lambda s: log1pexp(s) * 2.0)
    assert compiled.value_and_grad(800.0) == (1600.0, [2.0])
    assert compiled.value_and_grad(-1.0) == (2 * math.log1p(math.exp(-1.0)), [2 * _sigmoid(-1.0)])
    assert "guard" not in compiled.ir


# ---------------------------------------------------------------------------------------
# Errors, each naming the primitive.
def _faulty():
    """Primitives with faults, by name (local: the coverage test counts the top level's)."""
    @sg.primitive(partials=lambda x: [1.0, 2.0])
    def too_many_partials(x):
        return x

    @sg.primitive(partials=lambda x: 1.0)
    def not_a_list(x):
        return x

    @sg.primitive(partials=lambda x: ["1"])
    def partial_not_a_number(x):
        return x

    @sg.primitive(partials=lambda x: [1.0])
    def returns_text(x):
        return str(x)

    @sg.primitive(partials=lambda x: [1.0])
    def arcsine(x):
        return math.asin(x)

    @sg.primitive(partials=lambda x: [1.0])
    def exponential(x):
        return math.exp(x)

    @sg.primitive(partials=lambda x: [1.0])
    def reciprocal(x):
        return 1 / x
    return locals()


FAULTY = _faulty()


@pytest.mark.parametrize("call, kind, words", [
    (lambda: FAULTY['too_many_partials'](Scalar(1.0)), TypeError,
     "too_many_partials: its partials function returned 2 partials; it must return a list of 1, "
     "one per argument"),
    (lambda: FAULTY['not_a_list'](Scalar(1.0)), TypeError,
     "not_a_list: its partials function returned a float"),
    (lambda: FAULTY['partial_not_a_number'](Scalar(1.0)), TypeError,
     "partial_not_a_number(1.0): its partial 0 is a str, not a number"),
    (lambda: FAULTY['returns_text'](Scalar(1.0)), TypeError,
     "returns_text(1.0): its function returned a str, not a number"),
    (lambda: FAULTY['returns_text'](1.0), TypeError, "returns_text(1.0): its function returned a str"),
    (lambda: FAULTY['arcsine'](Scalar(2.0)), DomainError,
     "arcsine(2.0): outside the domain of arcsine (math domain error)"),
    (lambda: FAULTY['arcsine'](2.0), DomainError, "arcsine(2.0): outside the domain of arcsine"),
    (lambda: FAULTY['exponential'](Scalar(1000.0)), NumericOverflow,
     "exponential(1000.0): the result is too large for a float"),
    (lambda: FAULTY['reciprocal'](Scalar(0.0)), DivisionByZero, "reciprocal(0.0): division by zero"),
    (lambda: erf(Scalar(1.0), 2.0), TypeError, "erf() takes 1 argument, got 2"),
    (lambda: hypot(1.0), TypeError, "hypot() takes 2 arguments, got 1"),
    (lambda: erf("1"), TypeError, "erf() takes numbers or Scalars, got str"),
    (lambda: sg.stop_gradient([1.0]), TypeError, "stop_gradient() takes numbers or Scalars, got list"),
])
def test_errors_name_the_primitive(call, kind, words):
    with pytest.raises(kind) as caught:
        call()
    assert words in str(caught.value)


def test_errors_in_a_custom_derivative_say_where():
    @sg.custom_derivative(partials=lambda x: [1 / x])
    def my_log(x):
        return sg.log(x)
    with pytest.raises(DomainError, match=r"my_log\(-1.0\): outside the domain of my_log \(log\(-1.0\)"):
        my_log(Scalar(-1.0))


def test_a_wrong_count_at_second_order_names_the_primitive():
    @sg.primitive(partials=lambda x: [1.0] if isinstance(x, float) else [x, x])
    def fickle(x):
        return x
    x = Scalar(1.0)
    with pytest.raises(TypeError, match="fickle: its partials function returned 2 partials"):
        reverse_autodiff(fickle(x), x, create_graph=True)


@pytest.mark.parametrize("name", ["exp", "sum", "stop_gradient", "add"])
def test_a_built_in_name_is_refused(name):
    with pytest.raises(ValueError, match=f"primitive {name}: {name} is a built-in primitive of scalargrad"):
        sg.primitive(partials=lambda x: [1.0], name=name)(lambda x: x)


def test_a_built_in_name_is_refused_from_the_functions_name_and_another_name_accepted():
    def exp(x):
        return math.exp(x)
    with pytest.raises(ValueError, match="exp is a built-in primitive"):
        sg.primitive(partials=lambda x: [sg.exp(x)])(exp)
    mine = sg.primitive(partials=lambda x: [sg.exp(x)], name="my_exp")(exp)
    assert mine(Scalar(0.0)).operation == "my_exp"


def test_what_a_primitive_cannot_take_is_said_when_it_is_made():
    with pytest.raises(TypeError, match=r"must take plain positional arguments .* \*xs is not one"):
        sg.primitive(partials=lambda *xs: [1.0], name="f")(lambda *xs: 0.0)
    with pytest.raises(TypeError, match="y=1 is not one"):
        sg.primitive(partials=lambda x, y: [1.0, 1.0], name="f")(lambda x, y=1: 0.0)
    with pytest.raises(TypeError, match=r"its partials function must take the function's arguments \(a, b\)"):
        sg.primitive(partials=lambda a: [1.0])(hypot.__wrapped__)
    with pytest.raises(ValueError, match="a primitive's name must be an identifier"):
        sg.primitive(partials=lambda x: [1.0])(lambda x: x)
    with pytest.raises(TypeError, match="must be callables"):
        sg.primitive(partials=[1.0], name="f")(lambda x: x)


def test_a_primitive_is_the_function_it_was_made_from_to_readers():
    assert isinstance(erf, Primitive) and erf.__name__ == "erf" and erf.__module__ == __name__
    assert erf.__wrapped__(0.5) == math.erf(0.5) and repr(erf) == "<primitive erf>"
    assert erf.arguments == ("x",) and hypot.arguments == ("a", "b")
    assert hypot.takes_out and not erf.takes_out
