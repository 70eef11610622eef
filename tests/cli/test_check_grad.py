"""`scalargrad check-grad`, run in-process with click's CliRunner."""
import json
import math
import time

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad_cli.check_grad as check_grad_module
from scalargrad.check.expression import MAX_DEPTH, MAX_LENGTH, MAX_NODES
from scalargrad.check.finite_differences import CENTRAL_STEP
from scalargrad_cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, ["check-grad", *args])


def run_json(*args):
    result = run(*args, "--json")
    return result, json.loads(result.stdout)


def assert_bad_input(result, message):
    """Exit status 2 with "Error: ..." on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr


# ---------------------------------------------------------------------------------------
# Agreement, in JSON, against derivatives worked out by hand.
def test_polynomial_from_the_issue():
    result, document = run_json("2*x**2 + 4*x + 3", "--at", "x=12")
    assert result.exit_code == 0
    assert document["expression"] == "2 * x ** 2 + 4 * x + 3"
    assert document["point"] == {"x": 12.0}
    assert document["value"] == 339.0
    x = document["variables"]["x"]
    assert x["reverse"] == x["forward"] == 52.0
    assert x["finite_difference"] == pytest.approx(52.0, rel=1e-9)
    assert x["ok"] is True and document["ok"] is True
    assert document["nondifferentiable"] == []


def test_json_document_has_exactly_the_documented_fields():
    result, document = run_json("x*y", "--at", "x=1,y=2")
    assert set(document) == {"expression", "point", "value", "variables", "nondifferentiable",
                             "ok"}
    assert set(document["variables"]["x"]) == {"reverse", "forward", "finite_difference",
                                               "abs_error", "rel_error", "ok", "stencil",
                                               "note"}
    assert document["variables"]["x"]["stencil"] == "central"
    assert document["variables"]["x"]["note"] is None
    assert result.stderr == ""


@pytest.mark.parametrize("at", [["--at", "x=0.5", "--at", "y=2"], ["--at", "x=0.5,y=2"],
                                ["--at", " y = 2 , x = 1/2 "]])
def test_two_variables_given_either_way(at):
    result, document = run_json("sin(x)*y + exp(x*y)", *at)
    x, y = 0.5, 2.0
    assert result.exit_code == 0
    assert document["point"] == {"x": x, "y": y}
    assert document["value"] == pytest.approx(math.sin(x) * y + math.exp(x * y), rel=1e-12)
    dx = math.cos(x) * y + y * math.exp(x * y)
    dy = math.sin(x) + x * math.exp(x * y)
    assert document["variables"]["x"]["reverse"] == pytest.approx(dx, rel=1e-12)
    assert document["variables"]["y"]["forward"] == pytest.approx(dy, rel=1e-12)


@pytest.mark.parametrize("expression, at, derivatives", [
    ("log(x)/x", "x=2", {"x": (1 - math.log(2)) / 4}),
    ("sqrt(x**2 + y**2)", "x=3,y=4", {"x": 0.6, "y": 0.8}),
    ("tanh(x)", "x=0.5", {"x": 1 - math.tanh(0.5) ** 2}),
    ("sigmoid(x)", "x=0", {"x": 0.25}),
    ("pi*x + e**x", "x=1", {"x": math.pi + math.e}),
    ("2.5e-3*x**2 + 1E3*x", "x=10", {"x": 2 * 2.5e-3 * 10 + 1000}),
    ("sin(x)", "x=pi/3", {"x": 0.5}),
])
def test_hand_derived_derivatives(expression, at, derivatives):
    result, document = run_json(expression, "--at", at)
    assert result.exit_code == 0
    for name, expected in derivatives.items():
        check = document["variables"][name]
        assert check["reverse"] == pytest.approx(expected, rel=1e-12)
        assert check["forward"] == pytest.approx(expected, rel=1e-12)
        assert check["finite_difference"] == pytest.approx(expected, rel=1e-6)


def test_eps_sets_the_finite_difference_step():
    """The central difference of x**3 at 1 is exactly 3 + h**2, so the step shows."""
    result, document = run_json("x**3", "--at", "x=1", "--eps", "1e-2")
    assert document["variables"]["x"]["finite_difference"] == pytest.approx(3 + 1e-4, rel=1e-9)
    assert result.exit_code == 1


def test_richardson_finite_differences_are_closer():
    _, central = run_json("exp(x)", "--at", "x=1")
    _, richardson = run_json("exp(x)", "--at", "x=1", "--richardson")
    assert (richardson["variables"]["x"]["abs_error"]
            < central["variables"]["x"]["abs_error"])


# ---------------------------------------------------------------------------------------
# Text output.
def test_text_output_shows_expression_point_value_and_table():
    result = run("sin(x)*y + exp(x*y)", "--at", "x=0.5", "--at", "y=2")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "expression  sin(x) * y + exp(x * y)"
    assert lines[1] == "point       x = 0.5, y = 2.0"
    assert lines[2].startswith("value       3.67713290566")
    assert "first derivatives" in result.stdout
    for heading in ("variable", "reverse", "forward", "finite diff", "abs err", "rel err"):
        assert heading in result.stdout
    rows = [line.split() for line in lines if line.startswith(("x ", "y "))]
    assert [row[0] for row in rows] == ["x", "y"] and all(row[-1] == "pass" for row in rows)
    assert lines[-1].startswith("ok: reverse mode, forward mode and finite differences agree")


def test_an_expression_without_variables():
    result = run("2 + 3*pi")
    assert result.exit_code == 0
    assert "point       (no variables)" in result.stdout
    assert f"value       {2 + 3 * math.pi!r}" in result.stdout


def test_help_documents_defaults_exit_status_and_limits():
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for fragment in ("[default: 1e-05", "[default: 1e-06", "[default: 0]", "--richardson",
                     "--random N", "Exit status: 0", "1 when any disagrees", "2 for bad input",
                     f"at most {MAX_LENGTH} characters", f"{MAX_NODES} numbers",
                     f"{MAX_DEPTH} levels"):
        assert fragment in text


def test_an_expression_starting_with_minus_may_also_go_after_double_dash():
    result = run("--at", "x=3", "--", "-x**2")
    assert result.exit_code == 0
    assert "expression  -x ** 2" in result.stdout


@pytest.mark.parametrize("args", [
    ["-x*y", "--at", "x=1,y=2"],
    ["--at", "x=1,y=2", "-x*y"],
    ["--at=x=1,y=2", "-x*y"],
    ["--at", "x=1", "-x*y", "--at=y=2", "--rtol", "1e-6"],
])
def test_an_expression_may_start_with_minus(args):
    """-x*y: d/dx = -y = -2, d/dy = -x = -1; options before and after it still count."""
    result, document = run_json(*args)
    assert result.exit_code == 0, result.output
    assert document["expression"] == "-x * y" and document["point"] == {"x": 1.0, "y": 2.0}
    assert document["variables"]["x"]["reverse"] == -2.0
    assert document["variables"]["y"]["forward"] == -1.0


def test_minus_a_function_call():
    result, document = run_json("-sin(x)", "--at", "x=1")
    assert result.exit_code == 0
    assert document["variables"]["x"]["reverse"] == pytest.approx(-math.cos(1.0), rel=1e-12)


def test_an_expression_that_looks_like_a_short_option():
    result, document = run_json("-x", "--at", "x=3")
    assert result.exit_code == 0 and document["value"] == -3.0
    assert document["variables"]["x"]["reverse"] == -1.0


def test_option_values_starting_with_minus_stay_option_values():
    result, document = run_json("--seed", "-3", "-x", "--random", "2")
    assert result.exit_code == 0 and document["seed"] == -3
    assert document == run_json("-x", "--random", "2", "--seed=-3")[1]


def test_dash_h_is_still_help_and_the_expression_h_goes_after_double_dash():
    result = run("-h")
    assert result.exit_code == 0 and "Usage:" in result.stdout
    assert "An expression may start with '-'" in " ".join(result.stdout.split())
    result = run("--json", "--at", "h=2", "--", "-h")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["variables"]["h"]["reverse"] == -1.0


def test_double_minus_name_is_an_unknown_option_but_other_double_minus_is_an_expression():
    result = run("--x", "--at", "x=1")
    assert result.exit_code == 2 and result.stderr == "Error: No such option '--x'.\n"
    result, document = run_json("--x*y", "--at", "x=1,y=3")  # -(-x)*y
    assert result.exit_code == 0 and document["variables"]["x"]["reverse"] == 3.0


# ---------------------------------------------------------------------------------------
# Disagreement: exit status 1.
def test_relu_at_its_kink_disagrees_with_a_note():
    result = run("relu(x)", "--at", "x=0")
    assert result.exit_code == 1
    assert ("note: relu(0.0) is not differentiable there; scalargrad's convention: "
            "relu'(0) = 0; relu'' = 0, at 0 too. Finite differences may disagree there."
            ) in result.stdout
    assert "FAIL: the derivatives disagree for x" in result.stdout


def test_relu_at_its_kink_in_json():
    result, document = run_json("relu(x)", "--at", "x=0")
    assert result.exit_code == 1
    x = document["variables"]["x"]
    assert (x["reverse"], x["forward"]) == (0.0, 0.0)
    assert x["finite_difference"] == pytest.approx(0.5)
    assert x["ok"] is False and document["ok"] is False
    assert document["nondifferentiable"] == ["relu(0.0)"]


def test_abs_at_zero_agrees_but_still_gets_the_note():
    result = run("abs(x) + abs(x)", "--at", "x=0")
    assert result.exit_code == 0
    assert result.stdout.count("note: abs(0.0) is not differentiable there") == 1
    assert "abs'(0) = 0" in result.stdout


def test_sqrt_at_zero_reports_infinities_as_strings_in_json():
    # one-sided differences grow without bound (c / sqrt(h)) towards sqrt'(0) = inf: they
    # do not settle as the step shrinks, so they cannot check it
    result, document = run_json("sqrt(x)", "--at", "x=0")
    assert result.exit_code == 0
    check = document["variables"]["x"]
    assert check["reverse"] == check["forward"] == "inf"
    assert check["finite_difference"] is None and check["ok"] is None
    assert "do not settle when the step shrinks" in check["note"]
    assert document["nondifferentiable"] == ["sqrt(0.0)"]


def test_zero_tolerance_fails_where_finite_differences_round():
    result = run("x**3", "--at", "x=1.1", "--rtol", "0", "--atol", "0")
    assert result.exit_code == 1
    assert "FAIL: the derivatives disagree for x (rtol=0, atol=0)" in result.stdout


def test_loose_tolerance_passes_a_kink():
    assert run("relu(x)", "--at", "x=0", "--atol", "0.6").exit_code == 0


# ---------------------------------------------------------------------------------------
# Random points.
def test_random_points_json_shape_and_seed():
    result, document = run_json("log(x)*y", "--random", "4", "--seed", "3")
    assert result.exit_code == 0
    assert set(document) == {"expression", "seed", "points", "ok"}
    assert document["seed"] == 3 and document["ok"] is True
    assert len(document["points"]) == 4
    for point in document["points"]:
        assert set(point) == {"point", "value", "variables", "nondifferentiable", "ok"}
        x = point["point"]["x"]
        assert x > 0  # inside log's domain
        assert point["variables"]["y"]["reverse"] == pytest.approx(math.log(x), rel=1e-12)
    assert run_json("log(x)*y", "--random", "4", "--seed", "3")[1] == document
    assert run_json("log(x)*y", "--random", "4", "--seed", "4")[1] != document


def test_random_points_with_fixed_values():
    result, document = run_json("x**y", "--random", "3", "--at", "y=2.5")
    assert result.exit_code == 0
    assert all(point["point"]["y"] == 2.5 for point in document["points"])


def test_random_points_text_output_labels_each_point():
    result = run("x*y", "--random", "2")
    assert result.exit_code == 0
    assert "point 1/2" in result.stdout and "point 2/2" in result.stdout


def test_random_points_outside_any_domain():
    assert_bad_input(run("sqrt(x - 10)", "--random", "1"),
                     "found no point where the expression is defined in 100 random draws")


@pytest.mark.parametrize("count", ["0", "101", "many"])
def test_random_count_out_of_range(count):
    result = run("x", "--random", count)
    assert_bad_input(result, "Error: Invalid value for '--random'")
    assert result.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------
# Bad input: exit status 2 with a message.
def test_missing_variables_are_listed():
    assert_bad_input(run("x*y*z", "--at", "y=1"),
                     "no value for x, z: give --at x=VALUE --at z=VALUE, or use --random N")


def test_unknown_variables_are_refused():
    assert_bad_input(run("x", "--at", "x=1", "--at", "y=2,pi=3"),
                     "--at names y, pi, which the expression does not use (its variables: x)")


def test_repeated_variable_is_refused():
    assert_bad_input(run("x", "--at", "x=1", "--at", "x=2"), "--at gives x twice")


@pytest.mark.parametrize("at, message", [
    ("x", "--at expects NAME=VALUE, as in x=0.5, not 'x'"),
    ("x=", "--at expects NAME=VALUE, as in x=0.5, not 'x='"),
    ("=1", "--at expects NAME=VALUE, as in x=0.5, not '=1'"),
    ("1x=2", "--at expects NAME=VALUE, as in x=0.5, not '1x=2'"),
    ("x=1,", "--at expects NAME=VALUE, as in x=0.5, not ''"),
    ("x=abc", "--at x: the value must be a number or a constant expression such as pi/4"),
    ("x=nan", "--at x: the value must be a number or a constant expression"),
    ("x=1..2", "--at x: cannot parse the expression: invalid syntax\n  1..2\n    ^^\n"),
    ("x=1e999", "--at x: the number is too large for a float"),
    ("x=1e308*10", "--at x: the value is inf"),
    ("x=9**9**9", "--at x: pow(9.0, 387420489.0): the result is too large for a float"),
    ("x=log(0)", "--at x: log(0.0): outside the domain of log"),
])
def test_malformed_at_values(at, message):
    assert_bad_input(run("x", "--at", at), message)


@pytest.mark.parametrize("expression, at, message", [
    ("log(x)", "x=-1", "Error: at x = -1.0: log(-1.0): outside the domain of log (x > 0)\n"),
    ("1/x", "x=0", "Error: at x = 0.0: div(1.0, 0.0): division by zero\n"),
    ("exp(x)", "x=1000", "Error: at x = 1000.0: exp(1000.0): the result is too large"),
    ("x*x", "x=1e200", "Error: at x = 1e+200: the value is inf (overflow)\n"),
])
def test_errors_at_the_point_are_one_line(expression, at, message):
    result = run(expression, "--at", at)
    assert_bad_input(result, message)
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("expression", ["9**9**9", "9**9**9**9", "10**400"])
def test_huge_constant_powers_overflow_quickly(expression):
    start = time.perf_counter()
    assert_bad_input(run(expression), "the result is too large for a float")
    assert time.perf_counter() - start < 2.0


def test_refused_expression_shows_a_caret_under_the_offending_part():
    result = run("x.__class__", "--at", "x=1")
    assert_bad_input(result, "")
    assert result.stderr == ("Error: attribute access is not allowed\n"
                             "  x.__class__\n"
                             "   ^^^^^^^^^^\n")


REFUSED = [
    ("x.real", "attribute access is not allowed"),
    ("x[0]", "subscripts are not allowed"),
    ("lambda: 1", "lambda functions are not allowed"),
    ("[x for x in y]", "comprehensions are not allowed"),
    ("x if x else y", "conditional expressions are not allowed"),
    ("x < y", "comparisons are not allowed"),
    ("x or y", "'and' and 'or' are not allowed"),
    ("'abc'", "strings are not allowed"),
    ("b'abc'", "strings are not allowed"),
    ("f'{x}'", "f-strings are not allowed"),
    ("sin(x=1)", "keyword arguments are not allowed"),
    ("maximum(*x)", "starred arguments are not allowed"),
    ("__import__('os')", "names with double underscores are not allowed"),
    ("eval('1')", "unknown function eval"),
    ("sin(x)(x)", "only functions named directly can be called"),
    ("sin(x, x)", "sin takes 1 argument, not 2"),
    ("x // 2", "the operator '//' is not allowed"),
    ("x % 2", "the operator '%' is not allowed"),
    ("x @ x", "the operator '@' is not allowed"),
    ("x ^ 2", "the operator '^' is not allowed"),
    ("~x", "the operator '~' is not allowed"),
    ("1j*x", "complex numbers are not allowed"),
    ("x, x", "tuples (values separated by commas) are not allowed"),
]


@pytest.mark.parametrize("expression, message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_constructs(expression, message):
    result = run(expression, "--at", "x=1")
    assert_bad_input(result, f"Error: {message}")
    assert result.stderr.splitlines()[1] == f"  {expression}"
    assert set(result.stderr.splitlines()[2].strip()) == {"^"}


@pytest.mark.parametrize("expression, message", [
    ("x" * (MAX_LENGTH + 1), f"the expression is too long: {MAX_LENGTH + 1} characters"),
    ("-" * MAX_DEPTH + "x", f"too deeply nested: more than {MAX_DEPTH} levels"),
    ("(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
    ("1" * 400, "the number is too large for a float"),
])
def test_limits(expression, message):
    assert_bad_input(run("--at", "x=1", "--", expression), message)


def test_node_limit():
    terms = ["x"] * (MAX_NODES // 2 + 1)
    while len(terms) > 1:  # balanced, so the depth stays small
        terms = [f"({'+'.join(terms[i:i + 2])})" for i in range(0, len(terms), 2)]
    assert_bad_input(run(terms[0], "--at", "x=1"), f"more than {MAX_NODES} numbers")


def test_a_bug_is_not_disguised_as_bad_input(monkeypatch):
    """Only scalargrad's errors and input problems are bad input: a bug propagates (click
    then exits 1 with its traceback), so that it gets seen and fixed."""
    def broken(*args, **kwargs):
        raise RuntimeError("something broke")

    monkeypatch.setattr(check_grad_module, "check_gradients", broken)
    result = run("x", "--at", "x=1")
    assert isinstance(result.exception, RuntimeError)
    assert result.exit_code == 1 and "bad input" not in result.output
    assert not result.stderr.startswith("Error:")


# ---------------------------------------------------------------------------------------
# Where a finite-difference step leaves the domain: not bad input.
def test_exp_next_to_overflow_is_checked_with_a_smaller_step():
    """exp(709.78) is finite, exp(709.78 + 0.0043) is not."""
    result, document = run_json("exp(x)", "--at", "x=709.78")
    assert result.exit_code == 0, result.output
    x = document["variables"]["x"]
    assert x["reverse"] == x["forward"] == pytest.approx(math.exp(709.78), rel=1e-15)
    assert x["finite_difference"] == pytest.approx(math.exp(709.78), rel=1e-9)
    assert x["stencil"] == "richardson" and x["ok"] is True
    assert "a smaller step" in x["note"] and "too large for a float" in x["note"]


def test_power_of_a_negative_base_is_not_bad_input():
    """x**y at (-2, 2): d/dx = y x^(y-1) = -4 is checkable; d/dy (nan by convention) is not:
    pow is undefined at non-integer y for x < 0, on both sides of y = 2."""
    result, document = run_json("x**y", "--at", "x=-2,y=2")
    x, y = document["variables"]["x"], document["variables"]["y"]
    assert x["reverse"] == -4.0 and x["finite_difference"] == pytest.approx(-4.0, rel=1e-9)
    assert y["finite_difference"] is None and y["ok"] is None and y["stencil"] is None
    assert (y["abs_error"], y["rel_error"]) == (None, None)
    assert y["note"].startswith("not checkable by finite differences")
    assert "outside the domain of pow" in y["note"]
    # 1 only if something checkable disagrees: forward mode's d/dx is checkable
    assert result.exit_code == (0 if x["forward"] == -4.0 else 1)
    assert document["ok"] is (x["forward"] == -4.0)


def test_a_derivative_that_is_not_checkable_shows_in_the_table_with_a_note():
    result = run("(-2)**y", "--at", "y=2")
    assert result.exit_code == 0  # nothing checkable disagrees
    row = next(line.split() for line in result.stdout.splitlines() if line.startswith("y "))
    assert row[-4:] == ["n/a", "n/a", "n/a", "n/a"]
    assert "note: d/dy: not checkable by finite differences" in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "nothing checked: finite differences cannot check y")


def test_a_one_sided_difference_at_the_edge_of_the_domain():
    """x**2.5 at 0: forward difference (4 f(h) - f(2h)) / 2h = (4 - 2**2.5) h**1.5 / 2, which
    passes (the derivative is 0); sqrt at 0, whose derivative is +inf, is not checkable, and
    neither is its Hessian's entry (sqrt' is inf at 0)."""
    result, document = run_json("x**2.5", "--at", "x=0")
    assert result.exit_code == 0
    x = document["variables"]["x"]
    h = CENTRAL_STEP
    assert x["stencil"] == "forward" and x["note"].startswith("a forward difference")
    assert x["finite_difference"] == pytest.approx((4 - 2 ** 2.5) / 2 * h ** 1.5, rel=1e-9)
    result, document = run_json("sqrt(x)", "--at", "x=0", "--order", "2")
    assert result.exit_code == 0 and document["variables"]["x"]["ok"] is None
    (entry,) = document["hessian"]
    assert entry["ok"] is None and "the result is inf at the point" in entry["note"]


def test_log_next_to_zero_passes():
    result, document = run_json("log(x)", "--at", "x=1e-7")
    assert result.exit_code == 0
    x = document["variables"]["x"]
    assert x["finite_difference"] == pytest.approx(1e7, rel=1e-6) and x["ok"] is True


def test_the_verdict_names_what_could_not_be_checked():
    result = run("x**y", "--at", "x=-2,y=2")
    assert result.stdout.splitlines()[-1].endswith("; not checkable by finite differences: y")


# ---------------------------------------------------------------------------------------
# Numeric options: usage errors when parsed, in one line.
@pytest.mark.parametrize("option, value, message", [
    ("--eps", "nan", "nan is not a finite number"),
    ("--eps", "inf", ""),
    ("--eps", "-1e-3", "is not in the range"),
    ("--eps", "0", "is not in the range"),
    ("--eps", "1", "is not in the range"),
    ("--rtol", "nan", "nan is not a finite number"),
    ("--rtol", "inf", "inf is not a finite number"),
    ("--rtol", "-1", "is not in the range"),
    ("--atol", "inf", "inf is not a finite number"),
    ("--atol", "nan", "nan is not a finite number"),
    ("--atol", "-1e-9", "is not in the range"),
])
def test_bad_numeric_options(option, value, message):
    result = run("x", "--at", "x=1", option, value)
    assert_bad_input(result, f"Error: Invalid value for '{option}': ")
    assert message in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("args, where", [
    (["x", "--at", "x=1e10", "--eps", "1e-300"], "x = 10000000000.0"),
    (["x", "--at", "x=1", "--eps", "1.5e-16", "--richardson"], "x = 1.0"),  # h/2 rounds away
    (["x*y", "--at", "x=0,y=1e20", "--random", "3", "--eps", "1e-17"], "y = 1e+20"),
])
def test_an_eps_whose_step_rounds_to_zero_is_a_usage_error(args, where):
    result = run(*args)
    assert_bad_input(result, "Error: --eps: the step scale")
    assert f"is too small at {where}" in result.stderr and result.stderr.count("\n") == 1


def test_the_smallest_eps_that_moves_the_point_is_accepted():
    """1 + 1.5e-16 rounds to the next float: a step of one ulp, exact for x itself."""
    result, document = run_json("x", "--at", "x=1", "--eps", "1.5e-16")
    assert result.exit_code == 0 and document["variables"]["x"]["finite_difference"] == 1.0


# ---------------------------------------------------------------------------------------
# Hostile input: one line (a caret display under an expression error), the right status.
@pytest.mark.parametrize("args, message", [
    (["", "--at", "x=1"], "Error: the expression is empty\n"),
    (["x", "--at", "x=nan"], "Error: --at x: the value must be a number"),
    (["x", "--at", "x=1e400"], "Error: --at x: the number is too large for a float\n  1e400\n"),
    (["x", "--at", "x=1,z=2"], "Error: --at names z, which the expression does not use"),
    (["x" * 10_000, "--at", "x=1"], "Error: the expression is too long: 10000 characters"),
    (["(" * 300 + "x" + ")" * 300, "--at", "x=1"], "Error: cannot parse the expression: too many"),
    (["x", "--random", "0"], "Error: Invalid value for '--random': 0 is not in the range"),
    (["x", "--at"], "Error: Option '--at' requires an argument.\n"),
    ([], "Error: Missing argument 'EXPRESSION'.\n"),
    (["x", "--bogus"], "Error: No such option '--bogus'"),
    (["x", "y", "--at", "x=1"], "Error: Got unexpected extra argument (y)"),
])
def test_hostile_input(args, message):
    result = run(*args)
    assert_bad_input(result, message)
    assert result.stderr.startswith(message)
    if "^" not in result.stderr:
        assert result.stderr.count("\n") == 1


# ---------------------------------------------------------------------------------------
# Junk never produces a traceback.
NASTY = ["", "(((((", "x" * 10**5, "__import__('os')", "().__class__", "lambda: 1",
         "[x for x in y]", "x if x else y", "'abc'", "x, y", "1e999999", "9**9**9**9",
         ")", "x +", "sin(", "\x00", "x\n+1", "\u202ex", "1" * 5000, "(" * 1000,
         "-" * 1999 + "x", "sin(" * 300 + "x" + ")" * 300, "x" + "**x" * 600]


@pytest.mark.parametrize("expression", NASTY, ids=range(len(NASTY)))
def test_nasty_expressions_are_bad_input(expression):
    start = time.perf_counter()
    result = run("--at", "x=1", "--", expression)
    assert_bad_input(result, "")
    assert time.perf_counter() - start < 2.0


def assert_handled(result):
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert "rror" in result.stderr


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_junk_text_is_handled(expression):
    assert_handled(run("--random", "1", "--", expression))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="xy01.e+-*/()_, sinexplog[]'\"=:lambd", max_size=30))
def test_expression_like_junk_is_handled(expression):
    assert_handled(run("--random", "1", "--", expression))


# --order 2: the Hessian, checked against finite differences of the gradient.
def test_order_two_checks_the_hessian_against_hand_derivatives():
    _, document = run_json("sin(x)*y + exp(x*y)", "--at", "x=0.5,y=2", "--order", "2")
    assert document["ok"]
    entries = {(e["row"], e["column"]): e for e in document["hessian"]}
    x, y = 0.5, 2.0
    hand = {("x", "x"): -math.sin(x) * y + y * y * math.exp(x * y),
            ("x", "y"): math.cos(x) + math.exp(x * y) * (1 + x * y),
            ("y", "y"): x * x * math.exp(x * y)}
    hand[("y", "x")] = hand[("x", "y")]
    for key, value in hand.items():
        for method in ("forward_over_reverse", "reverse_over_reverse", "finite_difference"):
            assert entries[key][method] == pytest.approx(value, rel=1e-8)


def test_order_two_at_a_kink_fails_with_the_note():
    result = run("relu(x)*x", "--at", "x=0", "--order", "2")
    assert result.exit_code == 1
    assert "second derivatives" in result.output and "relu(0.0)" in result.output


def test_order_one_has_no_hessian():
    assert "hessian" not in run_json("x**2", "--at", "x=1")[1]


# ---------------------------------------------------------------------------------------
# Progress on stderr, drawn only where stderr is a terminal.
TERMINAL = {"TTY_COMPATIBLE": "1", "TERM": "xterm-256color", "NO_COLOR": None}


def test_progress_bar_over_points_on_a_terminal_keeps_stdout_json():
    result = CliRunner().invoke(cli, ["check-grad", "x*y", "--random", "3", "--json"],
                                env=TERMINAL)
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["points"]) == 3  # stdout: only the JSON
    assert "points" in result.stderr and "3/3" in result.stderr


def test_a_slow_point_gets_a_bar_for_its_hessian_columns(monkeypatch):
    monkeypatch.setattr(check_grad_module, "SLOW_POINT_SECONDS", 0.0)
    result = CliRunner().invoke(cli, ["check-grad", "x*y*z", "--at", "x=1,y=2,z=3",
                                      "--order", "2"], env=TERMINAL)
    assert result.exit_code == 0
    assert "Hessian columns" in result.stderr
    assert "second derivatives" in result.stdout


def test_no_progress_bar_for_a_single_quick_point_on_a_terminal():
    result = CliRunner().invoke(cli, ["check-grad", "x*y", "--at", "x=1,y=2", "--order", "2"],
                                env=TERMINAL)
    assert result.exit_code == 0
    assert "points" not in result.stderr and "Hessian" not in result.stderr


def test_show_code_prints_the_compiled_chain_rule():
    from click.testing import CliRunner
    from scalargrad_cli.main import cli
    result = CliRunner().invoke(cli, ["check-grad", "sin(x)*y", "--at", "x=0.5,y=2", "--show-code"])
    assert result.exit_code == 0, result.output
    assert "# n0 = x, n1 = y; nK is %K of" in result.output and "def grad(n0, n1):" in result.output
    assert "_f_cos(n0)" in result.output  # d sin(x)/dx, written out
    as_json = CliRunner().invoke(cli, ["check-grad", "sin(x)*y", "--at", "x=0.5,y=2", "--show-code",
                                       "--json"])
    import json
    code = json.loads(as_json.stdout)["code"]
    namespace = {}
    import math
    from scalargrad.core import codegen
    namespace.update(codegen.float_globals())
    exec(code, namespace)
    value, (dx, dy) = namespace["grad"](0.5, 2.0)
    assert value == math.sin(0.5) * 2.0 and dx == math.cos(0.5) * 2.0 and dy == math.sin(0.5)


@pytest.mark.parametrize("expression, at", [
    ("sin(x)*y + exp(x*y)", "x=0.5,y=2"), ("exp(x)", "x=0.3"),
    ("(x - y) / (x*y + 1) - pow(x, y) + tanh(z*x)*z", "x=1.5,y=2,z=-0.25"),
    ("log(x*x + 1) * x / 3", "x=0.7")])
def test_show_code_names_each_node_as_trace_numbers_it(expression, at):
    """Run the code shown: each nK it computes is %K's value in the trace, and each g_nK
    that node's gradient in the graph."""
    from click.testing import CliRunner
    from scalargrad.core import codegen
    from scalargrad_cli.main import cli
    shown = CliRunner().invoke(cli, ["check-grad", expression, "--at", at, "--show-code",
                                     "--json"])
    code = json.loads(shown.stdout)["code"]
    document = json.loads(CliRunner().invoke(cli, ["graph", expression, "--at", at,
                                                   "--json"]).stdout)
    assert code.startswith("# n0 = ") and ", )" not in code and ",)" not in code.split("\n")[1]
    namespace = codegen.float_globals()
    seen = {}
    namespace["_seen"] = seen
    exec(code.replace("    return ", "    _seen.update(locals())\n    return ", 1), namespace)
    point = [float(item.split("=")[1]) for item in at.split(",")]
    names = [item.split("=")[0] for item in at.split(",")]
    arguments = [point[names.index(node["name"])] for node in document["nodes"]
                 if node["operation"] is None]
    namespace["grad"](*arguments)
    for node in document["nodes"]:
        assert seen[f"n{node['id']}"] == node["value"]
        if f"g_n{node['id']}" in seen:
            assert seen[f"g_n{node['id']}"] == pytest.approx(node["grad"], rel=1e-12)


