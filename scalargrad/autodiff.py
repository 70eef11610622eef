"""Derivatives over the recorded graph: reverse mode, forward mode and the Jacobian.

Reverse mode sweeps once from an output back to every input (cost grows with the number of
outputs); forward mode sweeps once from each input towards the outputs (cost grows with
the number of inputs). Both walk the same recorded graph and use the same stored partials.

Nothing here recurses: the graph is gathered with an explicit stack and ordered by each
node's creation counter, which is a topological order. Each sweep keeps its running
adjoints or tangents on the nodes (``_acc``) and clears them when it ends, even on error,
so asking twice gives the same answer and there is no zero_grad. Consequently one graph
must not be differentiated from two threads at the same time.
"""
from __future__ import annotations

import builtins
import operator
from bisect import bisect_left
from itertools import islice
from typing import List, Sequence, Union

from .rules import symbolic_partials
from .scalar import Scalar

Number = Union[int, float]
Inputs = Union[Scalar, Sequence[Scalar]]

_ORDER = operator.attrgetter("_order")
_ACC = operator.attrgetter("_acc")
_mul = operator.mul


def _gather(roots: Sequence[Scalar]) -> List[Scalar]:
    """Every node the roots depend on (roots included), oldest first, scratch set to 0.0."""
    nodes: List[Scalar] = []
    stack: List[Scalar] = []
    push, pop, keep = stack.append, stack.pop, nodes.append
    for root in roots:
        if root._acc is None:
            root._acc = 0.0
            push(root)
            keep(root)
    while stack:
        node = pop()
        da = node._da
        if da is not None:
            if da.__class__ is tuple:
                for parent in node._a:
                    if parent._acc is None:
                        parent._acc = 0.0
                        push(parent)
                        keep(parent)
                continue
            parent = node._a
            if parent._acc is None:
                parent._acc = 0.0
                push(parent)
                keep(parent)
        if node._db is not None:
            parent = node._b
            if parent._acc is None:
                parent._acc = 0.0
                push(parent)
                keep(parent)
    nodes.sort(key=_ORDER)
    return nodes


def _release(nodes: List[Scalar]) -> None:
    for node in nodes:
        node._acc = None


def _parents(node: Scalar) -> tuple:
    """A node's Scalar parents, aligned with symbolic_partials(node)."""
    if node._da.__class__ is tuple:
        return node._a
    return tuple(p for p, d in ((node._a, node._da), (node._b, node._db)) if d is not None)


def _reverse_sweep(nodes: List[Scalar]) -> None:
    """Adjoints from the newest node back: each node passes adjoint * partial to its parents."""
    for node in reversed(nodes):
        g = node._acc
        da = node._da
        if da is not None:
            if da.__class__ is tuple:
                for parent, d in zip(node._a, da):
                    parent._acc += g * d
                continue
            node._a._acc += g * da
        db = node._db
        if db is not None:
            node._b._acc += g * db


def _reverse_sweep_differentiable(nodes: List[Scalar]) -> None:
    """As _reverse_sweep, but adjoints are Scalars built from the rules' symbolic partials."""
    for node in reversed(nodes):
        g = node._acc
        if node._op is None or (g.__class__ is float and g == 0.0):
            continue
        for parent, d in zip(_parents(node), symbolic_partials(node)):
            parent._acc = parent._acc + g * d


def _forward_sweep(nodes: List[Scalar], start: int) -> None:
    """Tangents from nodes[start] (already seeded) towards the newest node."""
    for node in islice(nodes, start + 1, None):
        da = node._da
        if da is None:
            t = 0.0
        elif da.__class__ is tuple:
            t = builtins.sum(map(_mul, da, map(_ACC, node._a)))
        else:
            t = da * node._a._acc
        db = node._db
        if db is not None:
            t += db * node._b._acc
        node._acc = t


