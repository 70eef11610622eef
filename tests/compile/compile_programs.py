"""Random programs for differential tests of scalargrad.compile, as data that print as Python.

A program is a small syntax tree (the classes below): numbered slots ``s0, s1, ...`` that
statements assign, ``if``, bounded ``while`` (written ``for _ in range(3): if not c: break``),
``for _ in range(int(e))`` (at most 3 turns), early returns, expressions made of the
primitives in scalargrad/rules.py (unary, binary, sum/mean/dot/logsumexp over items or over
slices of list arguments), builtin ``max``/``min``, ``sum`` of products written op by op,
reads of values (``float``, ``int``, ``round``, ``.value``, ``value_of``, ``format``), and
names from outside: closed-over Scalars ``C<k>`` and a closed-over list of Scalars ``W``
(parameters), a global Scalar ``G0`` and a global float ``K0``. ``Program.source`` is the
Python text; ``Program.build`` execs it and returns the function, so the text printed for a
failing example is exactly the code that ran, and hypothesis shrinks the tree.

With ``users=True`` the expressions call users' primitives too (``P.<name>(...)``,
tests/compile/compile_primitives.py), which the compiled code calls by reference.

``programs()`` draws programs; ``scenarios()`` draws a program with the calls to make of its
compiled form (tests/compile_differential.py runs them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Scalar
from scalargrad.core import rules
from tests.compile import compile_primitives

UNARY = tuple(rule.name for rule in rules.UNARY)
BINARY = tuple(rule.name for rule in rules.BINARY)
NARY = ("sum", "mean", "logsumexp")  # over items; dot (rules.DOT) is Dot below
assert {rule.name for rule in rules.NARY} == {"sum", "dot", "logsumexp"}
OPERATORS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
READS = ("float", "int", "round", "round2", "value", "value_of", "format")
LOOP_TURNS = 3


# ---------------------------------------------------------------------------------------
# Expressions. Each has source(); ``seen`` wraps what a guard or read looks at in _seen(...)
# (the instrumented text that collects the values a trace compares, for choosing points).
@dataclass(frozen=True)
class Var:
    slot: int

    def source(self, seen: bool = False) -> str:
        return f"s{self.slot}"


@dataclass(frozen=True)
class Num:
    value: float

    def source(self, seen: bool = False) -> str:
        return _number(self.value)


@dataclass(frozen=True)
class Outer:
    """A name from outside f: C<k> (closed over), G0 (global Scalar), W[k], K0 (global float)."""
    name: str

    def source(self, seen: bool = False) -> str:
        return self.name


@dataclass(frozen=True)
class Item:
    argument: int
    index: int

    def source(self, seen: bool = False) -> str:
        return f"X{self.argument}[{self.index}]"


@dataclass(frozen=True)
class Slice:
    """X<argument>[start::step], count items (printed as the whole list when it is)."""
    argument: int
    start: int
    step: int
    count: int
    length: int  # the argument's length

    def source(self, seen: bool = False) -> str:
        if self.start == 0 and self.step == 1 and self.count == self.length:
            return f"X{self.argument}"
        stop = self.start + self.step * (self.count - 1) + 1
        return f"X{self.argument}[{self.start}:{stop}{'' if self.step == 1 else f':{self.step}'}]"


@dataclass(frozen=True)
class Unary:
    op: str
    x: "Expr"

    def source(self, seen: bool = False) -> str:
        inner = self.x.source(seen)
        if self.op == "neg":
            return f"(-{inner})"
        return f"abs({inner})" if self.op == "abs" else f"sg.{self.op}({inner})"


@dataclass(frozen=True)
class Binary:
    """A rule of two arguments, or builtin max/min ("max", "min": comparisons, so guards)."""
    op: str
    a: "Expr"
    b: "Expr"

    def source(self, seen: bool = False) -> str:
        a, b = self.a.source(seen), self.b.source(seen)
        if self.op in OPERATORS:
            return f"({a} {OPERATORS[self.op]} {b})"
        if self.op in ("max", "min"):
            return f"{self.op}({_seen(a, seen)}, {_seen(b, seen)})"
        return f"sg.{self.op}({a}, {b})"


@dataclass(frozen=True)
class User:
    """A user's primitive (compile_primitives.py) of its arguments."""
    op: str
    args: Tuple["Expr", ...]

    def source(self, seen: bool = False) -> str:
        return f"P.{self.op}({', '.join(x.source(seen) for x in self.args)})"