def test_many_random_points_are_summarised():
    from click.testing import CliRunner
    from scalargrad_cli.main import cli
    many = CliRunner().invoke(cli, ["check-grad", "sin(x)*y", "--random", "100"])
    assert many.exit_code == 0
    lines = many.output.splitlines()
    assert len(lines) < 15 and all(line == line.rstrip() for line in lines)
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("d/d")}
    assert set(rows) == {"d/dx", "d/dy"} and rows["d/dx"][1] == "100/100"
    assert "over all 100 points" in many.output and lines[-1].startswith("ok: ")
    # what disagrees is shown in full: with no tolerance, finite differences never agree
    strict = CliRunner().invoke(cli, ["check-grad", "sin(x)*y", "--random", "100", "--rtol", "0",
                                      "--atol", "0"])
    assert strict.exit_code == 1
    assert strict.output.count("first derivatives") == 3
    assert "... and 97 more points that disagree" in strict.output
    doc = json.loads(CliRunner().invoke(cli, ["check-grad", "sin(x)*y", "--random", "100",
                                              "--json"]).stdout)
    worst = max(doc["points"], key=lambda p: p["variables"]["x"]["rel_error"])
    assert f"{worst['variables']['x']['rel_error']:.1e}" == rows["d/dx"][3]
    assert f"x = {worst['point']['x']!r}" in lines[[r[0] for r in
                                                  (line.split() or [""] for line in lines)].index("d/dx")]


# ---------------------------------------------------------------------------------------
# Issue 17, item 14.
def test_a_derivative_finite_differences_cannot_trust_is_not_checkable_not_a_failure():
    result = run("x**(10**10)", "--at", "x=1")
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.stdout and "do not settle when the step shrinks" in result.stdout
    assert result.stdout.strip().endswith("nothing checked: finite differences cannot check x")


def test_a_flat_sum_of_101_terms_names_the_limit_it_hit():
    result = run("+".join(["x"] * 101), "--at", "x=1")
    assert result.exit_code == 2 and result.stderr.startswith(
        "Error: the expression is too long a chain: more than 100 terms in a row")
    assert "nested" not in result.stderr
    assert run("+".join(["x"] * 100), "--at", "x=1").exit_code == 0


@pytest.mark.parametrize("at", [["e=2,x=1"], ["x=1", "--at", "pi=3"]])
def test_a_constant_given_a_value_is_named_as_a_constant(at):
    expression = "e*x" if at[0].startswith("e") else "pi*x"
    result = run(expression, "--at", *at)
    name = "e" if expression == "e*x" else "pi"
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert f"{name} is a constant ({name} = " in result.stderr
