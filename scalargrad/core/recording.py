"""Recording: the one place nodes are made, and the tape that orders them.

Every node is made by ``record`` (any rule, any arguments), or by a function generated from
one rule of the table (``unary_function``, ``binary_method``, ...): the operators and public
functions, which are the hot path of the whole library. A generated function is ``record``
specialised to its rule: the rule's value and partial expressions are written into its
source (see ``source_of``), so that recording a node costs no call per partial, and no rule
is ever restated by hand.

The tape: each node keeps a link to the node recorded just before it (``_previous``); the
newest node is ``_last``. Sweeps walk these links (autodiff.py); tape.py keeps them from
keeping finished graphs alive.
"""
from __future__ import annotations

import ast
import functools
import linecache
import numbers
import sys
import textwrap
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import rules
from ..errors import DivisionByZero, DomainError, NumericOverflow, ScalargradError
from .rules import NaryRule, Rule

_new = object.__new__
_Real = numbers.Real

# The generated functions share these through this module's globals.
_last: Optional["Scalar"] = None  # the newest node: the head of the tape (tape.py)
_scalar_module: Any = None  # scalar.py, bound with the class: where a tracing observer is

if TYPE_CHECKING:
    from .scalar import Scalar
else:
    Scalar = None  # the Scalar class, bound by scalar.py once it exists (scalar.py imports this module)


def bind(scalar_class: type[Scalar]) -> None:
    """Called once by scalar.py: the generated code makes nodes of this class."""
    # Through globals(): to the type checker this name is the class all along (it is, once
    # bound), and a class is not assigned to.
    globals()["Scalar"] = scalar_class
    globals()["_scalar_module"] = sys.modules[scalar_class.__module__]


def make_node(value: float, rule: Union[Rule, NaryRule], a: Any, da: Any, b: Any = None,
              db: Any = None) -> "Scalar":
    """The node constructor: a Scalar recording rule applied to a and b, put on the tape.

    The slots are described in scalar.py. The generated functions below inline this body.
    """
    global _last
    node = _new(Scalar)
    node.value = value
    node._rule = rule
    node._a = a
    node._da = da
    node._b = b
    node._db = db
    node._acc = None
    node._previous = _last
    _last = node
    return node


def error(rule: Union[Rule, NaryRule], args: Sequence[float], cause: BaseException) -> ScalargradError:
    """The exception to raise for these arguments, naming the operation and the values."""
    call = f"{rule.name}({', '.join(repr(float(a)) for a in args)})"
    if isinstance(cause, ZeroDivisionError):
        return DivisionByZero(f"{call}: division by zero")
    if isinstance(cause, OverflowError):
        return NumericOverflow(f"{call}: the result is too large for a float")
    return DomainError(f"{call}: outside the domain of {rule.name} ({rule.domain})")


def as_float(x: object) -> float:
    """A plain number as a float; anything else is a TypeError."""
    if x.__class__ is float:
        return x
    if isinstance(x, _Real):
        return float(x)
    raise TypeError(f"expected a number or a Scalar, got {type(x).__name__}")


# ---------------------------------------------------------------------------------------
# Evaluating rule expressions. On floats, names mean math's functions and rules.py's float
# helpers; on Scalars (to differentiate a derivative), scalargrad's recording functions.
FLOAT_NAMESPACE: Dict[str, Any] = {**rules.FLOAT_FUNCTIONS, **rules.HELPERS}
SCALAR_NAMESPACE: Dict[str, Any] = dict(rules.HELPERS)  # + the public functions, see bind_functions


def bind_functions(functions: Dict[str, Callable]) -> None:
    """Called once by functions.py: rule expressions on Scalars call these."""
    SCALAR_NAMESPACE.update(functions)


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


def _float_names(expression: str, mapping: Dict[str, str]) -> str:
    """A rule expression as generated code: arguments renamed, functions as _f_<name>."""
    functions = {name: f"_f_{name}" for name in FLOAT_NAMESPACE}
    return rename(expression, {**functions, **mapping})


for _name, _function in FLOAT_NAMESPACE.items():
    globals()[f"_f_{_name}"] = _function


# ---------------------------------------------------------------------------------------
# The generated functions. Each template is record() written out for one kind of call; the
# placeholders are filled from one rule; ``{link}`` is _link's body, inlined.
_LINK = """node._previous = _last
_last = node"""

