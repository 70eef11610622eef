"""The compiler's intermediate form: one traced call as a straight-line program on floats.

Tracing (trace.py) writes what a call recorded as a ``Form``; the passes (passes.py) turn a
form into another; emit.py and batch.py write Python from a form, once, at the end. Nothing
reads generated text back: every question the compiler asks ("what does this guard read",
"is this value an output", "can this line raise") is asked of the form.

A form holds:

- ``arguments``: the call's structure, one entry per argument: None for a number, the
  length for a list of numbers. A number argument is the Var ``x<i>``, the items of a list
  argument are ``x<i>_<k>``.
- ``externals``: the Scalars the function read from outside its arguments (parameters it
  closes over, nodes recorded before the call), in the order first met: ``e<k>``, whose
  values are read at each call.
- ``equations``, in the order the traced call made them: each computes one Var ``v<n>`` from
  atoms (Vars, and floats: the plain numbers the function used, constants of the code) by a
  rule of rules.py (``Apply``, ``Reduce``, ``Dot``), or makes a tuple read several times
  (``Pack``), or is a ``Guard``: a test on atoms and the outcome the traced call saw. A
  guard's operands are atoms like any others, computed on every call; a call whose guard
  fails needs another variant (its code raises Retrace).
- ``outputs``: atoms, and ``single``: whether the function returned one value or a list.
- ``differentiate``: the positions of the arguments derivatives are taken with respect to.
- ``sweep``: the reverse sweep (passes.reverse), or None before it is made.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, TypeGuard, Union

from ..core.rules import FunctionRule, NaryRule, Rule

ARGUMENT, ITEM, EXTERNAL, NODE, TUPLE = "x", "item", "e", "v", "t"
SHIFT, INNER = "top", "inner"  # a shifted rule's shift, and its value on shifted arguments


class Var:
    """A value the compiled code reads or computes. ``kind`` is ARGUMENT (a number argument,
    at ``position``), ITEM (item ``index`` of the list argument at ``position``), EXTERNAL (the
    ``position``-th external), NODE (the result of equation number ``position``), TUPLE (a
    tuple made once, number ``position``), or SHIFT and INNER (what a Reduce of a rule with
    a shift computes on the way to NODE ``position``). Vars are compared by identity."""

    __slots__ = ("kind", "position", "index")

    def __init__(self, kind: str, position: int, index: int = -1) -> None:
        self.kind = kind
        self.position = position
        self.index = index

    @property
    def name(self) -> str:
        """Its name in the printed form and in the generated code."""
        if self.kind == ITEM:
            return f"x{self.position}_{self.index}"
        return f"{self.kind}{self.position}"

    def __repr__(self) -> str:
        return self.name


Atom = Union[Var, float]


def is_var(atom: Any) -> TypeGuard[Var]:
    return atom.__class__ is Var


def literal(x: float) -> str:
    """A float as Python source: repr(), with names for inf and nan, negatives bracketed."""
    if math.isnan(x):
        return "_nan"
    if math.isinf(x):
        return "_inf" if x > 0 else "(-_inf)"
    text = repr(x)
    return f"({text})" if text.startswith("-") else text


def show(atom: Any) -> str:
    """An atom as source: a Var's name or a float literal."""
    return atom.name if atom.__class__ is Var else literal(atom)


class Seq:
    """The ordered atoms an n-ary equation reads. ``sliced`` is (position, start, stop, step)
    when they are a slice of one list argument (passes.slices), ``packed`` the TUPLE Var made
    once for them when several read them (passes.share_tuples)."""

    __slots__ = ("atoms", "sliced", "packed")

    def __init__(self, atoms: Sequence[Atom], sliced: Optional[Tuple[int, int, int, int]] = None,
                 packed: Optional[Var] = None) -> None:
        self.atoms: Tuple[Atom, ...] = tuple(atoms)
        self.sliced = sliced
        self.packed = packed

    def __len__(self) -> int:
        return len(self.atoms)


