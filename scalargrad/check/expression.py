"""Arithmetic expressions typed by a user, parsed safely and evaluated with scalargrad.

Examples:
    >>> from scalargrad.check.expression import parse
    >>> f = parse("2*x**2 + 4*x + 3")
    >>> str(f), f.variables, f.evaluate({"x": 12.0})
    ('2 * x ** 2 + 4 * x + 3', ['x'], 339.0)

The language: numbers (``3``, ``0.5``, ``1e-3``), variables (any other plain name), the
constants ``pi`` and ``e``, the operators ``+ - * / **``, unary ``-`` and ``+``,
parentheses, and calls of the rules' functions by name (``functions.BY_RULE``, e.g.
``sin(x)``, ``maximum(x, y)``).

Safety: the text is parsed with ``ast.parse`` and the tree is checked against that
whitelist; anything else is refused with an ExpressionError that points at the offending
part. The text never reaches eval, exec or compile: the checked tree is turned into a flat
postfix program that a loop runs on a stack, so evaluation does not recurse either. Every
number is converted to a float when parsed, so ``9**9**9`` is float arithmetic (an
overflow error) rather than a huge integer computation.

Limits keep every input cheap: the text may be at most MAX_LENGTH characters, the tree at
most MAX_NODES nodes and MAX_DEPTH levels deep. Python's AST is as deep as a sum is long
(``a + b + c`` nests to the left), and ``ast.unparse`` recurses about three frames per
level, so MAX_DEPTH = 100 allows sums of a hundred terms while staying far from the
interpreter's recursion limit.
"""
from __future__ import annotations

import ast
import math
import operator
import random
import warnings
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union, overload

from ..errors import ExpressionError, InputError
from ..core.functions import BY_RULE, divide, power
from ..core.rules import BINARY, UNARY
from ..core.scalar import Scalar

MAX_LENGTH = 2000   # characters
MAX_NODES = 500     # numbers, names, operators and calls
MAX_DEPTH = 100     # levels of the syntax tree

RANDOM_LOW, RANDOM_HIGH = -2.0, 2.0  # random_points draws each variable from this range
RANDOM_DECIMALS = 6                  # ... rounded, so that a point can be typed back in
MAX_DRAWS = 100                      # draws per random point before giving up

CONSTANTS: Dict[str, float] = {"pi": math.pi, "e": math.e}

Value = Union[float, Scalar]


# Callable by name: every rule called as a function, with its number of arguments (the
# functions are the unary and binary rules'; the n-ary ones take a sequence, not a call).
_ARITY: Dict[str, int] = {rule.name: len(rule.arguments) for rule in (*UNARY, *BINARY)}
FUNCTIONS: Dict[str, Tuple[Callable, int]] = {
    name: (function, _ARITY[name]) for name, function in BY_RULE.items()}
_BINARY_OPERATORS: Dict[type, Callable] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: divide, ast.Pow: power,
}
_UNARY_OPERATORS: Dict[type, Callable] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_REFUSED_OPERATORS: Dict[type, str] = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not",
}
_REFUSED_NODES: Dict[str, str] = {
    "Attribute": "attribute access is not allowed",
    "Subscript": "subscripts are not allowed",
    "Lambda": "lambda functions are not allowed",
    "ListComp": "comprehensions are not allowed",
    "SetComp": "comprehensions are not allowed",
    "DictComp": "comprehensions are not allowed",
    "GeneratorExp": "comprehensions are not allowed",
    "IfExp": "conditional expressions are not allowed",
    "Compare": "comparisons are not allowed",
    "BoolOp": "'and' and 'or' are not allowed",
    "JoinedStr": "f-strings are not allowed",
    "Tuple": "tuples (values separated by commas) are not allowed",
    "List": "lists are not allowed",
    "Set": "sets are not allowed",
    "Dict": "dictionaries are not allowed",
    "NamedExpr": "assignment expressions are not allowed",
    "Await": "'await' is not allowed",
    "Yield": "'yield' is not allowed",
    "YieldFrom": "'yield' is not allowed",
}


