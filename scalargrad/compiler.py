"""scalargrad.compile: record a function once, then replay it as straight-line Python.

Recording a graph costs a Python object per operation every time a function runs. For a
function whose structure does not change between calls (one training example's loss, a
model's prediction, a fixed formula) that work can be done once: ``compile(f)`` runs f on
Scalars the first time (tracing), and writes the graph it recorded as Python source: one
local per node, the forward statements (each rule's formula, from rules.py), then the
reverse sweep's statements (each rule's partials, times the adjoint, in the same order as
the recording engine's sweep). Later calls run that code on floats.

Arguments are numbers or flat lists of numbers; a call with another structure (a list of
another length) traces again. What f decides from its arguments' values while tracing —
a comparison (``if x > 0``), ``bool``, ``int``, ``float`` or ``round`` of a Scalar, or a
read of its ``.value`` (scalar.observing) — becomes a guard in the generated code; a call
whose guards fail traces again and keeps the new variant, up to MAX_VARIANTS for one
structure, after which the function runs on the recording engine (with a warning, once).
Kinks that are primitives (relu, abs, maximum, minimum) are conditional expressions in
their rules, so they never re-trace.

Plain numbers f reads from elsewhere than its arguments (globals, closed-over lists of
floats) are constants of the generated code, as in any tracing compiler; Scalars it closes
over (parameters) are read at each call.

Values and derivatives are those of the recording engine: the same formulas and partials
on the same floats in the same order. Where the generated code meets an error (a domain
error, an overflow), the call is run again on the recording engine, which raises the same
error with the same message. The generated source contains only names made here and
numbers written with repr(); no text from the user's function is ever placed in it.
``cf.source`` shows it.

A sum of products written op by op (``sum((w * x for w, x in zip(ws, xs)), b)``, as
micrograd's users write a neuron) is generated as one dot each way, not a line per
multiply: ``_sum(_map(_mul, ws, xs), b)`` adds in the same order (see _Chain).

For training, ``vjp_batch`` runs one generated loop over a batch of examples that share
the differentiated arguments (the parameters): what they share is read once, the weight
gradients of a dot are added up per column for the whole batch at the end, and a dot of
the parameters with an example's data skips the data's zeros (zero_skipping.py).
"""
from __future__ import annotations

import builtins
import math
import operator
import re
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from .core import recording, rules, scalar
from . import zero_skipping
from .core.autodiff import ancestors, release
from .core.rules import NaryRule, Rule
from .core.scalar import Scalar, arguments
from .core.tape import end_tape

MAX_VARIANTS = 8
Args = Tuple[Any, ...]


class Retrace(Exception):
    """Raised by generated code whose guard failed: the call needs another variant."""


class _Fallback(Exception):
    """Raised by generated code that met an arithmetic error: rerun on the recording engine."""


# ---------------------------------------------------------------------------------------
# Call structure.
def _structure(args: Args) -> Tuple[Any, ...]:
    """The shape of a call: None for a number, the length for a list; TypeError otherwise."""
    shape: List[Optional[int]] = []
    for position, arg in enumerate(args):
        if isinstance(arg, (list, tuple)):
            for item in arg:
                if not _is_number(item):
                    raise TypeError(f"compiled function: argument {position} holds a "
                                    f"{type(item).__name__}; lists of numbers only")
            shape.append(len(arg))
        elif _is_number(arg):
            shape.append(None)
        else:
            raise TypeError(f"compiled function: argument {position} is a {type(arg).__name__}; "
                            "numbers or flat lists of numbers only")
    return tuple(shape)


def _is_number(x: Any) -> bool:
    return (x.__class__ is float or x.__class__ is int
            or (isinstance(x, (int, float)) and not isinstance(x, bool)))


# ---------------------------------------------------------------------------------------
# Tracing.
class _Observer:
    """What a traced call decides from Scalars' values (guards), and the full arguments of
    its n-ary nodes (a node keeps only its Scalar arguments; numbers fold into its value)."""

    def __init__(self) -> None:
        self.decisions: List[Tuple[str, Scalar, Any, Any]] = []
        self.nary: Dict[int, Tuple[Any, ...]] = {}

    def __call__(self, kind: str, node: Scalar, other: Any, outcome: Any) -> None:
        if kind == "nary":
            self.nary[id(node)] = other
        else:
            self.decisions.append((kind, node, other, outcome))


class _Traced:
    """One recorded call: its inputs, outputs, nodes in creation order, guards."""

    def __init__(self, function: Callable, args: Args, shape: Tuple[Any, ...]) -> None:
        self.inputs: List[Any] = [Scalar(a) if size is None else [Scalar(v) for v in a]
                                  for a, size in zip(args, shape)]
        observer = _Observer()
        end_tape()  # the traced nodes start a tape of their own
        with scalar.observing(observer):
            result = function(*self.inputs)
        self.guards = observer.decisions
        self.nary_arguments = observer.nary
        self.single = not isinstance(result, (list, tuple))
        self.outputs = [result] if self.single else list(result)
        for out in self.outputs:
            if out.__class__ is not Scalar and not _is_number(out):
                raise TypeError(f"compiled function: the function returned a "
                                f"{type(out).__name__}; Scalars or numbers only")
        nodes, leaves = ancestors([out for out in self.outputs if out.__class__ is Scalar])
        release(nodes, leaves)
        made = _recorded_since_the_tape_began()
        end_tape()
        # Nodes made before tracing (a closed-over computation) are inputs to the code, read
        # at call time, like closed-over leaves (parameters).
        self.nodes = [n for n in nodes if id(n) in made]
        own = {id(n) for n in self.nodes}
        argument_leaves = {id(leaf) for arg in self.inputs
                           for leaf in (arg if isinstance(arg, list) else [arg])}
        self.external = [n for n in [*leaves, *nodes] if id(n) not in own and id(n) not in argument_leaves]
        for _, node, other, _ in self.guards:  # decisions on Scalars the graph does not reach
            for item in (node, other):
                if (item.__class__ is Scalar and id(item) not in own and id(item) not in argument_leaves
                        and all(item is not e for e in self.external)):
                    self.external.append(item)