class Apply:
    """out = rule(*args), a rule of one or two arguments. ``exact``, for a difference of x
    and a logsumexp whose value the recording engine computed without rounding the
    logsumexp first (functions.log_softmax), is (how, the logsumexp's shift, its value on the
    shifted arguments): "x - lse" is (x - shift) - inner, "lse - x" is (shift - x) + inner."""

    __slots__ = ("rule", "args", "out", "exact")

    def __init__(self, rule: Rule, args: Sequence[Atom], out: Var,
                 exact: Optional[Tuple[str, Atom, Atom]] = None) -> None:
        self.rule = rule
        self.args: Tuple[Atom, ...] = tuple(args)
        self.out = out
        self.exact = exact

    def reads(self) -> Iterator[Atom]:
        yield from self.args
        if self.exact is not None:
            yield from self.exact[1:]

    def __str__(self) -> str:
        exact = ""
        if self.exact is not None:
            how, top, inner = self.exact
            exact = f" (exactly, as {how} from {show(top)} and {show(inner)})"
        return f"{self.out.name} = {self.rule.name} {' '.join(map(show, self.args))}{exact}"


class Call:
    """out = rule's function of args: a function rule (a user's primitive, stop_gradient),
    whose value and partials are the user's functions, which the code calls by reference
    (Form.called names them), never by their source."""

    __slots__ = ("rule", "args", "out")

    def __init__(self, rule: FunctionRule, args: Sequence[Atom], out: Var) -> None:
        self.rule = rule
        self.args: Tuple[Atom, ...] = tuple(args)
        self.out = out

    def reads(self) -> Iterator[Atom]:
        return iter(self.args)

    def __str__(self) -> str:
        return f"{self.out.name} = call {self.rule.name} {' '.join(map(show, self.args))}"


class Reduce:
    """out = rule(items): an n-ary rule over one sequence (sum, logsumexp). For a rule with
    a shift (rules.NaryRule.shift), as the recording engine computes it: ``top`` = the
    shift, ``inner`` = the formula on the items less top (when top is not zero), and
    out = top + inner; its partials are taken on the shifted items, with inner as out."""

    __slots__ = ("rule", "items", "out", "top", "inner")

    def __init__(self, rule: NaryRule, items: Seq, out: Var) -> None:
        self.rule = rule
        self.items = items
        self.out = out
        self.top = Var(SHIFT, out.position) if rule.shift else None
        self.inner = Var(INNER, out.position) if rule.shift else None

    def reads(self) -> Iterator[Atom]:
        return iter(self.items.atoms)

    def seqs(self) -> Tuple[Seq, ...]:
        return (self.items,)

    def with_items(self, items: Seq) -> "Reduce":
        made = Reduce(self.rule, items, self.out)
        made.top, made.inner = self.top, self.inner
        return made

    def __str__(self) -> str:
        shifted = "" if self.top is None else f" (shifted: {self.top.name}, {self.inner})"
        return f"{self.out.name} = {self.rule.name} {show_seq(self.items)}{shifted}"


class Dot:
    """out = start + left[0] * right[0] + left[1] * right[1] + ..., added left to right
    (without start: the DOT rule, sum(map(mul, left, right))). ``fused`` says it was a sum
    of products written op by op (passes.fuse_products), which sets the order in which its
    sweep passes adjoints on: the recording engine's for the operations it replaced."""

    __slots__ = ("left", "right", "out", "start", "fused")

    def __init__(self, left: Seq, right: Seq, out: Var, start: Optional[Atom] = None,
                 fused: bool = False) -> None:
        self.left = left
        self.right = right
        self.out = out
        self.start = start
        self.fused = fused

    def reads(self) -> Iterator[Atom]:
        yield from self.left.atoms
        yield from self.right.atoms
        if self.start is not None:
            yield self.start

    def seqs(self) -> Tuple[Seq, ...]:
        return (self.left, self.right)

    def __str__(self) -> str:
        start = "" if self.start is None else f" + {show(self.start)}"
        name = "dot of products" if self.fused else "dot"
        return f"{self.out.name} = {name} {show_seq(self.left)} {show_seq(self.right)}{start}"


class Pack:
    """out = a tuple of the atoms, made once for the several equations that read them."""

    __slots__ = ("items", "out")

    def __init__(self, items: Seq, out: Var) -> None:
        self.items = items
        self.out = out

    def reads(self) -> Iterator[Atom]:
        return iter(self.items.atoms)

    def __str__(self) -> str:
        return f"{self.out.name} = tuple {show_seq(self.items)}"


