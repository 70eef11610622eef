"""Recording is generated from the rule table (codegen.py), and the code is visible."""
import inspect
import math
import operator
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

import scalargrad as sg
from scalargrad import Scalar, reverse_autodiff
from scalargrad.core import codegen, rules, scalar
from scalargrad.core.functions import SCALAR_NAMESPACE
from scalargrad.core.nary import record_nary
from scalargrad.core.scalar import as_float, edges, make_node

GOLDEN = Path(__file__).resolve().parent / "golden" / "recorders.py"


def test_the_generated_code_is_the_golden_copy_and_python_m_scalargrad_core_prints_it():
    """A change to the generated code is a visible change: update the copy with
    python -m scalargrad.core > tests/core/golden/recorders.py"""
    source = codegen.recorders_source()
    assert source == GOLDEN.read_text()
    printed = subprocess.run([sys.executable, "-m", "scalargrad.core"], capture_output=True,
                             text=True, check=True)
    assert printed.stdout == source and printed.stderr == ""


def test_operators_are_generated_from_their_rules():
    """The code of Scalar.__mul__ is the MUL rule's formula and partials, not a copy."""
    mul = inspect.getsource(Scalar.__mul__)
    assert "out = av * bv" in mul and "da = bv" in mul and "db = (av)" in mul
    tanh = inspect.getsource(sg.tanh)
    assert "1.0 - out * out" in tanh and "_f_tanh(xv)" in tanh
    for rule in rules.UNARY:
        assert codegen.float_names(rule.formula, {"x": "xv"}) in inspect.getsource(
            scalar.RECORDERS[rule.name])


def fresh(rule):
    """A copy of rule made now, so that generating from it runs inside the test."""
    return rules.Rule(rule.name, rule.arguments, rule.formula, rule.partials, rule.domain,
                      rule.convention, rule.kink)


@pytest.fixture(scope="module")
def regenerated():
    """The recording functions generated again, now, from copies of the rules (with a tape
    of their own)."""
    source = codegen.recorders_source()
    factory = scalar._run(source, "<recorders in a test>")["recorders"]
    return factory(*(fresh(rule) for rule in codegen.recorded_rules()))


def second(function, at):
    x = Scalar(at)
    return reverse_autodiff(reverse_autodiff(function(x), x, create_graph=True), x)


@pytest.mark.parametrize("rule", rules.UNARY, ids=lambda r: r.name)
def test_a_function_generated_again_from_a_unary_rule_behaves_like_the_table(rule, regenerated):
    table = {"neg": lambda x: -x, "abs": abs}.get(rule.name) or getattr(sg, rule.name)
    generated = regenerated[rule.name]
    assert generated is not scalar.RECORDERS[rule.name]
    for at in (0.3, 1.7):
        assert generated(at) == table(at) and type(generated(at)) is float
        x = Scalar(at)
        assert generated(x).value == table(x).value and generated(x).operation == rule.name
        assert reverse_autodiff(generated(x), x) == reverse_autodiff(table(x), x)
        assert second(generated, at) == second(table, at)


@pytest.mark.parametrize("rule", rules.BINARY, ids=lambda r: r.name)
def test_functions_generated_again_from_a_binary_rule_behave_like_the_table(rule, regenerated):
    table = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
             "div": operator.truediv, "pow": operator.pow}.get(rule.name) or getattr(sg, rule.name)
    forward, reflected = regenerated[rule.name], regenerated[f"r{rule.name}"]
    a, b = 1.3, 0.6
    x, y = Scalar(a), Scalar(b)
    for made, expected in ((forward(x, y), table(x, y)), (forward(x, b), table(x, b)),
                           (reflected(y, a), table(a, y))):
        assert made.value == expected.value and made.operation == rule.name
        assert reverse_autodiff(made, [x, y]) == reverse_autodiff(expected, [x, y])
        first, = reverse_autodiff(made, [x], create_graph=True)
        assert reverse_autodiff(first, [x, y]) == reverse_autodiff(
            reverse_autodiff(expected, x, create_graph=True), [x, y])
    assert forward(x, "s") is NotImplemented and reflected(y, "s") is NotImplemented


@pytest.mark.parametrize("rule", rules.BINARY, ids=lambda r: r.name)
def test_a_binary_rules_public_function_takes_floats_and_scalars_on_either_side(rule):
    function = scalar.binary_function(rule)
    table = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
             "div": operator.truediv, "pow": operator.pow}.get(rule.name) or getattr(sg, rule.name)
    a, b = 1.3, 0.6
    x, y = Scalar(a), Scalar(b)
    for made, expected in ((function(x, y), table(x, y)), (function(a, y), table(a, y)),
                           (function(x, b), table(x, b))):
        assert made.value == expected.value and made.operation == rule.name
        assert reverse_autodiff(made, [x, y]) == reverse_autodiff(expected, [x, y])
    assert function(a, b) == table(a, b) and type(function(a, b)) is float
    with pytest.raises(TypeError, match=f"{rule.name}.*str"):
        function("s", y)
    assert function.__name__ == rule.name


