"""NaN in, NaN out: through every primitive of the table, in value and in derivatives, in
both modes and at second order.

A NaN argument makes the value NaN (as IEEE does: pow(nan, 0) and pow(1, nan) are 1), and
makes NaN every derivative that depends on that argument. Whether it does is found from
the engine itself: the same derivative with the NaN replaced by ordinary values on both
sides of every kink and of the other arguments; one that differs among them depends on the
argument and must be NaN at the NaN. (One that is the same for all of them may be that
value or NaN, as IEEE arithmetic on the partial's formula makes it: d/db of a / b at a = 0
is -out / b, NaN. The linear rules keep their constant partials: test_constant_partials.)
The kinks decided by a comparison, which NaN fails (relu, abs, maximum, minimum), gave 0 or
the other argument.
"""
import math
import operator

import pytest

import scalargrad as sg
from scalargrad import Scalar, forward_autodiff, reverse_autodiff
from scalargrad.core import rules

NAN = math.nan
MODES = {"reverse": reverse_autodiff, "forward": forward_autodiff}

CALLS = {
    "neg": operator.neg, "abs": abs, "exp": sg.exp, "expm1": sg.expm1, "log": sg.log,
    "log1p": sg.log1p, "sqrt": sg.sqrt, "sin": sg.sin, "cos": sg.cos, "tan": sg.tan,
    "atan": sg.atan, "tanh": sg.tanh, "sigmoid": sg.sigmoid, "softplus": sg.softplus,
    "relu": sg.relu, "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "div": operator.truediv, "pow": operator.pow, "maximum": sg.maximum, "minimum": sg.minimum,
    "sum": lambda *v: sg.sum(v), "dot": lambda *v: sg.dot(v[:2], v[2:]),
    "logsumexp": lambda *v: sg.logsumexp(v),
}
ARITY = {"sum": 3, "dot": 4, "logsumexp": 3}
# Ordinary values to stand for the NaN: on both sides of every kink (0, and the other
# arguments' values), within the domain.
POSITIVE = [0.3, 0.7, 1.3, 1.9, 3.1]
ORDINARY = [-3.3, -1.7, -0.4, 0.3, 1.0, 1.3, 1.9, 3.1]
DOMAIN_POSITIVE = {("log", 0), ("sqrt", 0), ("pow", 0)}
OTHERS = [1.3, 0.0, 1.0, -2.0]  # the other arguments' values


def test_every_rule_is_called_here():
    assert set(CALLS) == set(rules.RULES)


def points():
    """(rule, point with a NaN, position of a NaN): each argument NaN in turn, with the
    others at each of OTHERS; and every argument NaN."""
    for name in rules.RULES:
        arity = ARITY.get(name, len(getattr(rules.RULES[name], "arguments", ())))
        for position in range(arity):
            for other in OTHERS:
                point = [other] * arity
                point[position] = NAN
                yield name, tuple(point), position
        yield name, (NAN,) * arity, 0


def defined(name, point):
    try:
        CALLS[name](*map(Scalar, point))
    except sg.ScalargradError:  # a domain error for the other arguments (1 / 0.0)
        return False
    return True


CASES = [case for case in points() if defined(case[0], case[1])]


def ieee_value(name, point):
    """The value IEEE arithmetic gives: NaN, but for pow's two exceptions."""
    if name == "pow":
        return math.pow(*point)
    return NAN


def derivatives(name, point):
    """{(order, modes, indices): value}: first order in both modes, second in all four
    pairings of modes."""
    found = {}
    for outer_name, outer in MODES.items():
        xs = [Scalar(v) for v in point]
        for i, d in enumerate(outer(CALLS[name](*xs), xs)):
            found[(1, outer_name, (i,))] = d
        for inner_name, inner in MODES.items():
            xs = [Scalar(v) for v in point]
            first = inner(CALLS[name](*xs), xs, create_graph=True)
            for i, g in enumerate(first):
                for j, d in enumerate(outer(g, xs)):
                    found[(2, f"{inner_name}-{outer_name}", (i, j))] = d
    return found


