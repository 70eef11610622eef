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
from bisect import bisect_right
from itertools import islice
from typing import List, Sequence, Union

from .rules import symbolic_partials
from .scalar import Scalar

Number = Union[int, float]
Inputs = Union[Scalar, Sequence[Scalar]]

_ORDER = operator.attrgetter("_order")
_ACC = operator.attrgetter("_acc")
_mul = operator.mul
_SCALAR_ONLY = {Scalar}


class _Graph:
    """The nodes a sweep visits: interior nodes oldest first, and the leaves they reach.

    Leaves (inputs and parameters) have nothing to propagate, so they are kept out of the
    sorted list: in a training step most parents are parameters, and this halves the work.
    """

    __slots__ = ("interior", "leaves")

    def __init__(self, roots: Sequence[Scalar]) -> None:
        self.interior: List[Scalar] = []
        self.leaves: List[Scalar] = []
        try:
            self._gather(roots)
        except BaseException:  # even Ctrl-C: a node left marked would corrupt later sweeps
            self.release()
            raise
        self.interior.sort(key=_ORDER)

    def _gather(self, roots: Sequence[Scalar]) -> None:
        """Mark (scratch 0.0) and list every node the roots depend on, with an explicit stack."""
        stack: List[Scalar] = []
        push, pop, keep, keep_leaf = stack.append, stack.pop, self.interior.append, self.leaves.append
        visited_parent_tuples = set()
        parents: Sequence[Scalar] = roots
        while True:
            for parent in parents:
                if parent._acc is None:
                    parent._acc = 0.0
                    if parent._op is None:
                        keep_leaf(parent)
                    else:
                        push(parent)
                        keep(parent)
            if not stack:
                return
            node = pop()
            da = node._da
            if da.__class__ is tuple:
                # A matrix product's entries share their column's parent tuple: walk it once.
                parents = node._a
                if id(parents) in visited_parent_tuples:
                    parents = ()
                else:
                    visited_parent_tuples.add(id(parents))
            elif da is None:
                parents = (node._b,)
            elif node._db is None:
                parents = (node._a,)
            else:
                parents = (node._a, node._b)

    def release(self) -> None:
        """Clear every visited node's scratch, ready for the next sweep."""
        for node in self.interior:
            node._acc = None
        for node in self.leaves:
            node._acc = None


def _parents(node: Scalar) -> tuple:
    """A node's Scalar parents, aligned with symbolic_partials(node)."""
    if node._da.__class__ is tuple:
        return node._a
    return tuple(p for p, d in ((node._a, node._da), (node._b, node._db)) if d is not None)


def _reverse_sweep(nodes: List[Scalar]) -> None:
    """Adjoints from the newest node back: each node adds adjoint * partial to its parents'.

    A node whose adjoint is exactly zero passes nothing back (in a relu network, every
    inactive unit's whole subgraph). The one visible effect: a zero adjoint times an
    infinite partial (sqrt at 0) gives 0 here, where forward mode's product gives nan.
    """
    for node in reversed(nodes):
        g = node._acc
        if g == 0.0:
            continue
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
        if g.__class__ is float and g == 0.0:
            continue
        for parent, d in zip(_parents(node), symbolic_partials(node)):
            parent._acc = parent._acc + g * d


def _forward_sweep(nodes: List[Scalar], start: int) -> None:
    """Tangents for nodes[start:], given the tangents of everything older."""
    for node in islice(nodes, start, None):
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
    for node in islice(nodes, start, None):
        t = 0.0
        for parent, d in zip(_parents(node), symbolic_partials(node)):
            pt = parent._acc
            if pt.__class__ is not float or pt != 0.0:
                t = t + d * pt
        node._acc = t


def _as_list(xs: Inputs) -> tuple:
    """(list of inputs, whether one input was given rather than a list)."""
    single = isinstance(xs, Scalar)
    inputs = [xs] if single else list(xs)
    if not set(map(type, inputs)) <= _SCALAR_ONLY:
        bad = next(x for x in inputs if not isinstance(x, Scalar))
        raise TypeError(f"derivatives are taken with respect to Scalars, got {type(bad).__name__}")
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
    graph = _Graph([y])
    try:
        y._acc = 1.0
        (_reverse_sweep_differentiable if create_graph else _reverse_sweep)(graph.interior)
        result = list(map(_ACC, inputs))
    finally:
        graph.release()
    if None in result:  # inputs y does not depend on
        result = [0.0 if r is None else r for r in result]
    return _finish(result, single, create_graph)


def _forward(ys: Sequence[Union[Scalar, Number]], inputs: List[Scalar], create_graph: bool) -> list:
    """d ys / d inputs by forward sweeps, one per input: a list (per input) of lists (per y)."""
    columns: list = [[0.0] * len(ys) for _ in inputs]
    graph = _Graph([y for y in ys if isinstance(y, Scalar)])
    nodes = graph.interior
    sweep = _forward_sweep_differentiable if create_graph else _forward_sweep
    try:
        reached = [(x._order, k) for k, x in enumerate(inputs) if x._acc is not None]
        # Latest input first: each sweep then rewrites every tangent it reads before reading
        # it, and never touches anything older than its input, so no clearing is needed.
        for order, k in sorted(reached, reverse=True):
            x = inputs[k]
            x._acc = 1.0
            sweep(nodes, bisect_right(nodes, order, key=_ORDER))
            columns[k] = [y._acc if isinstance(y, Scalar) else 0.0 for y in ys]
            if x._op is None:
                x._acc = 0.0  # sweeps never rewrite leaves
    finally:
        graph.release()
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
