"""The table of differentiation rules: every primitive, defined once.

A rule gives a primitive's value (on floats) and one partial derivative per argument: a
number where it is constant, else a function. The partials are written with scalargrad's
own functions and operators, so the same expression gives a float when called on floats
(while recording) and a Scalar when called on Scalars (to differentiate a derivative).
Each partial takes the arguments followed by ``out``, the primitive's result.

From this table the module builds the public functions (``exp``, ``log``, ...), which take
a float or a Scalar and return the same kind, and the Scalar's arithmetic operators.

Conventions at points where a derivative does not exist (also in each rule's doc):
abs'(0) = 0, relu'(0) = 0, sqrt'(0) = +inf, d(a**b)/da at a = 0 with 0 < b < 1 is +inf,
d(a**b)/db is 0 at a = 0 and nan for a < 0 (undefined), and maximum/minimum send the whole
derivative to their first argument on a tie.
"""
from __future__ import annotations

import builtins
import math
import numbers
import operator
from typing import Callable, Iterable, Optional, Sequence, Tuple, Union

from .errors import DivisionByZero, DomainError, NumericOverflow
from .scalar import Scalar, _next_order

Number = Union[int, float]
ScalarLike = Union[Scalar, int, float]

_new = object.__new__
_INF = math.inf


class Rule:
    """One primitive: its name, value function, partial derivatives and domain."""

    __slots__ = ("name", "value", "partials", "domain", "doc", "kink")

    def __init__(self, name: str, value: Callable, partials, domain: str = "", doc: str = "",
                 kink: Optional[Callable[..., bool]] = None):
        self.name = name
        self.value = value        # floats -> float; may raise on a domain error
        self.partials = partials  # per argument: a number, or (args..., out) -> partial;
                                  # n-ary rules: one function (args, out) -> all partials
        self.domain = domain      # said in the message of a domain error
        self.doc = doc            # the convention used where the derivative does not exist
        self.kink = kink          # (argument values) -> True where that convention applies

    def __repr__(self) -> str:
        return f"Rule({self.name})"

    def error(self, args: Sequence[float], cause: BaseException) -> Exception:
        """The exception to raise for these arguments, naming the operation and the values."""
        call = f"{self.name}({', '.join(repr(float(a)) for a in args)})"
        if isinstance(cause, ZeroDivisionError):
            return DivisionByZero(f"{call}: division by zero")
        if isinstance(cause, OverflowError):
            return NumericOverflow(f"{call}: the result is too large for a float")
        return DomainError(f"{call}: outside the domain of {self.name} ({self.domain})")


def _as_float(x) -> float:
    """A plain number as a float; anything else is a TypeError."""
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"expected a number or a Scalar, got {type(x).__name__}")


# ---------------------------------------------------------------------------------------
# Value functions where math's own are missing or do not check enough. (math's domain
# errors are fine as they are: Rule.error turns them into messages with the values.)
def _pow(a: float, b: float) -> float:
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError
    return math.pow(a, b)  # raises ValueError for a negative base with a fractional exponent


def _sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # stable for very negative x
    return z / (1.0 + z)


def _softplus(x: float) -> float:
    return x + math.log1p(math.exp(-x)) if x > 0.0 else math.log1p(math.exp(x))


def _relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def _maximum(a: float, b: float) -> float:
    return a if a >= b else b


def _minimum(a: float, b: float) -> float:
    return a if a <= b else b


def _pow_partial_base(a, b, out):
    if b == 0:
        return 0.0
    if a == 0 and b < 1:  # the power rule would divide by zero
        return _INF
    try:
        return b * a ** (b - 1)
    except OverflowError:  # a tiny base to a negative power: the true value is beyond a float
        negative = a < 0 and (b - 1) % 2 == 1
        return b * (-_INF if negative else _INF)


def _pow_partial_exponent(a, b, out):
    if a > 0:
        return out * log(a)
    return 0.0 if a == 0 else math.nan


def _logsumexp(values: Sequence[float]) -> float:
    top = builtins.max(values)
    if top in (_INF, -_INF):
        return top
    return top + math.log(builtins.sum([math.exp(v - top) for v in values]))


