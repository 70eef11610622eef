"""How the table of rules becomes code: the recording functions' source, and rule
expressions as functions of floats.

Every operator and function that records a node is generated from its rule in rules.py:
the rule's value and partial expressions are written into the function's source, so that
recording a node costs no call per partial and no rule is ever restated by hand. This
module writes that source, as text, once: one factory function (``recorders_source``) that
scalar.py runs to make all of them at once, so that they share the tape's head as a
closure cell (faster to read and write than a module's global). Read it with

    python -m scalargrad.core

(tests/core/golden/recorders.py holds a copy; a test fails when the two differ, so a change
to the generated code is always a visible change).

Names a rule expression may use are its arguments, ``out``, and what FLOAT_NAMESPACE holds:
math's functions and the rules' float helpers. In generated code a function ``f`` is
written ``_f_f`` (scalar.py defines them), an argument by its local name.
"""
from __future__ import annotations

import ast
import functools
import textwrap
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import rules
from .rules import NaryRule, Rule

# What names in rule expressions mean on floats.
FLOAT_NAMESPACE: Dict[str, Any] = {**rules.FLOAT_FUNCTIONS, **rules.HELPERS}

# Nodes recorded between two calls of the tape's tick (scalar.py): a small int, so that
# counting down makes no new int object.
TICK = 256


def expression_function(expression: str, names: Sequence[str], namespace: Dict[str, Any],
                        label: str) -> Callable:
    """A function of names evaluating expression in namespace (e.g. a partial on Scalars)."""
    source = f"lambda {', '.join(names)}: {expression}"
    return eval(compile(source, f"<rule {label}>", "eval"), namespace)  # noqa: S307 (rule text)


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: Dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.copy_location(ast.Name(self.mapping.get(node.id, node.id), node.ctx), node)


def rename(expression: str, mapping: Dict[str, str]) -> str:
    """expression with its names replaced as mapping says (by the syntax tree, not the text)."""
    tree = _Rename(mapping).visit(ast.parse(expression, mode="eval"))
    return ast.unparse(tree)


def float_names(expression: str, mapping: Dict[str, str]) -> str:
    """A rule expression as generated code: names renamed as mapping says, and the functions
    of FLOAT_NAMESPACE as _f_<name>."""
    functions = {name: f"_f_{name}" for name in FLOAT_NAMESPACE}
    return rename(expression, {**functions, **mapping})


def float_globals() -> Dict[str, Any]:
    """The globals generated code reads its float functions from: _f_<name> for each."""
    return {f"_f_{name}": function for name, function in FLOAT_NAMESPACE.items()}


@functools.lru_cache(maxsize=None)
def float_function(rule: Rule) -> Callable[..., float]:
    """rule's value as a function of floats."""
    return expression_function(rule.formula, rule.arguments, FLOAT_NAMESPACE, rule.name)


@functools.lru_cache(maxsize=None)
def kink_test(rule: Rule) -> Callable[..., bool]:
    """rule's kink expression as a function of floats: True where its convention applies."""
    return expression_function(rule.kink, rule.arguments, FLOAT_NAMESPACE, f"{rule.name} kink")


@functools.lru_cache(maxsize=None)
def nary_function(rule: NaryRule) -> Callable[[Sequence[float]], float]:
    """The n-ary rule's value as a function of the list of argument values."""
    return expression_function(rule.formula, ("xs",), FLOAT_NAMESPACE, rule.name)


@functools.lru_cache(maxsize=None)
def nary_shift(rule: NaryRule) -> Callable[[Sequence[float]], float]:
    """The n-ary rule's shift as a function of the list of argument values."""
    return expression_function(rule.shift, ("xs",), FLOAT_NAMESPACE, f"{rule.name} shift")


@functools.lru_cache(maxsize=None)
def nary_partials(rule: NaryRule) -> Callable[..., List[float]]:
    """The n-ary rule's partial on floats for a whole list of arguments (xs, then for a rule
    over pairs their partners, then out): one call per node, not one per argument."""
    source = (f"lambda xs, partners, out: [{rule.partial} for x, partner in zip(xs, partners)]"
              if rule.pairs else f"lambda xs, out: [{rule.partial} for x in xs]")
    return eval(compile(float_names(source, {}), f"<rule {rule.name} partials>", "eval"),  # noqa: S307
                float_globals())


@functools.lru_cache(maxsize=None)
def constant(expression: str) -> Optional[float]:
    """The expression's value if it is a number literal (a partial that never changes)."""
    try:
        return float(ast.literal_eval(expression))
    except (ValueError, TypeError, SyntaxError):
        return None


# ---------------------------------------------------------------------------------------
# The recording functions. Each template is scalar.make_node written out for one kind of
# call, filled from one rule; {rule} is the parameter of the factory that holds the rule.
_RECORD = """node._previous = _last
_last = node
_budget -= 1
if not _budget:
    _budget = {tick}
    _tick()"""