def test_make_node_and_generated_functions_build_the_same_node():
    x = Scalar(0.5)
    made = make_node(math.tanh(0.5), rules.TANH, x, 1 - math.tanh(0.5) ** 2)
    generated = sg.tanh(x)
    assert made.value == generated.value and made.operation == generated.operation
    assert edges(made) == edges(generated)
    assert reverse_autodiff(made, x) == reverse_autodiff(generated, x)


def test_scalar_accepts_numbers_quickly_and_refuses_the_rest():
    assert Scalar(2).value == 2.0 and type(Scalar(2).value) is float
    assert Scalar(Scalar(3.5)).value == 3.5
    for bad in (True, "1", None, 1j):
        with pytest.raises(TypeError):
            Scalar(bad)


def test_a_new_rule_must_have_a_partial_per_argument():
    with pytest.raises(ValueError, match="cube2: one partial per argument"):
        rules.Rule("cube2", ("x",), "x * x * x", ("3.0 * x * x", "0.0"))


def test_a_new_nary_rule_records_one_node():
    squares = rules.NaryRule("sumsq", "total([x * x for x in xs])", "2.0 * x")
    assert not squares.pairs and squares.domain == squares.convention == squares.kink == ""
    xs = [Scalar(1.0), Scalar(-2.0)]
    y = record_nary(squares, [*xs, 3.0])
    assert y.value == 14.0 and y.operation == "sumsq"
    assert reverse_autodiff(y, xs) == [2.0, -4.0]
    assert sg.hessian(y, xs) == [[2.0, 0.0], [0.0, 2.0]]
    assert record_nary(squares, [1.0, 2.0]) == 5.0


def test_rule_defaults_and_errors_name_the_operation():
    plain = rules.Rule("twice", ("x",), "2.0 * x", ("2.0",))
    assert (plain.domain, plain.convention, plain.kink) == ("", "", "")
    with pytest.raises(TypeError, match="got str"):
        sg.exp("1")
    with pytest.raises(TypeError, match="got list"):
        as_float([1.0])


def test_rule_expressions_on_scalars_mean_the_public_functions():
    assert SCALAR_NAMESPACE["cos"] is sg.cos and SCALAR_NAMESPACE["pow"] is sg.power


def test_the_conventions_shown_come_from_the_rules_with_kinks():
    conventions = rules.conventions()
    assert set(conventions) == {"abs", "sqrt", "relu", "pow", "maximum", "minimum"}
    assert conventions["relu"] == rules.RELU.convention and all(conventions.values())
    assert conventions["relu"].startswith("relu'(0) = 0;")


def test_generated_functions_have_their_rule_in_the_docstring_and_a_source_for_tracebacks():
    assert sg.log.__doc__ == "log(x): a float for a float, a recorded Scalar for a Scalar. Domain: x > 0."
    assert sg.exp.__doc__ == "exp(x): a float for a float, a recorded Scalar for a Scalar."
    assert sg.relu.__doc__.endswith("Scalar. " + rules.RELU.convention)
    assert sg.sin.__doc__.endswith("for a Scalar.")
    assert sg.maximum.__doc__ == ("maximum(a, b): a float for floats, a recorded Scalar otherwise. "
                                  + rules.MAXIMUM.convention)
    assert sg.divide.__doc__ == "div(a, b): a float for floats, a recorded Scalar otherwise."
    lines = inspect.getsource(sg.log).splitlines()
    assert len(lines) > 10 and lines[0].strip().startswith("def log(x)")
    try:
        sg.log(Scalar(-1.0))
    except sg.DomainError:
        shown = traceback.format_exc()
    assert "log(-1.0): outside the domain of log (x > 0)" in shown
    assert "raise error(RULE_log, (xv,), cause) from None" in shown  # the generated line, shown


def test_a_binary_function_reports_errors_on_floats_like_on_scalars():
    for a in (1.0, Scalar(1.0)):
        with pytest.raises(sg.DivisionByZero, match=r"^div\(1.0, 0.0\): division by zero$"):
            sg.divide(a, 0.0)
    with pytest.raises(TypeError, match=r"div\(\) expects numbers or Scalars, got Scalar and str"):
        sg.divide(Scalar(1.0), "a")
    with pytest.raises(TypeError, match="got str"):
        sg.divide("a", 1.0)
