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
- A function rule (rules.FunctionRule: a user's primitive, stop_gradient): ``_a`` and
  ``_da`` as an n-ary node's, ``_b`` all its arguments in order (numbers as floats),
  ``_db`` None. stop_gradient's node has no parents: nothing passes through it.
- ``_acc``: scratch space for a sweep in progress (an adjoint or a tangent); None at rest.
- ``_previous``: the node recorded just before this one: the tape (below).

One slotted object per node and no tuples for the common nodes: each node costs one
allocation and one object for Python's cycle collector to scan, and about 120 bytes.

Recording. Every node is made by a function generated from one rule of the table (the
operators, the public functions) or by ``make_node`` (any rule, any arguments): all of them
are written by codegen.py, as one factory this module runs once, below the class.

The tape. Each node keeps a link to the node recorded just before it, so the nodes form a
list, newest first, that a reverse sweep walks from its output without first gathering and
sorting the graph (autodiff.py): creation order is a topological order, and a stretch of
that list holds every live node made in its span of time. What keeps the links from keeping
finished graphs alive:

- a reverse sweep ends the tape (the next node starts a new one), so that a training step's
  graph never links to the previous step's, and cuts the link below the oldest node its
  output depends on, so that a kept output keeps no older unrelated nodes alive;
- every TICK nodes recorded, the tape is now and then compacted: a node that nothing but the
  next node's link refers to can never be used again, so it is taken out of the list and
  freed, and so is the newest node once nothing but the tape refers to it. A graph dropped
  without being differentiated is therefore freed a few thousand nodes later (at once by
  ``end_tape()``), and a loop that records and never differentiates keeps only what it
  still holds. Compactions are spaced so that their walks cost at most about one step per
  node recorded (a doubling schedule). This relies on CPython's reference counts.
- With the cycle collector paused (``cycle_collector_paused``, and while scalargrad.compile
  traces), the tape is not compacted: only sweeps and ``end_tape()`` end it.

Sweeps never rely on the tape being complete: what a walk does not reach (nodes recorded on
an earlier tape) they find from the graph itself (autodiff.py).
"""
from __future__ import annotations

import gc
import numbers
import operator
import sys
import threading
from contextlib import contextmanager
from typing import (TYPE_CHECKING, Any, Callable, ClassVar, Dict, Iterator, Optional, Sequence,
                    Tuple, Union, overload)

from ..errors import DivisionByZero, DomainError, GraphLostError, NumericOverflow, ScalargradError
from . import codegen
from .rules import FunctionRule, NaryRule, Rule

Number = Union[int, float]
ScalarLike = Union["Scalar", int, float]

_strict = False
# While a function is traced for compiling (compile/trace.py), told of every decision taken on a
# Scalar's value: (kind, Scalar, the other operand or argument, outcome).
_observer: Optional[Callable[[str, "Scalar", Any, Any], None]] = None


def _comparison(name: str, compare: Callable[[float, float], bool]) -> Callable[["Scalar", object], bool]:
    """A comparison method: on values, returning bool; told to the observer, if any."""
    def method(self: "Scalar", other: object) -> bool:
        other_value = _value_or_none(other)
        if other_value is None:
            return NotImplemented
        result = compare(self._value, other_value)
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

    __slots__ = ("_value", "_rule", "_a", "_da", "_b", "_db", "_acc", "_previous")

    # The slots' types, as the module docstring lays them out. _a, _da, _b and _db hold a
    # Scalar, a number, a tuple or None depending on the rule, and _acc an adjoint or tangent
    # (a float or a Scalar) or a sweep's mark: Any, since only the rule says which.
    _value: float
    _rule: Union[Rule, NaryRule, FunctionRule, None]
    _a: Any
    _da: Any
    _b: Any
    _db: Any
    _acc: Any
    _previous: Union[Scalar, None]

    if TYPE_CHECKING:  # .value is the slot _value under its public name (set below the class)
        @property
        def value(self) -> float: ...

        @value.setter
        def value(self, value: float) -> None: ...

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
        self._value = value  # type: ignore[assignment]
        self._rule = self._a = self._da = self._b = self._db = self._acc = None
        self._previous = None

    # Arithmetic: every operator is generated from its rule in rules.py, below the class
    # (ClassVar: methods of the class, so the checker binds self, as in -s, abs(s), sum(...))
    __add__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]]
    __radd__: ClassVar[Callable[[Scalar, Number], Scalar]]
    __sub__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]]
    __rsub__: ClassVar[Callable[[Scalar, Number], Scalar]]
    __mul__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]]
    __rmul__: ClassVar[Callable[[Scalar, Number], Scalar]]
    __truediv__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]]
    __rtruediv__: ClassVar[Callable[[Scalar, Number], Scalar]]
    __pow__: ClassVar[Callable[[Scalar, ScalarLike], Scalar]]
    __rpow__: ClassVar[Callable[[Scalar, Number], Scalar]]
    __neg__: ClassVar[Callable[[Scalar], Scalar]]
    __abs__: ClassVar[Callable[[Scalar], Scalar]]

    def __pos__(self) -> Scalar:
        return self

    # Conversions and display -------------------------------------------------------------
    def __float__(self) -> float:
        if _strict and self._rule is not None:
            raise _lost(self, "float()")
        value = self._value
        if _observer is not None:
            _observer("float", self, None, value)
        return value

    def __int__(self) -> int:
        if _strict and self._rule is not None:
            raise _lost(self, "int()")
        result = int(self._value)
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
        result = round(self._value, ndigits)
        if _observer is not None:
            _observer("round", self, ndigits, result)
        return result

    def __bool__(self) -> bool:
        result = self._value != 0.0
        if _observer is not None:
            _observer("bool", self, None, result)
        return result

    def __repr__(self) -> str:
        """Scalar(value); while a call is traced for compiling, the text shows the value: a
        guard, as float() is."""
        value = self._value
        if _observer is not None:
            _observer("float", self, None, value)
        return f"Scalar({value!r})"

    def __format__(self, spec: str) -> str:
        if not spec:
            return repr(self)
        value = self._value
        if _observer is not None:
            _observer("float", self, None, value)
        return format(value, spec)

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

# .value is the slot itself, under its public name: as fast to read and write as any slot.
# scalargrad's own code reads and writes _value; only what the user reads goes through .value,
# which is what compiling can tell apart (scalargrad.compile.trace: value_reads_reported).
type.__setattr__(Scalar, "value", Scalar.__dict__["_value"])


# ---------------------------------------------------------------------------------------
# Recording: the functions codegen.py writes from the table, made once, here (their globals
# are this module's: Scalar, _new, error, as_float, _Real, _tick and the _f_ functions).
_new = object.__new__
_Real = numbers.Real


def error(rule: Union[Rule, NaryRule], args: Sequence[float], cause: BaseException) -> ScalargradError:
    """The exception to raise for these arguments, naming the operation and the values."""
    call = f"{rule.name}({', '.join(repr(float(a)) for a in args)})"
    if isinstance(cause, ZeroDivisionError):
        return DivisionByZero(f"{call}: division by zero")
    if isinstance(cause, OverflowError):
        return NumericOverflow(f"{call}: the result is too large for a float")
    return DomainError(f"{call}: outside the domain of {rule.name} ({rule.domain})")


def as_float(x: object) -> float:
    """A plain number as a float; anything else is a TypeError."""
    if x.__class__ is float:
        return x
    if isinstance(x, _Real):
        return float(x)
    raise TypeError(f"expected a number or a Scalar, got {type(x).__name__}")


def _run(source: str, filename: str) -> Dict[str, Any]:
    """Run generated source with this module's globals (and the float functions as
    _f_<name>); its definitions. The source is kept where tracebacks and inspect find it."""
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: Dict[str, Any] = {}
    exec(compile(source, filename, "exec"), globals(), namespace)  # noqa: S102 (generated)
    return namespace


globals().update(codegen.float_globals())
RECORDERS: Dict[str, Callable] = _run(codegen.recorders_source(), "<scalargrad recorders>")[
    "recorders"](*codegen.recorded_rules())
"""Every recording function by name (see codegen.recorders_source)."""

make_node: Callable[..., Scalar] = RECORDERS["make_node"]
make_node.__doc__ = ("make_node(value, rule, a, da, b=None, db=None): the node constructor, a "
                     "Scalar recording rule applied to a and b, put on the tape (the slots are "
                     "described above). The generated functions inline its body.")
newest: Callable[[], Optional[Scalar]] = RECORDERS["newest"]
end_tape: Callable[[], None] = RECORDERS["end_tape"]
end_tape.__doc__ = "Start a new tape with the next node: nothing recorded after links to older nodes."

for _method, _name in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"),
                       ("pow", "pow")):
    type.__setattr__(Scalar, f"__{_method}__", RECORDERS[_name])
    type.__setattr__(Scalar, f"__r{_method}__", RECORDERS[f"r{_name}"])
type.__setattr__(Scalar, "__neg__", RECORDERS["neg"])
type.__setattr__(Scalar, "__abs__", RECORDERS["abs"])


def unary_function(rule: Rule) -> Callable[[ScalarLike], Union[Scalar, float]]:
    """rule's public function: a float for a float, a recorded Scalar for a Scalar."""
    function = RECORDERS[rule.name]
    function.__doc__ = (f"{rule.name}(x): a float for a float, a recorded Scalar for a Scalar."
                        + (f" Domain: {rule.domain}." if rule.domain else "")
                        + (f" {rule.convention}" if rule.convention else ""))
    return function


