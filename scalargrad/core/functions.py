"""scalargrad's functions: a float for floats, a recorded Scalar as soon as an argument is one;
and what the rules' expressions mean on Scalars, to differentiate a derivative.

Each function of one or two arguments is generated from its rule in rules.py (codegen.py
writes it, scalar.py makes it). The n-ary ones (``sum``, ``dot``, ``logsumexp``) record one
node however many arguments they take (nary.py; ``log_softmax`` and
``negative_log_softmax``, a logsumexp node and the differences with it); ``dot`` and
``dot_grid`` read their partials off the DOT rule directly (each argument's partial is its
partner), which lets a matrix product share one tuple of data among a whole row of nodes.

A rule's partials are expressions over its arguments and ``out``; on floats, names in them
mean math's functions (codegen.FLOAT_NAMESPACE), on Scalars the functions here
(SCALAR_NAMESPACE): ``scalar_partials`` evaluates them on a node's own arguments, so that
the partial is recorded and can be differentiated again, to any order.
"""
from __future__ import annotations

import builtins
import functools
import itertools
import math
import operator
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import codegen, rules
from . import scalar as scalar_module
from .nary import record_nary, record_shifted
from .rules import NaryRule, Rule
from .scalar import Scalar, ScalarLike, as_float, binary_function, make_node, unary_function

Result = Union[Scalar, float]

exp = unary_function(rules.EXP)
expm1 = unary_function(rules.EXPM1)
log = unary_function(rules.LOG)
log1p = unary_function(rules.LOG1P)
sqrt = unary_function(rules.SQRT)
sin = unary_function(rules.SIN)
cos = unary_function(rules.COS)
tan = unary_function(rules.TAN)
atan = unary_function(rules.ATAN)
tanh = unary_function(rules.TANH)
sigmoid = unary_function(rules.SIGMOID)
softplus = unary_function(rules.SOFTPLUS)
relu = unary_function(rules.RELU)
absolute = unary_function(rules.ABS)
maximum = binary_function(rules.MAXIMUM)
minimum = binary_function(rules.MINIMUM)
power = binary_function(rules.POW)
divide = binary_function(rules.DIV)

# The function of every rule that is called as one, by rule name: what a rule's name means
# in rule expressions on Scalars, and what expressions typed by users may call.
BY_RULE: Dict[str, Callable] = {
    "abs": absolute, "exp": exp, "expm1": expm1, "log": log, "log1p": log1p, "sqrt": sqrt,
    "sin": sin, "cos": cos, "tan": tan, "atan": atan, "tanh": tanh, "sigmoid": sigmoid,
    "softplus": softplus, "relu": relu, "maximum": maximum, "minimum": minimum, "pow": power,
}
# What names in rule expressions mean on Scalars (and on floats: each function takes both).
SCALAR_NAMESPACE: Dict[str, Any] = {**rules.HELPERS, **BY_RULE}


@functools.lru_cache(maxsize=None)
def scalar_partials(rule: Rule) -> Tuple[Callable, ...]:
    """rule's partials as functions of its arguments and out, on Scalars (or floats)."""
    names = (*rule.arguments, "out")
    return tuple(codegen.expression_function(p, names, SCALAR_NAMESPACE, f"{rule.name} partial")
                 for p in rule.partials)


@functools.lru_cache(maxsize=None)
def nary_partial(rule: NaryRule) -> Callable:
    """The n-ary rule's partial as a function of x, partner and out, on Scalars (or floats)."""
    return codegen.expression_function(rule.partial, ("x", "partner", "out"), SCALAR_NAMESPACE,
                                       rule.name)