class _Step(NamedTuple):
    """One instruction of a compiled expression."""
    kind: str          # "number", "variable" or "apply"
    operand: Any       # the float, the variable's name, or the function to apply: kind says
    arity: int = 0     # for "apply": how many values it takes from the stack


class Expression:
    """A parsed, checked expression; make one with parse()."""

    def __init__(self, text: str, tree: ast.Expression, program: List[_Step]) -> None:
        self.text = text
        self._tree = tree
        self._program = program
        self.variables: List[str] = sorted({step.operand for step in program
                                            if step.kind == "variable"})

    def __str__(self) -> str:
        return ast.unparse(self._tree)

    def __repr__(self) -> str:
        return f"Expression({str(self)!r})"

    @overload
    def evaluate(self, env: Mapping[str, float]) -> float: ...
    @overload
    def evaluate(self, env: Mapping[str, Union[Value, int]]) -> Value: ...

    def evaluate(self, env: Mapping[str, Union[Value, int]]) -> Value:
        """The value with env's values for the variables: a float, or a Scalar if any is one.

        Raises ValueError naming the variables env lacks, and scalargrad's DomainError,
        DivisionByZero or NumericOverflow where an operation is undefined.
        """
        missing = [name for name in self.variables if name not in env]
        if missing:
            raise ValueError(f"no value for {', '.join(missing)}")
        stack: List[Value] = []
        for kind, operand, arity in self._program:
            if kind == "number":
                stack.append(operand)
            elif kind == "variable":
                value = env[operand]
                stack.append(value if isinstance(value, Scalar) else float(value))
            else:
                args = stack[len(stack) - arity:]
                del stack[len(stack) - arity:]
                stack.append(operand(*args))
        return stack[0]

    def as_function(self, names: Sequence[str]) -> Callable[..., Value]:
        """A function of len(names) positional arguments, e.g. for check_gradients."""
        names = list(names)
        missing = [name for name in self.variables if name not in names]
        if missing:
            raise ValueError(f"no argument for {', '.join(missing)}")

        def function(*args: Value) -> Value:
            if len(args) != len(names):
                raise TypeError(f"expected {len(names)} arguments, got {len(args)}")
            return self.evaluate(dict(zip(names, args)))

        return function