def _recorded_since_the_tape_began() -> set:
    """ids of the nodes on the current tape: what the traced call recorded."""
    made = set()
    node = recording._last
    while node is not None:
        made.add(id(node))
        node = node._previous
    return made


# ---------------------------------------------------------------------------------------
# Code generation.
class _Namer:
    """Python names for everything the generated code refers to."""

    def __init__(self, traced: _Traced, differentiate: Sequence[int]) -> None:
        self.names: Dict[int, str] = {}
        self.lists: Dict[int, Tuple[int, int]] = {}  # leaf id -> (argument, index)
        self.lengths = {position: len(arg) for position, arg in enumerate(traced.inputs)
                        if isinstance(arg, list)}
        self.adjoints: Dict[int, str] = {}            # where each differentiated thing's adjoint goes
        for position, arg in enumerate(traced.inputs):
            wanted = position in differentiate
            if isinstance(arg, list):
                for k, leaf in enumerate(arg):
                    self.names[id(leaf)] = f"x{position}_{k}"
                    self.lists[id(leaf)] = (position, k)
                    if wanted:
                        self.adjoints[id(leaf)] = f"G{position}[{k}]"
            else:
                self.names[id(arg)] = f"x{position}"
                if wanted:
                    self.adjoints[id(arg)] = f"g_x{position}"
        for k, node in enumerate(traced.external):
            self.names[id(node)] = f"e{k}"
        for k, node in enumerate(traced.nodes):
            self.names[id(node)] = f"v{k}"
            self.adjoints[id(node)] = f"g_v{k}"
        self.differentiate = set(differentiate)
        self.used: set = set()  # ids of the items named one by one (not through a slice)
        self.batch: Optional[_Batch] = None  # while vjp_batch's loop is written

    def value(self, item: Any) -> str:
        """The expression for an argument of a rule: a name, or a number's repr."""
        if item.__class__ is Scalar:
            self.used.add(id(item))
            return self.names[id(item)]
        return _literal(float(item))

    def adjoint(self, item: Any) -> Optional[str]:
        """Where item's adjoint accumulates; None if nothing wants it. (In vjp_batch's loop,
        a list's adjoints go to the batch's own gradient lists, L<i> for G<i>.)"""
        name = self.adjoints.get(id(item)) if item.__class__ is Scalar else None
        if name is not None and self.batch is not None and name.startswith("G"):
            return "L" + name[1:]
        return name


class _Batch:
    """What vjp_batch's loop is written with: the examples' data lists (X<i>, one per
    example), the slices of shared lists it reads (named S<k> and taken once, before the
    loop), and the data lists whose zeros some dot skips (zero_skipping.py)."""

    def __init__(self, shared: int, data: Set[str]) -> None:
        self.shared = shared
        self.data = data
        self.slices: Dict[str, str] = {}  # X<i>[...] of a shared list -> S<k>
        self.sparse: List[str] = []

    def slice(self, text: str, position: int) -> str:
        """The name the loop reads a slice of argument ``position`` by."""
        return text if position >= self.shared else self.slices.setdefault(text, f"S{len(self.slices)}")

    def dot(self, left: str, right: str) -> Optional[str]:
        """A dot of a shared list (or slice of one) with an example's data list, written to
        skip the data's zeros; None for any other dot."""
        for shared, example in ((left, right), (right, left)):
            if example in self.data and (shared in self.slices.values() or (
                    shared[0] == "X" and shared[1:].isdigit() and int(shared[1:]) < self.shared)):
                if example not in self.sparse:
                    self.sparse.append(example)
                return f"_sum(_map(_mul, N{example[1:]}({shared}), Z{example[1:]}), 0.0)"
        return None


def _literal(x: float) -> str:
    if math.isnan(x):
        return "_nan"
    if math.isinf(x):
        return "_inf" if x > 0 else "(-_inf)"
    return repr(x)


def _slice(items: Sequence[Any], namer: _Namer, prefix: str = "X") -> Optional[str]:
    """items as a slice of one list argument (an arithmetic progression), if they are one."""
    places = [namer.lists.get(id(item)) if item.__class__ is Scalar else None for item in items]
    if not places or any(place is None for place in places):
        return None
    used = {place[0] for place in places if place is not None}
    if len(used) != 1:
        return None
    indexes = [place[1] for place in places if place is not None]
    step = indexes[1] - indexes[0] if len(indexes) > 1 else 1
    if step <= 0 or any(b - a != step for a, b in zip(indexes, indexes[1:])):
        return None
    stop = indexes[-1] + step
    position = used.pop()
    if prefix == "X" and step == 1 and indexes[0] == 0 and stop == namer.lengths[position]:
        return f"X{position}"  # the whole list: read it, not a copy of it
    text = f"{prefix}{position}[{indexes[0]}:{stop}{'' if step == 1 else f':{step}'}]"
    return namer.batch.slice(text, position) if prefix == "X" and namer.batch else text


def _gradient_slice(items: Sequence[Any], namer: _Namer) -> Optional["_Slice"]:
    """The slice of a gradient buffer (G<n>[...]) holding items' adjoints, if items are a
    slice of a differentiated list argument: their adjoints are then added all at once."""
    target = _slice(items, namer, "G")
    if target is None or int(target[1:target.index("[")]) not in namer.differentiate:
        return None
    return _Slice(target, [namer.lists[id(item)] for item in items])