def _forward_sweep_differentiable(nodes: List[Scalar], start: int) -> None:
    """As _forward_sweep, but tangents are Scalars built from the rules' symbolic partials."""
    for node in islice(nodes, start + 1, None):
        t = 0.0
        if node._op is not None:
            for parent, d in zip(_parents(node), symbolic_partials(node)):
                pt = parent._acc
                if pt.__class__ is not float or pt != 0.0:
                    t = t + d * pt
        node._acc = t


def _as_list(xs: Inputs) -> tuple:
    """(list of inputs, whether one input was given rather than a list)."""
    single = isinstance(xs, Scalar)
    inputs = [xs] if single else list(xs)
    for x in inputs:
        if not isinstance(x, Scalar):
            raise TypeError(f"derivatives are taken with respect to Scalars, got {type(x).__name__}")
    return inputs, single


def _finish(values: list, single: bool, create_graph: bool):
    if create_graph:
        values = [v if isinstance(v, Scalar) else Scalar(v) for v in values]
    return values[0] if single else values


def reverse_autodiff(y: Union[Scalar, Number], xs: Inputs, create_graph: bool = False):
    """dy/dx for each input in one backward sweep: a float, or a list in the order of xs.

    An input y does not depend on gets 0.0; a plain-number y gives all zeros. With
    create_graph=True the results are Scalars that can be differentiated again.
    """
    inputs, single = _as_list(xs)
    if not isinstance(y, Scalar):
        return _finish([0.0] * len(inputs), single, create_graph)
    nodes = _gather([y])
    try:
        y._acc = 1.0
        (_reverse_sweep_differentiable if create_graph else _reverse_sweep)(nodes)
        result = [0.0 if x._acc is None else x._acc for x in inputs]
    finally:
        _release(nodes)
    return _finish(result, single, create_graph)


def _forward(ys: Sequence[Union[Scalar, Number]], inputs: List[Scalar], create_graph: bool) -> list:
    """d ys / d inputs by forward sweeps, one per input: a list (per input) of lists (per y)."""
    roots = [y for y in ys if isinstance(y, Scalar)]
    columns: list = [None] * len(inputs)
    nodes = _gather(roots)
    sweep = _forward_sweep_differentiable if create_graph else _forward_sweep
    try:
        located = []
        for k, x in enumerate(inputs):
            i = bisect_left(nodes, x._order, key=_ORDER)
            if i < len(nodes) and nodes[i] is x:
                located.append((i, k))
            else:
                columns[k] = [0.0] * len(ys)
        # Latest input first: each sweep then overwrites every tangent it reads before reading
        # it, and nothing older than its input is touched, so no clearing is needed between.
        for i, k in sorted(located, reverse=True):
            nodes[i]._acc = 1.0
            sweep(nodes, i)
            columns[k] = [y._acc if isinstance(y, Scalar) else 0.0 for y in ys]
    finally:
        _release(nodes)
    return columns


def forward_autodiff(y: Union[Scalar, Number], xs: Inputs, create_graph: bool = False):
    """dy/dx for each input by pushing tangents forward, one sweep per input.

    Same answers and shapes as reverse_autodiff.
    """
    inputs, single = _as_list(xs)
    columns = _forward([y], inputs, create_graph)
    return _finish([column[0] for column in columns], single, create_graph)


def jacobian(ys: Sequence[Union[Scalar, Number]], xs: Sequence[Scalar], mode: str = "auto") -> List[List[float]]:
    """The Jacobian as rows (one per output) of floats (one per input).

    mode "reverse" sweeps once per output, "forward" once per input; "auto" picks whichever
    makes fewer sweeps (reverse on a tie: its sweeps are cheaper).
    """
    ys = list(ys)
    inputs, _ = _as_list(list(xs))
    if mode == "auto":
        mode = "forward" if len(inputs) < len(ys) else "reverse"
    if mode == "reverse":
        return [reverse_autodiff(y, inputs) for y in ys]
    if mode == "forward":
        columns = _forward(ys, inputs, create_graph=False)
        return [[column[r] for column in columns] for r in range(len(ys))]
    raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
