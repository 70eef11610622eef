"""Passes: functions from a Form to a Form, applied in the order ``pipeline`` gives.

- ``prune``: dead-code removal. An equation stays if an output needs its value, if a guard
  reads it (directly or through others: a guard's operands are computed on every call), or
  if it can raise (an error in code the output does not use is still the recording
  engine's error). Every guard stays.
- ``fuse_products``: a sum of products written op by op (``sum((w * x ...), b)``) becomes
  one Dot, fused, when nothing else reads its terms and partial sums.
- ``slices``: a sequence of items of one list argument in arithmetic progression is read as
  a slice of it (``X0[3:9:2]``), and its adjoints go to the same slice of the gradient.
- ``reverse``: the reverse sweep, with the recording engine's order (newest equation first,
  each one's arguments in order; a Call's partials come from its rule's partials function,
  and stop_gradient's Call passes nothing on), partials of numbers folded into numbers, and a node that
  passes its adjoint on with partial 1 to its only consumer sharing that consumer's
  adjoint, unless it is an output (its own seed would leak into the consumer's).
- ``share_tuples``: a tuple several lines read is made once (Pack), before its first reader.
"""
from __future__ import annotations

import ast
import functools
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, TypeGuard

from ..core import codegen
from ..core.primitives import STOP_GRADIENT
from ..core.rules import ADD, MUL, NaryRule, Rule
from .form import (ITEM, NODE, TUPLE, Apply, Atom, Call, CallPartial, Contribution, Dot, Equation, Form,
                   GradientSlice, Guard, Pack, Partial, PartialValue, Reduce, Seq, Step, Sweep,
                   Var, is_var)

# Rules whose float functions never raise, for any floats (tests/test_compile_passes.py
# tries each on infinities, nan, zeros and extremes). Any other can: prune keeps it.
NEVER_RAISE = frozenset({"neg", "abs", "add", "sub", "mul", "tanh", "sigmoid", "softplus",
                         "relu", "atan", "maximum", "minimum", "sum", "logsumexp", "dot"})
MIN_CHAIN = 8  # shorter sums of products run faster as one statement per operation


def pipeline(form: Form) -> Form:
    """Every pass, in order: what the compiled code is written from."""
    return share_tuples(reverse(slices(fuse_products(prune(form)))))


def var_reads(equation: Equation) -> Iterator[Var]:
    return (a for a in equation.reads() if is_var(a))


def _output_vars(form: Form) -> Set[Var]:
    return {out for out in form.outputs if is_var(out)}


# ---------------------------------------------------------------------------------------
def can_raise(equation: Equation) -> bool:
    if isinstance(equation, Apply):
        return equation.rule.name not in NEVER_RAISE
    if isinstance(equation, Call):  # a user's functions can raise anything
        return equation.rule.name != STOP_GRADIENT
    return isinstance(equation, Guard)  # a guard "raises" Retrace, and int() of nan ValueError


def prune(form: Form) -> Form:
    live = _output_vars(form)
    kept: List[Equation] = []
    for equation in reversed(form.equations):
        if can_raise(equation) or equation.out in live:
            kept.append(equation)
            live.update(var_reads(equation))
    kept.reverse()
    return form.replace(equations=kept)


# ---------------------------------------------------------------------------------------
class _Chain:
    """start + a1*b1 + a2*b2 + ..., found op by op: its factors, and the positions of its
    equations (the products, and the additions but the last: none of them is written)."""

    def __init__(self, start: Atom) -> None:
        self.start = start
        self.factors: List[Tuple[Atom, ...]] = []
        self.inner: List[int] = []


def _read_counts(form: Form) -> Dict[Var, int]:
    counts: Dict[Var, int] = {}
    for equation in form.equations:
        for var in var_reads(equation):
            counts[var] = counts.get(var, 0) + 1
    return counts