def _sequence(items: Sequence[Any], namer: _Namer) -> str:
    sliced = _slice(items, namer)
    if sliced is not None:
        return sliced
    inside = ", ".join(namer.value(item) for item in items)
    return f"({inside}{',' if len(items) == 1 else ''})"


_COMPARISONS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _guard(decision: Tuple[str, Scalar, Any, Any], namer: _Namer) -> str:
    """The line that stops a call taking another path than the traced one."""
    kind, node, other, outcome = decision
    value = namer.value(node)
    if kind in _COMPARISONS:
        test = f"{value} {_COMPARISONS[kind]} {namer.value(other)}"
        return f"if {'not ' if outcome else ''}({test}): raise _Retrace"
    if kind == "bool":
        return f"if {'not ' if outcome else ''}{value}: raise _Retrace"
    if kind == "int":
        return f"if int({value}) != {int(outcome)!r}: raise _Retrace"
    if kind == "round":
        digits = "" if other is None else f", {int(other)!r}"
        return f"if round({value}{digits}) != {outcome!r}: raise _Retrace"
    return f"if {value} != {_literal(float(outcome))}: raise _Retrace"  # float(): a constant


MIN_CHAIN = 8  # shorter sums of products run faster as one statement per operation


class _Chain:
    """start + a1*b1 + a2*b2 + ... added left to right, as ``sum((w * x for ...), start)``
    records it (an add and a multiply per term): generated as one
    ``_sum(_map(_mul, a, b), start)``, which adds in the same order, and one slice
    update per side for its adjoints (so a dense layer written op by op takes a line per
    unit, not one per multiply)."""

    def __init__(self, start: Any) -> None:
        self.start = start
        self.factors: List[Tuple[Any, Any]] = []
        self.inner: List[int] = []  # ids of its nodes but the last: no code of their own


def _product_chains(traced: _Traced) -> Dict[int, _Chain]:
    """The chains of MIN_CHAIN or more products among the traced nodes, by their last add.
    A term or partial sum anything else reads (another node, a guard, an output) ends
    or starts a chain instead: its value must exist."""
    own = {id(node) for node in traced.nodes}
    reads: Dict[int, int] = {}
    for node in traced.nodes:
        nary = traced.nary_arguments.get(id(node))
        for item in (nary if nary is not None else arguments(node)):
            reads[id(item)] = reads.get(id(item), 0) + 1
    pinned = {id(out) for out in traced.outputs}
    pinned.update(id(item) for decision in traced.guards for item in decision[1:3])

    def private(node: Any) -> bool:
        return (node.__class__ is Scalar and id(node) in own and reads.get(id(node)) == 1
                and id(node) not in pinned)

    open_chains: Dict[int, _Chain] = {}
    for node in traced.nodes:
        if node._rule is not rules.ADD or node._b is None:
            continue
        partial_sum, term = node._a, node._b
        if not (private(term) and term._rule is rules.MUL):
            continue
        chain = open_chains.pop(id(partial_sum), None) if private(partial_sum) else None
        if chain is None:
            chain = _Chain(partial_sum)
        else:
            chain.inner.append(id(partial_sum))
        chain.factors.append(arguments(term))
        chain.inner.append(id(term))
        open_chains[id(node)] = chain
    return {last: chain for last, chain in open_chains.items() if len(chain.factors) >= MIN_CHAIN}


