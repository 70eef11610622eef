"""The table of differentiation rules: every primitive, defined once.

Each rule is written the way a table of derivatives is written on paper: a formula for its
value, and one partial derivative per argument, as Python expressions over the arguments (``x``; or ``a``
and ``b``) and ``out``, the value itself. Everything else is built from these few strings:

- recording.py compiles them into the functions and operators that record nodes (the value
  and partials evaluated on floats, straight into a node);
- higher-order derivatives evaluate the same partials on Scalars (so they are recorded too);
- expression.py, check-grad and the CLI's notes read the names, domains and conventions.

Names the expressions may use: the arguments, ``out``, ``inf``, ``nan``, the helpers in
``HELPERS``, and the rules' own names as functions (``cos(x)``), which mean the float function
(``FLOAT_FUNCTIONS``: math's, or the helpers below) when recording, and scalargrad's function
of that rule (functions.py) when differentiating a derivative.

Conventions where a derivative does not exist are part of each rule (``convention``), and
``kink`` says where they apply.
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import TYPE_CHECKING, Dict, Sequence, Tuple, Union

if TYPE_CHECKING:
    from .scalar import Scalar


class Rule:
    """One primitive: its name, value and partial derivatives as expressions, and its domain.

    ``arguments`` names the arguments (("x",) for unary rules, ("a", "b") for binary ones);
    ``partials`` has one expression per argument. N-ary rules (``NaryRule``) take sequences.
    """

    def __init__(self, name: str, arguments: Tuple[str, ...], formula: str,
                 partials: Tuple[str, ...], domain: str = "", convention: str = "",
                 kink: str = "") -> None:
        if len(partials) != len(arguments):
            raise ValueError(f"rule {name}: one partial per argument")
        self.name = name
        self.arguments = arguments
        self.formula = formula        # expression for the value
        self.partials = partials      # expression per argument: d value / d argument
        self.domain = domain          # said in the message of a domain error
        self.convention = convention  # what is used where the derivative does not exist
        self.kink = kink              # expression: True where the convention applies

    def __repr__(self) -> str:
        return f"Rule({self.name})"


class NaryRule:
    """A primitive over a sequence of arguments (recorded as one node, however many).

    ``partial`` is one expression for every argument, over ``x`` (that argument), ``out``
    and, for a rule over pairs, ``partner`` (the other member of x's pair).
    """

    def __init__(self, name: str, formula: str, partial: str, pairs: bool = False) -> None:
        self.name = name
        self.formula = formula  # expression for the value over ``xs``, all argument values
        self.partial = partial  # expression for d out / d x, for each argument x
        self.pairs = pairs      # arguments are a1..an followed by b1..bn, paired ai with bi
        self.domain = self.convention = self.kink = ""

    def __repr__(self) -> str:
        return f"NaryRule({self.name})"


# ---------------------------------------------------------------------------------------
# Float helpers: values where math has no function, or none stable enough.
def sigmoid(x: float) -> float:
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # for very negative x, 1 / (1 + exp(-x)) would overflow
    return z / (1.0 + z)


def softplus(x: float) -> float:
    """log(1 + exp(x)), without overflow for large x."""
    return x + math.log1p(math.exp(-x)) if x > 0.0 else math.log1p(math.exp(x))


def relu(x: float) -> float:
    return x if x > 0.0 else 0.0


def maximum(a: float, b: float) -> float:
    return a if a >= b else b


def minimum(a: float, b: float) -> float:
    return a if a <= b else b


def power(a: float, b: float) -> float:
    """a ** b; zero to a negative power is a division by zero, as in 0.0 ** -1.0."""
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError
    return math.pow(a, b)  # a ValueError for a negative base with a fractional exponent


def logsumexp(values: Sequence[float]) -> float:
    """log(sum(exp(v))), shifted by the maximum so that no exp overflows."""
    top = builtins.max(values)
    if top in (math.inf, -math.inf):
        return top
    return top + math.log(math.fsum([math.exp(v - top) for v in values]))


def total(values: Sequence[float]) -> float:
    """The correctly rounded sum; like plain addition (inf or nan) once the sum overflows."""
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):  # fsum refuses to overflow, or to add inf and -inf
        return builtins.sum(values)


def dot(values: Sequence[float]) -> float:
    """sum(ai * bi) for values a1..an, b1..bn."""
    half = len(values) // 2
    return builtins.sum(map(operator.mul, values[:half], values[half:]))


# Partials needing more than one expression. Written with operators only, they work on
# floats and on Scalars alike.
def pow_base_partial(a: Union[float, Scalar], b: Union[float, Scalar],
                     out: Union[float, Scalar]) -> Union[float, Scalar]:
    """d(a**b)/da = b * a**(b-1); +inf at a = 0 for 0 < b < 1, where the rule divides by zero."""
    if b == 0:
        return 0.0
    if a == 0 and b < 1:
        return math.inf
    try:
        return b * a ** (b - 1)
    except OverflowError:  # a tiny base to a negative power: the true value is beyond a float
        negative = a < 0 and (float(b) - 1) % 2 == 1
        return b * (-math.inf if negative else math.inf)


# ---------------------------------------------------------------------------------------
# The table.
NEG = Rule("neg", ("x",), "-x", ("-1.0",))
ABS = Rule("abs", ("x",), "abs(x)", ("1.0 if x > 0 else (-1.0 if x < 0 else 0.0)",),
           convention="abs'(0) = 0 (the middle of the subgradient [-1, 1]).", kink="x == 0")
EXP = Rule("exp", ("x",), "exp(x)", ("out",))
EXPM1 = Rule("expm1", ("x",), "expm1(x)", ("out + 1.0",))
LOG = Rule("log", ("x",), "log(x)", ("1.0 / x",), domain="x > 0")
LOG1P = Rule("log1p", ("x",), "log1p(x)", ("1.0 / (1.0 + x)",), domain="x > -1")
SQRT = Rule("sqrt", ("x",), "sqrt(x)", ("0.5 / out if out != 0 else inf",), domain="x >= 0",
            convention="sqrt'(0) = +inf (the one-sided limit).", kink="x == 0")
SIN = Rule("sin", ("x",), "sin(x)", ("cos(x)",))
COS = Rule("cos", ("x",), "cos(x)", ("-sin(x)",))
TAN = Rule("tan", ("x",), "tan(x)", ("1.0 + out * out",))
ATAN = Rule("atan", ("x",), "atan(x)", ("1.0 / (1.0 + x * x)",))
TANH = Rule("tanh", ("x",), "tanh(x)", ("1.0 - out * out",))
SIGMOID = Rule("sigmoid", ("x",), "sigmoid(x)", ("out * (1.0 - out)",))
SOFTPLUS = Rule("softplus", ("x",), "softplus(x)", ("sigmoid(x)",))
RELU = Rule("relu", ("x",), "relu(x)", ("1.0 if x > 0 else 0.0",),
            convention="relu'(0) = 0.", kink="x == 0")

ADD = Rule("add", ("a", "b"), "a + b", ("1.0", "1.0"))
SUB = Rule("sub", ("a", "b"), "a - b", ("1.0", "-1.0"))
MUL = Rule("mul", ("a", "b"), "a * b", ("b", "a"))
DIV = Rule("div", ("a", "b"), "a / b", ("1.0 / b", "-out / b"), domain="b != 0")
POW = Rule("pow", ("a", "b"), "pow(a, b)",
           ("pow_base_partial(a, b, out)", "out * log(a) if a > 0 else (0.0 if a == 0 else nan)"),
           domain="a > 0, or a = 0 with b >= 0, or a < 0 with an integer b",
           convention="At a = 0: d/da is +inf for 0 < b < 1; d/db is 0. For a < 0, d/db is nan.",
           kink="a == 0 and 0 < b < 1")
MAXIMUM = Rule("maximum", ("a", "b"), "maximum(a, b)",
               ("1.0 if a >= b else 0.0", "0.0 if a >= b else 1.0"),
               convention="On a tie the derivative goes to the first argument.", kink="a == b")
MINIMUM = Rule("minimum", ("a", "b"), "minimum(a, b)",
               ("1.0 if a <= b else 0.0", "0.0 if a <= b else 1.0"),
               convention="On a tie the derivative goes to the first argument.", kink="a == b")

SUM = NaryRule("sum", "total(xs)", "1.0")
DOT = NaryRule("dot", "dot(xs)", "partner", pairs=True)
LOGSUMEXP = NaryRule("logsumexp", "logsumexp(xs)", "exp(x - out)")

UNARY: Tuple[Rule, ...] = (NEG, ABS, EXP, EXPM1, LOG, LOG1P, SQRT, SIN, COS, TAN, ATAN, TANH,
                           SIGMOID, SOFTPLUS, RELU)
BINARY: Tuple[Rule, ...] = (ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM)
NARY: Tuple[NaryRule, ...] = (SUM, DOT, LOGSUMEXP)

# Every primitive by name: the registry tests, the compiler and the CLI enumerate.
RULES: Dict[str, Union[Rule, NaryRule]] = {
    rule.name: rule for group in (UNARY, BINARY, NARY) for rule in group}

# Each rule's function on floats, by rule name: what its name means in expressions on floats.
FLOAT_FUNCTIONS: Dict[str, object] = {
    "abs": abs, "exp": math.exp, "expm1": math.expm1, "log": math.log, "log1p": math.log1p,
    "sqrt": math.sqrt, "sin": math.sin, "cos": math.cos, "tan": math.tan, "atan": math.atan,
    "tanh": math.tanh, "sigmoid": sigmoid, "softplus": softplus, "relu": relu,
    "maximum": maximum, "minimum": minimum, "pow": power,
}
# Names that mean the same on floats and Scalars.
HELPERS: Dict[str, object] = {"pow_base_partial": pow_base_partial, "total": total,
                              "dot": dot, "logsumexp": logsumexp,
                              "inf": math.inf, "nan": math.nan}


def conventions() -> Dict[str, str]:
    """The documented convention of every rule that has a kink, by rule name."""
    return {name: rule.convention for name, rule in RULES.items()
            if getattr(rule, "kink", "")}