def parse(text: str) -> Expression:
    """Parse and check text; raises ExpressionError for anything outside the language.

    Whitespace around the expression is dropped, and error positions refer to the rest.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is too long: {len(text)} characters "
                              f"(the limit is {MAX_LENGTH})", text, MAX_LENGTH, len(text))
    text = text.strip()
    _check_characters(text)
    tree = _parse_tree(text)
    _check_tree(tree, text)
    return Expression(text, tree, _compile(tree, text))


def _check_characters(text: str) -> None:
    if not text:
        raise ExpressionError("the expression is empty", text)
    for column, char in enumerate(text):
        if char in "\r\n":
            raise ExpressionError("the expression must be on one line", text, column,
                                  column + 1)
        if not " " <= char <= "~":
            raise ExpressionError(f"the character {char!r} (U+{ord(char):04X}) is not allowed: "
                                  "expressions are written in ASCII", text, column, column + 1)


def _parse_tree(text: str) -> ast.Expression:
    try:
        with warnings.catch_warnings():  # e.g. "1if": the tree is checked anyway
            warnings.simplefilter("ignore")
            return ast.parse(text, mode="eval")
    except SyntaxError as error:
        start, end = _syntax_error_span(error, text)
        raise ExpressionError(f"cannot parse the expression: {error.msg}", text, start,
                              end) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is too deeply nested", text) from None


def _syntax_error_span(error: SyntaxError, text: str) -> Tuple[int, int]:
    """Columns of a SyntaxError; errors at the end of the input get offset 0 or no line 1."""
    if error.lineno != 1 or not error.offset or error.offset < 1:
        return len(text), len(text) + 1
    start = min(error.offset - 1, len(text))
    end = (getattr(error, "end_offset", None) or 0) - 1
    return start, max(start + 1, min(end, len(text) + 1))


def _children(node: ast.AST) -> List[ast.expr]:
    """The operands of an allowed node, left to right."""
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    return []


def _check_tree(tree: ast.Expression, text: str) -> None:
    """Refuse any node outside the language, and trees over MAX_NODES or MAX_DEPTH.

    Walks with an explicit stack, outermost and leftmost first, so the error reported is
    the first a reader meets.
    """
    # (node, depth, the chain of operators written in a row that leads to it, the longest
    # such chain on its path): a + b + c nests to the left, a ** b ** c to the right
    stack = [(tree.body, 1, 0, 0)]
    count = 0
    while stack:
        node, depth, chain, longest = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _error_at(node, text, f"the expression is too large: more than {MAX_NODES} "
                                        "numbers, names, operators and calls")
        if depth > MAX_DEPTH:
            raise _depth_error(node, text, longest)
        _check_node(node, text)
        children = _children(node)
        along = 1 if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) else 0
        chains = [chain + 1 if isinstance(node, ast.BinOp) and k == along else 0
                  for k in range(len(children))]
        stack.extend((child, depth + 1, links, max(longest, links, chain))
                     for child, links in zip(reversed(children), reversed(chains)))


def _depth_error(node: ast.expr, text: str, chain: int) -> ExpressionError:
    """The error for a node past MAX_DEPTH, naming what the user wrote: a chain of terms
    (a + b + c nests one level per term in the syntax tree) or nested calls and brackets."""
    if chain > MAX_DEPTH // 2:
        return _error_at(node, text, f"the expression is too long a chain: more than "
                                     f"{MAX_DEPTH} terms in a row joined by operators (each "
                                     f"nests one level deeper, and the limit is {MAX_DEPTH} "
                                     "levels); group terms with parentheses, as in "
                                     "(a + b) + (c + d)")
    return _error_at(node, text, f"the expression is too deeply nested: more than {MAX_DEPTH} "
                                 "levels of calls, parentheses and operators")


def _error_at(node: Union[ast.expr, ast.keyword], text: str, message: str,
              start: Optional[int] = None) -> ExpressionError:
    """An error pointing at node, or at the part of it from column start."""
    return ExpressionError(message, text, node.col_offset if start is None else start,
                           node.end_col_offset)


def _check_node(node: ast.expr, text: str) -> None:
    if isinstance(node, ast.BinOp):
        _check_binary(node, text)
    elif isinstance(node, ast.UnaryOp):
        _check_unary(node, text)
    elif isinstance(node, ast.Constant):
        _number(node, text)
    elif isinstance(node, ast.Name):
        _check_name(node, text)
    elif isinstance(node, ast.Call):
        _check_call(node, text)
    elif isinstance(node, (ast.Attribute, ast.Subscript)):
        symbol = "." if isinstance(node, ast.Attribute) else "["
        start = text.find(symbol, node.value.end_col_offset)  # past closing parentheses
        raise _error_at(node, text, _REFUSED_NODES[type(node).__name__], start)
    else:
        name = type(node).__name__
        raise _error_at(node, text, _REFUSED_NODES.get(name, f"this construct ({name}) is "
                                                             "not allowed"))


def _check_binary(node: ast.BinOp, text: str) -> None:
    if type(node.op) in _BINARY_OPERATORS:
        return
    symbol = _REFUSED_OPERATORS[type(node.op)]
    start = text.find(symbol, node.left.end_col_offset)  # past closing parentheses
    raise ExpressionError(f"the operator '{symbol}' is not allowed (the operators are "
                          "+ - * / **)", text, start, start + len(symbol))


def _check_unary(node: ast.UnaryOp, text: str) -> None:
    if type(node.op) in _UNARY_OPERATORS:
        return
    symbol = _REFUSED_OPERATORS[type(node.op)]
    raise ExpressionError(f"the operator '{symbol}' is not allowed", text, node.col_offset,
                          node.col_offset + len(symbol))


def _number(node: ast.Constant, text: str) -> float:
    """The literal's value as a float; refuses non-numbers and numbers too large for one."""
    value = node.value
    if isinstance(value, (str, bytes)):
        raise _error_at(node, text, "strings are not allowed")
    if isinstance(value, complex):
        raise _error_at(node, text, "complex numbers are not allowed")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error_at(node, text, f"{value!r} is not a number")  # True, None, ...
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if math.isinf(number):
        raise _error_at(node, text, "the number is too large for a float")
    return number