@dataclass(frozen=True)
class Nary:
    op: str
    items: Union[Slice, Tuple["Expr", ...]]

    def source(self, seen: bool = False) -> str:
        return f"sg.{self.op}({_sequence(self.items, seen)})"


@dataclass(frozen=True)
class Dot:
    left: Slice
    right: Union[Slice, Tuple["Expr", ...]]

    def source(self, seen: bool = False) -> str:
        return f"sg.dot({self.left.source()}, {_sequence(self.right, seen)})"


@dataclass(frozen=True)
class Neuron:
    """sum of products written op by op, as micrograd's users write a neuron."""
    left: Slice
    right: Slice
    start: "Expr"

    def source(self, seen: bool = False) -> str:
        return (f"sum((a * b for a, b in zip({self.left.source()}, {self.right.source()})), "
                f"{self.start.source(seen)})")


@dataclass(frozen=True)
class Read:
    """A plain number read off a value: a guard when the compiler traces it."""
    kind: str
    x: "Expr"

    def source(self, seen: bool = False) -> str:
        inner = _seen(self.x.source(seen), seen)
        return {"float": f"float({inner})", "int": f"int({inner})", "round": f"round({inner})",
                "round2": f"round({inner}, 2)", "value": f"{inner}.value",
                "value_of": f"sg.value_of({inner})",
                "format": f"float(format({inner}, '.3f'))"}[self.kind]


Expr = Union[User, Var, Num, Outer, Item, Unary, Binary, Nary, Dot, Neuron, Read]


@dataclass(frozen=True)
class Compare:
    op: str
    a: Expr
    b: Expr

    def source(self, seen: bool = False) -> str:
        return f"{_seen(self.a.source(seen), seen)} {self.op} {_seen(self.b.source(seen), seen)}"


@dataclass(frozen=True)
class Truth:
    x: Expr

    def source(self, seen: bool = False) -> str:
        return _seen(self.x.source(seen), seen)


Condition = Union[Compare, Truth]


# ---------------------------------------------------------------------------------------
# Statements.
@dataclass(frozen=True)
class Assign:
    slot: int
    x: Expr

    def lines(self, seen: bool) -> List[str]:
        return [f"s{self.slot} = {self.x.source(seen)}"]


@dataclass(frozen=True)
class If:
    test: Condition
    then: Tuple["Statement", ...]
    otherwise: Tuple["Statement", ...]

    def lines(self, seen: bool) -> List[str]:
        lines = [f"if {self.test.source(seen)}:", *_block(self.then, seen)]
        if self.otherwise:
            lines += ["else:", *_block(self.otherwise, seen)]
        return lines


@dataclass(frozen=True)
class While:
    """while test: body, for at most LOOP_TURNS turns."""
    test: Condition
    body: Tuple["Statement", ...]

    def lines(self, seen: bool) -> List[str]:
        return [f"for _ in range({LOOP_TURNS}):", f"    if not ({self.test.source(seen)}):",
                "        break", *_block(self.body, seen)]


@dataclass(frozen=True)
class Repeat:
    """for _ in range(int(count)), at most LOOP_TURNS turns."""
    count: Expr
    body: Tuple["Statement", ...]

    def lines(self, seen: bool) -> List[str]:
        turns = f"min(max(int({_seen(self.count.source(seen), seen)}), 0), {LOOP_TURNS})"
        return [f"for _ in range({turns}):", *_block(self.body, seen)]


@dataclass(frozen=True)
class Return:
    outputs: Tuple[Expr, ...]
    single: bool

    def lines(self, seen: bool) -> List[str]:
        if self.single:
            return [f"return {self.outputs[0].source(seen)}"]
        return [f"return [{', '.join(x.source(seen) for x in self.outputs)}]"]


Statement = Union[Assign, If, While, Repeat, Return]


