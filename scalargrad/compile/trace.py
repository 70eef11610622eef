"""Tracing: run the function once on Scalars and write what it did as a Form.

Every node the call records goes on the tape (core/scalar.py) in the order it is made, and
the tracer reads them all from there, whether the result depends on them or not: a value
only a guard reads, or an operation whose result is dropped but which can raise (``log(x)``
at a negative x), is part of the program. Decisions the call takes on values (comparisons,
bool, int, float, round, repr, format: see scalar.observing; and reads of ``.value``: see
value_reads_reported) become Guards at the place they were taken, between the equations
made before and after.

The collector is paused while tracing, so that nothing takes nodes off the tape. If the
function itself ends the tape (it differentiates something, or pauses the collector), the
nodes before the cut cannot be told from nodes made before the call: such a function is
not traceable (NotTraceable), and runs on the recording engine.
"""
from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from ..core import rules
from ..core.rules import FunctionRule, NaryRule, Rule
from ..core.scalar import (Scalar, arguments, cycle_collector_paused, end_tape, make_node, newest,
                           observing)
from .form import (ARGUMENT, EXTERNAL, ITEM, NODE, Apply, Atom, Call, Dot, Equation, Form, Guard,
                   Reduce, Seq, Var)

Shape = Tuple[Optional[int], ...]


class NotTraceable(Exception):
    """The function cannot be traced (see the module's documentation); the message says why."""


class _Recorder:
    """Told by scalar.observing of each decision on a value, with the newest node at that
    moment (the guard goes after it), of each n-ary node's full arguments, and of each
    difference whose value was computed through a logsumexp's shift (functions._exactly)."""

    def __init__(self) -> None:
        self.decisions: List[Tuple[str, Scalar, Any, Any, Any]] = []
        self.nary: Dict[int, Tuple[Any, ...]] = {}
        self.shifted: Dict[int, Tuple[Any, ...]] = {}
        self.writes = 0  # values the function set (value_reads_reported)

    def __call__(self, kind: str, node: Scalar, other: Any, outcome: Any) -> None:
        if kind == "nary":
            self.nary[id(node)] = other
        elif kind == "shifted":
            self.shifted[id(node)] = other
        else:
            self.decisions.append((kind, node, other, outcome, newest()))


def trace(function: Callable, args: Sequence[Any], shape: Shape,
          differentiate: Sequence[int]) -> Form:
    """function's call on args (floats, or lists of floats, of this shape) as a Form."""
    inputs: List[Any] = [Scalar(a) if size is None else [Scalar(v) for v in a]
                         for a, size in zip(args, shape)]
    recorder = _Recorder()

    def observed() -> Any:
        with observing(recorder), value_reads_reported(recorder):
            return function(*inputs)
    result, nodes, marker = on_a_tape(observed)
    if nodes is None:
        raise NotTraceable("the function ended the tape while it was traced (it differentiated "
                           "something, or paused the cycle collector)")
    if recorder.writes:
        raise NotTraceable("the function sets a Scalar's value while it runs, which compiled "
                           "code cannot do again")
    single = not isinstance(result, (list, tuple))
    outputs = [result] if single else list(result)
    check_outputs(outputs)
    return _Builder(inputs, nodes, recorder, id(marker)).form(outputs, single, shape, differentiate)


def check_outputs(outputs: Sequence[Any]) -> None:
    """TypeError unless every output is a Scalar or a real number (its value is float() of
    it, as the recording engine's; a bool has a value, but reverse_autodiff refuses it)."""
    for out in outputs:
        if out.__class__ is not Scalar and not isinstance(out, numbers.Real):
            raise TypeError(f"compiled function: the function returned a {type(out).__name__}; "
                            "Scalars or numbers only")


@contextmanager
def value_reads_reported(recorder: _Recorder) -> Iterator[None]:
    """Inside the block, reading a Scalar's ``.value`` tells recorder, as float() does, and
    setting one is counted (``recorder.writes``).

    Why a class attribute is changed: ``.value`` is a plain slot, read by the user's code
    anywhere (their function, the libraries it calls); nothing but the attribute itself sees
    such a read, and a read the trace did not see would make the value a constant of the
    code, silently wrong at any other point. So while a call is traced, and only then,
    ``Scalar.value`` is a property. scalargrad's own code reads and writes the slot as
    ``_value``, so what goes through ``.value`` is a read for the user (``value_of``,
    ``Matrix.tolist`` and ``Scalar(x)`` read for the user on purpose). Outside the block
    ``.value`` is the slot itself (core/scalar.py), as fast as any slot. The class is put
    back on every way out of the block: a return, an exception, Ctrl-C (``finally``).
    Tracing, like recording, is done from one thread at a time."""
    slot = Scalar.__dict__["_value"]
    before = Scalar.__dict__["value"]

    def read(scalar: Scalar) -> float:
        value: float = slot.__get__(scalar, Scalar)
        recorder("float", scalar, None, value)
        return value

    def write(scalar: Scalar, value: float) -> None:
        recorder.writes += 1
        slot.__set__(scalar, value)

    type.__setattr__(Scalar, "value", property(read, write))
    try:
        yield
    finally:
        type.__setattr__(Scalar, "value", before)


