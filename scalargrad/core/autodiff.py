"""Derivatives over the recorded graph: reverse mode, forward mode and the Jacobian.

Reverse mode sweeps once from an output back to every input (cost grows with the number of
outputs); forward mode sweeps once from each input towards the outputs (cost grows with
the number of inputs). Both use the partials stored in the nodes; with create_graph=True
they evaluate the rules' partials on Scalars instead, so the derivatives are recorded too.

Order without gathering: a reverse sweep walks the tape (scalar.py) back from its
output, newest node first, which meets every node before the nodes it depends on; nodes it
does not meet there (recorded before a cut in the tape, or by another tape) it puts in order
from the graph itself. Nothing here recurses: a chain of a million operations differentiates
at Python's default recursion limit.

Adjoints and tangents live on the nodes (``_acc``) while a sweep runs and are cleared when
it ends, even on error or Ctrl-C, so asking twice gives the same answer and there is no
zero_grad.

Threads: a sweep reads the marks on every node of the tape it walks, and the tape holds the
nodes of every thread, so two sweeps at once would take each other's marks for their own.
Sweeps therefore take turns (``scalar.SWEEPS``, a lock taken once per sweep, at its entry and
exit, never per node): a thread that differentiates while another does waits for it.
Recording needs no turn: a new node carries no mark, and a link the tape loses to two
threads recording at once only sends a sweep to the graph itself for the nodes behind it.

Zero times anything is zero: a node whose adjoint (or a parent whose tangent) is exactly zero
passes nothing on, even through an infinite partial (sqrt at 0). Both modes follow this, so
they agree, and a relu network's inactive units cost nothing in reverse mode.
"""
from __future__ import annotations

import builtins
import numbers
import operator
from typing import Any, Callable, List, Literal, Optional, Sequence, Tuple, TypeGuard, Union, overload

from .functions import nary_partial, scalar_partials, shifted_partials
from .primitives import recorded_partials
from .rules import FunctionRule, NaryRule
from .scalar import SWEEPS, Number, Scalar, edges, end_tape

Inputs = Union[Scalar, Sequence[Scalar]]
Output = Union[Scalar, Number]

_take_turn, _give_turn = SWEEPS.acquire, SWEEPS.release  # the tape's lock (scalar.py)
_RULE = operator.attrgetter("_rule")
_ADJOINT = operator.attrgetter("_acc")
_SCALAR_ONLY = {Scalar}
_REACHED = object()  # a mark for nodes met but not yet listed, in ancestors()


# ---------------------------------------------------------------------------------------
# Checking what the entry points are given.
def _check_output(y: object, where: str) -> TypeGuard[Scalar]:
    """True for a Scalar, False for a plain number (a constant); TypeError for anything else."""
    if y.__class__ is Scalar:
        return True
    if isinstance(y, numbers.Real) and not isinstance(y, bool):
        return False
    raise TypeError(f"{where}: the output must be a Scalar or a plain number, "
                    f"got {type(y).__name__}")


def _check_inputs(xs: object, where: str) -> Tuple[List[Scalar], bool]:
    """(list of inputs, whether one input was given rather than a sequence)."""
    # xs.__class__ each time, not a local alias of it: the checker narrows xs on these checks.
    if xs.__class__ is Scalar:
        return [xs], True
    if xs.__class__ is list:  # read, never changed: no copy
        inputs = xs
    elif xs.__class__ is tuple or isinstance(xs, Sequence) and not isinstance(xs, (str, bytes)):
        inputs = list(xs)
    else:
        raise TypeError(f"{where}: differentiate with respect to a Scalar or a sequence of "
                        f"Scalars, got {type(xs).__name__}")
    if not _SCALAR_ONLY.issuperset(map(type, inputs)):
        bad = next(x for x in inputs if x.__class__ is not Scalar)
        raise TypeError(f"{where}: derivatives are taken with respect to Scalars, "
                        f"got {type(bad).__name__}")
    return inputs, False


