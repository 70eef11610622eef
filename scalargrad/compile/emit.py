"""Emission: a Form, after the passes, written once as Python source, and run.

For one variant the source has three functions of the call's arguments (``X<i>`` a list,
``x<i>`` a number): ``value`` returns the outputs; ``grad`` (one output) also runs the reverse
sweep seeded with 1.0, writing the gradients of list arguments into the lists it is given
(zeros) and returning those of number arguments; ``vjp`` runs one sweep per seed (a weight
per output), each into its own lists. The source holds only names made here (form.Var's
names, and those below) and numbers written with repr(): no text of the user's function.
A user's primitive (a Call) is called by reference: its functions are bound in the code's
globals as ``_u<k>`` and ``_u<k>_d`` (form.Form.called). As the recording engine records
its node, the code computes its value and then its partials, both made floats, on every
call (an error or a wrong count there, a ValueError, sends the call to the recording
engine, which raises it, naming the primitive).
"""
from __future__ import annotations

import builtins
import functools
import math
import operator
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..core import codegen
from ..core.rules import NaryRule
from .form import (COMPARISONS, ITEM, NODE, Apply, Atom, Call, CallPartial, Contribution, Dot, Form,
                   GradientSlice, Guard, Pack, Partial, Reduce, Seq, Var, is_var, literal, slice_text)


class Retrace(Exception):
    """Raised by generated code whose guard failed: the call needs another variant."""


class Rebound(Retrace):
    """Raised by generated code whose watch failed (watch.py): a Scalar the function read
    from outside its arguments was replaced. The variant is never right again."""


def _added_in_order(items: Any, start: float) -> float:
    return functools.reduce(operator.add, items, start)


# start + items[0] + items[1] + ..., left to right, each addition rounded, as a chain of
# recorded additions adds (and the recording engine's sweep adds adjoints): sum() itself
# before Python 3.12; from 3.12 on, sum() compensates, so a fold of plain additions.
in_order: Callable[[Any, float], float] = sum if sys.version_info < (3, 12) else _added_in_order


NAMESPACE: Dict[str, Any] = codegen.float_globals()
NAMESPACE.update(_Retrace=Retrace, _Rebound=Rebound, _inf=math.inf, _nan=math.nan, _mul=operator.mul,
                 _add=operator.add, _zip=zip, _map=map, _list=list, _sum=sum,
                 _copysign=math.copysign, _in_order=in_order, _float=float)


def expression(text: str, names: Dict[str, str]) -> str:
    """A rule expression of rules.py as code: names renamed (by its syntax tree), the
    rules' functions as the float functions in NAMESPACE."""
    return codegen.float_names(text, names)


def indent(lines: List[str], spaces: int = 4) -> List[str]:
    return [" " * spaces + line for line in lines]