def fuse_products(form: Form) -> Form:
    """Sums of MIN_CHAIN or more products, op by op, as Dots. A term or partial sum that
    anything else reads (another equation, a guard, an output) ends or starts a chain
    instead: its value must exist. A chain is fused only when no other equation made
    between its first and last operations reads one of its factors or its start, so that
    moving its adjoints to its end keeps each of their sums in the recording engine's order."""
    equations = form.equations
    reads = _read_counts(form)
    pinned = _output_vars(form)
    producer: Dict[Var, Tuple[int, Apply]] = {}
    for index, equation in enumerate(equations):
        if isinstance(equation, Apply):
            producer[equation.out] = (index, equation)

    def private(atom: Atom) -> TypeGuard[Var]:
        return is_var(atom) and atom.kind == NODE and reads.get(atom) == 1 and atom not in pinned

    open_chains: Dict[Var, _Chain] = {}
    for equation in equations:
        if not isinstance(equation, Apply) or equation.rule is not ADD:
            continue
        partial_sum, term = equation.args
        made = producer.get(term) if private(term) else None
        if made is None or made[1].rule is not MUL:
            continue
        chain = None
        if private(partial_sum):
            chain = open_chains.pop(partial_sum, None)
            if chain is not None:
                chain.inner.append(producer[partial_sum][0])
        if chain is None:
            chain = _Chain(partial_sum)
        chain.factors.append(made[1].args)
        chain.inner.append(made[0])
        open_chains[equation.out] = chain
    replaced: Dict[int, Equation] = {}
    dropped: Set[int] = set()
    for last, chain in open_chains.items():
        end = producer[last][0]
        if len(chain.factors) < MIN_CHAIN or not _undisturbed(equations, chain, end):
            continue
        left, right = zip(*chain.factors)
        replaced[end] = Dot(Seq(left), Seq(right), last, chain.start, fused=True)
        dropped.update(chain.inner)
    if not replaced:
        return form
    return form.replace(equations=[replaced.get(i, equation) for i, equation in enumerate(equations)
                                   if i not in dropped])


def _undisturbed(equations: Sequence[Equation], chain: _Chain, end: int) -> bool:
    """Whether no equation between the chain's first operation and its last, other than its
    own, reads what the chain passes adjoints to."""
    targets = {a for pair in chain.factors for a in pair if is_var(a)}
    if is_var(chain.start):
        targets.add(chain.start)
    own = set(chain.inner)
    return not any(not targets.isdisjoint(var_reads(equations[i]))
                   for i in range(min(own), end) if i not in own)


# ---------------------------------------------------------------------------------------
def _sliced(seq: Seq) -> Optional[Tuple[int, int, int, int]]:
    items = [a for a in seq.atoms if is_var(a) and a.kind == ITEM]
    if not items or len(items) != len(seq.atoms):
        return None
    position = items[0].position
    if any(item.position != position for item in items):
        return None
    indexes = [item.index for item in items]
    step = indexes[1] - indexes[0] if len(indexes) > 1 else 1
    if step <= 0 or any(b - a != step for a, b in zip(indexes, indexes[1:])):
        return None
    return position, indexes[0], indexes[-1] + step, step


def _with_seqs(equation: Equation, change: Any) -> Equation:
    """equation with each of its Seqs replaced by change(seq) (a Dot's, a Reduce's)."""
    if isinstance(equation, Dot):
        return Dot(change(equation.left), change(equation.right), equation.out, equation.start,
                   equation.fused)
    if isinstance(equation, Reduce):
        return equation.with_items(change(equation.items))
    return equation


def slices(form: Form) -> Form:
    def sliced(seq: Seq) -> Seq:
        return Seq(seq.atoms, _sliced(seq))
    return form.replace(equations=[_with_seqs(e, sliced) for e in form.equations])


# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _free_names(expression: str) -> Tuple[str, ...]:
    """The names in a rule expression that are not functions or constants: its arguments."""
    tree = ast.parse(expression, mode="eval")
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return tuple(sorted(names - set(codegen.FLOAT_NAMESPACE)))