class _Program:
    """The generated source for one traced variant, and the functions compiled from it:
    ``value(args)`` returns the outputs; ``value_and_grad(args, seeds, buffers)`` also runs
    one reverse sweep per seed (a weight per output), adding the gradients of list arguments
    to that seed's buffers (a tuple of lists) and returning those of number arguments."""

    def __init__(self, traced: _Traced, differentiate: Sequence[int]) -> None:
        self.traced = traced
        self.namer = _Namer(traced, differentiate)
        self.differentiate = tuple(differentiate)
        self.chains = _product_chains(traced)
        self.inner = {inner for chain in self.chains.values() for inner in chain.inner}
        forward = self._forward()
        reverse, reverse_once = self._reverse("seed[{j}]"), self._reverse("1.0", fresh=True)
        head = self._head()
        traced = self.traced
        signature = ", ".join(f"X{i}" if isinstance(a, list) else f"x{i}"
                              for i, a in enumerate(traced.inputs))
        outputs = "".join(self.namer.value(out) + ", " for out in traced.outputs)
        buffers = "".join(f"G{i}, " for i in self.differentiate if isinstance(traced.inputs[i], list))
        scalars = "".join(f"g_x{i}, " for i in self.differentiate
                          if not isinstance(traced.inputs[i], list))
        before_seeds, for_each_seed = _shared_tuples(head + forward, reverse)
        self.source = "\n".join([
            "def value(" + signature + "):",
            *_indent(_shared_tuples(head + forward)[0]),
            f"    return ({outputs})",
            "",
            "def grad(" + signature + (", " if signature else "") + buffers + "):",
            *_indent(_shared_tuples(head + forward + reverse_once)[0]),
            f"    return {self.namer.value(traced.outputs[0])}, ({scalars})",
            "",
            "def vjp(" + signature + (", " if signature else "") + "seeds, buffers):",
            *_indent(before_seeds),
            "    scalar_gradients = []",
            "    for seed, (" + buffers + ") in zip(seeds, buffers):",
            *_indent(for_each_seed, 8),
            f"        scalar_gradients.append(({scalars}))",
            f"    return ({outputs}), scalar_gradients",
            "",
        ])
        namespace: Dict[str, Any] = {f"_f_{name}": f for name, f in recording.FLOAT_NAMESPACE.items()}
        namespace.update(_Retrace=Retrace, _inf=math.inf, _nan=math.nan, _mul=operator.mul,
                         _add=operator.add, _zip=zip, _map=map, _list=list,
                         _sum=sum, E=traced.external)
        self.namespace = dict(namespace)
        exec(builtins.compile(self.source, "<scalargrad compiled>", "exec"), namespace)  # noqa: S102
        self.value: Callable[..., Tuple[float, ...]] = namespace["value"]
        self.grad: Callable[..., Any] = namespace["grad"]
        self.vjp: Callable[..., Any] = namespace["vjp"]
        self.lists = [i for i in self.differentiate if isinstance(traced.inputs[i], list)]
        self._batches: Dict[int, Callable[..., Any]] = {}
        self.batch_sources: List[str] = []  # vjp_batch's, once made

    def batch(self, shared: int) -> Callable[..., Any]:
        """vjp over many examples sharing their first ``shared`` arguments, which hold every
        differentiated one (all lists): ``batch(*shared_arguments, examples, seed)`` returns
        ([each example's outputs], (the gradient of each differentiated argument)).

        What the examples share is read once, before the loop: its items unpacked, its
        slices taken. A dot's contributions to a slice of a gradient are kept and added for
        the whole batch at the end, a column at a time, in example order: the order in which
        vjp example by example would add them. Dots with the examples' data lists skip the
        data's zeros, which changes no bit of a result (zero_skipping.py)."""
        made = self._batches.get(shared)
        if made is None:
            made = self._batches[shared] = self._compile_batch(shared)
        return made

    def _compile_batch(self, shared: int) -> Callable[..., Any]:
        inputs = self.traced.inputs
        if any(i >= shared or not isinstance(inputs[i], list) for i in self.differentiate):
            raise TypeError("vjp_batch: the differentiated arguments must be lists, among the shared ones")
        data = {f"X{i}" for i in range(shared, len(inputs)) if isinstance(inputs[i], list)}
        deferred = _Deferred(data)
        batch = self.namer.batch = _Batch(shared, data)
        try:
            loop = self._forward() + self._reverse("seed[{j}]", deferred)
        finally:
            self.namer.batch = None
        loop += [f"R{k}.append({row})" for k, row in enumerate(deferred.rows)]
        loop = ([f"N{name[1:]}, Z{name[1:]} = _nonzero({name})" for name in batch.sparse]
                + self._unpack(range(shared, len(inputs))) + self._input_guards()
                + _shared_tuples(loop)[0])
        skipped = bool(batch.sparse)
        by_example = deferred.by_example
        names = [f"X{i}" if isinstance(inputs[i], list) else f"x{i}" for i in range(len(inputs))]
        outputs = "".join(self.namer.value(out) + ", " for out in self.traced.outputs)
        head = [f"if not _isfinite(_sum(X{i})): raise _Retrace" for i in range(shared)
                if (skipped or by_example) and isinstance(inputs[i], list)]  # weight times a zero
        head += [f"D{n} = []; P{n} = []" for n in range(len(deferred.targets)) if n not in by_example]
        head += [f"D{n} = [0.0] * len(EXAMPLES)" for n in by_example]
        head += [f"R{k} = []" for k in range(len(deferred.rows))]
        finish = []
        for rows in sorted(set(by_example.values())):
            made = rows if rows.startswith("R") else (
                f"[example[{int(rows[1:]) - shared}] for example in EXAMPLES]")
            finish.append(f"C{rows} = _data_columns({made})")
            finish.append(f"if C{rows} is None: raise _Retrace")  # not finite
        for n, target in enumerate(deferred.targets):
            local = "L" + target[1:]
            if n in by_example:
                finish.append(f"if not _isfinite(_sum(D{n})): raise _Retrace")  # times a zero
                finish.append(f"if _any(D{n}): {local} = _list(_map(_add, {local}, "
                              f"_column_sums(D{n}, C{by_example[n]})))")
            else:
                finish.append(f"if D{n}: {local} = _list(_map(_add, {local}, "
                              f"[_sum(_map(_mul, D{n}, column)) for column in zip(*P{n})]))")
        examples = "".join(name + ", " for name in names[shared:])
        source = "\n".join([
            "def vjp_batch(" + "".join(name + ", " for name in names[:shared]) + "EXAMPLES, seed):",
            *_indent(self._unpack(range(shared)) + self._externals()),
            *_indent([f"{name} = {sliced}" for sliced, name in batch.slices.items()]),
            *_indent([f"L{i} = [0.0] * len(X{i})" for i in self.differentiate] + head),
            "    outputs = []",
            (f"    for e, ({examples}) in enumerate(EXAMPLES):" if by_example
             else f"    for {examples}in EXAMPLES:"),
            *_indent(loop, 8),
            f"        outputs.append(({outputs}))",
            *_indent(finish),
            "    return outputs, (" + "".join(f"L{i}, " for i in self.differentiate) + ")",
            "",
        ])
        namespace = dict(self.namespace, _isfinite=math.isfinite, _any=any,
                         _nonzero=zero_skipping.nonzero, _data_columns=zero_skipping.data_columns,
                         _column_sums=zero_skipping.column_sums)
        exec(builtins.compile(source, "<scalargrad compiled>", "exec"), namespace)  # noqa: S102
        self.batch_sources.append(source)
        return namespace["vjp_batch"]

    def _guard_places(self) -> Dict[int, List[Tuple[str, Scalar, Any, Any]]]:
        """Each guard after the newest node it reads (-1: it reads inputs only)."""
        position = {id(node): k for k, node in enumerate(self.traced.nodes)}
        places: Dict[int, List[Tuple[str, Scalar, Any, Any]]] = {}
        for decision in self.traced.guards:
            read = [item for item in decision[1:3] if item.__class__ is Scalar]
            places.setdefault(max(position.get(id(item), -1) for item in read), []).append(decision)
        return places

    def _head(self) -> List[str]:
        return (self._unpack(range(len(self.traced.inputs))) + self._externals()
                + self._input_guards())

    def _unpack(self, positions: Sequence[int]) -> List[str]:
        """Local names for the list items the code uses one by one."""
        lines = []
        for position in positions:
            arg = self.traced.inputs[position]
            if not isinstance(arg, list):
                continue
            used = [k for k, leaf in enumerate(arg) if id(leaf) in self.namer.used]
            if len(used) > len(arg) // 2:
                lines.append(", ".join(self.namer.names[id(leaf)] for leaf in arg) + f", = X{position}")
            else:
                lines.extend(f"x{position}_{k} = X{position}[{k}]" for k in used)
        return lines

    def _externals(self) -> List[str]:
        return [f"e{k} = E[{k}].value" for k in range(len(self.traced.external))]

    def _input_guards(self) -> List[str]:
        return [_guard(decision, self.namer) for decision in self._guard_places().get(-1, [])]

    def _forward(self) -> List[str]:
        places = self._guard_places()
        lines = []
        for k, node in enumerate(self.traced.nodes):
            if id(node) not in self.inner:
                lines.append(f"v{k} = {self._formula(node)}")
            lines.extend(_guard(decision, self.namer) for decision in places.get(k, []))
        return lines

    def _nary_arguments(self, node: Scalar) -> Tuple[Any, ...]:
        """All the arguments an n-ary node was made from, numbers included, in order."""
        recorded = self.traced.nary_arguments.get(id(node))
        if recorded is not None:
            return recorded
        if node._b is not None:  # a dot of Scalars with Scalars: its parents are all of them
            return tuple(node._a)
        pairs = isinstance(node._rule, NaryRule) and node._rule.pairs
        return (*node._a, *node._da) if pairs else tuple(node._a)

    def _formula(self, node: Scalar) -> str:
        rule = node._rule
        namer = self.namer
        chain = self.chains.get(id(node))
        if chain is not None:
            left, right = zip(*chain.factors)
            return (f"_sum(_map(_mul, {_sequence(left, namer)}, {_sequence(right, namer)}), "
                    f"{namer.value(chain.start)})")
        if isinstance(rule, NaryRule):
            args = self._nary_arguments(node)
            if rule.pairs:
                half = len(args) // 2
                first, second = _sequence(args[:half], namer), _sequence(args[half:], namer)
                sparse = namer.batch.dot(first, second) if namer.batch else None
                return sparse or f"_sum(_map(_mul, {first}, {second}))"
            return f"_f_{'total' if rule.name == 'sum' else rule.name}({_sequence(args, namer)})"
        assert isinstance(rule, Rule)  # traced nodes are never leaves
        names = dict(zip(rule.arguments, (namer.value(a) for a in arguments(node))))
        return recording._float_names(rule.formula, names)

    def _reverse(self, seeds: str, deferred: Optional["_Deferred"] = None,
                 fresh: bool = False) -> List[str]:
        """The reverse sweep: each node's contributions to its arguments' adjoints, newest
        node first. seeds is how output j's adjoint starts: e.g. "seed[{j}]" or "1.0".
        Given ``deferred``, a dot's contributions to a slice of a gradient buffer are not
        added but kept (_Deferred), to be added for a whole batch at once (batch()). With
        ``fresh``, the gradient buffers start as zeros, so the first contribution to a slice
        of one is stored, not added (``0.0 + g * b``: the same bits, without the reads).

        Two things keep it short without changing a result: a constant partial is written as
        itself (+= g, -= g), and an interior node whose only use is an argument with partial
        1 (a sum's terms) takes its consumer's adjoint as its own, with no statement at all.
        """
        traced, namer = self.traced, self.namer
        edges = [(node, self._node_edges(node)) for node in traced.nodes if id(node) not in self.inner]
        uses: Dict[int, int] = {}
        for _, contributions in edges:
            for target, _ in contributions:
                uses[id(target)] = uses.get(id(target), 0) + 1
        adjoint = {id(node): f"g_v{k}" for k, node in enumerate(traced.nodes)
                   if id(node) not in self.inner}
        aliased = set()
        for node, contributions in reversed(edges):  # consumers before what they use
            for target, partial in contributions:
                if (partial == "1.0" and uses.get(id(target)) == 1 and target._rule is not None
                        and id(target) in adjoint):
                    adjoint[id(target)] = adjoint[id(node)]
                    aliased.add(id(target))
        lines = []
        written: set = set()  # the gradient cells (argument, index) some line writes
        zeros = sorted(set(adjoint.values()), key=lambda name: int(name[3:]))
        zeros += [f"g_x{i}" for i in self.differentiate if not isinstance(traced.inputs[i], list)]
        for start in range(0, len(zeros), 64):
            lines.append(" = ".join(zeros[start:start + 64]) + " = 0.0")
        for j, out in enumerate(traced.outputs):
            target = adjoint.get(id(out)) or namer.adjoint(out)
            if target is not None:
                lines.append(f"{target} += {seeds.format(j=j)}")
        for node, contributions in reversed(edges):
            g = adjoint[id(node)]
            body = []
            for target, partial in contributions:
                if id(target) in aliased:
                    continue
                if isinstance(target, _Slice) and deferred is not None:
                    body.append(deferred.keep(target.target, g, partial))
                    continue
                where = target if isinstance(target, _Slice) else (adjoint.get(id(target))
                                                                   or namer.adjoint(target))
                if isinstance(target, _Slice):
                    cells = target.cells
                else:  # a list's item alone, or an interior node (no cell)
                    cells = [namer.lists[id(target)]] if id(target) in namer.lists else []
                if fresh and isinstance(target, _Slice) and written.isdisjoint(cells):
                    body.append(f"{target.target} = [0.0 + {g} * b for b in {partial}]")
                else:
                    body.append(_contribution(where, g, partial))
                written.update(cells)
            if not body:
                continue
            if all(_constant(partial) is not None for _, partial in contributions):
                lines.extend(body)  # no partial can be infinite: nothing for a zero to guard
            else:  # a zero adjoint passes nothing on, as in the recording engine
                lines.append(f"if {g}:")
                lines.extend("    " + line for line in body)
        return lines

    def _node_edges(self, node: Scalar) -> List[Tuple[Any, str]]:
        """(argument, partial as an expression) for each argument wanting an adjoint; a dot
        over a slice of a differentiated list is one entry, with the slice as its target."""
        rule = node._rule
        namer = self.namer
        result: List[Tuple[Any, str]] = []
        chain = self.chains.get(id(node))
        if chain is not None:
            return self._chain_edges(chain)
        if isinstance(rule, NaryRule):
            args = self._nary_arguments(node)
            half = len(args) // 2
            if rule.pairs:
                for side, other in ((args[:half], args[half:]), (args[half:], args[:half])):
                    target = _gradient_slice(side, namer)
                    if target is not None:
                        result.append((target, _sequence(other, namer)))
                    else:
                        result.extend(self._nary_edges(rule.partial, node, list(zip(side, other))))
                return result
            return self._nary_edges(rule.partial, node, [(a, None) for a in args])
        assert isinstance(rule, Rule)  # traced nodes are never leaves
        names = dict(zip(rule.arguments, (namer.value(a) for a in arguments(node))))
        names["out"] = namer.names[id(node)]
        for argument, partial in zip(arguments(node), rule.partials):
            if namer.adjoint(argument) is not None:
                result.append((argument, recording._float_names(partial, names)))
        return result

    def _chain_edges(self, chain: _Chain) -> List[Tuple[Any, str]]:
        """A chain's edges: a whole side at once where it is a slice of a differentiated
        list, else each factor's, newest term first (the recording engine's order)."""
        namer = self.namer
        left, right = zip(*chain.factors)
        result: List[Tuple[Any, str]] = []
        sliced = []
        for side, other in ((left, right), (right, left)):
            target = _gradient_slice(side, namer)
            sliced.append(target is not None)
            if target is not None:
                result.append((target, _sequence(other, namer)))
        for a, b in reversed(chain.factors):
            for item, partner, done in ((a, b, sliced[0]), (b, a, sliced[1])):
                if not done and namer.adjoint(item) is not None:
                    result.append((item, namer.value(partner)))
        if namer.adjoint(chain.start) is not None:
            result.append((chain.start, "1.0"))
        return result

    def _nary_edges(self, partial: str, node: Scalar, pairs: List[Tuple[Any, Any]]) -> List[Tuple[Any, str]]:
        namer = self.namer
        result = []
        for argument, partner in pairs:
            if namer.adjoint(argument) is None:
                continue
            names = {"x": namer.value(argument), "out": namer.names[id(node)]}
            if partner is not None:
                names["partner"] = namer.value(partner)
            result.append((argument, recording._float_names(partial, names)))
        return result