# ---------------------------------------------------------------------------------------
# Reverse mode on floats: the hot path.
def _reverse_sweep(start: Scalar, leaves: List[Scalar], waiting: int) -> Tuple[int, Scalar]:
    """Pass adjoints back along the links from start, while some node reached is waiting.

    A node holding an adjoint adds adjoint * partial to each parent's. A parent met for the
    first time is, if a leaf, appended to leaves (so that its adjoint can be read and
    cleared afterwards), else counted as waiting until the walk reaches it and clears it.
    Returns how many are still waiting when the links end (those the tape did not lead
    to), and the last node processed. The three accumulation blocks are one step written
    out: a call per edge would double the cost of a sweep.
    """
    node: Optional[Scalar] = start
    last = start
    while waiting and node is not None:
        g = node._acc
        if g is not None:
            node._acc = None
            waiting -= 1
            last = node
            if g:  # a zero adjoint passes nothing on
                da = node._da
                if da.__class__ is tuple:  # n-ary: parents and partials in tuples
                    for parent, d in zip(node._a, da):
                        acc = parent._acc
                        if acc is not None:
                            parent._acc = acc + g * d
                        else:
                            parent._acc = g * d
                            if parent._rule is None:
                                leaves.append(parent)
                            else:
                                waiting += 1
                else:
                    if da is not None:
                        parent = node._a
                        acc = parent._acc
                        if acc is not None:
                            parent._acc = acc + g * da
                        else:
                            parent._acc = g * da
                            if parent._rule is None:
                                leaves.append(parent)
                            else:
                                waiting += 1
                    db = node._db
                    if db is not None:
                        parent = node._b
                        acc = parent._acc
                        if acc is not None:
                            parent._acc = acc + g * db
                        else:
                            parent._acc = g * db
                            if parent._rule is None:
                                leaves.append(parent)
                            else:
                                waiting += 1
        node = node._previous
    return waiting, last


def _sweep_off_tape(y: Scalar, leaves: List[Scalar]) -> None:
    """Finish a reverse sweep over nodes the tape did not lead to (recorded before it ended).

    Those of y's nodes still holding an adjoint, and everything they depend on, are linked,
    for this sweep only, in a topological order found from the graph, and swept like a
    tape; their own links are put back after.
    """
    waiting = [n for n in topological_order([y]) if n._acc is not None]
    order = topological_order(waiting)
    saved = [node._previous for node in order]
    try:
        previous = None
        for node in order:
            node._previous = previous
            previous = node
        _reverse_sweep(order[-1], leaves, len(waiting))
    finally:
        for node, link in zip(order, saved):
            node._previous = link


def _clear(y: Scalar) -> None:
    """Clear every adjoint a sweep from y may have left (after an interruption)."""
    for node in topological_order([y]):
        node._acc = None
        for parent in edges(node)[0]:
            parent._acc = None


def _adjoints(y: Scalar, inputs: List[Scalar]) -> List[float]:
    """dy/dx for each input by one reverse sweep over floats."""
    leaves: List[Scalar] = []
    _take_turn()
    y._acc = 1.0
    try:
        waiting, oldest = _reverse_sweep(y, leaves, 1)
        if waiting:
            _sweep_off_tape(y, leaves)
        else:  # nothing older is y's: let it go, if nothing else holds it
            oldest._previous = None
        result = list(map(_ADJOINT, inputs))
        if None in result:  # inputs y does not depend on
            result = [0.0 if r is None else r for r in result]
    except BaseException:  # even Ctrl-C: an adjoint left behind would corrupt later sweeps
        _clear(y)
        raise
    finally:
        end_tape()
        for leaf in leaves:
            leaf._acc = None
        _give_turn()
    return result


# ---------------------------------------------------------------------------------------
# Everything else reads an ordered list of the graph's nodes.
def topological_order(starts: Sequence[Scalar],
                      skip: Callable[[Scalar], bool] = lambda node: False) -> List[Scalar]:
    """starts and every interior node they depend on, oldest first, found from the graph
    (a depth-first post-order with an explicit stack; touches no node's state). Nodes for
    which skip is true are left out, with what they depend on."""
    order: List[Scalar] = []
    seen = {id(node) for node in starts if skip(node)}
    stack: List[Tuple[Scalar, bool]] = [(node, False) for node in starts]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in edges(node)[0]
                     if parent._rule is not None and id(parent) not in seen and not skip(parent))
    return order


