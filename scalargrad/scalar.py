"""The Scalar: a float that remembers how it was computed.

Each Scalar is one node of the recorded graph. A node stores the rule that made it, its
arguments and the partial derivatives of its value with respect to them, evaluated once as
floats when the node is made. Both sweeps (reverse and forward) then only multiply and add
stored floats; the rule is called again only to differentiate a derivative (create_graph).

Layout, chosen for speed and memory (one garbage-collected object per node, no tuples for
the common unary and binary nodes):

- ``_op``: the Rule, or None for a leaf (an input or a parameter).
- unary and binary nodes: ``_a``/``_b`` are the rule's arguments (a Scalar or a plain
  number; ``_b`` is None for unary rules) and ``_da``/``_db`` the partials as floats, or
  None where the argument is a plain number (constants get no gradient).
- n-ary nodes (sum, dot, log-sum-exp): ``_a`` is the tuple of Scalar parents, ``_da`` the
  tuple of their partials, ``_b`` the rule's full argument tuple (Scalars and numbers).
- ``_order``: a creation counter. Creation order is a topological order, so the sweeps
  sort by it instead of walking the graph recursively.
- ``_acc``: scratch space for a sweep in progress (an adjoint or a tangent); None at rest.

Arithmetic operators are attached from the rule table in ``rules.py``, so that every
derivative is defined in one place.
"""
from __future__ import annotations

import itertools
import numbers
from typing import Union

_next_order = itertools.count().__next__

Number = Union[int, float]


class Scalar:
    """A float that records the operations applied to it, for automatic differentiation.

    ``==`` and ``!=`` compare values and return bool, like ``<`` and ``>``, so ordinary
    numeric code (``if x == 0:``) behaves as it would on floats. Because a Scalar's value
    can change (optimizers update parameters in place), Scalars are unhashable: use lists,
    or ``id(s)`` as a key.
    """

    __slots__ = ("value", "_op", "_a", "_b", "_da", "_db", "_acc", "_order")

    def __init__(self, value: Union[Number, "Scalar"]) -> None:
        if isinstance(value, Scalar):
            value = value.value
        elif not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"Scalar() needs a real number, got {type(value).__name__}")
        self.value = float(value)
        self._op = self._a = self._b = self._da = self._db = self._acc = None
        self._order = _next_order()

    # Conversions and display -------------------------------------------------------------
    def __float__(self) -> float:
        return self.value

    def __int__(self) -> int:
        return int(self.value)

    def __bool__(self) -> bool:
        return self.value != 0.0

    def __repr__(self) -> str:
        return f"Scalar({self.value!r})"

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else repr(self)

    @property
    def is_leaf(self) -> bool:
        """True for inputs and parameters: Scalars made directly, not by an operation."""
        return self._op is None

    # Comparisons: on values, returning bool, so `if x > 0:` works in user code ------------
    def __eq__(self, other: object) -> bool:
        other_value = _value_of(other)
        return NotImplemented if other_value is None else self.value == other_value

    def __ne__(self, other: object) -> bool:
        other_value = _value_of(other)
        return NotImplemented if other_value is None else self.value != other_value

    def __lt__(self, other: object) -> bool:
        other_value = _value_of(other)
        return NotImplemented if other_value is None else self.value < other_value

    def __le__(self, other: object) -> bool:
        other_value = _value_of(other)
        return NotImplemented if other_value is None else self.value <= other_value

    def __gt__(self, other: object) -> bool:
        other_value = _value_of(other)
        return NotImplemented if other_value is None else self.value > other_value

    def __ge__(self, other: object) -> bool:
        other_value = _value_of(other)
        return NotImplemented if other_value is None else self.value >= other_value

    __hash__ = None  # type: ignore[assignment]


def _value_of(x: object):
    """The float value of a Scalar or a real number, or None for anything else."""
    if x.__class__ is Scalar:
        return x.value  # type: ignore[union-attr]
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def value(x: Union[Number, Scalar]) -> float:
    """The float value of a Scalar, or of a plain number."""
    return x.value if x.__class__ is Scalar else float(x)  # type: ignore[union-attr]