def partial(expression: str, names: Dict[str, Atom]) -> PartialValue:
    """A rule's partial over these atoms, folded: the atom itself for a bare name, the float
    for an expression of numbers only (evaluated as the code would), else a Partial."""
    if expression in names:
        return names[expression]
    free = _free_names(expression)
    if all(names[name].__class__ is float for name in free):
        function = codegen.expression_function(expression, free, codegen.FLOAT_NAMESPACE,
                                                 "folded partial")
        try:
            return float(function(*(names[name] for name in free)))
        except (ArithmeticError, ValueError):
            pass
    return Partial(expression, {name: names[name] for name in free})


class _Edges:
    """Each equation's contributions to the adjoints of what it reads, in the recording
    engine's order, to the targets that want one (``wants``)."""

    def __init__(self, form: Form, wants: Callable[[Any], TypeGuard[Var]]) -> None:
        self.form = form
        self.wants = wants

    def of(self, equation: Equation) -> List[Contribution]:
        wants = self.wants
        if isinstance(equation, Apply):
            rule: Rule = equation.rule
            names = dict(zip(rule.arguments, equation.args))
            names["out"] = equation.out
            return [Contribution(arg, partial(expression, names))
                    for arg, expression in zip(equation.args, rule.partials) if wants(arg)]
        if isinstance(equation, Call):
            if equation.rule.derivative is None:  # stop_gradient: nothing passes through
                return []
            return [Contribution(arg, CallPartial(equation, k))
                    for k, arg in enumerate(equation.args) if wants(arg)]
        if isinstance(equation, Reduce):
            nary: NaryRule = equation.rule
            if equation.top is not None and equation.inner is not None:  # on shifted arguments
                return [Contribution(a, Partial(nary.partial, {"x": a, "out": equation.inner}, equation.top))
                        for a in equation.items.atoms if wants(a)]
            return [Contribution(a, partial(nary.partial, {"x": a, "out": equation.out}))
                    for a in equation.items.atoms if wants(a)]
        assert isinstance(equation, Dot)
        if equation.fused:
            return self._fused(equation)
        result: List[Contribution] = []
        for side, other in ((equation.left, equation.right), (equation.right, equation.left)):
            target = self._gradient_slice(side)
            if target is not None:
                result.append(Contribution(target, other))
            else:
                result.extend(Contribution(a, b) for a, b in zip(side.atoms, other.atoms)
                              if wants(a))
        return result

    def _gradient_slice(self, side: Seq) -> Optional[GradientSlice]:
        if side.sliced is None or side.sliced[0] not in self.form.differentiate:
            return None
        return GradientSlice(side.sliced, [a for a in side.atoms if is_var(a)])

    def _fused(self, dot: Dot) -> List[Contribution]:
        """A fused dot's contributions in the order of the operations it replaced: each
        product's factors, newest product first, and the start's just before the first
        product's (a side that is a slice of a gradient, met nowhere else in the dot, at once)."""
        wants = self.wants
        result: List[Contribution] = []
        whole = []
        for side, other in ((dot.left, dot.right), (dot.right, dot.left)):
            target = self._gradient_slice(side)
            elsewhere = set(other.atoms)
            if dot.start is not None:
                elsewhere.add(dot.start)
            if target is not None and elsewhere.isdisjoint(side.atoms):
                result.append(Contribution(target, other))
                whole.append(True)
            else:
                whole.append(False)
        pairs = list(zip(dot.left.atoms, dot.right.atoms))
        for k in range(len(pairs) - 1, -1, -1):
            start = dot.start
            if k == 0 and wants(start):
                result.append(Contribution(start, 1.0))
            a, b = pairs[k]
            if not whole[0] and wants(a):
                result.append(Contribution(a, b))
            if not whole[1] and wants(b):
                result.append(Contribution(b, a))
        return result