def ancestors(roots: Sequence[Scalar]) -> Tuple[List[Scalar], List[Scalar]]:
    """(interior nodes oldest first, leaves): everything the roots depend on.

    Each is left with ``_acc = 0.0``, ready for a sweep; the caller must call release() on
    both lists when done (this thread holds the sweeps' turn until then). Found by walking
    the tape back from each root while some node it met is still waiting to be listed, then
    from the graph for anything recorded before a cut.
    """
    interior: List[Scalar] = []
    leaves: List[Scalar] = []
    met: List[Scalar] = []
    _take_turn()
    try:
        for root in roots:
            _collect(root, interior, leaves, met)
    except BaseException:
        release(met, leaves)
        raise
    return interior, leaves


def _collect(root: Scalar, interior: List[Scalar], leaves: List[Scalar],
             met: List[Scalar]) -> None:
    """Append root's not yet listed interior ancestors to interior (oldest first)."""
    if root._acc is not None:
        return
    if root._rule is None:
        root._acc = 0.0
        leaves.append(root)
        return
    root._acc = _REACHED
    met.append(root)
    waiting = 1
    newest_first: List[Scalar] = []
    node: Optional[Scalar] = root
    while waiting and node is not None:
        if node._acc is _REACHED:
            node._acc = 0.0
            waiting -= 1
            newest_first.append(node)
            for parent in edges(node)[0]:
                if parent._acc is None:
                    if parent._rule is None:
                        parent._acc = 0.0
                        leaves.append(parent)
                    else:
                        parent._acc = _REACHED
                        met.append(parent)
                        waiting += 1
        node = node._previous
    if waiting:  # some are older than the tape reaches: order them from the graph
        older = topological_order([n for n in met if n._acc is _REACHED],
                                  skip=lambda n: n._acc is not None and n._acc is not _REACHED)
        for n in older:
            n._acc = 0.0
            for parent in edges(n)[0]:
                if parent._acc is None and parent._rule is None:
                    parent._acc = 0.0
                    leaves.append(parent)
        met.extend(older)
        interior.extend(older)
    interior.extend(reversed(newest_first))


def release(*groups: Sequence[Scalar]) -> None:
    """Clear the sweep state of the nodes in groups (those ancestors() listed), and give
    the sweeps' turn back."""
    try:
        for group in groups:
            for node in group:
                node._acc = None
    finally:
        _give_turn()


def symbolic_partials(node: Scalar) -> Tuple[Any, ...]:
    """The partials of a node as Scalars (recorded), aligned with edges(node)[0].

    The rule's partials evaluated on the node's own arguments and on the node itself as
    ``out``, so that they can be differentiated again (for a rule with a shift, on the
    shifted arguments: functions.shifted_partials; for a function rule, its partials
    function: primitives.recorded_partials).
    """
    rule = node._rule
    if isinstance(rule, FunctionRule):
        return recorded_partials(node)
    if isinstance(rule, NaryRule):
        if rule.shift:
            return shifted_partials(rule, node)
        partial = nary_partial(rule)
        parents = node._a
        partners = node._b if node._b is not None else (
            node._da if rule.pairs else (None,) * len(parents))
        return tuple([partial(p, partner, node) for p, partner in zip(parents, partners)])
    functions = scalar_partials(rule)
    args = (node._a,) if node._b is None else (node._a, node._b)
    return tuple([function(*args, node) for function, d in zip(functions, (node._da, node._db))
                  if d is not None])