def shifted_partials(rule: NaryRule, node: "Scalar") -> Tuple["Scalar", ...]:
    """The partials of an n-ary node of a rule with a shift, as recorded Scalars: the rule's
    partial on its Scalar arguments shifted (recorded), with as ``out`` the rule recorded
    again over the shifted arguments (numbers included), whose value does not have the
    rounding of node's own (unless nothing is shifted: then node is that).

    The largest argument, when a Scalar, is shifted by itself instead (a rule with a shift
    has partials that depend on x - out only, so any shift gives the same partial): its
    partial is taken at x = 0.0 and out = the rule over 0.0 and the others' differences with
    it, so that it depends on that argument only through the others. Differentiated, it
    then gives logsumexp's p (1 - p) as p times the other weights, where the first way gives
    p - p*p, which cancels to nothing when p is near 1.
    """
    parents, numbers = node._a, node._db or ()
    values = [p._value for p in parents]
    top = codegen.nary_shift(rule)([*values, *numbers])
    shifted = [p - top for p in parents] if top else list(parents)
    inner = record_nary(rule, [*shifted, *(c - top for c in numbers)]) if top else node
    partial = nary_partial(rule)
    largest = max(range(len(parents)), key=values.__getitem__)
    x = parents[largest]
    if numbers and not values[largest] >= max(numbers):  # a number is the largest
        largest = -1
    partials = [partial(s, None, inner) for i, s in enumerate(shifted) if i != largest]
    if largest >= 0:
        others = [p - x for i, p in enumerate(parents) if i != largest] + [c - x for c in numbers]
        partials.insert(largest, partial(0.0, None, record_nary(rule, [0.0, *others])))
    return tuple(partials)


def sum(xs: Iterable[ScalarLike]) -> Result:  # noqa: A001 (scalargrad.sum, like numpy's)
    """The sum of many Scalars and numbers as one node (not a chain of additions)."""
    return record_nary(rules.SUM, tuple(xs))


def mean(xs: Iterable[ScalarLike]) -> Result:
    """The mean of many Scalars and numbers."""
    xs = tuple(xs)
    if not xs:
        raise ValueError("mean() of an empty sequence")
    return record_nary(rules.SUM, xs) * (1.0 / len(xs))


def logsumexp(xs: Iterable[ScalarLike]) -> Result:
    """log(sum(exp(x))), computed stably (shifted by the maximum), as one node."""
    xs = tuple(xs)
    if not xs:
        raise ValueError("logsumexp() of an empty sequence")
    return record_nary(rules.LOGSUMEXP, xs)


def log_softmax(xs: Iterable[ScalarLike]) -> List[Result]:
    """[x - logsumexp(xs) for x in xs], right for any arguments and at every order.

    One logsumexp node and a subtraction per x, each difference computed from the arguments
    shifted by their largest: subtracting the rounded logsumexp would cancel (1e16 -
    (1e16 + log 2) is 0 in floats, not -log 2). The largest x, whose derivative
    1 - softmax(x) would cancel once softmax(x) is near 1, is -negative_log_softmax(xs, i).
    """
    xs = tuple(xs)
    if not xs:
        raise ValueError("log_softmax() of an empty sequence")
    lse, top, inner = record_shifted(rules.LOGSUMEXP, xs)
    values = [x._value if x.__class__ is Scalar else as_float(x) for x in xs]
    largest = values.index(builtins.max(values)) if len(xs) > 1 else -1
    return [-negative_log_softmax(xs, i) if i == largest
            else _exactly(x - lse, (v - top) - inner, (lse, top, inner, "x - lse"))
            for i, (x, v) in enumerate(zip(xs, values))]


def negative_log_softmax(xs: Iterable[ScalarLike], i: int) -> Result:
    """-log softmax(xs)[i] = logsumexp(xs) - xs[i]: a cross-entropy's loss for label i.

    Recorded as softplus(logsumexp(others) - xs[i]), the difference computed from the
    others shifted by their largest (not from a rounded logsumexp): three nodes, right for
    any arguments, and depending on xs[i] through softplus alone, so that its derivative
    with respect to xs[i], softmax_i - 1, does not cancel when softmax_i is near 1 (logits
    40 and 0: -4.2e-18, not 0).
    """
    xs = tuple(xs)
    if len(xs) < 2:
        if not xs:
            raise ValueError("logsumexp() of an empty sequence")
        return xs[0] - xs[0]  # 0, with derivative 0
    x = xs[i]
    rest, top, inner = record_shifted(rules.LOGSUMEXP, xs[:i] + xs[i + 1:])
    value = x._value if x.__class__ is Scalar else as_float(x)
    return softplus(_exactly(rest - x, (top - value) + inner, (rest, top, inner, "lse - x")))


def _exactly(difference: Result, value: float, how: Tuple[Any, float, float, str]) -> Result:
    """A difference just recorded (a sub node, or a float), with the value computed without
    rounding the logsumexp first; its partials (1 and -1) do not depend on the value.

    ``how`` is (the logsumexp, its shift, its value on the shifted arguments, and which
    difference: "x - lse" is (x - shift) - inner, "lse - x" is (shift - x) + inner): told to
    a compiler tracing the call (scalargrad.compile), which computes the value the same way."""
    if difference.__class__ is Scalar:
        difference._value = value
        observer = scalar_module._observer
        if observer is not None:
            observer("shifted", difference, how, None)
        return difference
    return value