def same(a, b):
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("name, point, position", CASES)
def test_nan_in_nan_out_in_value_and_derivatives(name, point, position):
    value = CALLS[name](*map(Scalar, point)).value
    assert same(value, ieee_value(name, point)), (name, point, value)
    at_nan = derivatives(name, point)
    standins = POSITIVE if (name, position) in DOMAIN_POSITIVE else ORDINARY
    elsewhere = []
    for k in range(len(standins)):
        # each NaN by a stand-in of its own, so that NaNs side by side take both orders
        replaced = tuple(standins[(k + 3 * i) % len(standins)] if math.isnan(v) else v
                         for i, v in enumerate(point))
        if defined(name, replaced):
            elsewhere.append(derivatives(name, replaced))
    assert elsewhere
    problems = []
    for key, found in at_nan.items():
        values = [d[key] for d in elsewhere]
        independent = all(same(v, values[0]) for v in values)
        if independent and not (same(found, values[0]) or math.isnan(found)):
            problems.append(f"{key}: {found!r}, but {values[0]!r} wherever the NaN is a number")
        if not independent and not math.isnan(found):
            problems.append(f"{key}: {found!r}, not nan (it is {values} elsewhere)")
    assert not problems, f"{name}{point}:\n" + "\n".join(problems)


@pytest.mark.parametrize("make, constants", [
    (lambda a, b: a + b, [1.0, 1.0]), (lambda a, b: a - b, [1.0, -1.0]),
    (lambda a, b: -a + 0.0 * b, [-1.0, 0.0]), (lambda a, b: a * 3.0 + b, [3.0, 1.0]),
    (lambda a, b: a / 4.0 + b, [0.25, 1.0]), (lambda a, b: sg.sum([a, b, 2.0]), [1.0, 1.0]),
    (lambda a, b: sg.dot([a, b], [2.0, -5.0]), [2.0, -5.0])])
def test_constant_partials_stay_at_nan(make, constants):
    """d/da of a + b is 1 whatever a is, NaN included (as in IEEE dual numbers, JAX, torch)."""
    for point in [(NAN, 1.0), (1.0, NAN), (NAN, NAN)]:
        xs = [Scalar(v) for v in point]
        assert math.isnan(make(*xs).value)
        assert reverse_autodiff(make(*xs), xs) == constants
        assert forward_autodiff(make(*xs), xs) == constants


# ---------------------------------------------------------------------------------------
# The reproductions, and a NaN beside a plain number.
@pytest.mark.parametrize("make", [lambda x: sg.relu(x), lambda x: abs(x),
                                  lambda x: sg.maximum(x, Scalar(1.0)), lambda x: sg.maximum(x, 1.0),
                                  lambda x: sg.maximum(1.0, x), lambda x: sg.minimum(x, Scalar(1.0)),
                                  lambda x: sg.minimum(Scalar(1.0), x), lambda x: sg.minimum(-5.0, x)])
def test_kinks_give_nan_for_nan(make):
    x = Scalar(NAN)
    y = make(x)
    assert math.isnan(y.value)
    assert math.isnan(reverse_autodiff(y, x)) and math.isnan(forward_autodiff(y, x))
    for inner in MODES.values():
        for outer in MODES.values():
            x = Scalar(NAN)
            assert math.isnan(outer(inner(make(x), x, create_graph=True), x))


def test_maximum_and_relu_of_nan_on_floats_are_nan():
    assert math.isnan(sg.relu(NAN)) and math.isnan(sg.maximum(NAN, 1.0))
    assert math.isnan(sg.maximum(1.0, NAN)) and math.isnan(sg.minimum(NAN, -1.0))
    assert sg.relu(-0.0) == 0.0 and sg.maximum(2.0, 1.0) == 2.0 and sg.minimum(2.0, 1.0) == 1.0
    assert math.isnan(sg.logsumexp([math.inf, NAN])) and math.isnan(sg.logsumexp([NAN, 1.0]))