def _adjoints_in_order(y: Scalar, inputs: List[Scalar], recorded: bool) -> List[Any]:
    """dy/dx for each input by one reverse sweep over y's nodes listed in order.

    For what the tape walk does not do: adjoints that are recorded Scalars (create_graph),
    and inputs that are interior nodes (their adjoint is read after the sweep, which the
    walk clears as it goes).
    """
    nodes, leaves = ancestors([y])
    try:
        y._acc = 1.0
        for node in reversed(nodes):
            g = node._acc
            if g.__class__ is float and g == 0.0:
                continue
            parents, partials = edges(node)
            for parent, d in zip(parents, symbolic_partials(node) if recorded else partials):
                parent._acc = parent._acc + g * d
        return [0.0 if x._acc is None else x._acc for x in inputs]
    finally:
        release(nodes, leaves)


# ---------------------------------------------------------------------------------------
# Forward mode.
def _tangents_recorded(nodes: List[Scalar], start: int, stop: Optional[int] = None) -> None:
    """As _tangents, with tangents that are recorded Scalars (create_graph)."""
    for i in range(start, len(nodes) if stop is None else stop):
        node = nodes[i]
        t: Any = 0.0
        for parent, d in zip(edges(node)[0], symbolic_partials(node)):
            pt = parent._acc
            if pt.__class__ is not float or pt != 0.0:
                t = t + d * pt
        node._acc = t


def _tangents(nodes: List[Scalar], start: int, stop: Optional[int] = None) -> None:
    """Tangents of nodes[start:stop] from their parents' (set before)."""
    for i in range(start, len(nodes) if stop is None else stop):
        node = nodes[i]
        da = node._da
        if da.__class__ is tuple:  # (0.0 for a node with no parents: stop_gradient's)
            t = builtins.sum([d * p._acc for p, d in zip(node._a, da) if p._acc != 0.0], 0.0)
        else:
            t = 0.0
            if da is not None:
                pt = node._a._acc
                if pt != 0.0:
                    t = da * pt
            db = node._db
            if db is not None:
                pt = node._b._acc
                if pt != 0.0:
                    t += db * pt
        node._acc = t


def _forward(ys: Sequence[Output], inputs: List[Scalar], recorded: bool) -> List[List[Any]]:
    """d ys / d inputs by forward sweeps, one per input: a list (per input) of lists (per y)."""
    roots = [y for y in ys if y.__class__ is Scalar]
    nodes, leaves = ancestors(roots)
    position = {id(node): i for i, node in enumerate(nodes)}
    reached = [x._acc is not None for x in inputs]
    sweep = _tangents_recorded if recorded else _tangents
    columns: List[List[Any]] = []
    try:
        for x, depends in zip(inputs, reached):
            if not depends:
                columns.append([0.0] * len(ys))
                continue
            for node in nodes:
                node._acc = 0.0
            for node in leaves:
                node._acc = 0.0
            x._acc = 1.0
            sweep(nodes, position.get(id(x), -1) + 1)
            columns.append([y._acc if y.__class__ is Scalar else 0.0 for y in ys])
    finally:
        release(nodes, leaves)
    return columns


def directional(ys: Sequence[Output], inputs: List[Scalar], seeds: Sequence[Any],
                recorded: bool) -> List[Any]:
    """The derivative of each y along the direction seeds (one per input: a number, or a
    Scalar with recorded), by one forward sweep: sum of seed * dy/dx over the inputs. An
    input's tangent is its seed, whatever it depends on (as in _forward)."""
    roots = [y for y in ys if y.__class__ is Scalar]
    nodes, leaves = ancestors(roots)
    sweep = _tangents_recorded if recorded else _tangents
    try:
        position = {id(node): i for i, node in enumerate(nodes)}
        seeded = []
        for x, seed in zip(inputs, seeds):
            if x._acc is not None:  # reached: some y depends on x
                x._acc = x._acc + seed
                if id(x) in position:
                    seeded.append(position[id(x)])
        start = 0
        for stop in sorted(set(seeded)):  # sweep around the seeded nodes, leaving them be
            sweep(nodes, start, stop)
            start = stop + 1
        sweep(nodes, start)
        return [y._acc if y.__class__ is Scalar else 0.0 for y in ys]
    finally:
        release(nodes, leaves)