_UNARY = """def {name}(x):
    global _last
    if x.__class__ is Scalar:
        xv = x.value
        try:
            out = {value}
            d = {partial}
        except (ArithmeticError, ValueError) as cause:
            raise error(RULE, (xv,), cause) from None
        node = _new(Scalar)
        node.value = out
        node._rule = RULE
        node._a = x
        node._da = d
        node._b = node._db = node._acc = None
        {link}
        return node
    xv = as_float(x)
    try:
        return {value}
    except (ArithmeticError, ValueError) as cause:
        raise error(RULE, (xv,), cause) from None
"""

# self op other: self is a Scalar; other a Scalar or a number.
_FORWARD = """def {name}(self, other):
    global _last
    cls = other.__class__
    if cls is Scalar:
        bv = other.value
    elif cls is float or cls is int:
        bv = other
    elif isinstance(other, _Real):
        bv = float(other)
    else:
        return NotImplemented
    av = self.value
    try:
        out = {value}
        da = {partial_a}
        db = ({partial_b}) if cls is Scalar else None
    except (ArithmeticError, ValueError) as cause:
        raise error(RULE, (av, bv), cause) from None
    node = _new(Scalar)
    node.value = out
    node._rule = RULE
    node._a = self
    node._da = da
    node._b = other
    node._db = db
    node._acc = None
    {link}
    return node
"""

# other op self, other a number (a Scalar on the left would have handled it).
_REFLECTED = """def {name}(self, other):
    global _last
    cls = other.__class__
    if cls is float or cls is int:
        av = other
    elif isinstance(other, _Real):
        av = float(other)
    else:
        return NotImplemented
    bv = self.value
    try:
        out = {value}
        db = {partial_b}
    except (ArithmeticError, ValueError) as cause:
        raise error(RULE, (av, bv), cause) from None
    node = _new(Scalar)
    node.value = out
    node._rule = RULE
    node._a = other
    node._da = None
    node._b = self
    node._db = db
    node._acc = None
    {link}
    return node
"""

_SOURCES: Dict[str, str] = {}


def _fill(template: str, rule: Rule, name: str) -> str:
    """The template's source with rule's expressions (on float locals) in place."""
    local = dict(zip(rule.arguments, ("xv",) if len(rule.arguments) == 1 else ("av", "bv")))
    local["out"] = "out"
    partials = [_float_names(partial, local) for partial in rule.partials]
    column = template.index("{link}") - template.rindex("\n", 0, template.index("{link}")) - 1
    link = _LINK.replace("\n", "\n" + " " * column)
    return template.format(name=name, value=_float_names(rule.formula, local), link=link,
                           partial=partials[0], partial_a=partials[0], partial_b=partials[-1])


def _generate(template: str, rule: Rule, name: str) -> Callable:
    """Compile template filled from rule; RULE in it is rule (a closure, fast to read)."""
    source = _fill(template, rule, name)
    factory_source = "def _factory(RULE):\n" + textwrap.indent(source, "    ") + f"    return {name}\n"
    filename = f"<scalargrad {name} (rule {rule.name})>"
    linecache.cache[filename] = (len(factory_source), None, factory_source.splitlines(True), filename)
    namespace: Dict[str, Any] = {}
    exec(compile(factory_source, filename, "exec"), globals(), namespace)  # noqa: S102
    _SOURCES[name] = source
    return namespace["_factory"](rule)


def unary_function(rule: Rule) -> Callable:
    """rule's public function: a float for a float, a recorded Scalar for a Scalar."""
    function = _generate(_UNARY, rule, rule.name)
    function.__doc__ = (f"{rule.name}(x): a float for a float, a recorded Scalar for a Scalar."
                        + (f" Domain: {rule.domain}." if rule.domain else "")
                        + (f" {rule.convention}" if rule.convention else ""))
    return function


def binary_method(rule: Rule, operator: str, reflected: bool = False) -> Callable:
    """Scalar's method for operator (e.g. "truediv") by rule: self op other, or other op self
    when reflected."""
    if reflected:
        return _generate(_REFLECTED, rule, f"__r{operator}__")
    return _generate(_FORWARD, rule, f"__{operator}__")


