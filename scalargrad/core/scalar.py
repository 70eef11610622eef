"""The Scalar: a float that remembers how it was computed.

Each Scalar is one node of the recorded graph. A node stores the rule that made it, its
arguments and the partial derivatives of its value with respect to them, evaluated once as
floats when the node is made. Both sweeps (reverse and forward) then only multiply and add
stored floats; the rule is evaluated again only to differentiate a derivative.

The node's slots, the one layout every part of scalargrad reads (``edges`` and
``arguments`` below give it as tuples to everything but the sweeps' inner loops):

- ``_rule``: the rule that made the node (rules.py); None for a leaf (an input or a
  parameter, made by ``Scalar(value)``).
- A rule of one or two arguments: ``_a``, ``_b`` are its arguments (a Scalar or a plain
  number; ``_b`` is None for one argument), ``_da``, ``_db`` the partial derivatives with
  respect to them, or None where the argument is a number (numbers are constants).
- An n-ary rule (sum, dot, logsumexp): ``_a`` is the tuple of its Scalar arguments, ``_da``
  the tuple of their partials, ``_b`` each one's partner in a pair when the partials are
  themselves Scalars (a dot product of Scalars with Scalars), else None; ``_db`` for a
  rule with a shift (logsumexp) the numbers among its arguments, if any, else None.
- ``_acc``: scratch space for a sweep in progress (an adjoint or a tangent); None at rest.
- ``_previous``: the node recorded just before this one; the tape (recording.py).

One slotted object per node and no tuples for the common nodes: each node costs one
allocation and one object for Python's cycle collector to scan, and about 120 bytes.
"""
from __future__ import annotations

import numbers
import operator
import sys
from contextlib import contextmanager
from typing import Any, Callable, ClassVar, Iterator, Optional, Tuple, Union, overload

from . import recording
from ..errors import GraphLostError
from .rules import ABS, ADD, DIV, MUL, NEG, POW, SUB, NaryRule, Rule

Number = Union[int, float]
ScalarLike = Union["Scalar", int, float]

_strict = False
# While a function is traced for compiling (compiler.py), told of every decision taken on a
# Scalar's value: (kind, Scalar, the other operand or argument, outcome).
_observer: Optional[Callable[[str, "Scalar", Any, Any], None]] = None


def _comparison(name: str, compare: Callable[[float, float], bool]) -> Callable[["Scalar", object], bool]:
    """A comparison method: on values, returning bool; told to the observer, if any."""
    def method(self: "Scalar", other: object) -> bool:
        other_value = _value_or_none(other)
        if other_value is None:
            return NotImplemented
        result = compare(self.value, other_value)
        if _observer is not None:
            _observer(name, self, other, result)
        return result
    method.__name__ = method.__qualname__ = f"__{name}__"
    return method


