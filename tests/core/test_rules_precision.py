"""Every rule's partials against references computed in high precision (mpmath), to third
order, in reverse and forward mode, at points spread over the float range.

The references are derivatives worked out by hand and evaluated with 60 significant digits
at the exact float arguments. Each is written as a sum of terms: the engine must agree to a
small multiple of the rounding error relative to the size of those terms (a derivative that
is a difference of large terms near one of its zeros cannot be asked for more). Where the
true value is beyond a float, the engine must give an infinity of the right sign or its
overflow error; where it underflows, a number as small. The points are log-uniform in
magnitude from 1e-300 to 1e300 with both signs (those in the domain), plus each rule's
edges: where a partial changes form, near a domain's edge, where a value over- or underflows.
"""
import itertools
import math
import operator
import random

import mpmath
import pytest
from mpmath import mpf

import scalargrad as sg
from scalargrad import NumericOverflow, Scalar, forward_autodiff, reverse_autodiff
from scalargrad.core import rules

TINY = 2.2250738585072014e-308   # the smallest normal float
HUGE = 1.7976931348623157e308    # the largest float
# Allowed error relative to the terms, by order (each order adds a few roundings per term):
# about 10, 20 and 40 roundings (2**-53). pow's partial b * a**(b-1) rounds b - 1 first (as
# HIPS autograd and JAX do), which costs up to |(b-1) log a| roundings: up to 8e-14.
RTOL = {1: 2e-15, 2: 4e-15, 3: 8e-15}
RTOL_POW = 1e-13
MODES = {"reverse": reverse_autodiff, "forward": forward_autodiff}
MODE_CHAINS = [("reverse",) * 3, ("forward",) * 3, ("forward", "reverse", "reverse"),
               ("reverse", "forward", "reverse")]


def log_uniform(rng, count, low=-300.0, high=300.0, signs=(1.0, -1.0)):
    return [rng.choice(signs) * 10.0 ** rng.uniform(low, high) for _ in range(count)]


# ---------------------------------------------------------------------------------------
# The references. For a rule of k arguments: a function of the mpf arguments returning, for
# each derivative's multi-index (sorted argument positions: (0, 0, 1) is d3/da2 db), the
# list of its terms; None for a derivative that does not exist (NaN expected).
def unary(first, second, third):
    return lambda x: {(0,): first(x), (0, 0): second(x), (0, 0, 0): third(x)}


def _sigmoid_parts(x):
    q = x / 2
    return mpmath.sech(q) ** 2, mpmath.tanh(q)


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


UNARY_REFERENCE = {
    "neg": unary(lambda x: [-1], lambda x: [], lambda x: []),
    "abs": unary(lambda x: [mpmath.sign(x)], lambda x: [], lambda x: []),
    "exp": unary(*[lambda x: [mpmath.exp(x)]] * 3),
    "expm1": unary(*[lambda x: [mpmath.exp(x)]] * 3),
    "log": unary(lambda x: [1 / x], lambda x: [-1 / x ** 2], lambda x: [2 / x ** 3]),
    "log1p": unary(lambda x: [1 / (1 + x)], lambda x: [-1 / (1 + x) ** 2],
                   lambda x: [2 / (1 + x) ** 3]),
    "sqrt": unary(lambda x: [x ** -0.5 / 2], lambda x: [-x ** -1.5 / 4],
                  lambda x: [3 * x ** -2.5 / 8]),
    "sin": unary(lambda x: [mpmath.cos(x)], lambda x: [-mpmath.sin(x)], lambda x: [-mpmath.cos(x)]),
    "cos": unary(lambda x: [-mpmath.sin(x)], lambda x: [-mpmath.cos(x)], lambda x: [mpmath.sin(x)]),
    "tan": unary(lambda x: [mpmath.sec(x) ** 2],
                 lambda x: [2 * mpmath.sec(x) ** 2 * mpmath.tan(x)],
                 lambda x: [2 * mpmath.sec(x) ** 4, 4 * mpmath.sec(x) ** 2 * mpmath.tan(x) ** 2]),
    "atan": unary(lambda x: [1 / (1 + x * x)], lambda x: [-2 * x / (1 + x * x) ** 2],
                  lambda x: [6 * x * x / (1 + x * x) ** 3, -2 / (1 + x * x) ** 3]),
    "tanh": unary(lambda x: [mpmath.sech(x) ** 2],
                  lambda x: [-2 * mpmath.tanh(x) * mpmath.sech(x) ** 2],
                  lambda x: [6 * mpmath.tanh(x) ** 2 * mpmath.sech(x) ** 2, -2 * mpmath.sech(x) ** 2]),
    "sigmoid": unary(lambda x: [_sigmoid_parts(x)[0] / 4],
                     lambda x: [-_sigmoid_parts(x)[0] * _sigmoid_parts(x)[1] / 4],
                     lambda x: [_sigmoid_parts(x)[0] * _sigmoid_parts(x)[1] ** 2 / 4,
                                -_sigmoid_parts(x)[0] ** 2 / 8]),
    "softplus": unary(lambda x: [_sigmoid(x)], lambda x: [_sigmoid_parts(x)[0] / 4],
                      lambda x: [-_sigmoid_parts(x)[0] * _sigmoid_parts(x)[1] / 4]),
    "relu": unary(lambda x: [1 if x > 0 else 0], lambda x: [], lambda x: []),
}