def binary_function(rule: Rule) -> Callable:
    """rule's public function of two arguments, each a float or a Scalar."""
    forward = binary_method(rule, rule.name)
    reflected = binary_method(rule, rule.name, reflected=True)
    value_of = float_function(rule)

    def function(a: Union[Scalar, float], b: Union[Scalar, float]) -> Union[Scalar, float]:
        if a.__class__ is Scalar:
            result = forward(a, b)
        elif b.__class__ is Scalar:
            result = reflected(b, a)
        else:
            av, bv = as_float(a), as_float(b)
            try:
                return value_of(av, bv)
            except (ArithmeticError, ValueError) as cause:
                raise error(rule, (av, bv), cause) from None
        if result is NotImplemented:
            raise TypeError(f"{rule.name}() expects numbers or Scalars, got "
                            f"{type(a).__name__} and {type(b).__name__}")
        return result

    function.__name__ = function.__qualname__ = rule.name
    function.__doc__ = (f"{rule.name}(a, b): a float for floats, a recorded Scalar otherwise."
                        + (f" {rule.convention}" if rule.convention else ""))
    return function


@functools.lru_cache(maxsize=None)
def float_function(rule: Rule) -> Callable[..., float]:
    """rule's value as a function of floats."""
    return expression_function(rule.formula, rule.arguments, FLOAT_NAMESPACE, rule.name)


@functools.lru_cache(maxsize=None)
def kink_test(rule: Rule) -> Callable[..., bool]:
    """rule's kink expression as a function of floats: True where its convention applies."""
    return expression_function(rule.kink, rule.arguments, FLOAT_NAMESPACE, f"{rule.name} kink")


@functools.lru_cache(maxsize=None)
def scalar_partials(rule: Rule) -> Tuple[Callable, ...]:
    """rule's partials as functions of its arguments and out, on Scalars (or floats)."""
    names = (*rule.arguments, "out")
    return tuple(expression_function(p, names, SCALAR_NAMESPACE, f"{rule.name} partial")
                 for p in rule.partials)


@functools.lru_cache(maxsize=None)
def nary_partial(rule: NaryRule, namespace_name: str) -> Callable:
    """The n-ary rule's partial as a function of x, partner and out."""
    namespace = FLOAT_NAMESPACE if namespace_name == "float" else SCALAR_NAMESPACE
    return expression_function(rule.partial, ("x", "partner", "out"), namespace, rule.name)


@functools.lru_cache(maxsize=None)
def _float_partials(rule: NaryRule) -> Callable[..., List[float]]:
    """The n-ary rule's partial on floats for a whole list of arguments (xs, then for a rule
    over pairs their partners, then out): one call per node, not one per argument."""
    source = (f"lambda xs, partners, out: [{rule.partial} for x, partner in zip(xs, partners)]"
              if rule.pairs else f"lambda xs, out: [{rule.partial} for x in xs]")
    return eval(compile(_float_names(source, {}), f"<rule {rule.name} partials>", "eval"),  # noqa: S307
                globals())


def record_nary(rule: NaryRule, args: Sequence[Any]) -> Union["Scalar", float]:
    """rule over args (Scalars and numbers) as one node; a float when no argument is a Scalar.

    The node's parents are the Scalar arguments and its partials their rule partials; for a
    rule over pairs, ``_b`` keeps each parent's partner when some partner is a Scalar (then
    the partial changes with it, and differentiating again needs it); for a rule with a
    shift, ``_db`` keeps the numbers among the arguments, if any (differentiating again
    shifts them too: see shifted_partials).
    """
    return record_shifted(rule, args)[0]