class Scalar:
    """A float that records the operations applied to it, for automatic differentiation.

    ``==`` and ``!=`` compare values and return bool, like ``<`` and ``>``, so ordinary
    numeric code (``if x == 0:``) behaves as it would on floats. Because a Scalar's value
    can change (optimizers update parameters in place), Scalars are unhashable: use lists,
    or ``id(s)`` as a key.

    ``float(s)`` and ``math`` functions give plain floats, which carry no derivative: use
    scalargrad's functions (``scalargrad.exp``), and ``strict_conversions()`` to find places
    where a recorded Scalar becomes a float.
    """

    __slots__ = ("value", "_rule", "_a", "_da", "_b", "_db", "_acc", "_previous")

    # The slots' types, as the module docstring lays them out. _a, _da, _b and _db hold a
    # Scalar, a number, a tuple or None depending on the rule, and _acc an adjoint or tangent
    # (a float or a Scalar) or a sweep's mark: Any, since only the rule says which.
    value: float
    _rule: Union[Rule, NaryRule, None]
    _a: Any
    _da: Any
    _b: Any
    _db: Any
    _acc: Any
    _previous: Union[Scalar, None]

    def __init__(self, value: Union[Number, "Scalar"]) -> None:
        # The checks go through cls, read once (Scalars are made often), which the type
        # checker does not follow: it cannot see that value is a Scalar where .value is read,
        # nor that it is a float by the end; hence the two ignores.
        cls = value.__class__
        if cls is not float:
            if cls is int or cls is Scalar:
                value = float(value.value if cls is Scalar else value)  # type: ignore[union-attr]
            elif isinstance(value, numbers.Real) and cls is not bool:
                value = float(value)
            else:
                raise TypeError(f"Scalar() needs a real number, got {cls.__name__}")
        self.value = value  # type: ignore[assignment]
        self._rule = self._a = self._da = self._b = self._db = self._acc = None
        self._previous = None

    # Arithmetic: every operator is generated from its rule in rules.py --------------------
    # (ClassVar: methods of the class, so the checker binds self, as in -s, abs(s), sum(...))
    __add__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]] = recording.binary_method(ADD, "add")
    __radd__: ClassVar[Callable[[Scalar, Number], Scalar]] = recording.binary_method(ADD, "add", True)
    __sub__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]] = recording.binary_method(SUB, "sub")
    __rsub__: ClassVar[Callable[[Scalar, Number], Scalar]] = recording.binary_method(SUB, "sub", True)
    __mul__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]] = recording.binary_method(MUL, "mul")
    __rmul__: ClassVar[Callable[[Scalar, Number], Scalar]] = recording.binary_method(MUL, "mul", True)
    __truediv__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]] = recording.binary_method(DIV, "truediv")
    __rtruediv__: ClassVar[Callable[[Scalar, Number], Scalar]] = recording.binary_method(DIV, "truediv", True)
    __pow__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]] = recording.binary_method(POW, "pow")
    __rpow__: ClassVar[Callable[[Scalar, Number], Scalar]] = recording.binary_method(POW, "pow", True)
    __neg__: ClassVar[Callable[[Scalar], Scalar]] = recording.unary_function(NEG)
    __abs__: ClassVar[Callable[[Scalar], Scalar]] = recording.unary_function(ABS)

    def __pos__(self) -> Scalar:
        return self

    # Conversions and display -------------------------------------------------------------
    def __float__(self) -> float:
        if _strict and self._rule is not None:
            raise _lost(self, "float()")
        if _observer is not None:
            _observer("float", self, None, self.value)
        return self.value

    def __int__(self) -> int:
        if _strict and self._rule is not None:
            raise _lost(self, "int()")
        result = int(self.value)
        if _observer is not None:
            _observer("int", self, None, result)
        return result

    @overload
    def __round__(self, ndigits: None = None) -> int: ...
    @overload
    def __round__(self, ndigits: int) -> float: ...

    def __round__(self, ndigits: Union[int, None] = None) -> Union[int, float]:
        """round(s) rounds the value, like round() of a float (a number, not a Scalar)."""
        if _strict and self._rule is not None:
            raise _lost(self, "round()")
        result = round(self.value, ndigits)
        if _observer is not None:
            _observer("round", self, ndigits, result)
        return result

    def __bool__(self) -> bool:
        result = self.value != 0.0
        if _observer is not None:
            _observer("bool", self, None, result)
        return result

    def __repr__(self) -> str:
        return f"Scalar({self.value!r})"

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else repr(self)

    @property
    def is_leaf(self) -> bool:
        """True for inputs and parameters: Scalars made directly, not by an operation."""
        return self._rule is None

    @property
    def operation(self) -> str:
        """The name of the rule that made this Scalar ("mul", "tanh", ...); "" for a leaf."""
        return "" if self._rule is None else self._rule.name

    # Comparisons: on values, returning bool, so `if x > 0:` works in user code ------------
    __eq__: ClassVar[Callable[[Scalar, object], bool]] = _comparison("eq", operator.eq)
    __ne__: ClassVar[Callable[[Scalar, object], bool]] = _comparison("ne", operator.ne)
    __lt__: ClassVar[Callable[[Scalar, object], bool]] = _comparison("lt", operator.lt)
    __le__: ClassVar[Callable[[Scalar, object], bool]] = _comparison("le", operator.le)
    __gt__: ClassVar[Callable[[Scalar, object], bool]] = _comparison("gt", operator.gt)
    __ge__: ClassVar[Callable[[Scalar, object], bool]] = _comparison("ge", operator.ge)

    __hash__ = None  # type: ignore[assignment]  # unhashable on purpose; object types it as a method