class Writer:
    """Writes the parts of a Form's code. batch.py changes how a few parts are written for
    vjp_batch's loop: list gradients go to ``L<i>`` (``prefix``), ``slice_name`` names the
    slices of shared lists, ``dot`` writes dots over data skipping zeros, and ``keep``
    takes the adjoints of gradient slices to add them for the whole batch. ``label`` gives
    some Vars other names (check-grad --show-code numbers them as trace and graph do)."""

    def __init__(self, form: Form, label: Optional[Callable[[Var], Optional[str]]] = None) -> None:
        self.form = form
        self.label = label
        self.prefix = "G"
        self.slice_name: Optional[Callable[[Tuple[int, int, int, int], str], str]] = None
        self.dot: Optional[Callable[[Dot, str, str], Optional[str]]] = None
        self.keep: Optional[Callable[[GradientSlice, str, Seq], str]] = None
        self.called = {id(rule): k for k, rule in enumerate(form.called())}
        self.written: Set[Tuple[int, int]] = set()  # the gradient cells reverse()'s lines write

    # Names -------------------------------------------------------------------------------
    def name(self, var: Var) -> str:
        return (self.label(var) if self.label is not None else None) or var.name

    def show(self, atom: Atom) -> str:
        return self.name(atom) if isinstance(atom, Var) else literal(atom)

    def argument(self, position: int) -> str:
        """The name of a number argument (a list argument is ``X<position>``)."""
        var = self.form.inputs[position]
        return self.name(var) if isinstance(var, Var) else f"x{position}"

    # Values ------------------------------------------------------------------------------
    def seq(self, seq: Seq) -> str:
        if seq.sliced is not None:
            position, start, stop, step = seq.sliced
            if step == 1 and start == 0 and stop == self.form.arguments[position]:
                return f"X{position}"  # the whole list: read it, not a copy of it
            text = slice_text(f"X{position}", start, stop, step)
            return text if self.slice_name is None else self.slice_name(seq.sliced, text)
        if seq.packed is not None:
            return self.name(seq.packed)
        inside = ", ".join(map(self.show, seq.atoms))
        return f"({inside}{',' if len(seq.atoms) == 1 else ''})"

    def formula(self, equation: Any) -> str:
        if isinstance(equation, Apply):
            rule = equation.rule
            if equation.exact is not None:
                how, top, inner = equation.exact
                a, b = map(self.show, equation.args)
                return (f"({a} - {self.show(top)}) - {self.show(inner)}" if how == "x - lse"
                        else f"({self.show(top)} - {b}) + {self.show(inner)}")
            return expression(rule.formula, dict(zip(rule.arguments, map(self.show, equation.args))))
        if isinstance(equation, Call):
            arguments = ", ".join(map(self.show, equation.args))
            return f"_float(_u{self.called[id(equation.rule)]}({arguments}))"
        if isinstance(equation, Reduce):
            nary: NaryRule = equation.rule
            return expression(nary.formula, {"xs": self.seq(equation.items)})
        if isinstance(equation, Pack):
            return self.seq(Seq(equation.items.atoms))
        assert isinstance(equation, Dot)
        left, right = self.seq(equation.left), self.seq(equation.right)
        if equation.start is not None:  # fused: added as the operations it replaced added
            return f"_in_order(_map(_mul, {left}, {right}), {self.show(equation.start)})"
        sparse = self.dot(equation, left, right) if self.dot is not None else None
        return sparse or f"_sum(_map(_mul, {left}, {right}))"

    def forward(self) -> List[str]:
        lines = []
        for e in self.form.equations:
            if isinstance(e, Guard):
                lines.append(self.guard(e))
            elif isinstance(e, Reduce) and e.top is not None and e.inner is not None:
                lines.extend(self.shifted(e))
            else:
                lines.append(f"{self.name(e.out)} = {self.formula(e)}")
                if isinstance(e, Call) and e.rule.derivative is not None:
                    lines.append(self.call_partials(e))
        return lines

    def shifted(self, e: Reduce) -> List[str]:
        """A rule with a shift, as the recording engine computes it (recording.record_shifted):
        the shift, the formula on the arguments less the shift (unless it is 0), their sum."""
        assert e.top is not None and e.inner is not None
        top, inner, items = self.name(e.top), self.name(e.inner), self.seq(e.items)
        shifted = f"[_s - {top} for _s in {items}]"
        return [f"{top} = {expression(e.rule.shift, {'xs': items})}",
                f"{inner} = {expression(e.rule.formula, {'xs': shifted})} if {top} "
                f"else {expression(e.rule.formula, {'xs': items})}",
                f"{self.name(e.out)} = {top} + {inner} if {top} else {inner}"]

    def guard(self, guard: Guard) -> str:
        """The line that stops a call taking another path than the traced one."""
        value = self.show(guard.operands[0])
        outcome = guard.outcome
        if guard.test in COMPARISONS:
            test = f"{value} {COMPARISONS[guard.test]} {self.show(guard.operands[1])}"
            return f"if {'not ' if outcome else ''}({test}): raise _Retrace"
        if guard.test == "bool":
            return f"if {'not ' if outcome else ''}{value}: raise _Retrace"
        if guard.test == "int" or (guard.test == "round" and guard.digits is None):
            call = "int" if guard.test == "int" else "round"
            return f"if {call}({value}) != {int(outcome)!r}: raise _Retrace"
        if guard.test == "round":
            value = f"round({value}, {guard.digits!r})"
        return f"if {_differs(value, float(outcome))}: raise _Retrace"

    def unpack(self, positions: Sequence[int], used: Set[Var]) -> List[str]:
        """Local names for the list items the code reads one by one: the whole list unpacked
        where it reads most of them, else each run of neighbours from a slice of it, and
        each item alone by its index."""
        lines = []
        for position in positions:
            items = self.form.inputs[position]
            if not isinstance(items, list):
                continue
            wanted = [item for item in items if item in used]
            if len(wanted) > len(items) // 2:
                lines.append(", ".join(self.name(item) for item in items) + f", = X{position}")
                continue
            runs: List[List[Var]] = []
            for item in wanted:
                if runs and runs[-1][-1].index + 1 == item.index:
                    runs[-1].append(item)
                else:
                    runs.append([item])
            for run in runs:
                if len(run) == 1:
                    lines.append(f"{self.name(run[0])} = X{position}[{run[0].index}]")
                else:
                    names = ", ".join(self.name(item) for item in run)
                    lines.append(f"{names}, = X{position}[{run[0].index}:{run[-1].index + 1}]")
        return lines

    def externals(self, watched: bool) -> List[str]:
        """The externals' values, read after checking that they are still the Scalars the
        function would read (watch.py)."""
        check = ["if not _watch(): raise _Rebound"] if watched else []
        return check + [f"e{k} = E[{k}]._value" for k in range(len(self.form.externals))]

    # Adjoints ----------------------------------------------------------------------------
    def adjoint(self, var: Var) -> str:
        if var.kind == NODE:
            assert self.form.sweep is not None
            return "g_" + self.name(self.form.sweep.slots[var])
        if var.kind == ITEM:
            return f"{self.prefix}{var.position}[{var.index}]"
        return f"g_{self.name(var)}"

    def gradient_slice(self, target: GradientSlice) -> str:
        return slice_text(f"{self.prefix}{target.position}", target.start, target.stop, target.step)

    def call_partials(self, call: Call) -> str:
        """The line computing a Call's partials as floats: p_<out>_<k> for argument k."""
        rule = call.rule
        names = ", ".join(f"p_{self.name(call.out)}_{k}" for k in range(len(call.args)))
        arguments = ", ".join(map(self.show, call.args))
        out = f", out={self.name(call.out)}" if rule.takes_out else ""
        return f"{names}, = _map(_float, _u{self.called[id(rule)]}_d({arguments}{out}))"

    def partial(self, partial: Any) -> str:
        if isinstance(partial, CallPartial):
            return f"p_{self.name(partial.call.out)}_{partial.index}"
        if isinstance(partial, Partial):
            names = {k: self.show(v) for k, v in partial.names.items()}
            if partial.shift is not None:
                x, top = names["x"], self.name(partial.shift)
                names["x"] = f"({x} - {top} if {top} else {x})"
            return expression(partial.expression, names)
        if isinstance(partial, Seq):
            return self.seq(partial)
        return self.show(partial)

    def reverse(self, seed: Callable[[int], str], fresh: bool = False) -> List[str]:
        """The reverse sweep: each step's contributions, newest equation first, under a test
        that its adjoint is not zero (a zero adjoint passes nothing on, as in the recording
        engine) unless every partial is a finite number. With ``fresh``, the gradient lists
        start as zeros, so under that test the first contribution to a cell is stored, not
        added: the recording engine's sweep stores a leaf's first one too (a -0.0 stays
        -0.0), and stores cost no read and no addition."""
        form = self.form
        sweep = form.sweep
        assert sweep is not None
        slots = sorted(set(sweep.slots.values()), key=lambda var: var.position)
        zeros = [self.adjoint(var) for var in slots]
        zeros += [f"g_{self.argument(i)}" for i in form.differentiate if form.arguments[i] is None]
        lines = [" = ".join(zeros[start:start + 64]) + " = 0.0" for start in range(0, len(zeros), 64)]
        written: Set[Tuple[int, int]] = set()  # the gradient cells some line writes
        for j, var in sweep.seeds:
            lines.append(f"{self.adjoint(var)} += {seed(j)}")
            if var.kind == ITEM:
                written.add((var.position, var.index))
        for step in sweep.steps:
            if not step.contributions:
                continue
            g = self.adjoint(step.var)
            guarded = not all(c.constant() is not None for c in step.contributions)
            body = [self.contribution(c, g, fresh and guarded, written) for c in step.contributions]
            if guarded:
                lines.append(f"if {g}:")
                lines.extend(indent(body))
            else:
                lines.extend(body)
        self.written = written
        return lines

    def contribution(self, c: Contribution, g: str, store: bool, written: Set[Tuple[int, int]]) -> str:
        """The statement adding g times c's partial to its target's adjoint; or, with
        ``store`` (a zero list, g not zero), storing it there if no line wrote there before."""
        target = c.target
        if isinstance(target, GradientSlice):
            assert isinstance(c.partial, Seq)
            if self.keep is not None:
                return self.keep(target, g, c.partial)
            cells = [(item.position, item.index) for item in target.items]
            sliced = self.gradient_slice(target)
            partner = self.seq(c.partial)
            first = store and written.isdisjoint(cells)
            written.update(cells)
            if first:
                return f"{sliced} = [{g} * b for b in {partner}]"
            return f"{sliced} = [a + {g} * b for a, b in _zip({sliced}, {partner})]"
        where = self.adjoint(target)
        constant = c.constant()
        if target.kind == ITEM:
            cell = (target.position, target.index)
            first = store and cell not in written
            written.add(cell)
            if first:
                product = g if constant == 1.0 else f"-{g}" if constant == -1.0 else (
                    f"{g} * ({self.partial(c.partial)})")
                return f"{where} = {product}"
        if constant == 1.0:
            return f"{where} += {g}"
        if constant == -1.0:
            return f"{where} -= {g}"
        return f"{where} += {g} * ({self.partial(c.partial)})"

    # Whole functions ---------------------------------------------------------------------
    def used(self) -> Set[Var]:
        """The Vars the code names one by one (not through a slice or a tuple made once)."""
        used: Set[Var] = set()

        def atoms(seq: Seq) -> Sequence[Atom]:
            return seq.atoms if seq.sliced is None and seq.packed is None else ()

        for e in self.form.equations:
            if isinstance(e, (Apply, Call, Guard)):
                found: Sequence[Atom] = (e.operands if isinstance(e, Guard) else e.args)
            elif isinstance(e, Dot):
                found = (*atoms(e.left), *atoms(e.right), *(() if e.start is None else (e.start,)))
            else:
                found = e.items.atoms if isinstance(e, Pack) else atoms(e.items)
            used.update(a for a in found if is_var(a))
        used.update(a for a in self.form.outputs if is_var(a))
        for step in (self.form.sweep.steps if self.form.sweep else ()):
            for c in step.contributions:
                p = c.partial
                found = (tuple(p.names.values()) if isinstance(p, Partial)
                         else (*p.call.args, p.call.out) if isinstance(p, CallPartial)
                         else atoms(p) if isinstance(p, Seq) else (p,))
                used.update(a for a in found if is_var(a))
        return used