def _power(a, b):
    """d^(i+j)/da^i db^j of a**b for i + j <= 3 (a > 0; for a < 0, integer b, only the
    derivatives in a alone exist)."""
    def falling(k):  # b (b - 1) ... (b - k + 1)
        product = mpf(1)
        for i in range(k):
            product *= b - i
        return product

    def at(k):  # a**(b - k), real for a < 0 as b is an integer there
        return mpmath.power(a, b - k) if a > 0 else mpf(-1) ** int(b - k) * abs(a) ** (b - k)

    derivatives = {(0,): [falling(1) * at(1)], (0, 0): [falling(2) * at(2)],
                   (0, 0, 0): [falling(3) * at(3)]}
    if a > 0:
        log_a = mpmath.log(a)
        derivatives.update({
            (1,): [at(0) * log_a], (1, 1): [at(0) * log_a ** 2], (1, 1, 1): [at(0) * log_a ** 3],
            (0, 1): [at(1), b * at(1) * log_a],
            (0, 0, 1): [(2 * b - 1) * at(2), falling(2) * at(2) * log_a],
            (0, 1, 1): [2 * at(1) * log_a, b * at(1) * log_a ** 2]})
    else:
        derivatives.update({key: None for key in [(1,), (1, 1), (1, 1, 1), (0, 1), (0, 0, 1),
                                                  (0, 1, 1)]})
    return derivatives


BINARY_REFERENCE = {
    "add": lambda a, b: {(0,): [1], (1,): [1]},
    "sub": lambda a, b: {(0,): [1], (1,): [-1]},
    "mul": lambda a, b: {(0,): [b], (1,): [a], (0, 1): [1]},
    "div": lambda a, b: {(0,): [1 / b], (1,): [-a / b ** 2], (0, 1): [-1 / b ** 2],
                         (1, 1): [2 * a / b ** 3], (0, 1, 1): [2 / b ** 3],
                         (1, 1, 1): [-6 * a / b ** 4]},
    "pow": _power,
    "maximum": lambda a, b: {(0,): [1 if a > b else 0], (1,): [0 if a > b else 1]},
    "minimum": lambda a, b: {(0,): [1 if a < b else 0], (1,): [0 if a < b else 1]},
}


def _logsumexp(xs):
    """Softmax p and its derivatives, each written without cancellation: 1 - p_i as the sum
    r_i of the other weights."""
    top = max(xs)
    weights = [mpmath.exp(x - top) for x in xs]
    total = mpmath.fsum(weights)
    p = [w / total for w in weights]
    n = len(xs)
    r = [mpmath.fsum(p[m] for m in range(n) if m != i) for i in range(n)]
    derivatives = {}
    for i, j, k in itertools.combinations_with_replacement(range(n), 3):
        derivatives[(i,)] = [p[i]]
        derivatives[(i, j)] = [p[i] * r[i]] if i == j else [-p[i] * p[j]]
        if i == j == k:    # p_i (1 - p_i)(1 - 2 p_i) = p_i r_i (r_i - p_i)
            derivatives[(i, j, k)] = [p[i] * r[i] ** 2, -p[i] ** 2 * r[i]]
        elif i == j or j == k:  # p_a p_b (2 p_a - 1), a the repeated index
            a, b = (i, k) if i == j else (j, i)
            derivatives[(i, j, k)] = [-p[a] * p[b] * r[a], p[a] ** 2 * p[b]]
        else:
            derivatives[(i, j, k)] = [2 * p[i] * p[j] * p[k]]
    for i, j in itertools.combinations_with_replacement(range(n), 2):  # the last rows
        derivatives[(i, j)] = [p[i] * r[i]] if i == j else [-p[i] * p[j]]
    derivatives.update({(i,): [p[i]] for i in range(n)})
    return derivatives


def _dot(xs):
    half = len(xs) // 2
    derivatives = {(i,): [xs[(i + half) % len(xs)]] for i in range(len(xs))}
    derivatives.update({(i, i + half): [1] for i in range(half)})
    return derivatives


NARY_REFERENCE = {
    "sum": lambda xs: {(i,): [1] for i in range(len(xs))},
    "dot": _dot,
    "logsumexp": _logsumexp,
}