def binary_function(rule: Rule) -> Callable[[ScalarLike, ScalarLike], Union[Scalar, float]]:
    """rule's public function of two arguments, each a float or a Scalar."""
    forward, reflected = RECORDERS[rule.name], RECORDERS[f"r{rule.name}"]
    value_of = codegen.float_function(rule)

    def function(a: ScalarLike, b: ScalarLike) -> Union[Scalar, float]:
        if a.__class__ is Scalar:
            result = forward(a, b)
        elif b.__class__ is Scalar:
            result = reflected(b, a)
        else:
            av, bv = as_float(a), as_float(b)
            try:
                return value_of(av, bv)
            except (ArithmeticError, ValueError) as cause:
                raise error(rule, (av, bv), cause) from None
        if result is NotImplemented:
            raise TypeError(f"{rule.name}() expects numbers or Scalars, got "
                            f"{type(a).__name__} and {type(b).__name__}")
        return result

    function.__name__ = function.__qualname__ = rule.name
    function.__doc__ = (f"{rule.name}(a, b): a float for floats, a recorded Scalar otherwise."
                        + (f" {rule.convention}" if rule.convention else ""))
    return function


# ---------------------------------------------------------------------------------------
# The tape's lifetime (see the module's documentation).
SWEEPS = threading.RLock()
"""Held by the thread whose sweep runs (autodiff.py); compaction, which relinks the tape,
waits for no sweep: it skips its turn while one runs."""