def _differs(value: str, expected: float) -> str:
    """A test that value is not expected, bit for bit: nan is nan, -0.0 is not 0.0."""
    if math.isnan(expected):
        return f"{value} == {value}"
    if expected == 0.0:
        sign = "<" if math.copysign(1.0, expected) > 0 else ">"
        return f"{value} != 0.0 or _copysign(1.0, {value}) {sign} 0.0"
    return f"{value} != {literal(expected)}"


def source(form: Form, watched: bool) -> str:
    """The generated source of a variant: value, grad and vjp (see the module's docs)."""
    writer = Writer(form)
    parts = Parts(writer, watched)
    functions = (value_function, grad_function, vjp_function)
    return "\n".join(function(writer, parts) + "\n" for function in functions)


class Parts:
    """What the three functions share, written once: the lines that compute the outputs
    (arguments unpacked, externals read, the forward equations), the signature, and the
    outputs, the gradient buffers and the scalars' gradients listed."""

    def __init__(self, writer: Writer, watched: bool) -> None:
        form = writer.form
        self.forward = (writer.unpack(range(len(form.arguments)), writer.used())
                        + writer.externals(watched) + writer.forward())
        self.signature = ", ".join(f"X{i}" if size is not None else writer.argument(i)
                                   for i, size in enumerate(form.arguments))
        self.comma = ", " if self.signature else ""
        self.outputs = "".join(writer.show(out) + ", " for out in form.outputs)
        self.buffers = "".join(f"G{i}, " for i in form.differentiate
                               if form.arguments[i] is not None)
        self.scalars = "".join(f"g_{writer.argument(i)}, " for i in form.differentiate
                               if form.arguments[i] is None)


