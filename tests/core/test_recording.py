"""Recording: the operators and functions are generated from the rule table."""
import math
import operator

import pytest

import scalargrad as sg
from scalargrad import Scalar, reverse_autodiff
from scalargrad.core import recording, rules
from scalargrad.core.scalar import edges


def test_operators_are_generated_from_their_rules():
    """The source of Scalar.__mul__ is the MUL rule's formula and partials, not a copy."""
    source = recording.source_of("__mul__")
    assert "out = av * bv" in source and "da = bv" in source and "db = (av)" in source
    tanh = recording.source_of("tanh")
    assert "1.0 - out * out" in tanh and "_f_tanh(xv)" in tanh
    assert Scalar.__truediv__.__name__ == "__truediv__"


def test_make_node_and_generated_functions_build_the_same_node():
    x = Scalar(0.5)
    made = recording.make_node(math.tanh(0.5), rules.TANH, x, 1 - math.tanh(0.5) ** 2)
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


def _fresh(rule):
    """A copy of rule made now, so that generating from it runs inside the test."""
    return rules.Rule(rule.name, rule.arguments, rule.formula, rule.partials, rule.domain,
                      rule.convention, rule.kink)


def _second(function, at):
    x = Scalar(at)
    return reverse_autodiff(reverse_autodiff(function(x), x, create_graph=True), x)


@pytest.mark.parametrize("rule", rules.UNARY, ids=lambda r: r.name)
def test_a_function_generated_now_from_a_unary_rule_behaves_like_the_table(rule):
    table = {"neg": lambda x: -x, "abs": abs}.get(rule.name) or getattr(sg, rule.name)
    generated = recording.unary_function(_fresh(rule))
    for at in (0.3, 1.7):
        assert generated(at) == table(at) and type(generated(at)) is float
        x = Scalar(at)
        assert generated(x).value == table(x).value and generated(x).operation == rule.name
        assert reverse_autodiff(generated(x), x) == reverse_autodiff(table(x), x)
        assert _second(generated, at) == _second(table, at)
    assert generated.__name__ == rule.name and rule.name in generated.__doc__


@pytest.mark.parametrize("rule", rules.BINARY, ids=lambda r: r.name)
def test_methods_and_functions_generated_now_from_a_binary_rule_behave_like_the_table(rule):
    table = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
             "div": operator.truediv, "pow": operator.pow}.get(rule.name) or getattr(sg, rule.name)
    fresh = _fresh(rule)
    forward = recording.binary_method(fresh, "op")
    reflected = recording.binary_method(fresh, "op", reflected=True)
    function = recording.binary_function(fresh)
    a, b = 1.3, 0.6
    x, y = Scalar(a), Scalar(b)
    for made, expected in ((forward(x, y), table(x, y)), (forward(x, b), table(x, b)),
                           (reflected(y, a), table(a, y)), (function(x, y), table(x, y)),
                           (function(a, y), table(a, y)), (function(x, b), table(x, b))):
        assert made.value == expected.value and made.operation == rule.name
        assert reverse_autodiff(made, [x, y]) == reverse_autodiff(expected, [x, y])
        first, = [g for g in reverse_autodiff(made, [x], create_graph=True)]
        assert reverse_autodiff(first, [x, y]) == reverse_autodiff(
            reverse_autodiff(expected, x, create_graph=True), [x, y])
    assert function(a, b) == table(a, b) and type(function(a, b)) is float
    assert forward(x, "s") is NotImplemented and reflected(y, "s") is NotImplemented
    with pytest.raises(TypeError, match=f"{rule.name}.*str"):
        function("s", y)
    assert function.__name__ == rule.name


def test_a_new_rule_gives_a_working_function_at_every_order():
    cube = rules.Rule("cube", ("x",), "x * x * x", ("3.0 * x * x",), domain="all x")
    f = recording.unary_function(cube)
    x = Scalar(2.0)
    assert f(x).value == 8.0 and reverse_autodiff(f(x), x) == 12.0
    assert _second(f, 2.0) == 12.0
    assert "3.0 * xv * xv" in recording.source_of("cube")
    with pytest.raises(ValueError, match="cube2: one partial per argument"):
        rules.Rule("cube2", ("x",), "x * x * x", ("3.0 * x * x", "0.0"))