COMPARISONS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class Guard:
    """A decision the traced call took on a value: ``test`` is a comparison (a key of
    COMPARISONS: operands[0] against operands[1]), "bool", "int", "round" (with ``digits``)
    or "float" (the value itself was read); ``outcome`` what the traced call saw."""

    __slots__ = ("test", "operands", "outcome", "digits")
    out = None

    def __init__(self, test: str, operands: Sequence[Atom], outcome: Any,
                 digits: Optional[int] = None) -> None:
        self.test = test
        self.operands: Tuple[Atom, ...] = tuple(operands)
        self.outcome = outcome
        self.digits = digits

    def reads(self) -> Iterator[Atom]:
        return iter(self.operands)

    def __str__(self) -> str:
        if self.test in COMPARISONS:
            shown = f"{show(self.operands[0])} {COMPARISONS[self.test]} {show(self.operands[1])}"
        elif self.test == "round" and self.digits is not None:
            shown = f"round({show(self.operands[0])}, {self.digits})"
        else:
            shown = f"{self.test}({show(self.operands[0])})"
        return f"guard {shown} is {self.outcome!r}"


Equation = Union[Apply, Call, Reduce, Dot, Pack, Guard]


def slice_text(name: str, start: int, stop: int, step: int) -> str:
    """name[start:stop:step] as source, the step left out when it is 1."""
    return f"{name}[{start}:{stop}{'' if step == 1 else f':{step}'}]"


def show_seq(seq: Seq) -> str:
    if seq.sliced is not None:
        position, start, stop, step = seq.sliced
        return slice_text(f"X{position}", start, stop, step)
    if seq.packed is not None:
        return seq.packed.name
    return "(" + ", ".join(map(show, seq.atoms)) + ")"


# ---------------------------------------------------------------------------------------
# The reverse sweep (made by passes.reverse).
class Partial:
    """A rule's partial derivative, as an expression of rules.py over the atoms named; with
    ``shift``, its ``x`` is taken less that shift, when the shift is not zero."""

    __slots__ = ("expression", "names", "shift")

    def __init__(self, expression: str, names: Dict[str, Atom], shift: Optional[Var] = None) -> None:
        self.expression = expression
        self.names = names
        self.shift = shift

    def __str__(self) -> str:
        names = ", ".join(f"{k}={show(v)}" for k, v in self.names.items())
        shifted = "" if self.shift is None else f", x less {self.shift.name}"
        return f"[{self.expression} with {names}{shifted}]"


class CallPartial:
    """The partial of a Call's rule with respect to its argument number ``index``: one of the
    partials its partials function returns, called once per step of the sweep."""

    __slots__ = ("call", "index")

    def __init__(self, call: Call, index: int) -> None:
        self.call = call
        self.index = index

    def __str__(self) -> str:
        return f"[partial {self.index} of {self.call.rule.name} at {self.call.out.name}]"


class GradientSlice:
    """The gradient cells of a slice of a differentiated list argument: a dot's adjoints
    there are added all at once, one partner per cell."""

    __slots__ = ("position", "start", "stop", "step", "items")

    def __init__(self, sliced: Tuple[int, int, int, int], items: Sequence[Var]) -> None:
        self.position, self.start, self.stop, self.step = sliced
        self.items: Tuple[Var, ...] = tuple(items)

    def __str__(self) -> str:
        return slice_text(f"G{self.position}", self.start, self.stop, self.step)


Target = Union[Var, GradientSlice]
PartialValue = Union[Atom, Seq, Partial, CallPartial]  # a Seq only for a GradientSlice: one per cell


class Contribution:
    """adjoint(target) += adjoint(the step's var) * partial."""

    __slots__ = ("target", "partial")

    def __init__(self, target: Target, partial: PartialValue) -> None:
        self.target = target
        self.partial = partial

    def constant(self) -> Optional[float]:
        """The partial's value if it is a finite number (then a zero adjoint times it
        changes nothing, and no test for one is needed)."""
        partial = self.partial
        if isinstance(partial, float) and math.isfinite(partial):
            return partial
        return None

    def __str__(self) -> str:
        partial = self.partial
        shown = (show_seq(partial) if isinstance(partial, Seq)
                 else str(partial) if isinstance(partial, (Partial, CallPartial)) else show(partial))
        target = self.target
        return f"{target if isinstance(target, GradientSlice) else target.name} += g * {shown}"


