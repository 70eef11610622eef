"""scalargrad.check.expression: parsing, refusals with carets, limits, evaluation, random points."""
import ast
import builtins
import math
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scalargrad import DivisionByZero, DomainError, NumericOverflow, Scalar, check_gradients
from scalargrad.check.expression import (MAX_DEPTH, MAX_DRAWS, MAX_LENGTH, MAX_NODES, RANDOM_HIGH,
                                   RANDOM_LOW, ExpressionError, parse, random_points)


def sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


# ---------------------------------------------------------------------------------------
# Derivatives worked out by hand: (expression, point, value, {variable: derivative}).
HAND_DERIVED = [
    ("2*x**2 + 4*x + 3", {"x": 12.0},
     lambda x: 2 * x**2 + 4 * x + 3, {"x": lambda x: 4 * x + 4}),
    ("sin(x)*y + exp(x*y)", {"x": 0.5, "y": 2.0},
     lambda x, y: math.sin(x) * y + math.exp(x * y),
     {"x": lambda x, y: math.cos(x) * y + y * math.exp(x * y),
      "y": lambda x, y: math.sin(x) + x * math.exp(x * y)}),
    ("log(x)/x", {"x": 2.5},
     lambda x: math.log(x) / x, {"x": lambda x: (1 - math.log(x)) / x**2}),
    ("sqrt(x**2+y**2)", {"x": 3.0, "y": 4.0},
     lambda x, y: math.hypot(x, y),
     {"x": lambda x, y: x / math.hypot(x, y), "y": lambda x, y: y / math.hypot(x, y)}),
    ("tanh(x)", {"x": 0.3}, math.tanh, {"x": lambda x: 1 - math.tanh(x) ** 2}),
    ("sigmoid(x)", {"x": -1.2}, sigmoid, {"x": lambda x: sigmoid(x) * (1 - sigmoid(x))}),
    ("softplus(x)", {"x": 0.7}, lambda x: math.log1p(math.exp(x)), {"x": sigmoid}),
    ("pi*x**2 + e**x", {"x": 1.5},
     lambda x: math.pi * x**2 + math.e**x, {"x": lambda x: 2 * math.pi * x + math.e**x}),
    ("1.5e-3*x**3 - 2E2*x + 1_000", {"x": 2.0},
     lambda x: 1.5e-3 * x**3 - 200 * x + 1000, {"x": lambda x: 4.5e-3 * x**2 - 200}),
    ("x**y", {"x": 1.7, "y": 2.3},
     lambda x, y: x**y,
     {"x": lambda x, y: y * x ** (y - 1), "y": lambda x, y: x**y * math.log(x)}),
    ("-x**2 + +y", {"x": 3.0, "y": -1.0},
     lambda x, y: -x**2 + y, {"x": lambda x, y: -2 * x, "y": lambda x, y: 1.0}),
    ("atan(x/y)", {"x": 1.0, "y": 2.0},
     lambda x, y: math.atan(x / y),
     {"x": lambda x, y: y / (x**2 + y**2), "y": lambda x, y: -x / (x**2 + y**2)}),
    ("expm1(x)*cos(y)", {"x": 0.4, "y": 1.1},
     lambda x, y: math.expm1(x) * math.cos(y),
     {"x": lambda x, y: math.exp(x) * math.cos(y), "y": lambda x, y: -math.expm1(x) * math.sin(y)}),
    ("tan(x) + log1p(x)", {"x": 0.6},
     lambda x: math.tan(x) + math.log1p(x), {"x": lambda x: 1 + math.tan(x) ** 2 + 1 / (1 + x)}),
    ("maximum(x, y) + 3*minimum(x, y)", {"x": 1.0, "y": 2.0},
     lambda x, y: y + 3 * x, {"x": lambda x, y: 3.0, "y": lambda x, y: 1.0}),
    ("pow(x, 3) / (1 + x*x)", {"x": 0.7},
     lambda x: x**3 / (1 + x * x),
     {"x": lambda x: (3 * x**2 * (1 + x**2) - 2 * x**4) / (1 + x**2) ** 2}),
    ("abs(x)*x + relu(y - 1)*y", {"x": -2.0, "y": 3.0},
     lambda x, y: abs(x) * x + max(y - 1, 0) * y,
     {"x": lambda x, y: 2 * abs(x), "y": lambda x, y: 2 * y - 1}),
    ("7/2*x", {"x": 1.0}, lambda x: 3.5 * x, {"x": lambda x: 3.5}),
]


@pytest.mark.parametrize("text, point, value, derivatives", HAND_DERIVED,
                         ids=[case[0] for case in HAND_DERIVED])
