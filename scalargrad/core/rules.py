"""The table of differentiation rules: every primitive, defined once.

Each rule is written the way a table of derivatives is written on paper: a formula for its
value, and one partial derivative per argument, as Python expressions over the arguments
(``x``; or ``a`` and ``b``) and ``out``, the value itself. Everything else is built from
these few strings:

- codegen.py writes them into the functions and operators that record nodes (the value
  and partials evaluated on floats, straight into a node; scalar.py makes them);
- higher-order derivatives evaluate the same partials on Scalars (functions.py), so they
  are recorded too;
- expression.py, check-grad and the CLI's notes read the names, domains and conventions.

Names the expressions may use: the arguments, ``out``, ``inf``, ``nan``, the helpers in
``HELPERS``, and the rules' own names as functions (``cos(x)``), which mean the float function
(``FLOAT_FUNCTIONS``: math's, or the helpers below) when recording, and scalargrad's function
of that rule (functions.py) when differentiating a derivative.

Three things every partial keeps, because derivatives of every order are the partials
differentiated again:

- **Dependence.** Where a special case gives a partial's value (a limit, a convention, a
  value beyond a float), the expression still depends on the arguments the way the partial
  does, so that its own derivatives are right, or infinite or NaN where they truly are, and
  never a silent 0 (a plain constant has derivative 0).
- **Accuracy.** Partials are written in forms that keep their relative accuracy over the
  whole float range (no ``1 - out*out`` once ``out`` has rounded to 1, no ``x*x`` that
  overflows), in which the derivatives recorded from them keep it too.
- **NaN.** A partial that depends on an argument is NaN where that argument is NaN, even at
  kinks decided by a comparison (which NaN fails).

Conventions where a derivative does not exist are part of each rule (``convention``), and
``kink`` says where they apply.
"""
from __future__ import annotations

import builtins
import math
import operator
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Tuple, Union

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

    ``shift``, for a rule that moves with its arguments (adding c to every argument adds c
    to the value and changes no partial: logsumexp), is an expression over ``xs`` for the
    amount to take off every argument first: the formula and the partials are evaluated on
    the shifted arguments (``out`` being the shifted value), and the shift added back to the
    value. Large arguments then cost no accuracy: ``exp(x - out)`` with x = 1e16 and
    out = 1e16 + log 2 rounded to 1e16 would give 1 where the partial is 1/2.
    """

    def __init__(self, name: str, formula: str, partial: str, pairs: bool = False,
                 shift: str = "") -> None:
        self.name = name
        self.formula = formula  # expression for the value over ``xs``, all argument values
        self.partial = partial  # expression for d out / d x, for each argument x
        self.pairs = pairs      # arguments are a1..an followed by b1..bn, paired ai with bi
        self.shift = shift      # expression over ``xs``: see above; "" for none
        self.domain = self.convention = self.kink = ""

    def __repr__(self) -> str:
        return f"NaryRule({self.name})"


class FunctionRule:
    """A primitive whose value and partials are Python functions, not expressions: one a
    user adds (scalargrad.primitive, custom_derivative: primitives.py), and stop_gradient.

    ``function`` computes the value on floats; ``derivative`` returns one partial per
    argument (a list), written with scalargrad's functions so that it works on floats (when
    a node is recorded) and on Scalars (to differentiate again), given the value as the
    keyword ``out`` when ``takes_out``; None for a rule no derivative passes through
    (stop_gradient): its nodes have no edges. ``arguments`` names the arguments.

    Its nodes keep, as an n-ary node does, their Scalar arguments in ``_a`` and the partials
    for them in ``_da`` (tuples), and every argument, numbers (as floats) included, in ``_b``.
    """

    def __init__(self, name: str, arguments: Tuple[str, ...], function: Callable[..., Any],
                 derivative: Optional[Callable[..., Sequence[Any]]],
                 takes_out: bool = False) -> None:
        self.name = name
        self.arguments = arguments
        self.function = function
        self.derivative = derivative
        self.takes_out = takes_out
        self.domain = self.convention = self.kink = ""

    def __repr__(self) -> str:
        return f"FunctionRule({self.name})"

    def partials(self, arguments: Sequence[Any], out: Any) -> Sequence[Any]:
        """The derivative's partials at these arguments (floats, or Scalars to differentiate
        again), given the value ``out`` if it takes it."""
        assert self.derivative is not None
        return self.derivative(*arguments, out=out) if self.takes_out else self.derivative(*arguments)


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
    return 0.0 if x <= 0.0 else x  # NaN, which compares false, stays NaN


def maximum(a: float, b: float) -> float:
    """The larger; a on a tie; NaN if either is NaN (a + b then), as IEEE's maximum."""
    return a if a >= b else (b if a < b else a + b)