def dot(ws: Iterable[ScalarLike], xs: Iterable[ScalarLike]) -> Result:
    """sum(w * x) over pairs, as one node.

    Plain-number coefficients (data) cost no nodes: weights times data records one node
    whose partials are the data themselves.
    """
    ws, xs = tuple(ws), tuple(xs)
    if len(ws) != len(xs):
        raise ValueError(f"dot: lengths differ ({len(ws)} and {len(xs)})")
    return _dot(_Operand(ws), _Operand(xs))


def dot_grid(rows: Sequence[Sequence[ScalarLike]],
             columns: Sequence[Sequence[ScalarLike]]) -> List[List[Result]]:
    """[[dot(row, column) for column in columns] for row in rows]: a matrix product's entries.

    Each row and column is classified (Scalars, numbers, or mixed) and its values read once,
    not once per product, which is most of the cost of a product otherwise. Lengths must
    match (the caller checks shapes).
    """
    prepared = [_Operand(tuple(column)) for column in columns]
    if prepared and all(column.numbers for column in prepared) and math.isfinite(
            builtins.sum(map(builtins.sum, (column.values or () for column in prepared)))):
        return [_float_row(_Operand(tuple(row)), prepared) for row in rows]
    return [[_dot(row, column) for column in prepared]
            for row in (_Operand(tuple(row)) for row in rows)]


def _float_row(row: "_Operand", columns: List["_Operand"]) -> List[Result]:
    """A row of a product of numbers by finite numbers (a model's prediction): the row's
    zeros skipped, which changes no bit: a finite number times zero adds nothing to a sum."""
    if not row.numbers:
        return [_dot(row, column) for column in columns]
    pick, entries = nonzero(row.values or ())
    mul = operator.mul
    return [builtins.sum(map(mul, pick(column.values or ()), entries), 0.0) for column in columns]


assert rules.DOT.partial == "partner" and rules.DOT.pairs  # what _dot relies on


_SCALARS, _FLOATS = {Scalar}, {float}


class _Operand:
    """One side of a dot product: its entries, their values, and whether they are all
    Scalars, all numbers, or mixed."""

    __slots__ = ("entries", "values", "scalars", "numbers")

    def __init__(self, entries: tuple) -> None:
        types = set(map(type, entries))
        self.entries = entries
        self.scalars = types == _SCALARS
        self.numbers = Scalar not in types
        self.values: Optional[Tuple[float, ...]] = None
        if self.scalars:
            self.values = tuple([e._value for e in entries])
        elif types == _FLOATS:  # data, as Matrix keeps it: the entries are the values
            self.values = entries
        elif self.numbers:
            self.values = tuple(map(as_float, entries))


def _dot(left: _Operand, right: _Operand) -> Result:
    """The DOT node of two operands of equal length: a side's partials are the other side."""
    if left.values is None or right.values is None:  # mixed entries: the general path
        return record_nary(rules.DOT, left.entries + right.entries)
    out = builtins.sum(map(operator.mul, left.values, right.values))
    if left.numbers and right.numbers:
        return float(out)
    if left.numbers:
        return make_node(out, rules.DOT, right.entries, left.values)
    if right.numbers:
        return make_node(out, rules.DOT, left.entries, right.values)
    return make_node(out, rules.DOT, left.entries + right.entries, right.values + left.values,
                     right.entries + left.entries)


# Reading only the nonzero entries of a row of data (MNIST's pixels are mostly zero): used by
# dot_grid's float rows here, and by compiled training (compile/batch.py).
Picker = Callable[[Sequence[float]], Tuple[float, ...]]


def picker(positions: Sequence[int]) -> Picker:
    """A function giving the items at these positions, as a tuple (itemgetter's, which
    gives a bare item for one position)."""
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    if positions:
        only = positions[0]
        return lambda items: (items[only],)
    return lambda items: ()


def nonzero(values: Sequence[float]) -> Tuple[Picker, Tuple[float, ...]]:
    """(a picker of the nonzero entries' positions, those entries): the dot of any list
    with values is then sum(map(mul, pick(other), entries), 0.0), bit for bit where the other
    list's entries are finite."""
    pick = picker(list(itertools.compress(range(len(values)), values)))
    return pick, pick(values)