def reverse(form: Form) -> Form:
    """The form with its reverse sweep (see the module's documentation). Only what depends on
    a differentiated argument (active) and what an output depends on carries an adjoint."""
    active: Set[Var] = set()
    for equation in form.equations:
        out = equation.out
        if isinstance(equation, Call) and equation.rule.derivative is None:
            continue  # stop_gradient: what it reads passes nothing on through it
        if out is not None and not isinstance(equation, Pack) and any(
                v in active or form.differentiated(v) for v in var_reads(equation)):
            active.add(out)
    useful = _output_vars(form)
    carrying: List[Equation] = []
    for equation in reversed(form.equations):
        if equation.out in useful and equation.out in active:
            carrying.append(equation)
            useful.update(var_reads(equation))

    def wants(atom: Any) -> TypeGuard[Var]:
        return atom.__class__ is Var and (atom in active and atom in useful
                                          or form.differentiated(atom))

    edges = _Edges(form, wants)
    steps = [Step(equation.out, edges.of(equation)) for equation in carrying
             if equation.out is not None]
    seeds = [(j, out) for j, out in enumerate(form.outputs) if wants(out)]
    outputs = {out for _, out in seeds}
    counts: Dict[Var, int] = {}
    for step in steps:
        for c in step.contributions:
            if isinstance(c.target, Var):
                counts[c.target] = counts.get(c.target, 0) + 1
    slots: Dict[Var, Var] = {step.var: step.var for step in steps}
    for step in steps:  # consumers before what they read
        kept = []
        for c in step.contributions:
            target = c.target
            if (isinstance(target, Var) and target.kind == NODE and counts[target] == 1
                    and c.partial.__class__ is float and c.partial == 1.0 and target not in outputs):
                slots[target] = slots[step.var]
            else:
                kept.append(c)
        step.contributions = kept
    return form.replace(sweep=Sweep(seeds, steps, slots))


# ---------------------------------------------------------------------------------------
def share_tuples(form: Form) -> Form:
    """Each tuple of atoms that several lines read (not a slice) made once, into a TUPLE Var,
    just before the first equation that reads it."""
    counts: Dict[Tuple[Atom, ...], int] = {}
    first: Dict[Tuple[Atom, ...], int] = {}
    forward_seqs: List[Tuple[int, Seq]] = [(i, seq) for i, e in enumerate(form.equations)
                                           for seq in _seqs(e)]
    sweep_seqs = [c.partial for step in (form.sweep.steps if form.sweep else ())
                  for c in step.contributions if isinstance(c.partial, Seq)]
    for index, seq in forward_seqs + [(len(form.equations), s) for s in sweep_seqs]:
        if seq.sliced is None and seq.packed is None:
            counts[seq.atoms] = counts.get(seq.atoms, 0) + 1
            first.setdefault(seq.atoms, index)
    shared = sorted(((index, atoms) for atoms, index in first.items()
                     if counts[atoms] > 1 and index < len(form.equations)), key=lambda pair: pair[0])
    if not shared:
        return form
    packs: Dict[Tuple[Atom, ...], Var] = {}
    before: Dict[int, List[Pack]] = {}
    for number, (index, atoms) in enumerate(shared):
        packs[atoms] = var = Var(TUPLE, number)
        before.setdefault(index, []).append(Pack(Seq(atoms), var))

    def packed(seq: Seq) -> Seq:
        var = packs.get(seq.atoms) if seq.sliced is None else None
        return seq if var is None else Seq(seq.atoms, None, var)

    equations: List[Equation] = []
    for index, equation in enumerate(form.equations):
        equations.extend(before.get(index, ()))
        equations.append(_with_seqs(equation, packed))
    sweep = form.sweep
    if sweep is not None:
        steps = [Step(step.var, [Contribution(c.target, packed(c.partial) if isinstance(c.partial, Seq)
                                              else c.partial) for c in step.contributions])
                 for step in sweep.steps]
        sweep = Sweep(sweep.seeds, steps, sweep.slots)
    return form.replace(equations=equations, sweep=sweep)


def _seqs(equation: Equation) -> Tuple[Seq, ...]:
    return equation.seqs() if isinstance(equation, (Dot, Reduce)) else ()