class _Deferred:
    """vjp_batch's dot adjoints that wait for the end of the batch: for the n-th, the
    gradient slice they go to in ``targets`` and the adjoints in D<n>. Where the partner is what the
    examples bring (their data lists), or a tuple of values each example computes (a hidden
    layer's outputs: then stored once per example, in R<k>), the adjoints are kept by example,
    zeros included, and the end adds them a column at a time, skipping the partner's zeros
    (zero_skipping.column_sums). Any other partner is kept beside its adjoint, in P<n>."""

    def __init__(self, data: Set[str]) -> None:
        self.data = data
        self.targets: List[str] = []
        self.rows: List[str] = []             # the tuples stored once per example, in R<k>
        self.by_example: Dict[int, str] = {}  # n -> its partners' list of rows: X<i> or R<k>

    def keep(self, target: str, g: str, partner: str) -> str:
        """The statement keeping g, the adjoint of a dot of the target slice with partner."""
        n = len(self.targets)
        self.targets.append(target)
        if partner.startswith("("):
            if partner not in self.rows:
                self.rows.append(partner)
            self.by_example[n] = f"R{self.rows.index(partner)}"
        elif partner in self.data:
            self.by_example[n] = partner
        else:
            return f"D{n}.append({g}); P{n}.append({partner})"
        return f"D{n}[e] = {g}"