def test_every_rule_has_a_high_precision_reference():
    assert set(rules.RULES) == set(UNARY_REFERENCE) | set(BINARY_REFERENCE) | set(NARY_REFERENCE)


# ---------------------------------------------------------------------------------------
# The points.
_rng = random.Random(20240917)
_SPREAD = log_uniform(_rng, 48)
UNARY_POINTS = {
    "neg": _SPREAD[:8], "abs": _SPREAD[:8], "relu": _SPREAD[:8],
    "exp": [-745.0, -700.0, -30.0, 1e-300, -1e-300, 0.5, 709.0] + log_uniform(_rng, 8, -300, 2.8),
    "expm1": [-745.0, -40.0, -1e-10, 1e-300, 3e-8, 709.0] + log_uniform(_rng, 8, -300, 2.8),
    "log": [5e-324, 1e-310, TINY, 1.0 - 2 ** -53, 1.0 + 2 ** -52, HUGE] + [abs(x) for x in _SPREAD],
    "log1p": [-1.0 + 2 ** -53, -0.999999, -1e-300, 1e-300, HUGE] + [abs(x) for x in _SPREAD[:24]],
    "sqrt": [5e-324, 1e-310, TINY, HUGE] + [abs(x) for x in _SPREAD],
    "sin": [1e-300, 3.141592653589793, 1e22, 1e300] + _SPREAD[:24],
    "cos": [1e-300, 1.5707963267948966, 1e22, 1e300] + _SPREAD[:24],
    "tan": [1e-300, 1.5707963267948966, -1.5707963267948966, 1e22, 1e300] + _SPREAD[:24],
    "atan": [1e-300, 0.5773502691896257, 9.9e15, 1e16, 1.1e16, 1e154, 1e160, HUGE] + _SPREAD,
    "tanh": [1e-300, 0.6584789484624084, -0.999, 1.0, 1.001, 20.0, -20.0, 355.0, 370.0, 710.0,
             -800.0, 1e300] + _SPREAD,
    "sigmoid": [1e-300, -1e-300, 1.999, 2.0, -2.0, 40.0, -40.0, 700.0, -700.0, 745.0, -745.0,
                1e300, -1e300] + _SPREAD,
    "softplus": [1e-300, -1e-300, 1.999, 2.0, -2.0, 40.0, -40.0, 700.0, -700.0, 745.0, -745.0,
                 1e300, -1e300] + _SPREAD,
}
BINARY_POINTS = {
    # Bases within 1e+-100 (but for partials that overflow): the third derivatives of
    # a**b * log(a) multiply a**b by log's second partial, -1/a**2, which is beyond a float
    # for a below 1e-154 or above 1e154, however representable their product. (At a < 0
    # with b = 0 the third derivatives through d/db are not all NaN: "zero times anything"
    # in the sweeps drops the NaN of d/db times b = 0; test_rules_special_cases covers it.)
    "pow": ([(2.0, 0.0), (3.0, 1e-300), (0.5, 1.0), (1e-300, -1.0), (1e-300, -1.02), (1e100, 1.02),
             (1e-100, 1.5), (7.0, 364.0), (0.9, 7000.0), (-2.0, 3.0), (-1e-100, -3.0),
             (-1e100, 3.0), (1.0 + 2 ** -52, 1e15)]
            + [(abs(a), b) for a, b in zip(log_uniform(_rng, 24, -100, 100), log_uniform(_rng, 24, -3, 2))]),
    "div": [(1.0, 3.0), (1e-300, 1e-10), (1e300, 1e100), (-2.5, 1e-100)]
           + list(zip(log_uniform(_rng, 12, -150, 150), log_uniform(_rng, 12, -75, 75))),
    "mul": list(zip(log_uniform(_rng, 8), log_uniform(_rng, 8))),
    "add": list(zip(log_uniform(_rng, 6), log_uniform(_rng, 6))),
    "sub": list(zip(log_uniform(_rng, 6), log_uniform(_rng, 6))),
    "maximum": [(1.0, 2.0), (-3.0, -4.0)] + list(zip(log_uniform(_rng, 6), log_uniform(_rng, 6))),
    "minimum": [(1.0, 2.0), (-3.0, -4.0)] + list(zip(log_uniform(_rng, 6), log_uniform(_rng, 6))),
}
NARY_POINTS = {
    "sum": [[1.5, -2.0, 3e-300], [1e300, -1e300, 1.0]],
    "dot": [[1.5, -2.0, 3e-100, 4.0], [1e150, 2.0, -1e-150, 3.0]],
    "logsumexp": [[0.0, -40.0], [1e16, 1e16], [1e300, 1e300 - 1e285, 1e300 - 3e285],
                  [-1e300, -1e300, 5.0], [0.3, -1.2, 2.0, 0.5], [700.0, -700.0, 1e-300],
                  [40.0, 0.0, -1.0]],
}