def _total(values: Sequence[float]) -> float:
    """The correctly rounded sum; like plain addition (inf or nan) once the sum overflows."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):  # fsum refuses to overflow, or to add inf and -inf
        return builtins.sum(values)


def _dot(values: Sequence[float]) -> float:
    half = len(values) // 2
    return builtins.sum(map(operator.mul, values[:half], values[half:]))


def _dot_partials(args, out):
    half = len(args) // 2
    return tuple(args[half:]) + tuple(args[:half])


# ---------------------------------------------------------------------------------------
# The table. Unary partials take (x, out); binary partials take (a, b, out).
NEG = Rule("neg", operator.neg, (-1.0,))
ABS = Rule("abs", abs, (lambda x, out: 1.0 if x > 0 else (-1.0 if x < 0 else 0.0),),
           doc="abs'(0) = 0 (the middle of the subgradient [-1, 1]).", kink=lambda x: x == 0)
EXP = Rule("exp", math.exp, (lambda x, out: out,))
EXPM1 = Rule("expm1", math.expm1, (lambda x, out: out + 1.0,))
LOG = Rule("log", math.log, (lambda x, out: 1.0 / x,), "x > 0")
LOG1P = Rule("log1p", math.log1p, (lambda x, out: 1.0 / (1.0 + x),), "x > -1")
SQRT = Rule("sqrt", math.sqrt, (lambda x, out: 0.5 / out if out != 0 else _INF,), "x >= 0",
            doc="sqrt'(0) = +inf (the one-sided limit).", kink=lambda x: x == 0)
SIN = Rule("sin", math.sin, (lambda x, out: cos(x),))
COS = Rule("cos", math.cos, (lambda x, out: -sin(x),))
TAN = Rule("tan", math.tan, (lambda x, out: 1.0 + out * out,))
ATAN = Rule("atan", math.atan, (lambda x, out: 1.0 / (1.0 + x * x),))
TANH = Rule("tanh", math.tanh, (lambda x, out: 1.0 - out * out,))
SIGMOID = Rule("sigmoid", _sigmoid, (lambda x, out: out * (1.0 - out),))
SOFTPLUS = Rule("softplus", _softplus, (lambda x, out: sigmoid(x),))
RELU = Rule("relu", _relu, (lambda x, out: 1.0 if x > 0 else 0.0,),
            doc="relu'(0) = 0.", kink=lambda x: x == 0)

ADD = Rule("add", operator.add, (1.0, 1.0))
SUB = Rule("sub", operator.sub, (1.0, -1.0))
MUL = Rule("mul", operator.mul, (lambda a, b, out: b, lambda a, b, out: a))
DIV = Rule("div", operator.truediv, (lambda a, b, out: 1.0 / b, lambda a, b, out: -out / b), "b != 0")
POW = Rule("pow", _pow, (_pow_partial_base, _pow_partial_exponent),
           "a > 0, or a = 0 with b >= 0, or a < 0 with an integer b",
           doc="At a = 0: d/da is +inf for 0 < b < 1; d/db is 0. For a < 0, d/db is nan.",
           kink=lambda a, b: a == 0 and b < 1 and b != 0)
MAXIMUM = Rule("maximum", _maximum, (lambda a, b, out: 1.0 if a >= b else 0.0,
                                     lambda a, b, out: 0.0 if a >= b else 1.0),
               doc="On a tie the derivative goes to the first argument.", kink=operator.eq)
MINIMUM = Rule("minimum", _minimum, (lambda a, b, out: 1.0 if a <= b else 0.0,
                                     lambda a, b, out: 0.0 if a <= b else 1.0),
               doc="On a tie the derivative goes to the first argument.", kink=operator.eq)

# n-ary rules: the value takes the sequence of argument values; the partials function takes
# (args, out) and returns one partial per argument.
SUM = Rule("sum", _total, lambda args, out: (1.0,) * len(args))
DOT = Rule("dot", _dot, _dot_partials,
           doc="Arguments are w1..wn followed by x1..xn; the value is sum(wi * xi).")
LOGSUMEXP = Rule("logsumexp", _logsumexp,
                 lambda args, out: tuple([exp(a - out) for a in args]),
                 doc="log(sum(exp(xi))) computed stably; the partials are the softmax.")


# ---------------------------------------------------------------------------------------
# Recording: making nodes from rules.
def _unary_function(rule: Rule) -> Callable:
    value_of = rule.value
    partial_of = rule.partials[0]
    constant = not callable(partial_of)

    def function(x):
        if x.__class__ is Scalar:
            xv = x.value
            try:
                out = value_of(xv)
            except (ArithmeticError, ValueError) as cause:
                raise rule.error((xv,), cause) from None
            node = _new(Scalar)
            node.value = out
            node._op = rule
            node._a = x
            node._da = partial_of if constant else partial_of(xv, out)
            node._b = node._db = node._acc = None
            node._order = _next_order()
            return node
        if x.__class__ is not float:
            x = _as_float(x)
        try:
            return value_of(x)
        except (ArithmeticError, ValueError) as cause:
            raise rule.error((x,), cause) from None

    function.__name__ = function.__qualname__ = rule.name
    function.__annotations__ = {"x": "Scalar | float", "return": "Scalar | float"}
    function.__doc__ = (f"{rule.name}(x): a float for a float, a recorded Scalar for a Scalar."
                        + (f" Domain: {rule.domain}." if rule.domain else "")
                        + (f" {rule.doc}" if rule.doc else ""))
    return function


def _binary_operator(rule: Rule, reflected: bool) -> Callable:
    """A Scalar method for an operator: self op other, or other op self when reflected.

    Written out in full rather than through a shared helper: this is the hottest code in
    the library, and each Python call saved is a large part of the cost of a node.
    """
    value_of = rule.value
    partial_a, partial_b = rule.partials
    constant_a, constant_b = not callable(partial_a), not callable(partial_b)

    def method(self, other):
        cls = other.__class__
        if cls is Scalar:
            ov = other.value
        elif cls is float or cls is int:
            ov = other
        elif isinstance(other, numbers.Real):
            ov = float(other)
        else:
            return NotImplemented
        sv = self.value
        try:
            out = value_of(sv, ov)
        except (ArithmeticError, ValueError) as cause:
            raise rule.error((sv, ov), cause) from None
        node = _new(Scalar)
        node.value = out
        node._op = rule
        node._a = self
        node._da = partial_a if constant_a else partial_a(sv, ov, out)
        node._b = other
        if cls is Scalar:
            node._db = partial_b if constant_b else partial_b(sv, ov, out)
        else:
            node._db = None
        node._acc = None
        node._order = _next_order()
        return node

    def reflected_method(self, other):
        """other op self, where other is a plain number (never a Scalar: it would have won)."""
        cls = other.__class__
        if cls is float or cls is int:
            ov = other
        elif isinstance(other, numbers.Real):
            ov = float(other)
        else:
            return NotImplemented
        sv = self.value
        try:
            out = value_of(ov, sv)
        except (ArithmeticError, ValueError) as cause:
            raise rule.error((ov, sv), cause) from None
        node = _new(Scalar)
        node.value = out
        node._op = rule
        node._a = other
        node._da = None
        node._b = self
        node._db = partial_b if constant_b else partial_b(ov, sv, out)
        node._acc = None
        node._order = _next_order()
        return node

    return reflected_method if reflected else method


def _binary_function(rule: Rule) -> Callable:
    forward_method = _binary_operator(rule, reflected=False)
    reflected_method = _binary_operator(rule, reflected=True)
    value_of = rule.value

    def function(a, b):
        if a.__class__ is Scalar:
            result = forward_method(a, b)
        elif b.__class__ is Scalar:
            result = reflected_method(b, a)
        else:
            a, b = _as_float(a), _as_float(b)
            try:
                return value_of(a, b)
            except (ArithmeticError, ValueError) as cause:
                raise rule.error((a, b), cause) from None
        if result is NotImplemented:
            raise TypeError(f"{rule.name}() expects numbers or Scalars, got "
                            f"{type(a).__name__} and {type(b).__name__}")
        return result

    function.__name__ = function.__qualname__ = rule.name
    function.__annotations__ = {"a": "Scalar | float", "b": "Scalar | float",
                                "return": "Scalar | float"}
    function.__doc__ = (f"{rule.name}(a, b): a float for floats, a recorded Scalar otherwise."
                        + (f" {rule.doc}" if rule.doc else ""))
    return function


def _record_nary(rule: Rule, args: tuple, values: list) -> Union[Scalar, float]:
    """A node for an n-ary rule over args (Scalars and numbers) whose float values are given."""
    try:
        out = rule.value(values)
    except (ArithmeticError, ValueError) as cause:
        raise rule.error(values[:4], cause) from None
    keep = [i for i, a in enumerate(args) if a.__class__ is Scalar]
    if not keep:
        return out
    partials = rule.partials(values, out)
    node = _new(Scalar)
    node.value = out
    node._op = rule
    if len(keep) == len(args):
        node._a = args
        node._da = tuple(partials)
    else:
        node._a = tuple([args[i] for i in keep])
        node._da = tuple([partials[i] for i in keep])
    node._b = args
    node._db = node._acc = None
    node._order = _next_order()
    return node


def _record_constant_partials(rule: Rule, parents: tuple, partials: tuple, out: float) -> Scalar:
    """An n-ary node over Scalar parents; its partials do not depend on them (``_b`` is None)."""
    node = _new(Scalar)
    node.value = out
    node._op = rule
    node._a = parents
    node._da = partials
    node._b = node._db = node._acc = None
    node._order = _next_order()
    return node


def _values(xs: tuple) -> list:
    return [x.value if x.__class__ is Scalar else _as_float(x) for x in xs]


# ---------------------------------------------------------------------------------------
# Public functions. Each takes floats or Scalars; all floats in gives a float out.
neg = _unary_function(NEG)
exp = _unary_function(EXP)
expm1 = _unary_function(EXPM1)
log = _unary_function(LOG)
log1p = _unary_function(LOG1P)
sqrt = _unary_function(SQRT)
sin = _unary_function(SIN)
cos = _unary_function(COS)
tan = _unary_function(TAN)
atan = _unary_function(ATAN)
tanh = _unary_function(TANH)
sigmoid = _unary_function(SIGMOID)
softplus = _unary_function(SOFTPLUS)
relu = _unary_function(RELU)
absolute = _unary_function(ABS)
maximum = _binary_function(MAXIMUM)
minimum = _binary_function(MINIMUM)
power = _binary_function(POW)
divide = _binary_function(DIV)

_SCALAR_ONLY = {Scalar}


def sum(xs: Iterable[ScalarLike]) -> Union[Scalar, float]:  # noqa: A001 (scalargrad.sum)
    """The sum of many Scalars and numbers as one node (not a chain of additions)."""
    xs = tuple(xs)
    if set(map(type, xs)) == _SCALAR_ONLY:  # the common case, without a filtering pass
        parents, values = xs, [x.value for x in xs]
    else:
        parents, values = tuple([x for x in xs if x.__class__ is Scalar]), _values(xs)
    if not parents:
        return _total(values)
    return _record_constant_partials(SUM, parents, (1.0,) * len(parents), _total(values))


def mean(xs: Iterable[ScalarLike]) -> Union[Scalar, float]:
    """The mean of many Scalars and numbers."""
    xs = tuple(xs)
    if not xs:
        raise ValueError("mean() of an empty sequence")
    return sum(xs) * (1.0 / len(xs))


def dot(ws: Iterable[ScalarLike], xs: Iterable[ScalarLike]) -> Union[Scalar, float]:
    """sum(w * x) over pairs, as one node.

    Plain-number coefficients (data) cost no nodes: weights times data records one node
    whose partials are the data themselves.
    """
    ws, xs = tuple(ws), tuple(xs)
    if len(ws) != len(xs):
        raise ValueError(f"dot: lengths differ ({len(ws)} and {len(xs)})")
    return _dot_classified(_classify(ws), _classify(xs))


_SCALARS, _NUMBERS, _MIXED = "scalars", "numbers", "mixed"


def _classify(entries: tuple) -> Tuple[tuple, Optional[tuple], str]:
    """(entries, their float values or None if mixed, kind)."""
    types = set(map(type, entries))
    if types == _SCALAR_ONLY:
        return entries, tuple([e.value for e in entries]), _SCALARS
    if Scalar not in types:
        return entries, entries, _NUMBERS
    return entries, None, _MIXED


def _dot_classified(left: tuple, right: tuple) -> Union[Scalar, float]:
    """The dot product of two classified operands of equal length."""
    l_entries, l_values, l_kind = left
    r_entries, r_values, r_kind = right
    if l_kind is _MIXED or r_kind is _MIXED:
        args = l_entries + r_entries
        return _record_nary(DOT, args, _values(args))
    out = builtins.sum(map(operator.mul, l_values, r_values))
    if l_kind is _NUMBERS:
        if r_kind is _NUMBERS:
            return float(out)
        return _record_constant_partials(DOT, r_entries, l_values, out)
    if r_kind is _NUMBERS:
        return _record_constant_partials(DOT, l_entries, r_values, out)
    # Scalars on both sides: each side's partials are the other side, so not constant
    node = _record_constant_partials(DOT, l_entries + r_entries, r_values + l_values, out)
    node._b = node._a
    return node


def dot_grid(rows: Sequence[Sequence[ScalarLike]], columns: Sequence[Sequence[ScalarLike]]) -> list:
    """[[dot(row, column) for column in columns] for row in rows]: a matrix product's entries.

    Each row and column is classified (all Scalars, all numbers, or mixed) and its values
    read once, not once per product, which is most of the cost of a product otherwise.
    Lengths must match (the caller checks shapes).
    """
    prepared = [_classify(tuple(column)) for column in columns]
    return [[_dot_classified(row, column) for column in prepared]
            for row in map(_classify, map(tuple, rows))]


def logsumexp(xs: Iterable[ScalarLike]) -> Union[Scalar, float]:
    """log(sum(exp(x))), computed stably (shifted by the maximum), as one node."""
    xs = tuple(xs)
    if not xs:
        raise ValueError("logsumexp() of an empty sequence")
    return _record_nary(LOGSUMEXP, xs, _values(xs))


def symbolic_partials(node: Scalar) -> tuple:
    """The partials of a node with respect to its Scalar parents, as functions of them.

    Calls the node's rule on its recorded arguments (Scalars stay Scalars), so the result
    can itself be differentiated. Used by create_graph.
    """
    rule = node._op
    if node._da.__class__ is tuple:
        if node._b is None:  # constant partials: sum, or a dot product with data
            return node._da
        args = node._b
        partials = rule.partials(args, node)
        return tuple([p for a, p in zip(args, partials) if a.__class__ is Scalar])
    if len(rule.partials) == 1:
        return (_evaluate(rule.partials[0], node._a, node),)
    args = (node._a, node._b, node)
    return tuple(_evaluate(partial, *args)
                 for partial, d in zip(rule.partials, (node._da, node._db)) if d is not None)


def _evaluate(partial, *args):
    return partial(*args) if callable(partial) else partial


def _positive(self: Scalar) -> Scalar:
    return self


def _install_operators() -> None:
    """Give Scalar its arithmetic operators, all recorded through the rules above."""
    for name, rule in (("add", ADD), ("sub", SUB), ("mul", MUL), ("truediv", DIV), ("pow", POW)):
        setattr(Scalar, f"__{name}__", _binary_operator(rule, reflected=False))
        setattr(Scalar, f"__r{name}__", _binary_operator(rule, reflected=True))
    Scalar.__neg__ = neg
    Scalar.__abs__ = absolute
    Scalar.__pos__ = _positive


_install_operators()

UNARY_FUNCTIONS = {f.__name__: f for f in (exp, expm1, log, log1p, sqrt, sin, cos, tan, atan,
                                           tanh, sigmoid, softplus, relu)}
UNARY_FUNCTIONS["abs"] = absolute
BINARY_FUNCTIONS = {"maximum": maximum, "minimum": minimum, "pow": power}