def value_function(writer: Writer, parts: Parts) -> str:
    """def value(...): the outputs' values."""
    return "\n".join(["def value(" + parts.signature + "):", *indent(parts.forward),
                      f"    return ({parts.outputs})"])


def grad_function(writer: Writer, parts: Parts) -> str:
    """def grad(...): the first output's value and its gradient (lists' into buffers)."""
    form = writer.form
    first = writer.show(form.outputs[0]) if form.outputs else "None"
    return "\n".join([
        "def grad(" + parts.signature + parts.comma + parts.buffers + "):",
        *indent(parts.forward + writer.reverse(lambda j: "1.0", fresh=True)),
        f"    return {first}, ({parts.scalars})"])


def vjp_function(writer: Writer, parts: Parts) -> str:
    """def vjp(...): the outputs' values, and for each seed its vector-Jacobian product."""
    return "\n".join([
        "def vjp(" + parts.signature + parts.comma + "seeds, buffers):",
        *indent(parts.forward),
        "    scalar_gradients = []",
        "    for seed, (" + parts.buffers + ") in zip(seeds, buffers):",
        *indent(writer.reverse(lambda j: f"seed[{j}]"), 8),
        f"        scalar_gradients.append(({parts.scalars}))",
        f"    return ({parts.outputs}), scalar_gradients"])