_TUPLE = re.compile(r"(?<![\w)\]])\((?:[\w.]+, )+[\w.]+,?\)")


def _shared_tuples(*parts: List[str]) -> List[List[str]]:
    """The parts of one function's body (lists of lines, run in turn) with each tuple of names
    written more than once (a layer's inputs, read by each of its units) made once, into a
    local t<k>, just before the first line that reads it: when that line runs on every path
    (is not inside an if)."""
    counts: Dict[str, int] = {}
    first: Dict[str, Tuple[int, int]] = {}
    for p, lines in enumerate(parts):
        for i, line in enumerate(lines):
            for found in _TUPLE.findall(line):
                counts[found] = counts.get(found, 0) + 1
                first.setdefault(found, (p, i))
    names: Dict[str, str] = {}
    for found, (p, i) in sorted(first.items(), key=lambda item: item[1]):
        if counts[found] > 1 and not parts[p][i].startswith(" "):
            names[found] = f"t{len(names)}"
    made: Dict[Tuple[int, int], List[str]] = {}
    for found, name in names.items():
        made.setdefault(first[found], []).append(f"{name} = {found}")

    def named(match: Any) -> str:
        return names.get(match.group(0), match.group(0))

    return [[new for i, line in enumerate(lines)
             for new in (*made.get((p, i), ()), _TUPLE.sub(named, line))]
            for p, lines in enumerate(parts)]