def record_shifted(rule: NaryRule, args: Sequence[Any]) -> Tuple[Union["Scalar", float], float, float]:
    """(record_nary(rule, args), the shift taken off the arguments, the value of the formula
    on the shifted arguments): for a rule without a shift, the shift is 0.0."""
    values = [a.value if a.__class__ is Scalar else as_float(a) for a in args]
    top = float_function_shift(rule)(values) if rule.shift else 0.0
    shifted = [v - top for v in values] if top else values
    inner = float_function_nary(rule)(shifted)  # sums and logsumexp give inf or nan, never raise
    out = top + inner if top else inner
    positions = [i for i, a in enumerate(args) if a.__class__ is Scalar]
    if not positions:
        return out, top, inner
    parents = tuple(args) if len(positions) == len(args) else tuple([args[i] for i in positions])
    constant = _constant(rule.partial)
    if constant is not None:
        return _told(make_node(out, rule, parents, (constant,) * len(parents)), args), top, inner
    scalar_partners = numbers = None
    if rule.pairs:
        partners, partner_values = _partners(rule, args), _partners(rule, shifted)
        partials = tuple(_float_partials(rule)([shifted[i] for i in positions],
                                               [partner_values[i] for i in positions], inner))
        if any(partners[i].__class__ is Scalar for i in positions):
            scalar_partners = tuple([partners[i] for i in positions])
    else:
        if len(positions) < len(args):
            shifted = [shifted[i] for i in positions]
        partials = tuple(_float_partials(rule)(shifted, inner))
    if rule.shift and len(positions) < len(args):
        numbers = tuple([values[i] for i in range(len(args)) if args[i].__class__ is not Scalar])
    node = make_node(out, rule, parents, partials, scalar_partners, numbers)
    return _told(node, args), top, inner


def shifted_partials(rule: NaryRule, node: "Scalar") -> Tuple["Scalar", ...]:
    """The partials of an n-ary node of a rule with a shift, as recorded Scalars: the rule's
    partial on its Scalar arguments shifted (recorded), with as ``out`` the rule recorded
    again over the shifted arguments (numbers included), whose value does not have the
    rounding of node's own (unless nothing is shifted: then node is that).

    The largest argument, when a Scalar, is shifted by itself instead (a rule with a shift
    has partials that depend on x - out only, so any shift gives the same partial): its
    partial is taken at x = 0.0 and out = the rule over 0.0 and the others' differences with
    it, so that it depends on that argument only through the others. Differentiated, it
    then gives logsumexp's p (1 - p) as p times the other weights, where the first way gives
    p - p*p, which cancels to nothing when p is near 1.
    """
    parents, numbers = node._a, node._db or ()
    values = [p.value for p in parents]
    top = float_function_shift(rule)([*values, *numbers])
    shifted = [p - top for p in parents] if top else list(parents)
    inner = record_nary(rule, [*shifted, *(c - top for c in numbers)]) if top else node
    partial = nary_partial(rule, "scalar")
    largest = max(range(len(parents)), key=values.__getitem__)
    x = parents[largest]
    if numbers and not values[largest] >= max(numbers):  # a number is the largest
        largest = -1
    partials = [partial(s, None, inner) for i, s in enumerate(shifted) if i != largest]
    if largest >= 0:
        others = [p - x for i, p in enumerate(parents) if i != largest] + [c - x for c in numbers]
        partials.insert(largest, partial(0.0, None, record_nary(rule, [0.0, *others])))
    return tuple(partials)


def _told(node: "Scalar", args: Sequence[Any]) -> "Scalar":
    """node, after telling a compiler tracing the call (if any) all of node's arguments: the
    node keeps only its Scalars, the numbers among them fold into its value."""
    observer = _scalar_module._observer
    if observer is not None:
        observer("nary", node, tuple(args), None)
    return node


@functools.lru_cache(maxsize=None)
def _constant(expression: str) -> Optional[float]:
    """The expression's value if it is a number literal (a partial that never changes)."""
    try:
        return float(ast.literal_eval(expression))
    except (ValueError, TypeError, SyntaxError):
        return None


def _partners(rule: NaryRule, items: Sequence[Any]) -> Sequence[Any]:
    """Each item's partner: for a rule over pairs, ai <-> bi; else none (None)."""
    if not rule.pairs:
        return [None] * len(items)
    half = len(items) // 2
    return [*items[half:], *items[:half]]


@functools.lru_cache(maxsize=None)
def float_function_shift(rule: NaryRule) -> Callable[[Sequence[float]], float]:
    """The n-ary rule's shift as a function of the list of argument values."""
    return expression_function(rule.shift, ("xs",), FLOAT_NAMESPACE, f"{rule.name} shift")


@functools.lru_cache(maxsize=None)
def float_function_nary(rule: NaryRule) -> Callable[[Sequence[float]], float]:
    """The n-ary rule's value as a function of the list of argument values."""
    return expression_function(rule.formula, ("xs",), FLOAT_NAMESPACE, rule.name)


def source_of(name: str) -> str:
    """The generated source of an operator or function, e.g. source_of("__mul__")."""
    return _SOURCES[name]