recording.bind(Scalar)


def _value_or_none(x: object) -> Union[float, None]:
    """The float value of a Scalar or a real number, or None for anything else."""
    if x.__class__ is Scalar:
        return x.value
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def value_of(x: ScalarLike) -> float:
    """The float value of a Scalar, or of a plain number (never raises in strict mode).
    While a call is traced for compiling, reading a Scalar's value is a guard, as float()."""
    if x.__class__ is not Scalar:
        return float(x)
    value = x.value
    if _observer is not None:
        _observer("float", x, None, value)
    return value


def edges(node: Scalar) -> Tuple[Tuple[Scalar, ...], Tuple[Any, ...]]:
    """(parents, partials): node's Scalar arguments and the partial derivative for each."""
    rule = node._rule
    if rule is None:
        return (), ()
    if isinstance(rule, NaryRule):
        return node._a, node._da
    if node._da is None:  # a number, then a Scalar
        return (node._b,), (node._db,)
    if node._db is None:  # one argument, or a Scalar then a number
        return (node._a,), (node._da,)
    return (node._a, node._b), (node._da, node._db)


def arguments(node: Scalar) -> Tuple[Any, ...]:
    """The arguments node's rule was applied to: Scalars and numbers, in order.

    For an n-ary node, the Scalar arguments (numbers among them are folded into its value).
    """
    if isinstance(node._rule, NaryRule):
        return node._a
    return (node._a,) if node._b is None else (node._a, node._b)


_VALUE_SLOT = Scalar.__dict__["value"]  # the slot's own descriptor: what .value reads at rest


def _observed_value(self: Scalar) -> float:
    """Scalar.value while a call is observed: read outside scalargrad's own modules, a value
    is a decision taken on it (``if x.value > 0``), told to the observer as float() is."""
    value: float = _VALUE_SLOT.__get__(self, Scalar)
    if _observer is not None and not _ours(sys._getframe(1).f_globals.get("__name__", "")):
        _observer("float", self, None, value)
    return value


def _ours(module: str) -> bool:
    """Whether code of this module is scalargrad's own (its generated functions included)."""
    return module == "scalargrad" or module.startswith("scalargrad.")


@contextmanager
def observing(observer: Callable[[str, "Scalar", Any, Any], None]) -> Iterator[None]:
    """Inside the block, observer is told of every comparison, bool(), int(), float() and
    round() of a Scalar, of every read of its .value outside scalargrad, and of every n-ary
    node's full arguments (recording.record_nary)."""
    global _observer
    previous, _observer = _observer, observer
    if previous is None:  # .value goes through _observed_value until the block ends
        type.__setattr__(Scalar, "value", property(_observed_value, _VALUE_SLOT.__set__))
    try:
        yield
    finally:
        _observer = previous
        if previous is None:
            type.__setattr__(Scalar, "value", _VALUE_SLOT)


@contextmanager
def strict_conversions() -> Iterator[None]:
    """Inside the block, float(), int() and round() of a recorded Scalar raise GraphLostError.

    Such a conversion (often hidden: ``math.exp(x)`` calls ``float(x)``) gives a plain
    number, so everything computed from it has derivative zero. Leaves (inputs and
    parameters) still convert: reading them is how values get out.
    """
    global _strict
    previous, _strict = _strict, True
    try:
        yield
    finally:
        _strict = previous


def _lost(node: Scalar, conversion: str) -> GraphLostError:
    return GraphLostError(f"{conversion} of a recorded Scalar (made by {node.operation}, value "
                     f"{node.value!r}) gives a plain number with no derivative; use "
                     "scalargrad's functions instead of math's, or .value to read it on purpose")