_MAKE_NODE = """def make_node(value, rule, a, da, b=None, db=None):
    nonlocal _last, _budget
    node = _new(Scalar)
    node._value = value
    node._rule = rule
    node._a = a
    node._da = da
    node._b = b
    node._db = db
    node._acc = None
    {record}
    return node
"""

_UNARY = """def {name}(x):
    nonlocal _last, _budget
    if x.__class__ is Scalar:
        xv = x._value
        try:
            out = {value}
            d = {partial}
        except (ArithmeticError, ValueError) as cause:
            raise error({rule}, (xv,), cause) from None
        node = _new(Scalar)
        node._value = out
        node._rule = {rule}
        node._a = x
        node._da = d
        node._b = node._db = node._acc = None
        {record}
        return node
    xv = as_float(x)
    try:
        return {value}
    except (ArithmeticError, ValueError) as cause:
        raise error({rule}, (xv,), cause) from None
"""

# self op other: self is a Scalar; other a Scalar or a number.
_FORWARD = """def {name}(self, other):
    nonlocal _last, _budget
    cls = other.__class__
    if cls is Scalar:
        bv = other._value
    elif cls is float or cls is int:
        bv = other
    elif isinstance(other, _Real):
        bv = float(other)
    else:
        return NotImplemented
    av = self._value
    try:
        out = {value}
        da = {partial_a}
        db = ({partial_b}) if cls is Scalar else None
    except (ArithmeticError, ValueError) as cause:
        raise error({rule}, (av, bv), cause) from None
    node = _new(Scalar)
    node._value = out
    node._rule = {rule}
    node._a = self
    node._da = da
    node._b = other
    node._db = db
    node._acc = None
    {record}
    return node
"""

# other op self, other a number (a Scalar on the left would have handled it).
_REFLECTED = """def {name}(self, other):
    nonlocal _last, _budget
    cls = other.__class__
    if cls is float or cls is int:
        av = other
    elif isinstance(other, _Real):
        av = float(other)
    else:
        return NotImplemented
    bv = self._value
    try:
        out = {value}
        db = {partial_b}
    except (ArithmeticError, ValueError) as cause:
        raise error({rule}, (av, bv), cause) from None
    node = _new(Scalar)
    node._value = out
    node._rule = {rule}
    node._a = other
    node._da = None
    node._b = self
    node._db = db
    node._acc = None
    {record}
    return node
"""

# What the tape's owner needs of the head: read it, end the tape, move it back (compaction).
_TAPE = """def newest():
    return _last

def end_tape():
    nonlocal _last
    _last = None

def move_head(node):
    nonlocal _last
    _last = node
"""


def _fill(template: str, rule: Union[Rule, None], name: str) -> str:
    """The template's source with rule's expressions (on float locals) in place."""
    column = template.index("{record}") - template.rindex("\n", 0, template.index("{record}")) - 1
    record = _RECORD.format(tick=TICK).replace("\n", "\n" + " " * column)
    if rule is None:
        return template.format(record=record)
    local = dict(zip(rule.arguments, ("xv",) if len(rule.arguments) == 1 else ("av", "bv")))
    local["out"] = "out"
    partials = [float_names(partial, local) for partial in rule.partials]
    return template.format(name=name, value=float_names(rule.formula, local), record=record,
                           rule=f"RULE_{rule.name}", partial=partials[0],
                           partial_a=partials[0], partial_b=partials[-1])


def recorded_rules() -> Tuple[Rule, ...]:
    """The rules the factory takes, in the order of its parameters."""
    return (*rules.UNARY, *rules.BINARY)


def recorders_source() -> str:
    """The factory: ``recorders(RULE_<name>, ...)`` returns a dict of every recording function
    by name (make_node; each unary rule's function; each binary rule's forward and reflected
    function, "<name>" and "r<name>"; the operators "__add__", "__radd__", ...; the tape's
    newest, end_tape and move_head), sharing the tape's head (_last) and the nodes left
    before the next tick (_budget)."""
    parts = [_fill(_MAKE_NODE, None, "make_node"), _TAPE]
    names = ["make_node", "newest", "end_tape", "move_head"]
    for rule in rules.UNARY:
        parts.append(_fill(_UNARY, rule, rule.name))
        names.append(rule.name)
    for rule in rules.BINARY:
        parts.append(_fill(_FORWARD, rule, rule.name))
        parts.append(_fill(_REFLECTED, rule, f"r{rule.name}"))
        names += [rule.name, f"r{rule.name}"]
    parameters = ", ".join(f"RULE_{rule.name}" for rule in recorded_rules())
    body = "\n".join(parts)
    listed = "".join(f"        {name!r}: {name},\n" for name in names)
    return (f"def recorders({parameters}):\n"
            f"    _last = None\n    _budget = {TICK}\n\n"
            + textwrap.indent(body, "    ")
            + f"\n    return {{\n{listed}    }}\n")