class Step:
    """One equation's part of the sweep: what its var's adjoint passes on, in order."""

    __slots__ = ("var", "contributions")

    def __init__(self, var: Var, contributions: List[Contribution]) -> None:
        self.var = var
        self.contributions = contributions


class Sweep:
    """The reverse sweep: ``seeds`` (output index, Var whose adjoint starts with that
    output's seed), then ``steps``, newest equation first. ``slots`` maps each node Var with
    an adjoint to the Var whose adjoint it shares (itself, or its only consumer's when it
    passes on with partial 1: the same float)."""

    __slots__ = ("seeds", "steps", "slots")

    def __init__(self, seeds: List[Tuple[int, Var]], steps: List[Step], slots: Dict[Var, Var]) -> None:
        self.seeds = seeds
        self.steps = steps
        self.slots = slots


# ---------------------------------------------------------------------------------------
class Form:
    """One traced call (see the module's documentation)."""

    def __init__(self, arguments: Sequence[Optional[int]], externals: Sequence[Any],
                 equations: Sequence[Equation], outputs: Sequence[Atom], single: bool,
                 differentiate: Sequence[int], inputs: Sequence[Union[Var, List[Var]]],
                 sweep: Optional[Sweep] = None) -> None:
        self.arguments: Tuple[Optional[int], ...] = tuple(arguments)
        self.externals: Tuple[Any, ...] = tuple(externals)
        self.equations: List[Equation] = list(equations)
        self.outputs: Tuple[Atom, ...] = tuple(outputs)
        self.single = single
        self.differentiate: Tuple[int, ...] = tuple(differentiate)
        self.inputs: Tuple[Union[Var, List[Var]], ...] = tuple(inputs)
        self.sweep = sweep
        self.derivable = True  # False where an output is a bool: reverse_autodiff refuses it

    def replace(self, equations: Optional[Sequence[Equation]] = None,
                sweep: Optional[Sweep] = None) -> "Form":
        """A copy with other equations or another sweep."""
        made = Form(self.arguments, self.externals,
                    self.equations if equations is None else equations, self.outputs,
                    self.single, self.differentiate, self.inputs,
                    self.sweep if sweep is None else sweep)
        made.derivable = self.derivable
        return made

    def called(self) -> List[FunctionRule]:
        """The function rules its Calls use, each once, in order: the code calls rule k's
        function as ``_u<k>`` and its partials function as ``_u<k>_d``."""
        rules: Dict[int, FunctionRule] = {}
        for equation in self.equations:
            if isinstance(equation, Call):
                rules.setdefault(id(equation.rule), equation.rule)
        return list(rules.values())

    def differentiated(self, var: Var) -> bool:
        """Whether var is a differentiated argument or an item of one."""
        return var.kind in (ARGUMENT, ITEM) and var.position in self.differentiate

    def __str__(self) -> str:
        shape = ", ".join(f"x{i}" if size is None else f"X{i}[{size}]"
                          for i, size in enumerate(self.arguments))
        lines = [f"form ({shape}) differentiating {list(self.differentiate)}:"]
        lines += [f"  e{k} = read {type(e).__name__}" for k, e in enumerate(self.externals)]
        lines += [f"  {equation}" for equation in self.equations]
        outputs = ", ".join(map(show, self.outputs))
        lines.append(f"  return {outputs if self.single else f'[{outputs}]'}")
        if self.sweep is not None:
            lines.append("reverse sweep:")
            lines += [f"  seed {j} -> {var.name}" for j, var in self.sweep.seeds]
            for step in self.sweep.steps:
                slot = self.sweep.slots.get(step.var, step.var)
                shared = "" if slot is step.var else f" (adjoint of {slot.name})"
                lines.append(f"  {step.var.name}{shared}:")
                lines += [f"    {c}" for c in step.contributions]
        return "\n".join(lines)