_CALLS = {
    "neg": operator.neg, "abs": abs, "exp": sg.exp, "expm1": sg.expm1, "log": sg.log,
    "log1p": sg.log1p, "sqrt": sg.sqrt, "sin": sg.sin, "cos": sg.cos, "tan": sg.tan,
    "atan": sg.atan, "tanh": sg.tanh, "sigmoid": sg.sigmoid, "softplus": sg.softplus,
    "relu": sg.relu, "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "div": operator.truediv, "pow": operator.pow, "maximum": sg.maximum, "minimum": sg.minimum,
    "sum": lambda *v: sg.sum(v), "dot": lambda *v: sg.dot(v[:len(v) // 2], v[len(v) // 2:]),
    "logsumexp": lambda *v: sg.logsumexp(v),
}


def _defined(name, point):
    try:
        _CALLS[name](*map(Scalar, point))
    except sg.ScalargradError:  # outside the domain, or beyond a float
        return False
    return True


def cases():
    """(rule name, point) for every point where the rule's value is a float."""
    for name, points in UNARY_POINTS.items():
        yield from ((name, (x,)) for x in points if _defined(name, (x,)))
    for name, points in BINARY_POINTS.items():
        yield from ((name, point) for point in points if _defined(name, point))
    for name, points in NARY_POINTS.items():
        yield from ((name, tuple(point)) for point in points)


def test_every_rule_has_points():
    assert {name for name, _ in cases()} == set(rules.RULES)


# ---------------------------------------------------------------------------------------
# The engine's derivatives, and the comparison.
def engine_derivatives(call, point, chain):
    """{multi-index: value} for every derivative to third order, each order by a sweep in
    the mode chain names (the first and second recorded, create_graph=True)."""
    xs = [Scalar(v) for v in point]
    y = call(*xs)
    first = MODES[chain[0]](y, xs, create_graph=True)
    found = {}
    for i, g in enumerate(first):
        found[(i,)] = g.value
        second = MODES[chain[1]](g, xs, create_graph=True)
        for j, h in enumerate(second):
            found[(i, j)] = h.value
            for k, value in enumerate(MODES[chain[2]](h, xs)):
                found[(i, j, k)] = value
    return found


def verdict(value, terms, rtol):
    """None if value agrees with the reference given by terms, else why not."""
    if terms is None:
        return None if math.isnan(value) else f"{value!r}, not nan"
    truth, scale = mpmath.fsum(terms), mpmath.fsum(abs(t) for t in terms)
    if abs(truth) > HUGE:
        return None if value == math.copysign(math.inf, truth) else f"{value!r}, not {truth}"
    if not math.isfinite(value):
        return f"{value!r}, not {mpmath.nstr(truth, 17)}"
    error = abs(mpf(value) - truth)
    allowed = max(rtol * scale, 4 * TINY if abs(truth) < TINY else 0)
    if error <= allowed:
        return None
    return f"{value!r}, not {mpmath.nstr(truth, 17)} (error {mpmath.nstr(error / scale, 3)} of the terms)"


@pytest.mark.parametrize("name, point", list(cases()))
def test_partials_to_third_order_against_high_precision(name, point):
    with mpmath.workdps(60):
        reference = {**UNARY_REFERENCE, **BINARY_REFERENCE, **NARY_REFERENCE}[name]
        exact = reference(*map(mpf, point)) if name in UNARY_REFERENCE or name in BINARY_REFERENCE \
            else reference([mpf(v) for v in point])
        problems = []
        for chain in MODE_CHAINS:
            try:
                found = engine_derivatives(_CALLS[name], point, chain)
            except NumericOverflow:
                beyond = [key for key, terms in exact.items()
                          if terms is not None and abs(mpmath.fsum(terms)) > HUGE]
                assert beyond, f"{name}{point} {chain}: overflow error, but no derivative overflows"
                continue
            for key, value in found.items():
                terms = exact.get(tuple(sorted(key)), [])
                problem = verdict(value, terms, RTOL_POW if name == "pow" else RTOL[len(key)])
                if problem:
                    problems.append(f"d{key} {'/'.join(chain[:len(key)])}: {problem}")
        assert not problems, f"{name}{point}:\n" + "\n".join(problems)


def test_the_points_reach_the_float_range_and_the_edges():
    """The spread is what it claims: magnitudes from below 1e-250 to above 1e250, both signs."""
    magnitudes = [abs(x) for x in _SPREAD]
    assert min(magnitudes) < 1e-250 and max(magnitudes) > 1e250
    assert any(x < 0 for x in _SPREAD) and any(x > 0 for x in _SPREAD)
    for name in ("tanh", "sigmoid", "atan", "log", "sqrt"):
        assert any(abs(x) < 1e-290 or abs(x) > 1e290 for x in UNARY_POINTS[name])

