"""scalargrad's functions: a float for floats, a recorded Scalar as soon as an argument is one.

Each is generated from its rule in rules.py (see recording.py). The n-ary ones (``sum``,
``dot``, ``logsumexp``) record one node however many arguments they take; ``dot`` and
``dot_grid`` read their partials off the DOT rule directly (each argument's partial is its
partner), which lets a matrix product share one tuple of data among a whole row of nodes.
"""
from __future__ import annotations

import builtins
import itertools
import math
import operator
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from . import recording, rules
from .recording import make_node, record_nary
from .scalar import Scalar, ScalarLike

Result = Union[Scalar, float]

exp = recording.unary_function(rules.EXP)
expm1 = recording.unary_function(rules.EXPM1)
log = recording.unary_function(rules.LOG)
log1p = recording.unary_function(rules.LOG1P)
sqrt = recording.unary_function(rules.SQRT)
sin = recording.unary_function(rules.SIN)
cos = recording.unary_function(rules.COS)
tan = recording.unary_function(rules.TAN)
atan = recording.unary_function(rules.ATAN)
tanh = recording.unary_function(rules.TANH)
sigmoid = recording.unary_function(rules.SIGMOID)
softplus = recording.unary_function(rules.SOFTPLUS)
relu = recording.unary_function(rules.RELU)
absolute = recording.unary_function(rules.ABS)
maximum = recording.binary_function(rules.MAXIMUM)
minimum = recording.binary_function(rules.MINIMUM)
power = recording.binary_function(rules.POW)
divide = recording.binary_function(rules.DIV)

# The function of every rule that is called as one, by rule name: what a rule's name means
# in rule expressions on Scalars, and what expressions typed by users may call.
BY_RULE: Dict[str, Callable] = {
    "abs": absolute, "exp": exp, "expm1": expm1, "log": log, "log1p": log1p, "sqrt": sqrt,
    "sin": sin, "cos": cos, "tan": tan, "atan": atan, "tanh": tanh, "sigmoid": sigmoid,
    "softplus": softplus, "relu": relu, "maximum": maximum, "minimum": minimum, "pow": power,
}
recording.bind_functions(BY_RULE)


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
    zeros skipped, which changes no bit (zero_skipping.py)."""
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
            self.values = tuple([e.value for e in entries])
        elif types == _FLOATS:  # data, as Matrix keeps it: the entries are the values
            self.values = entries
        elif self.numbers:
            self.values = tuple(map(recording.as_float, entries))


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
# dot_grid's float rows here, and by compiled training (zero_skipping.py).
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
    with values is then sum(map(mul, pick(other), entries), 0.0)."""
    pick = picker(list(itertools.compress(range(len(values)), values)))
    return pick, pick(values)