def test_a_new_nary_rule_records_one_node():
    squares = rules.NaryRule("sumsq", "total([x * x for x in xs])", "2.0 * x")
    assert not squares.pairs and squares.domain == squares.convention == squares.kink == ""
    xs = [Scalar(1.0), Scalar(-2.0)]
    y = recording.record_nary(squares, [*xs, 3.0])
    assert y.value == 14.0 and y.operation == "sumsq"
    assert reverse_autodiff(y, xs) == [2.0, -4.0]
    assert sg.hessian(y, xs) == [[2.0, 0.0], [0.0, 2.0]]
    assert recording.record_nary(squares, [1.0, 2.0]) == 5.0


def test_rule_defaults_and_errors_name_the_operation():
    plain = rules.Rule("twice", ("x",), "2.0 * x", ("2.0",))
    assert (plain.domain, plain.convention, plain.kink) == ("", "", "")
    with pytest.raises(TypeError, match="got str"):
        sg.exp("1")
    with pytest.raises(TypeError, match="got list"):
        recording.as_float([1.0])


def test_functions_and_operators_differentiate_a_derivative_with_the_table_bound():
    """Rule expressions on Scalars call the public functions (bind_functions)."""
    assert recording.SCALAR_NAMESPACE["cos"] is sg.cos and recording.Scalar is Scalar


def test_the_conventions_shown_come_from_the_rules_with_kinks():
    conventions = rules.conventions()
    assert set(conventions) == {"abs", "sqrt", "relu", "pow", "maximum", "minimum"}
    assert conventions["relu"] == rules.RELU.convention and all(conventions.values())
    assert conventions["relu"].startswith("relu'(0) = 0;")


def test_generated_functions_have_their_rule_in_the_docstring_and_a_source_for_tracebacks():
    import inspect
    import traceback
    log, exp = (recording.unary_function(_fresh(r)) for r in (rules.LOG, rules.EXP))
    relu, sin = (recording.unary_function(_fresh(r)) for r in (rules.RELU, rules.SIN))
    assert log.__doc__ == "log(x): a float for a float, a recorded Scalar for a Scalar. Domain: x > 0."
    assert exp.__doc__ == "exp(x): a float for a float, a recorded Scalar for a Scalar."
    assert relu.__doc__.endswith("Scalar. " + rules.RELU.convention) and sin.__doc__.endswith("for a Scalar.")
    maximum, divide = (recording.binary_function(_fresh(r)) for r in (rules.MAXIMUM, rules.DIV))
    assert maximum.__doc__ == ("maximum(a, b): a float for floats, a recorded Scalar otherwise. "
                               + rules.MAXIMUM.convention)
    assert rules.MAXIMUM.convention.startswith("On a tie the derivative goes to the first argument")
    assert divide.__doc__ == "div(a, b): a float for floats, a recorded Scalar otherwise."
    lines = inspect.getsource(log).splitlines()
    assert len(lines) > 10 and lines[0].strip().startswith("def log(x)")
    try:
        log(Scalar(-1.0))
    except sg.DomainError:
        shown = traceback.format_exc()
    assert "log(-1.0): outside the domain of log (x > 0)" in shown
    assert "raise error(RULE, (xv,), cause) from None" in shown  # the generated line, shown


def test_a_binary_function_generated_now_reports_errors_on_floats_like_on_scalars():
    divide = recording.binary_function(_fresh(rules.DIV))
    for a in (1.0, Scalar(1.0)):
        with pytest.raises(sg.DivisionByZero, match=r"^div\(1.0, 0.0\): division by zero$"):
            divide(a, 0.0)
    with pytest.raises(TypeError, match=r"div\(\) expects numbers or Scalars, got Scalar and str"):
        divide(Scalar(1.0), "a")
    with pytest.raises(TypeError, match="got str"):
        divide("a", 1.0)