# ---------------------------------------------------------------------------------------
# Entry points.
@overload
def reverse_autodiff(y: Output, xs: Scalar, create_graph: Literal[False] = ...) -> float: ...
@overload
def reverse_autodiff(y: Output, xs: Sequence[Scalar],
                     create_graph: Literal[False] = ...) -> List[float]: ...
@overload
def reverse_autodiff(y: Output, xs: Scalar, create_graph: Literal[True]) -> Scalar: ...
@overload
def reverse_autodiff(y: Output, xs: Sequence[Scalar],
                     create_graph: Literal[True]) -> List[Scalar]: ...


def reverse_autodiff(y: Output, xs: Inputs, create_graph: bool = False) -> Any:
    """dy/dx for each input in one backward sweep: a float, or a list in the order of xs.

    An input y does not depend on gets 0.0; a plain-number y gives all zeros (it is a
    constant). With create_graph=True the results are Scalars that can be differentiated
    again.
    """
    if xs.__class__ is Scalar:  # the usual case inline: a call costs as much as a small sweep
        inputs, single = [xs], True
    else:
        inputs, single = _check_inputs(xs, "reverse_autodiff")
    if y.__class__ is not Scalar and not _check_output(y, "reverse_autodiff"):
        return _finish([0.0] * len(inputs), single, create_graph)
    if y._rule is None:
        return _finish([1.0 if x is y else 0.0 for x in inputs], single, create_graph)
    if create_graph or any(map(_RULE, inputs)):
        return _finish(_adjoints_in_order(y, inputs, create_graph), single, create_graph)
    result = _adjoints(y, inputs)
    return result[0] if single else result


@overload
def forward_autodiff(y: Output, xs: Scalar, create_graph: Literal[False] = ...) -> float: ...
@overload
def forward_autodiff(y: Output, xs: Sequence[Scalar],
                     create_graph: Literal[False] = ...) -> List[float]: ...
@overload
def forward_autodiff(y: Output, xs: Scalar, create_graph: Literal[True]) -> Scalar: ...
@overload
def forward_autodiff(y: Output, xs: Sequence[Scalar],
                     create_graph: Literal[True]) -> List[Scalar]: ...


def forward_autodiff(y: Output, xs: Inputs, create_graph: bool = False) -> Any:
    """dy/dx for each input by pushing tangents forward, one sweep per input.

    Same answers and shapes as reverse_autodiff.
    """
    inputs, single = _check_inputs(xs, "forward_autodiff")
    _check_output(y, "forward_autodiff")
    columns = _forward([y], inputs, create_graph)
    return _finish([column[0] for column in columns], single, create_graph)


def _finish(values: List[Any], single: bool, create_graph: bool) -> Any:
    if create_graph:
        values = [v if v.__class__ is Scalar else Scalar(v) for v in values]
    return values[0] if single else values


def jacobian(ys: Sequence[Output], xs: Sequence[Scalar], mode: str = "auto") -> List[List[float]]:
    """The Jacobian as rows (one per output) of floats (one per input).

    mode "reverse" sweeps once per output, "forward" once per input; "auto" picks whichever
    makes fewer sweeps (reverse on a tie: its sweeps are cheaper).
    """
    if isinstance(ys, (str, bytes)) or not isinstance(ys, Sequence):
        raise TypeError(f"jacobian: the outputs must be a sequence, got {type(ys).__name__}")
    outputs = list(ys)
    for y in outputs:
        _check_output(y, "jacobian")
    inputs, _ = _check_inputs(list(xs) if isinstance(xs, Sequence) else xs, "jacobian")
    if mode == "auto":
        mode = "forward" if len(inputs) < len(outputs) else "reverse"
    if mode == "reverse":
        return [reverse_autodiff(y, inputs) for y in outputs]
    if mode == "forward":
        columns = _forward(outputs, inputs, recorded=False)
        return [[column[r] for column in columns] for r in range(len(outputs))]
    raise ValueError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', not {mode!r}")