class _Slice:
    """The target of a dot's adjoints over a slice of a list argument's gradient buffer:
    as text, and as the (argument, index) of each item."""

    _rule = None  # never aliased

    def __init__(self, target: str, cells: Sequence[Tuple[int, int]]) -> None:
        self.target = target
        self.cells = cells


def _contribution(target: Any, g: str, partial: str) -> str:
    """The statement adding g times partial to target's adjoint."""
    if isinstance(target, _Slice):
        return f"{target.target} = [a + {g} * b for a, b in _zip({target.target}, {partial})]"
    constant = _constant(partial)
    if constant == 1.0:
        return f"{target} += {g}"
    if constant == -1.0:
        return f"{target} -= {g}"
    return f"{target} += {g} * ({partial})"


def _constant(expression: str) -> Optional[float]:
    try:
        return float(expression)
    except ValueError:
        return None


def _indent(lines: List[str], spaces: int = 4) -> List[str]:
    return [" " * spaces + line for line in lines]


# ---------------------------------------------------------------------------------------
# The compiled function.
class Compiled:
    """f, compiled: see the module's documentation. Make one with scalargrad.compile(f)."""

    def __init__(self, function: Callable, argnums: Optional[Sequence[int]] = None) -> None:
        self.function = function
        self.argnums = None if argnums is None else tuple(argnums)
        self._variants: Dict[Tuple[Any, ...], List[_Program]] = {}
        self._latest: Dict[Tuple[Any, ...], _Program] = {}  # the variant that fitted last
        self._too_many: set = set()
        self.__name__ = f"compiled({getattr(function, '__name__', 'f')})"

    # What users call ---------------------------------------------------------------------
    def __call__(self, *args: Any) -> Any:
        """f's value at args (numbers or lists of numbers), by the compiled code."""
        if _has_scalar(args):  # called while recording (inside another trace): just record
            return self.function(*args)
        return self._run(args, lambda program: _values(program, args), None)

    def value_and_grad(self, *args: Any) -> Tuple[float, List[Any]]:
        """(f's value, [df/dx for each differentiated argument: a float, or a list of floats
        for a list]) for a function returning one number."""
        program = self._latest.get(_shape(args))
        if program is not None:  # the common case, kept short: most calls are this
            try:
                return _gradient(program, args)
            except Retrace:
                pass
            except (ArithmeticError, ValueError, TypeError):
                return self._record(args, "value_and_grad")
        return self._run(args, lambda p: _gradient(p, args), "value_and_grad")

    def value_and_grad_into(self, buffers: Sequence[List[float]],
                            *args: Any) -> Tuple[float, List[Any]]:
        """As value_and_grad, but the gradients of list arguments are *added* to the given
        buffers (one list per differentiated list argument, in order), which are returned in
        their place: a training loop sums a batch's gradients in lists it keeps. The buffers
        are only touched once the gradient is known."""
        value, gradients = self.value_and_grad(*args)
        lists = [g for g in gradients if isinstance(g, list)]
        if len(buffers) != len(lists) or any(len(b) != len(g) for b, g in zip(buffers, lists)):
            raise ValueError(f"value_and_grad_into: {len(lists)} buffers wanted, of lengths "
                             f"{[len(g) for g in lists]}")
        given = iter(buffers)
        for buffer, gradient in zip(buffers, lists):
            buffer[:] = map(operator.add, buffer, gradient)
        return value, [next(given) if isinstance(g, list) else g for g in gradients]

    def vjp_into(self, buffers: Sequence[List[float]], seed: Sequence[float], *args: Any) -> List[float]:
        """f's outputs (a list) at args; adds to the buffers (one list per differentiated list
        argument) the gradient of sum(seed[j] * output[j]): one reverse sweep, however many
        outputs. A training step takes a loss and the logits this way in one call."""
        program = self._latest.get(_shape(args))
        if program is not None:  # the common case, kept short
            try:
                return list(program.vjp(*args, (seed,), (tuple(buffers),))[0])
            except Retrace:
                pass
            except (ArithmeticError, ValueError, TypeError):
                return self._record(args, "vjp", buffers, seed)
        return self._run(args, lambda p: list(p.vjp(*args, (seed,), (tuple(buffers),))[0]), "vjp",
                         buffers, seed)

    def vjp_batch(self, buffers: Sequence[List[float]], seed: Sequence[float],
                  shared: Sequence[Any], examples: Sequence[Sequence[Any]]) -> List[List[float]]:
        """vjp_into for each example, f(*shared, *example), in one call: the outputs of each,
        and the gradient of sum(seed[j] * output[j]) over all of them added to the buffers.
        The differentiated arguments must be lists among the shared ones (a model's
        parameters; the examples bring the data). Faster than a call per example: what is
        shared is read once, and the gradients of a dot's weights are added up for the whole
        batch at the end. Examples that need another variant, or meet an error, are run one by
        one (vjp_into), and the buffers are only touched once the batch has succeeded."""
        if not examples:
            return []
        shape = _shape((*shared, *examples[0]))
        program = self._latest.get(shape)
        if program is not None and all(_shape(example) == shape[len(shared):] for example in examples):
            run = program.batch(len(shared))  # a misuse raises here, never falls back
            try:
                outputs, gradients = run(*shared, examples, seed)
            except (Retrace, ArithmeticError, ValueError, TypeError):
                pass
            else:
                # Added to the buffers; into zeros, copied: the same bits, as a batch's
                # gradients start at 0.0 and are only added to, so never hold -0.0.
                for buffer, gradient in zip(buffers, gradients):
                    if any(buffer):
                        buffer[:] = map(operator.add, buffer, gradient)
                    else:
                        buffer[:] = gradient
                return [list(output) for output in outputs]
        return [self.vjp_into(buffers, seed, *shared, *example) for example in examples]

    def jacobian(self, *args: Any) -> List[List[Any]]:
        """Rows, one per output of f (a list of numbers), of derivatives with respect to each
        differentiated argument (a float, or a list of floats for a list)."""
        return self._run(args, lambda p: _jacobian(p, args), "jacobian")

    @property
    def source(self) -> str:
        """The generated Python of every variant traced so far (and of its vjp_batch)."""
        return "\n".join(source for programs in self._variants.values() for program in programs
                         for source in (program.source, *program.batch_sources))

    # Variants ----------------------------------------------------------------------------
    def _run(self, args: Args, run: Callable[[_Program], Any], derivative: Optional[str],
             buffers: Optional[Sequence[List[float]]] = None, seed: Sequence[float] = ()) -> Any:
        shape = _structure(args)
        if shape in self._too_many:
            return self._record(args, derivative, buffers, seed)
        programs = self._variants.setdefault(shape, [])
        for program in programs:
            try:
                result = run(program)
            except Retrace:
                continue
            except (ArithmeticError, ValueError, TypeError):
                return self._record(args, derivative, buffers, seed)
            self._latest[shape] = program
            return result
        if len(programs) >= MAX_VARIANTS:
            self._too_many.add(shape)
            warnings.warn(f"{self.__name__}: {MAX_VARIANTS} variants traced for arguments of this "
                          "shape and none fits; running it on the recording engine from now on",
                          RuntimeWarning, stacklevel=3)
            return self._record(args, derivative, buffers, seed)
        differentiate = range(len(args)) if self.argnums is None else self.argnums
        program = _Program(_Traced(self.function, args, shape), differentiate)
        programs.append(program)
        self._latest[shape] = program
        try:
            return run(program)
        except (ArithmeticError, ValueError, TypeError):
            return self._record(args, derivative, buffers, seed)

    def _record(self, args: Args, derivative: Optional[str],
                buffers: Optional[Sequence[List[float]]] = None, seed: Sequence[float] = ()) -> Any:
        """The recording engine's answer (and errors) for this call."""
        from .core.autodiff import jacobian as record_jacobian
        inputs: List[Any] = [Scalar(a) if _is_number(a) else [Scalar(v) for v in a] for a in args]
        result = self.function(*inputs)
        outputs = list(result) if isinstance(result, (list, tuple)) else [result]
        values = [out.value if out.__class__ is Scalar else float(out) for out in outputs]
        if derivative is None:
            return values if isinstance(result, (list, tuple)) else values[0]
        wanted = range(len(args)) if self.argnums is None else self.argnums
        flat = [x for i in wanted for x in (inputs[i] if isinstance(inputs[i], list) else [inputs[i]])]
        rows = record_jacobian(outputs, flat, mode="reverse")
        shaped = [_reshape(row, [inputs[i] for i in wanted]) for row in rows]
        if derivative == "jacobian":
            return shaped
        if derivative == "vjp":
            lists = iter(buffers or [])
            for i in wanted:
                if isinstance(inputs[i], list):
                    buffer = next(lists)
                    for j, row in enumerate(shaped):
                        gradient = row[list(wanted).index(i)]
                        for k, g in enumerate(gradient):
                            buffer[k] += seed[j] * g
            return values
        if len(outputs) != 1:
            raise TypeError("value_and_grad: the function returns several values; use jacobian")
        return values[0], shaped[0]