def run(text: str, form: Form, watch: Any, extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The functions text defines, with the names generated code uses."""
    namespace = dict(NAMESPACE, E=form.externals, _watch=watch, **(extra or {}))
    for k, rule in enumerate(form.called()):  # a user's functions, by reference
        namespace[f"_u{k}"] = rule.function
        namespace[f"_u{k}_d"] = rule.derivative
    exec(builtins.compile(text, "<scalargrad compiled>", "exec"), namespace)  # noqa: S102
    return namespace


class Program:
    """One variant: its form (after the passes), its source and the functions run from it;
    ``watch`` checks the places the externals are found (watch.py), if there are any."""

    def __init__(self, form: Form, watch: Optional[Callable[[], bool]] = None) -> None:
        self.form = form
        self.watch = watch
        self.source = source(form, watch is not None)
        namespace = run(self.source, form, watch)
        self.value: Callable[..., Tuple[float, ...]] = namespace["value"]
        self.grad: Callable[..., Any] = namespace["grad"]
        self.vjp: Callable[..., Any] = namespace["vjp"]
        self.lists = [i for i in form.differentiate if form.arguments[i] is not None]
        self.outputs = len(form.outputs)
        self.only_lists = len(self.lists) == len(form.differentiate)  # gradients: the lists
        self.batches: Dict[int, Callable[..., Any]] = {}
        self.batch_sources: List[str] = []

    def grad_source(self, label: Callable[[Var], Optional[str]]) -> str:
        """The grad function's source, its Vars named by label where it gives a name."""
        writer = Writer(self.form, label)
        return grad_function(writer, Parts(writer, self.watch is not None))