def _check_name(node: ast.Name, text: str) -> None:
    if "__" in node.id:
        raise _error_at(node, text, "names with double underscores are not allowed")
    if node.id in FUNCTIONS:
        raise _error_at(node, text, f"{node.id} is a function: call it, as in {node.id}(x)")


def _check_call(node: ast.Call, text: str) -> None:
    callee = node.func
    if not isinstance(callee, ast.Name):
        raise _error_at(callee, text, "only functions named directly can be called, "
                                      "as in sin(x)")
    if "__" in callee.id:
        raise _error_at(callee, text, "names with double underscores are not allowed")
    if callee.id not in FUNCTIONS:
        raise _error_at(callee, text, f"unknown function {callee.id}; the functions are "
                                      f"{', '.join(sorted(FUNCTIONS))}")
    if node.keywords:
        raise _error_at(node.keywords[0], text, "keyword arguments are not allowed")
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise _error_at(arg, text, "starred arguments are not allowed")
    arity = FUNCTIONS[callee.id][1]
    if len(node.args) != arity:
        raise _error_at(node, text, f"{callee.id} takes {arity} "
                                    f"argument{'s' if arity > 1 else ''}, "
                                    f"not {len(node.args)}")


def _compile(tree: ast.Expression, text: str) -> List[_Step]:
    """The checked tree as a postfix program (operands before their operation)."""
    program: List[_Step] = []
    stack: List[Tuple[ast.expr, bool]] = [(tree.body, False)]
    while stack:
        node, operands_done = stack.pop()
        children = _children(node)
        if operands_done or not children:
            program.append(_step(node, text))
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(children))
    return program


def _step(node: ast.expr, text: str) -> _Step:
    if isinstance(node, ast.Constant):
        return _Step("number", _number(node, text))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return _Step("number", CONSTANTS[node.id])
        return _Step("variable", node.id)
    if isinstance(node, ast.BinOp):
        return _Step("apply", _BINARY_OPERATORS[type(node.op)], 2)
    if isinstance(node, ast.UnaryOp):
        return _Step("apply", _UNARY_OPERATORS[type(node.op)], 1)
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # _check_tree saw to it
    function, arity = FUNCTIONS[node.func.id]
    return _Step("apply", function, arity)


def random_points(expression: Expression, count: int, seed: int = 0,
                  fixed: Optional[Mapping[str, float]] = None) -> List[Dict[str, float]]:
    """count points, each a dict of the variables' values, where expression is finite.

    Variables in fixed keep that value; the others are drawn uniformly from
    [RANDOM_LOW, RANDOM_HIGH] (rounded to RANDOM_DECIMALS decimals). A draw where the
    expression is undefined (log(-1), 1/0), overflows or is not finite is drawn again, up
    to MAX_DRAWS times per point; after that an InputError (a ValueError) says why the last
    draw failed.
    """
    rng = random.Random(seed)
    fixed = dict(fixed or {})
    return [_draw_point(expression, rng, fixed) for _ in range(count)]


def _draw_point(expression: Expression, rng: random.Random,
                fixed: Dict[str, float]) -> Dict[str, float]:
    problem = ""
    for _ in range(MAX_DRAWS):
        point = {name: fixed[name] if name in fixed
                 else round(rng.uniform(RANDOM_LOW, RANDOM_HIGH), RANDOM_DECIMALS)
                 for name in expression.variables}
        try:
            value = expression.evaluate(point)
        except (ArithmeticError, ValueError) as error:
            problem = str(error)
            continue
        if math.isfinite(value):
            return point
        problem = f"the value is {value}"
    raise InputError(f"found no point where the expression is defined in {MAX_DRAWS} random "
                     f"draws from [{RANDOM_LOW:g}, {RANDOM_HIGH:g}] (the last: {problem})")