def _shape(args: Sequence[Any]) -> Tuple[Any, ...]:
    """The call's structure, quickly (the items are checked when a variant is traced)."""
    return tuple([len(a) if a.__class__ is list or a.__class__ is tuple else None for a in args])


def _values(program: _Program, args: Args) -> Any:
    outputs = program.value(*args)
    return outputs[0] if program.traced.single else list(outputs)


def _gradient(program: _Program, args: Args) -> Any:
    if len(program.traced.outputs) != 1:
        raise TypeError("value_and_grad: the function returns several values; use jacobian")
    lists = [[0.0] * len(args[i]) for i in program.lists]  # grad writes into zeros (fresh)
    value, scalars = program.grad(*args, *lists)
    return value, _gradients(program, lists, scalars)


def _jacobian(program: _Program, args: Args) -> List[List[Any]]:
    count = len(program.traced.outputs)
    seeds = [tuple(1.0 if j == k else 0.0 for j in range(count)) for k in range(count)]
    lists = [tuple([0.0] * len(args[i]) for i in program.lists) for _ in seeds]
    _, scalars = program.vjp(*args, seeds, lists)
    return [_gradients(program, list(lists[k]), scalars[k]) for k in range(count)]


def _has_scalar(args: Args) -> bool:
    return any(a.__class__ is Scalar
               or (isinstance(a, (list, tuple)) and any(v.__class__ is Scalar for v in a)) for a in args)


def _gradients(program: _Program, lists: Sequence[List[float]], scalars: Tuple[float, ...]) -> List[Any]:
    """The gradients in argument order: lists for list arguments, floats for numbers."""
    lists_left, scalars_left = iter(lists), iter(scalars)
    return [next(lists_left) if isinstance(program.traced.inputs[i], list) else next(scalars_left)
            for i in program.differentiate]


def _reshape(row: List[float], inputs: List[Any]) -> List[Any]:
    shaped: List[Any] = []
    start = 0
    for item in inputs:
        if isinstance(item, list):
            shaped.append(row[start:start + len(item)])
            start += len(item)
        else:
            shaped.append(row[start])
            start += 1
    return shaped


def compile(function: Callable, argnums: Optional[Sequence[int]] = None) -> Compiled:  # noqa: A001
    """f compiled: traced on its first call, then run as generated straight-line Python.

    ``argnums`` chooses the arguments value_and_grad and jacobian differentiate (all by
    default); derivatives with respect to the others are not computed at all.
    """
    return Compiled(function, argnums)