COMPACT_EVERY = 16  # ticks at least between compactions
_ticks = 0                        # ticks since the last compaction
_next_compaction = COMPACT_EVERY  # ticks to wait before the next one


def _tick() -> None:
    """Called every codegen.TICK nodes recorded: compact the tape once enough has been
    recorded since the last time to pay for walking what is left on it."""
    global _ticks, _next_compaction
    _ticks += 1
    if _ticks >= _next_compaction and gc.isenabled() and SWEEPS.acquire(blocking=False):
        try:
            _ticks = 0
            _next_compaction = max(COMPACT_EVERY, compact() // codegen.TICK)
        finally:
            SWEEPS.release()


def compact() -> int:
    """Take every node nothing else refers to out of the tape (freeing it); return how many
    nodes are left on it."""
    getrefcount = sys.getrefcount
    move_head = RECORDERS["move_head"]
    head = newest()
    # referred to by the tape's head, the name head and the argument: by nothing else
    while head is not None and getrefcount(head) <= 3:
        move_head(head._previous)
        head = newest()  # the old head is freed here
    left = 0
    node = head
    del head
    while node is not None:
        left += 1
        previous = node._previous
        # referred to by node's link, the name previous and the argument: by nothing else
        while previous is not None and getrefcount(previous) <= 3:
            node._previous = previous._previous
            previous = node._previous  # the one taken out is freed here
        node = previous
    return left


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Disable the cycle collector inside the block (if it was enabled), then restore it.

    scalargrad's graphs hold no reference cycles (nodes point only at older nodes; no
    closures), so reference counting alone frees them. The cycle collector still rescans
    every live node whenever enough objects have been allocated, and with a graph of a
    million nodes that rescanning can cost more than building the graph. Training loops
    pause it around each step; any cycles the user's own code makes are collected once it
    resumes. The tape is not compacted inside the block, and the block ends it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        end_tape()
        if was_enabled:
            gc.enable()


def _value_or_none(x: object) -> Union[float, None]:
    """The float value of a Scalar or a real number, or None for anything else."""
    if x.__class__ is Scalar:
        return x._value
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def value_of(x: ScalarLike) -> float:
    """The float value of a Scalar, or of a plain number (never raises in strict mode).
    While a call is traced for compiling, reading a Scalar's value is a guard, as float()."""
    if x.__class__ is not Scalar:
        return float(x)
    return x.value  # a read for the user: a guard while a call is traced (compile/trace.py)


def edges(node: Scalar) -> Tuple[Tuple[Scalar, ...], Tuple[Any, ...]]:
    """(parents, partials): node's Scalar arguments and the partial derivative for each."""
    rule = node._rule
    if rule is None:
        return (), ()
    if isinstance(rule, (NaryRule, FunctionRule)):
        return node._a, node._da
    if node._da is None:  # a number, then a Scalar
        return (node._b,), (node._db,)
    if node._db is None:  # one argument, or a Scalar then a number
        return (node._a,), (node._da,)
    return (node._a, node._b), (node._da, node._db)


def arguments(node: Scalar) -> Tuple[Any, ...]:
    """The arguments node's rule was applied to: Scalars and numbers, in order.

    For an n-ary node, the Scalar arguments (numbers among them are folded into its value);
    for a function rule's, all of them (a stopped gradient's argument too, which is not
    among its parents).
    """
    rule = node._rule
    if isinstance(rule, NaryRule):
        return node._a
    if isinstance(rule, FunctionRule):
        return node._b
    return (node._a,) if node._b is None else (node._a, node._b)


@contextmanager
def observing(observer: Callable[[str, "Scalar", Any, Any], None]) -> Iterator[None]:
    """Inside the block, observer is told of every comparison, bool(), int(), float(),
    round(), repr() and format() of a Scalar, and of every n-ary node's full arguments
    (nary.record_nary). (Reads of .value are told by scalargrad.compile, which
    makes .value report them while it traces.)"""
    global _observer
    previous, _observer = _observer, observer
    try:
        yield
    finally:
        _observer = previous


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
                     f"{node._value!r}) gives a plain number with no derivative; use "
                     "scalargrad's functions instead of math's, or .value to read it on purpose")