def minimum(a: float, b: float) -> float:
    """The smaller; a on a tie; NaN if either is NaN."""
    return a if a <= b else (b if a > b else a + b)


def power(a: float, b: float) -> float:
    """a ** b; zero to a negative power is a division by zero, as in 0.0 ** -1.0."""
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError
    return math.pow(a, b)  # a ValueError for a negative base with a fractional exponent


def logsumexp(values: Sequence[float]) -> float:
    """log(sum(exp(v))), shifted by the maximum so that no exp overflows; the log of the
    sum as log1p of all terms but one (each term is at most 1, the largest exactly 1), so
    that a sum just above 1 keeps its digits. NaN if any value is NaN."""
    top = builtins.max(values)
    if not -math.inf < top < math.inf:  # +-inf, or NaN (max may also miss a NaN: see below)
        return math.nan if any(v != v for v in values) else top
    # (top is 0.0 when the arguments have been shifted already: logsumexp's shift)
    terms = [math.exp(v - top) for v in values] if top else list(map(math.exp, values))
    terms.append(-1.0)  # a NaN among the terms makes the sum NaN
    return top + math.log1p(math.fsum(terms))


def finite_max(values: Sequence[float]) -> float:
    """The largest value if finite, else 0.0: logsumexp's shift (an infinite or NaN shift
    would turn every argument into NaN)."""
    top = builtins.max(values)
    return top if -math.inf < top < math.inf else 0.0


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
# floats and on Scalars alike (on Scalars each operation is recorded, so the partial can be
# differentiated again).
def diverging(*variables: Union[float, Scalar]) -> Union[float, Scalar]:
    """+inf, standing for the one-sided limit of a partial that blows up like t**-c (c > 0)
    as t comes down to 0 (sqrt' at 0): every derivative of such a partial diverges too, with
    alternating signs (d/dt -> -inf, d2/dt2 -> +inf, ...). As inf * 2**-(sum of variables),
    it carries that pattern with respect to each variable, at every order."""
    return math.inf * 2.0 ** -builtins.sum(variables)


def pow_base_partial(a: Union[float, Scalar], b: Union[float, Scalar],
                     out: Union[float, Scalar]) -> Union[float, Scalar]:
    """d(a**b)/da = b * a**(b-1), depending on a and b at every order; at a = 0:

    - 0 < b < 1: +inf, the one-sided limit (``diverging``: its derivatives are the limits
      too, -inf with respect to a and to b);
    - b = 0: 0, the derivative along b = 0, where a**0 is 1 for every a.

    Where a**(b-1) is beyond a float (a tiny base to a negative power), b * (out / a): the
    same infinite value, whose derivatives are infinite (or NaN) too.
    """
    if a == 0:
        if b == 0:
            return 0.0
        if b < 1:
            return diverging(a, b)
    try:
        return b * a ** (b - 1)
    except OverflowError:
        if b != 0:
            return b * (out / a)
        if isinstance(b, (int, float)):  # only d/da of this partial is asked: 0 along b = 0
            return 0.0
        raise  # its derivative with respect to b, a**-1, is beyond a float


def tanh_slope(t: Union[float, Scalar]) -> Union[float, Scalar]:
    """tanh'(x) = 1 - tanh(x)**2 as 4t / (1 + t)**2 with t = exp(-2|x|): no cancellation
    where tanh(x) rounds to +-1, and no overflow for any x."""
    return 4.0 * t / ((1.0 + t) * (1.0 + t))


def one_minus_square(t: Union[float, Scalar]) -> Union[float, Scalar]:
    """1 - t*t: tanh' from t = tanh(x), exact enough while |x| < 1 (|t| < 0.77)."""
    return 1.0 - t * t


# ---------------------------------------------------------------------------------------
# The table.
NEG = Rule("neg", ("x",), "-x", ("-1.0",))
ABS = Rule("abs", ("x",), "abs(x)",
           ("1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else nan * x))",),
           convention="abs'(0) = 0 (the middle of the subgradient [-1, 1]); abs'' = 0, at 0 "
                      "too.", kink="x == 0")
EXP = Rule("exp", ("x",), "exp(x)", ("out",))
EXPM1 = Rule("expm1", ("x",), "expm1(x)", ("exp(x)",))  # not out + 1: it cancels for x << 0
LOG = Rule("log", ("x",), "log(x)", ("1.0 / x",), domain="x > 0")
LOG1P = Rule("log1p", ("x",), "log1p(x)", ("1.0 / (1.0 + x)",), domain="x > -1")
SQRT = Rule("sqrt", ("x",), "sqrt(x)", ("0.5 / out if out != 0 else diverging(x)",),
            domain="x >= 0",
            convention="sqrt'(0) = +inf, and every higher derivative at 0 its one-sided limit "
                       "(sqrt'' = -inf, sqrt''' = +inf, ...).", kink="x == 0")