def is_number(x: Any) -> bool:
    """An int or a float (a bool is not one)."""
    return (x.__class__ is float or x.__class__ is int
            or (isinstance(x, (int, float)) and not isinstance(x, bool)))


def on_a_tape(call: Callable[[], Any]) -> Tuple[Any, Optional[List[Scalar]], Scalar]:
    """(call(), the nodes it recorded, oldest first, and the marker node its tape began
    with): on a tape of its own, the collector paused (so that nothing takes nodes off it).
    The nodes are None if the call ended the tape itself."""
    with cycle_collector_paused():
        end_tape()
        marker = make_node(0.0, rules.SUM, (), ())  # where this call's tape begins
        result = call()
        newest_first = []
        node = newest()
        while node is not None and node is not marker:
            newest_first.append(node)
            node = node._previous
    if node is None:
        return result, None, marker
    newest_first.reverse()
    return result, newest_first, marker


class _Builder:
    """Names everything the traced call touched and writes its equations."""

    def __init__(self, inputs: List[Any], nodes: List[Scalar], recorder: _Recorder,
                 marker: int) -> None:
        self.inputs = inputs
        self.nodes = nodes
        self.recorder = recorder
        self.marker = marker
        self.vars: Dict[int, Var] = {}
        self.reduced: Dict[int, Reduce] = {}  # a shifted rule's equation, by its node's id
        self.externals: List[Any] = []
        self.named_inputs: List[Union[Var, List[Var]]] = []
        for position, arg in enumerate(inputs):
            if isinstance(arg, list):
                items = [Var(ITEM, position, k) for k in range(len(arg))]
                self.vars.update((id(leaf), var) for leaf, var in zip(arg, items))
                self.named_inputs.append(items)
            else:
                self.vars[id(arg)] = var = Var(ARGUMENT, position)
                self.named_inputs.append(var)
        self.traced = {id(node) for node in nodes}

    def atom(self, x: Any) -> Atom:
        """A Scalar's Var (an external's, the first time one is met), a number's float."""
        if x.__class__ is not Scalar:
            return float(x)
        var = self.vars.get(id(x))
        if var is None:
            assert id(x) not in self.traced, "a node read before it was made"
            var = self.vars[id(x)] = Var(EXTERNAL, len(self.externals))
            self.externals.append(x)
        return var

    def form(self, outputs: List[Any], single: bool, shape: Shape,
             differentiate: Sequence[int]) -> Form:
        decisions: Dict[int, List[Tuple[str, Scalar, Any, Any]]] = {}
        for kind, node, other, outcome, latest in self.recorder.decisions:
            place = -1 if latest is None or id(latest) == self.marker else id(latest)
            decisions.setdefault(place, []).append((kind, node, other, outcome))
        equations: List[Equation] = [self._guard(*d) for d in decisions.get(-1, [])]
        for number, node in enumerate(self.nodes):
            out = self.vars[id(node)] = Var(NODE, number)
            equations.append(self._equation(node, out))
            equations.extend(self._guard(*d) for d in decisions.get(id(node), []))
        form = Form(shape, self.externals, equations, [self.atom(out) for out in outputs], single,
                    differentiate, self.named_inputs)
        form.derivable = not any(isinstance(out, bool) for out in outputs)
        return form

    def _guard(self, kind: str, node: Scalar, other: Any, outcome: Any) -> Guard:
        if kind == "round":
            return Guard("round", (self.atom(node),), outcome, other)
        if other is None:
            return Guard(kind, (self.atom(node),), outcome)
        return Guard(kind, (self.atom(node), self.atom(other)), outcome)

    def _equation(self, node: Scalar, out: Var) -> Equation:
        rule = node._rule
        if isinstance(rule, Rule):
            return Apply(rule, [self.atom(a) for a in arguments(node)], out, self._exact(node))
        if isinstance(rule, FunctionRule):
            return Call(rule, [self.atom(a) for a in arguments(node)], out)
        assert isinstance(rule, NaryRule)
        told = self.recorder.nary.get(id(node))
        if rule is not rules.DOT:
            reduce = Reduce(rule, Seq([self.atom(a) for a in (told if told is not None else node._a)]), out)
            self.reduced[id(node)] = reduce
            return reduce
        if told is not None:
            pairs: Tuple[Any, ...] = told
        elif node._b is not None:  # Scalars with Scalars: its parents are both sides
            pairs = tuple(node._a)
        else:  # Scalars with numbers: the numbers are its partials
            pairs = (*node._a, *node._da)
        half = len(pairs) // 2
        return Dot(Seq([self.atom(a) for a in pairs[:half]]),
                   Seq([self.atom(a) for a in pairs[half:]]), out)

    def _exact(self, node: Scalar) -> Optional[Tuple[str, Atom, Atom]]:
        """How a difference's value was computed through a logsumexp's shift, if it was: from
        that logsumexp's equation (made in this call), or from numbers where it was one."""
        how = self.recorder.shifted.get(id(node))
        if how is None:
            return None
        lse, top, inner, kind = how
        reduce = self.reduced.get(id(lse)) if lse.__class__ is Scalar else None
        if reduce is None or reduce.top is None or reduce.inner is None:
            return kind, float(top), float(inner)
        return kind, reduce.top, reduce.inner