@dataclass(frozen=True)
class Program:
    """inputs: None for a number argument, a length for a list one. cells and globals: the
    starting values of C<k> and G0 (Scalars), weights of W (Scalars), constant of K0."""
    inputs: Tuple[Optional[int], ...]
    cells: Tuple[float, ...]
    weights: Tuple[float, ...]
    globals: Tuple[float, ...]
    constant: Optional[float]
    starts: Tuple[Expr, ...]  # slot k starts as starts[k]
    body: Tuple[Statement, ...]

    @property
    def outputs(self) -> int:
        last = self.body[-1]
        assert isinstance(last, Return)
        return len(last.outputs)

    @property
    def single(self) -> bool:
        last = self.body[-1]
        assert isinstance(last, Return)
        return last.single

    def parameters(self) -> List[str]:
        return [f"x{i}" if size is None else f"X{i}" for i, size in enumerate(self.inputs)]

    def source(self, seen: bool = False) -> str:
        """The program as Python: its globals, make() closing over the parameters, f."""
        lines = []
        if self.constant is not None:
            lines.append(f"K0 = {_number(self.constant)}")
        lines += [f"G{k} = Scalar({_number(v)})" for k, v in enumerate(self.globals)]
        closed = [f"C{k}" for k in range(len(self.cells))] + (["W"] if self.weights else [])
        body = [f"s{k} = {x.source(seen)}" for k, x in enumerate(self.starts)]
        body += [line for statement in self.body for line in statement.lines(seen)]
        lines += [f"def make({', '.join(closed)}):",
                  f"    def f({', '.join(self.parameters())}):",
                  *["        " + line for line in body],
                  "    return f", ""]
        made = [f"Scalar({_number(v)})" for v in self.cells]
        if self.weights:
            made.append("[" + ", ".join(f"Scalar({_number(v)})" for v in self.weights) + "]")
        lines.append(f"f = make({', '.join(made)})")
        return "\n".join(lines)

    def build(self, seen: Optional[List[Any]] = None) -> Tuple[Any, Dict[str, Any]]:
        """(f, the namespace it reads its globals from). With seen, a list, f appends to it
        every value a comparison or read looks at (an instrumented copy, for points)."""
        namespace: Dict[str, Any] = {"sg": sg, "Scalar": Scalar, "_seen": _recorder(seen),
                                     "P": compile_primitives}
        exec(compile(self.source(seen is not None), "<fuzzed program>", "exec"), namespace)  # noqa: S102
        return namespace["f"], namespace

    def __repr__(self) -> str:
        return "\n" + self.source() + "\n"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis prints it
        printer.text(repr(self))


def _recorder(seen: Optional[List[Any]]) -> Any:
    def record(x: Any) -> Any:
        if seen is not None:
            seen.append(x.value if x.__class__ is Scalar else x)
        return x
    return record


def _seen(text: str, seen: bool) -> str:
    return f"_seen({text})" if seen else text


def _number(x: float) -> str:
    if isinstance(x, float) and not math.isfinite(x):
        return f"float('{x}')"
    return repr(x)


def _sequence(items: Union[Slice, Tuple[Expr, ...]], seen: bool) -> str:
    if isinstance(items, Slice):
        return items.source()
    return "[" + ", ".join(x.source(seen) for x in items) + "]"


def _block(statements: Tuple[Statement, ...], seen: bool) -> List[str]:
    lines = [line for statement in statements for line in statement.lines(seen)]
    return ["    " + line for line in lines] or ["    pass"]


# ---------------------------------------------------------------------------------------
# Drawing programs.
ORDINARY = st.one_of(st.integers(-3, 3).map(float), st.sampled_from([0.5, -0.5, 0.25, 1.5, -2.5, 0.1]),
                     st.floats(-4.0, 4.0).map(lambda v: round(v, 3)))
SPECIAL = st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300, -0.0, 5e-324,
                           2 ** 53 + 1, -(2 ** 60) - 1, 3, -2, 10 ** 20, 10 ** 400])
NUMBERS = st.one_of(ORDINARY, ORDINARY, ORDINARY, ORDINARY, ORDINARY, SPECIAL)
CONSTANTS = st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -0.25, 1.5, 10.0])