def test_value_and_derivatives_match_hand_derived_formulas(text, point, value, derivatives):
    expression = parse(text)
    names = list(point)
    assert expression.variables == sorted(names)
    assert expression.evaluate(point) == pytest.approx(value(*point.values()), rel=1e-12)
    report = check_gradients(expression.as_function(names), list(point.values()), names=names)
    assert report.ok
    for check in report.inputs:
        expected = derivatives[check.name](*point.values())
        assert check.reverse == pytest.approx(expected, rel=1e-10, abs=1e-12)
        assert check.forward == pytest.approx(expected, rel=1e-10, abs=1e-12)


# ---------------------------------------------------------------------------------------
# Parsing and evaluation.
@pytest.mark.parametrize("text, normalized", [
    ("2*x**2 + 4*x + 3", "2 * x ** 2 + 4 * x + 3"),
    ("  sin( x )*y  ", "sin(x) * y"),
    ("(((x)))", "x"),
    ("-(x + 1)", "-(x + 1)"),
    ("1e-3*x", "0.001 * x"),
])
def test_str_is_the_normalized_expression(text, normalized):
    assert str(parse(text)) == normalized


def test_variables_are_the_sorted_free_names_without_constants():
    expression = parse("zeta*pi + alpha*e + sin(zeta) + beta")
    assert expression.variables == ["alpha", "beta", "zeta"]


def test_constants_pi_and_e():
    assert parse("pi").evaluate({}) == math.pi
    assert parse("e").evaluate({}) == math.e


def test_evaluate_returns_a_float_for_floats_and_a_scalar_for_scalars():
    expression = parse("x*y + 1")
    assert expression.evaluate({"x": 2, "y": 3.5}) == 8.0
    assert type(expression.evaluate({"x": 2, "y": 3.5})) is float
    result = expression.evaluate({"x": Scalar(2.0), "y": 3.5})
    assert isinstance(result, Scalar) and result.value == 8.0


def test_numbers_are_floats_so_division_is_true_division():
    assert parse("7/2").evaluate({}) == 3.5
    assert parse("2**-1").evaluate({}) == 0.5


def test_evaluate_names_missing_variables():
    with pytest.raises(ValueError, match="no value for x, y"):
        parse("x + y + z").evaluate({"z": 1.0})


def test_as_function_takes_arguments_in_the_given_order():
    function = parse("x - y").as_function(["y", "x"])
    assert function(1.0, 10.0) == 9.0
    with pytest.raises(TypeError, match="expected 2 arguments, got 1"):
        function(1.0)
    with pytest.raises(ValueError, match="no argument for y"):
        parse("x - y").as_function(["x"])


@pytest.mark.parametrize("text, env, error, message", [
    ("log(x)", {"x": -1.0}, DomainError, r"log\(-1\.0\): outside the domain of log"),
    ("1/x", {"x": 0.0}, DivisionByZero, r"div\(1\.0, 0\.0\): division by zero"),
    ("x/0", {"x": Scalar(1.0)}, DivisionByZero, r"div\(1\.0, 0\.0\): division by zero"),
    ("exp(x)", {"x": 1000.0}, NumericOverflow, r"exp\(1000\.0\)"),
    ("(-8)**(1/3)", {}, DomainError, r"pow\(-8\.0, 0\.333"),
])
def test_domain_errors_name_the_operation_and_value(text, env, error, message):
    with pytest.raises(error, match=message):
        parse(text).evaluate(env)


@pytest.mark.parametrize("text", ["9**9**9", "9**9**9**9", "10**400", "2**10000*0"])
def test_huge_powers_are_float_overflow_errors_not_big_integers(text):
    start = time.perf_counter()
    with pytest.raises(NumericOverflow, match="too large for a float"):
        parse(text).evaluate({})
    assert time.perf_counter() - start < 1.0