SIN = Rule("sin", ("x",), "sin(x)", ("cos(x)",))
COS = Rule("cos", ("x",), "cos(x)", ("-sin(x)",))
TAN = Rule("tan", ("x",), "tan(x)", ("1.0 + out * out",))
# (Beyond 1e16, 1 + x*x is x*x: 1/x/x neither overflows nor underflows in between, there
# nor in its derivatives.)
ATAN = Rule("atan", ("x",), "atan(x)", ("1.0 / (1.0 + x * x) if -1e16 < x < 1e16 else 1.0 / x / x",))
# 1 - out*out is exact enough only while out is not near 1. sigmoid'(x) = tanh'(x/2) / 4,
# not out*(1 - out), which cancels once out is near 1 and whose derivative, from 1 - 2 out,
# cancels near 0 (sigmoid'' is -x/8 there).
TANH = Rule("tanh", ("x",), "tanh(x)",
            ("1.0 - out * out if -1.0 < x < 1.0 else tanh_slope(exp(-2.0 * abs(x)))",))
SIGMOID = Rule("sigmoid", ("x",), "sigmoid(x)",
               ("0.25 * one_minus_square(tanh(0.5 * x)) if -2.0 < x < 2.0 "
                "else 0.25 * tanh_slope(exp(-abs(x)))",))
SOFTPLUS = Rule("softplus", ("x",), "softplus(x)", ("sigmoid(x)",))
RELU = Rule("relu", ("x",), "relu(x)", ("0.0 if x <= 0 else (1.0 if x > 0 else nan * x)",),
            convention="relu'(0) = 0; relu'' = 0, at 0 too.", kink="x == 0")

ADD = Rule("add", ("a", "b"), "a + b", ("1.0", "1.0"))
SUB = Rule("sub", ("a", "b"), "a - b", ("1.0", "-1.0"))
MUL = Rule("mul", ("a", "b"), "a * b", ("b", "a"))
DIV = Rule("div", ("a", "b"), "a / b", ("1.0 / b", "-out / b"), domain="b != 0")
# d/db at a = 0 is 0 (b > 0: the limit; b = 0: the convention), as 0 - out for b > 0 so that
# its derivatives are the limits as a -> 0+ too; for a < 0 it is NaN, as nan * out.
POW = Rule("pow", ("a", "b"), "pow(a, b)",
           ("pow_base_partial(a, b, out)",
            "out * log(a) if a > 0 else ((0.0 if b == 0 else 0.0 - out) if a == 0 else nan * out)"),
           domain="a > 0, or a = 0 with b >= 0, or a < 0 with an integer b",
           convention="At a = 0: d/da is +inf for 0 < b < 1 and d/db is 0, and higher "
                      "derivatives are their one-sided limits as a -> 0+ (-inf for "
                      "d2/da2 and d2/da db when 0 < b < 1); at a = 0, b = 0 every derivative "
                      "is 0. For a < 0, d/db is nan, and so is every derivative taken "
                      "through it.",
           kink="a == 0 and 0 < b < 1")
MAXIMUM = Rule("maximum", ("a", "b"), "maximum(a, b)",
               ("1.0 if a >= b else (0.0 if a < b else nan * (a + b))",
                "0.0 if a >= b else (1.0 if a < b else nan * (a + b))"),
               convention="On a tie the derivative goes to the first argument; second "
                          "derivatives are 0, on a tie too.", kink="a == b")
MINIMUM = Rule("minimum", ("a", "b"), "minimum(a, b)",
               ("1.0 if a <= b else (0.0 if a > b else nan * (a + b))",
                "0.0 if a <= b else (1.0 if a > b else nan * (a + b))"),
               convention="On a tie the derivative goes to the first argument; second "
                          "derivatives are 0, on a tie too.", kink="a == b")

SUM = NaryRule("sum", "total(xs)", "1.0")
DOT = NaryRule("dot", "dot(xs)", "partner", pairs=True)
LOGSUMEXP = NaryRule("logsumexp", "logsumexp(xs)", "exp(x - out)", shift="finite_max(xs)")

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
HELPERS: Dict[str, object] = {"pow_base_partial": pow_base_partial, "diverging": diverging,
                              "tanh_slope": tanh_slope, "one_minus_square": one_minus_square,
                              "total": total, "dot": dot,
                              "logsumexp": logsumexp, "finite_max": finite_max,
                              "inf": math.inf, "nan": math.nan}


def conventions() -> Dict[str, str]:
    """The documented convention of every rule that has a kink, by rule name."""
    return {name: rule.convention for name, rule in RULES.items()
            if getattr(rule, "kink", "")}