class _Drawer:
    """Draws one program's parts, spending a budget of primitives."""

    def __init__(self, draw: Any, inputs: Tuple[Optional[int], ...], outer: List[str], slots: int,
                 budget: int, users: bool = False) -> None:
        self.draw, self.inputs, self.outer, self.slots, self.budget = draw, inputs, outer, slots, budget
        self.users = users
        self.lists = [i for i, size in enumerate(inputs) if size is not None]

    def leaf(self) -> Expr:
        kinds = ["var", "var", "var", "num"] + (["outer"] if self.outer else []) + (
            ["item"] if self.lists else [])
        kind = self.draw(st.sampled_from(kinds))
        if kind == "var":
            return Var(self.draw(st.integers(0, self.slots - 1)))
        if kind == "num":
            return Num(self.draw(CONSTANTS))
        if kind == "outer":
            return Outer(self.draw(st.sampled_from(self.outer)))
        j = self.draw(st.sampled_from(self.lists))
        return Item(j, self.draw(st.integers(0, self.inputs[j] - 1)))

    def slice(self, count: Optional[int] = None) -> Optional[Slice]:
        fits = [j for j in self.lists if count is None or self.inputs[j] >= count]
        if not fits:
            return None
        j = self.draw(st.sampled_from(fits))
        length = self.inputs[j]
        count = count or self.draw(st.integers(1, length))
        step = self.draw(st.integers(1, max(1, (length - 1) // max(1, count - 1)))) if count > 1 else 1
        start = self.draw(st.integers(0, length - 1 - step * (count - 1)))
        return Slice(j, start, step, count, length)

    def expr(self, depth: int = 0) -> Expr:
        if self.budget <= 0 or depth >= 4 or (depth > 0 and not self.draw(st.integers(0, 2))):
            return self.leaf()  # an expression standing alone is an operation while the budget lasts
        kind = self.draw(st.sampled_from(["unary", "unary", "binary", "binary", "binary", "minmax",
                                          "nary", "dot", "neuron", "read"] + ["user"] * 4 * self.users))
        self.budget -= 1
        if kind == "user":
            op = self.draw(st.sampled_from(sorted(compile_primitives.ARITY)))
            return User(op, tuple(self.expr(depth + 1) for _ in range(compile_primitives.ARITY[op])))
        if kind == "unary":
            return Unary(self.draw(st.sampled_from(UNARY)), self.expr(depth + 1))
        if kind in ("binary", "minmax"):
            op = self.draw(st.sampled_from(BINARY if kind == "binary" else ("max", "min")))
            return Binary(op, self.expr(depth + 1), self.expr(depth + 1))
        if kind == "read":
            x = self.expr(depth + 1)
            read = self.draw(st.sampled_from(READS))
            if read == "value" and not isinstance(x, Item):  # .value is read off Scalars only
                read = "value_of"
            return Read(read, x)
        sliced = self.slice()
        if kind == "nary":
            op = self.draw(st.sampled_from(NARY))
            if sliced is not None and self.draw(st.booleans()):
                return Nary(op, sliced)
            return Nary(op, tuple(self.expr(depth + 1) for _ in range(self.draw(st.integers(1, 3)))))
        if sliced is None:
            return Binary("mul", self.expr(depth + 1), self.expr(depth + 1))
        partner = self.slice(sliced.count) if self.draw(st.booleans()) else None
        if kind == "neuron":
            return Neuron(sliced, partner or sliced, self.expr(depth + 1))
        if partner is None:
            partner = tuple(self.expr(depth + 1) if self.draw(st.booleans()) else Num(self.draw(CONSTANTS))
                            for _ in range(sliced.count))
        return Dot(sliced, partner)

    def condition(self) -> Condition:
        if self.draw(st.integers(0, 5)) == 0:
            return Truth(self.expr(1))
        right = self.expr(2) if self.draw(st.booleans()) else Num(self.draw(CONSTANTS))
        return Compare(self.draw(st.sampled_from(COMPARISONS)), self.expr(1), right)

    def outputs(self, count: int, single: bool) -> Return:
        return Return(tuple(self.expr(1) for _ in range(count)), single)

    def statements(self, depth: int, count: int, single: bool, most: int = 4) -> Tuple[Statement, ...]:
        made: List[Statement] = []
        wanted = most if depth == 0 else self.draw(st.integers(1, most))  # the top spends the budget
        while len(made) < wanted and self.budget > 0:
            kinds = ["assign"] * 4 + (["if", "if", "while", "repeat", "return"] if depth < 2 else [])
            kind = self.draw(st.sampled_from(kinds))
            if kind == "assign":
                made.append(Assign(self.draw(st.integers(0, self.slots - 1)), self.expr()))
            elif kind == "if":
                test = self.condition()
                then = self.statements(depth + 1, count, single, 3)
                made.append(If(test, then, self.statements(depth + 1, count, single, 2)
                               if self.draw(st.booleans()) else ()))
            elif kind == "while":
                made.append(While(self.condition(), self.statements(depth + 1, count, single, 2)))
            elif kind == "repeat":
                made.append(Repeat(self.expr(1), self.statements(depth + 1, count, single, 2)))
            else:
                made.append(If(self.condition(), (self.outputs(count, single),), ()))
        return tuple(made)


@st.composite
def programs(draw: Any, users: bool = False) -> Program:
    """1-4 arguments (numbers and lists), names from outside, 5-40 primitives' worth of code
    (users' primitives among them, with users)."""
    inputs = tuple(draw(st.lists(st.sampled_from([None, None, None, 1, 2, 3, 4, 9]), min_size=1, max_size=4)))
    cells = tuple(draw(st.lists(ORDINARY, max_size=2)))
    weights = tuple(draw(st.lists(ORDINARY, max_size=3)))
    globals_ = tuple(draw(st.lists(ORDINARY, max_size=1)))
    constant = draw(st.none() | ORDINARY)
    outer = ([f"C{k}" for k in range(len(cells))] + [f"W[{k}]" for k in range(len(weights))]
             + [f"G{k}" for k in range(len(globals_))] + ([] if constant is None else ["K0"]))
    starts: List[Expr] = [Outer(f"x{i}") if size is None else Item(i, 0) for i, size in enumerate(inputs)]
    starts += [Outer(draw(st.sampled_from(outer))) if outer and draw(st.booleans()) else Num(draw(CONSTANTS))
               for _ in range(draw(st.integers(0, 2)))]
    drawer = _Drawer(draw, inputs, outer, len(starts), draw(st.integers(5, 40)), users)
    count = draw(st.integers(1, 3))
    single = count == 1 and draw(st.booleans())
    body = drawer.statements(0, count, single, 12) + (drawer.outputs(count, single),)
    return Program(inputs, cells, weights, globals_, constant, tuple(starts), body)


# ---------------------------------------------------------------------------------------
# Scenarios: a program, how it is compiled, and the calls made of it in turn.
@dataclass(frozen=True)
class Step:
    """Before the calls, change (if any) a name from outside: ("set", name, v) assigns its
    .value as an optimizer does, ("rebind", name, v) puts Scalar(v) in its place. Then make
    the calls at the point the recipe names (tests/compile_differential.py: point())."""
    change: Optional[Tuple[str, str, float]]
    recipe: Tuple[Any, ...]
    calls: Tuple[str, ...]
    batch: int  # examples in a vjp_batch call


CALLS = ("call", "value_and_grad", "jacobian", "vjp_into", "vjp_batch")


@dataclass(frozen=True)
class Scenario:
    program: Program
    argnums: Optional[Tuple[int, ...]]
    base: Tuple[Any, ...]
    seed: Tuple[float, ...]
    steps: Tuple[Step, ...]

    def __repr__(self) -> str:
        return (f"{self.program!r}cf = sg.compile(f, argnums={list(self.argnums) if self.argnums else None})"
                f"\nbase point {self.base!r}, seed {self.seed!r}\n"
                + "\n".join(repr(step) for step in self.steps) + "\n")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis prints it
        printer.text(repr(self))


def arguments(inputs: Tuple[Optional[int], ...]) -> st.SearchStrategy:
    """Arguments for a program's inputs: numbers, and lists of numbers of their lengths."""
    return st.tuples(*[NUMBERS if size is None else st.lists(NUMBERS, min_size=size, max_size=size)
                       for size in inputs])


@st.composite
def scenarios(draw: Any, users: bool = False) -> Scenario:
    program = draw(programs(users))
    n = len(program.inputs)
    argnums: Optional[Tuple[int, ...]] = None
    if draw(st.booleans()):
        chosen = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        argnums = tuple(i - n if draw(st.integers(0, 4)) == 0 else i for i in chosen)
    base = draw(arguments(program.inputs))
    recipes = st.one_of(st.just(("base",)), st.tuples(st.just("fresh"), arguments(program.inputs)),
                        st.just(("negate",)), st.tuples(st.just("scale"), st.sampled_from([0.5, 2.0, -3.0])),
                        st.tuples(st.just("trace"), st.integers(0, 20), st.integers(0, 20),
                                  st.sampled_from([0, 0, -1, 1])))
    outer = ([f"C{k}" for k in range(len(program.cells))] + [f"W{k}" for k in range(len(program.weights))]
             + [f"G{k}" for k in range(len(program.globals))])
    changes = st.none() if not outer else st.one_of(
        st.none(), st.none(), st.none(),
        st.tuples(st.sampled_from(["set", "rebind"]), st.sampled_from(outer), ORDINARY))
    calls = st.lists(st.sampled_from(CALLS), min_size=1, max_size=3).map(tuple)
    first = Step(None, ("base",), draw(calls), draw(st.integers(1, 3)))
    steps = draw(st.lists(st.builds(Step, changes, recipes, calls, st.integers(1, 3)),
                          min_size=2, max_size=7))
    seed = tuple(draw(st.lists(st.sampled_from([1.0, 1.0, 0.0, -1.0, 0.5, 2.0, 3.0]),
                               min_size=program.outputs, max_size=program.outputs)))
    return Scenario(program, argnums, base, seed, (first, *steps))