def test_text_never_reaches_eval_exec_or_compile(monkeypatch):
    """compile() may only build a syntax tree (that is what ast.parse does)."""
    real_compile = builtins.compile

    def compile_only_to_ast(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("eval or exec was called")

    monkeypatch.setattr(builtins, "compile", compile_only_to_ast)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert parse("sin(x)*y + exp(x*y)").evaluate({"x": 0.0, "y": 1.0}) == 1.0
    with pytest.raises(ExpressionError):
        parse("__import__('os').system('true')")


# ---------------------------------------------------------------------------------------
# Refusals: (text, message fragment, first column, end column) of the offending part.
REFUSED = [
    ("x.__class__", "attribute access is not allowed", 1, 11),
    ("(x).real", "attribute access is not allowed", 3, 8),
    ("().__class__", "attribute access is not allowed", 2, 12),
    ("x[0]", "subscripts are not allowed", 1, 4),
    ("lambda: 1", "lambda functions are not allowed", 0, 9),
    ("[x for x in y]", "comprehensions are not allowed", 0, 14),
    ("sum(x for x in y)", "unknown function sum", 0, 3),
    ("(x for x in y)", "comprehensions are not allowed", 0, 14),
    ("{x: 1 for x in y}", "comprehensions are not allowed", 0, 17),
    ("x if x else y", "conditional expressions are not allowed", 0, 13),
    ("x < y", "comparisons are not allowed", 0, 5),
    ("x and y", "'and' and 'or' are not allowed", 0, 7),
    ("not x", "the operator 'not' is not allowed", 0, 3),
    ("'abc'", "strings are not allowed", 0, 5),
    ("b'abc'", "strings are not allowed", 0, 6),
    ("f'{x}'", "f-strings are not allowed", 0, 6),
    ("x, y", "tuples (values separated by commas) are not allowed", 0, 4),
    ("[x]", "lists are not allowed", 0, 3),
    ("{x}", "sets are not allowed", 0, 3),
    ("{}", "dictionaries are not allowed", 0, 2),
    ("(y := 2)", "assignment expressions are not allowed", 1, 7),
    ("await x", "'await' is not allowed", 0, 7),
    ("(yield x)", "'yield' is not allowed", 1, 8),
    ("sin(x=1)", "keyword arguments are not allowed", 4, 7),
    ("sin(**k)", "keyword arguments are not allowed", 4, 7),
    ("maximum(*xs)", "starred arguments are not allowed", 8, 11),
    ("__import__('os')", "names with double underscores are not allowed", 0, 10),
    ("x + __builtins__", "names with double underscores are not allowed", 4, 16),
    ("open('f')", "unknown function open", 0, 4),
    ("x(1)", "unknown function x", 0, 1),
    ("sin(x)(y)", "only functions named directly can be called", 0, 6),
    ("x.sin(y)", "only functions named directly can be called", 0, 5),
    ("sin(x, y)", "sin takes 1 argument, not 2", 0, 9),
    ("maximum(x)", "maximum takes 2 arguments, not 1", 0, 10),
    ("sin", "sin is a function: call it, as in sin(x)", 0, 3),
    ("x // y", "the operator '//' is not allowed", 2, 4),
    ("(x)%(y)", "the operator '%' is not allowed", 3, 4),
    ("x @ y", "the operator '@' is not allowed", 2, 3),
    ("x << 1", "the operator '<<' is not allowed", 2, 4),
    ("x >> 1", "the operator '>>' is not allowed", 2, 4),
    ("x | y", "the operator '|' is not allowed", 2, 3),
    ("x ^ y", "the operator '^' is not allowed", 2, 3),
    ("x & y", "the operator '&' is not allowed", 2, 3),
    ("~x", "the operator '~' is not allowed", 0, 1),
    ("1j", "complex numbers are not allowed", 0, 2),
    ("x * 2.5J", "complex numbers are not allowed", 4, 8),
    ("True", "True is not a number", 0, 4),
    ("None", "None is not a number", 0, 4),
    ("...", "Ellipsis is not a number", 0, 3),
    ("1e999999", "the number is too large for a float", 0, 8),
    ("1" * 400, "the number is too large for a float", 0, 400),
    ("x é", "the character 'é' (U+00E9) is not allowed", 2, 3),
    ("x\ty", "the character '\\t' (U+0009) is not allowed", 1, 2),
    ("x\n+ y", "the expression must be on one line", 1, 2),
]


@pytest.mark.parametrize("text, message, start, end", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_constructs_point_at_the_offending_part(text, message, start, end):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    error = caught.value
    assert message in error.message
    assert (error.col_start, error.col_end) == (start, end)
    if len(text) < 70:  # longer texts are shown as a window
        shown = text.replace("\t", "?").replace("\n", "?")  # unprintable characters
        carets = " " * start + "^" * (end - start)
        assert error.format().splitlines()[1:] == ["  " + shown, "  " + carets]


def test_format_shows_message_text_and_carets():
    with pytest.raises(ExpressionError) as caught:
        parse("x.__class__")
    assert caught.value.format() == ("attribute access is not allowed\n"
                                     "  x.__class__\n"
                                     "   ^^^^^^^^^^")


@pytest.mark.parametrize("text, column", [
    ("x +", 3),
    ("1 +* 2", 3),
    ("(((((", 4),
    ("sin(x", 3),
    ("x)", 1),
    ("x = 1", 2),
    ("$x", 0),
])
def test_syntax_errors_point_at_the_offset(text, column):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    error = caught.value
    assert error.message.startswith("cannot parse the expression: ")
    assert error.col_start == column
    assert error.format().splitlines()[2] == "  " + " " * column + "^" * (error.col_end - column)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_expression(text):
    with pytest.raises(ExpressionError, match="the expression is empty"):
        parse(text)


# ---------------------------------------------------------------------------------------
# Limits.
def balanced_sum(leaves: int) -> str:
    """x + x + ... as a balanced tree of additions: many nodes, little depth."""
    terms = ["x"] * leaves
    while len(terms) > 1:
        terms = [f"({' + '.join(terms[i:i + 2])})" for i in range(0, len(terms), 2)]
    return terms[0]


def test_length_limit():
    assert parse("x" + " " * (MAX_LENGTH - 1)).variables == ["x"]
    with pytest.raises(ExpressionError, match=f"too long: {MAX_LENGTH + 1} characters "
                                              f"\\(the limit is {MAX_LENGTH}\\)"):
        parse("x" + " " * MAX_LENGTH)


def test_a_very_long_text_is_refused_quickly_and_shown_as_a_window():
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        parse("x" * 10**6)
    assert time.perf_counter() - start < 1.0
    shown = caught.value.format().splitlines()[1]
    assert len(shown) < 100 and shown.strip().startswith("...")


def test_node_limit():
    parse(balanced_sum(MAX_NODES // 2))  # n leaves and n - 1 additions
    with pytest.raises(ExpressionError, match=f"too large: more than {MAX_NODES}"):
        parse(balanced_sum(MAX_NODES // 2 + 1))


@pytest.mark.parametrize("make, message", [
    (lambda n: "-" * (n - 1) + "x", "too deeply nested: more than 100 levels"),
    (lambda n: "sin(" * (n - 1) + "x" + ")" * (n - 1), "too deeply nested: more than 100 levels"),
    (lambda n: "+".join(["x"] * n), "too long a chain: more than 100 terms in a row"),
    (lambda n: "-".join(["x*y"] * (n - 1)), "too long a chain: more than 100 terms in a row"),
    (lambda n: "x" + "**x" * (n - 1), "too long a chain: more than 100 terms in a row"),
])
def test_depth_limit(make, message):
    """A chain of n - 1 operators is n levels deep; the message names what was written: a
    chain of terms in a row (a flat sum of 101 terms), or nesting."""
    assert MAX_DEPTH == 100
    parse(make(MAX_DEPTH))
    with pytest.raises(ExpressionError, match=message):
        parse(make(MAX_DEPTH + 1))


def test_deep_parentheses_are_a_syntax_error_not_a_crash():
    with pytest.raises(ExpressionError, match="too many nested parentheses"):
        parse("(" * 300 + "x" + ")" * 300)


@pytest.mark.parametrize("error", [RecursionError, MemoryError])
def test_parser_exhaustion_is_reported_as_too_deeply_nested(monkeypatch, error):
    def exhausted(*args, **kwargs):
        raise error

    monkeypatch.setattr(ast, "parse", exhausted)
    with pytest.raises(ExpressionError, match="too deeply nested"):
        parse("x")


def test_evaluation_of_the_deepest_allowed_tree_does_not_recurse():
    expression = parse("+".join(["x"] * MAX_DEPTH))
    assert expression.evaluate({"x": 1.0}) == MAX_DEPTH
    assert expression.evaluate({"x": Scalar(1.0)}).value == MAX_DEPTH


# ---------------------------------------------------------------------------------------
# Random points.
def test_random_points_are_seeded_rounded_and_in_range():
    expression = parse("x*y")
    points = random_points(expression, 5, seed=7)
    assert points == random_points(expression, 5, seed=7)
    assert points != random_points(expression, 5, seed=8)
    for point in points:
        assert list(point) == ["x", "y"]
        for value in point.values():
            assert RANDOM_LOW <= value <= RANDOM_HIGH
            assert value == round(value, 6)


def test_random_points_stay_in_the_domain():
    points = random_points(parse("log(x) + sqrt(1 - y) + 1/z"), 20)
    assert all(p["x"] > 0 and p["y"] <= 1 and p["z"] != 0 for p in points)


def test_random_points_keep_fixed_values():
    points = random_points(parse("x**y"), 3, fixed={"y": 2.5})
    assert all(p["y"] == 2.5 and p["x"] >= 0 for p in points)


def test_random_points_give_up_with_the_reason():
    with pytest.raises(ValueError, match=f"no point where the expression is defined in "
                                         f"{MAX_DRAWS} random draws.*sqrt"):
        random_points(parse("sqrt(x - 10)"), 1)


# ---------------------------------------------------------------------------------------
# Property: random expressions evaluate like plain Python and pass the gradient check.
# A tree is ("x",), ("y",), ("number", v), ("neg", t), (op, a, b), ("pow", t, n) or
# (function, t). value_and_derivatives computes it independently with the math module.
BOUND = 1e3  # larger intermediate values are filtered out: finite differences lose digits
FUNCTIONS = {  # name: (value, derivative)
    "sin": (math.sin, math.cos),
    "cos": (math.cos, lambda v: -math.sin(v)),
    "tanh": (math.tanh, lambda v: 1 - math.tanh(v) ** 2),
    "atan": (math.atan, lambda v: 1 / (1 + v * v)),
    "sigmoid": (sigmoid, lambda v: sigmoid(v) * (1 - sigmoid(v))),
    "exp": (math.exp, math.exp),
}

numbers = st.one_of(st.integers(0, 20).map(float),
                    st.floats(1e-6, 100, allow_nan=False, allow_infinity=False))
leaves = st.one_of(st.just(("x",)), st.just(("y",)), numbers.map(lambda v: ("number", v)))


def extend(children):
    return st.one_of(
        children.map(lambda t: ("neg", t)),
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children),
        st.tuples(st.just("pow"), children, st.integers(0, 3)),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), children),
    )


trees = st.recursive(leaves, extend, max_leaves=10)


def render(tree) -> str:
    kind = tree[0]
    if kind in ("x", "y"):
        return kind
    if kind == "number":
        return repr(tree[1])
    if kind == "neg":
        return f"(-{render(tree[1])})"
    if kind == "pow":
        return f"({render(tree[1])} ** {tree[2]})"
    if kind in FUNCTIONS:
        return f"{kind}({render(tree[1])})"
    return f"({render(tree[1])} {kind} {render(tree[2])})"


def value_and_derivatives(tree, x, y):
    """(value, d/dx, d/dy) by the chain rule, or None where the tree is out of bounds."""
    kind = tree[0]
    if kind == "x":
        return x, 1.0, 0.0
    if kind == "y":
        return y, 0.0, 1.0
    if kind == "number":
        return tree[1], 0.0, 0.0
    a = value_and_derivatives(tree[1], x, y)
    if a is None:
        return None
    v, dx, dy = a
    if kind == "neg":
        result = (-v, -dx, -dy)
    elif kind == "pow":
        n = tree[2]
        scale = n * v ** (n - 1) if n else 0.0
        result = (v**n, scale * dx, scale * dy)
    elif kind in FUNCTIONS:
        if kind == "exp" and abs(v) > 5:
            return None
        value, derivative = FUNCTIONS[kind]
        result = (value(v), derivative(v) * dx, derivative(v) * dy)
    else:
        b = value_and_derivatives(tree[2], x, y)
        if b is None:
            return None
        w, ex, ey = b
        if kind == "+":
            result = (v + w, dx + ex, dy + ey)
        elif kind == "-":
            result = (v - w, dx - ex, dy - ey)
        elif kind == "*":
            result = (v * w, dx * w + v * ex, dy * w + v * ey)
        else:
            if abs(w) < 0.1:
                return None
            result = (v / w, (dx * w - v * ex) / w**2, (dy * w - v * ey) / w**2)
    return result if all(abs(r) <= BOUND for r in result) else None


# No subnormals: there the engine's partial of x**0 (0 * x**-1) overflows.
coordinates = st.floats(-2, 2, allow_subnormal=False)


@settings(max_examples=150, deadline=None)
@given(trees, coordinates, coordinates)
def test_random_expressions_evaluate_and_differentiate_like_plain_python(tree, x, y):
    expected = value_and_derivatives(tree, x, y)
    assume(expected is not None)
    value, dx, dy = expected
    expression = parse(render(tree))
    assert set(expression.variables) <= {"x", "y"}
    assert expression.evaluate({"x": x, "y": y}) == pytest.approx(value, rel=1e-12, abs=1e-12)
    # Richardson's stencil: a central difference's error, about f'''(x) h^2 / 6, passes the
    # tolerance for steep enough cubes, such as (31 x)^3 at 0 (1.1e-6)
    report = check_gradients(expression.as_function(["x", "y"]), [x, y], names=["x", "y"],
                             richardson=True)
    assert report.ok, report
    for check, derivative in zip(report.inputs, (dx, dy)):
        assert check.reverse == pytest.approx(derivative, rel=1e-9, abs=1e-9)
        assert check.forward == pytest.approx(derivative, rel=1e-9, abs=1e-9)
