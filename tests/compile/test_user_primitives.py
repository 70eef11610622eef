"""scalargrad.compile on users' primitives: a Call in the form, the user's functions called
by reference, and the same answers as the recording engine on random programs that use them
(tests/compile/compile_programs.py with users=True)."""
import math

import pytest
from hypothesis import HealthCheck, given, settings

import scalargrad as sg
from scalargrad import DivisionByZero, DomainError, NumericOverflow, Scalar, reverse_autodiff
from scalargrad.compile.form import Call
from scalargrad.compile.trace import trace
from tests.compile import compile_differential as differential
from tests.compile import compile_primitives as P
from tests.compile.compile_programs import scenarios

SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=SLOW_IS_FINE)
@given(scenarios(users=True))
def test_random_programs_with_users_primitives_answer_as_the_recording_engine(scenario):
    outcome = differential.run(scenario)
    if outcome.mismatches:
        pytest.fail(outcome.report(), pytrace=False)


@pytest.mark.fuzz
@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=SLOW_IS_FINE)
@given(scenarios(users=True))
def test_random_programs_with_users_primitives_answer_as_the_recording_engine_long(scenario):
    outcome = differential.run(scenario)
    if outcome.mismatches:
        pytest.fail(outcome.report(), pytrace=False)


def test_the_random_programs_do_call_users_primitives():
    drawn = []

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=SLOW_IS_FINE)
    @given(scenarios(users=True))
    def collect(scenario):
        drawn.append(scenario.program.source())
    collect()
    assert sum("P." in source for source in drawn) > len(drawn) // 2
    assert {name for name in P.ARITY if any(f"P.{name}(" in s for s in drawn)} == set(P.ARITY)


def model(x, W):
    h = [P.erf(w * x) for w in W]
    return P.hypot(sg.sum(h), 3.0) + P.stop_gradient(x * x) * x + P.product3(W[0], x, 2.0)


def test_the_form_carries_a_call_and_the_code_calls_the_functions_by_reference():
    form = trace(model, (0.3, [0.5, -1.0]), (None, 2), (0, 1))
    calls = [e for e in form.equations if isinstance(e, Call)]
    assert [c.rule.name for c in calls] == ["erf", "erf", "hypot", "stop_gradient", "product3"]
    assert [rule.name for rule in form.called()] == ["erf", "hypot", "stop_gradient", "product3"]
    assert form.called()[:2] == [P.erf, P.hypot] and form.called()[3] is P.product3
    cf = sg.compile(model)
    cf.value_and_grad(0.3, [0.5, -1.0])
    assert "math.erf" not in cf.source and "hypot(a, b)" not in cf.source  # no user source
    assert "_float(_u0(" in cf.source and "= _map(_float, _u1_d(" in cf.source and ", out=" in cf.source
    assert "call hypot" in cf.ir and "[partial 0 of hypot at" in cf.ir


@pytest.mark.parametrize("x, W", [(0.3, [0.5, -1.0]), (-1.2, [2.0, 0.25]), (0.0, [1.0, 1.0])])
def test_compiled_value_and_gradient_are_the_recording_engines_bit_for_bit(x, W):
    cf = sg.compile(model)
    value, (dx, dW) = cf.value_and_grad(x, W)
    xs, Ws = Scalar(x), [Scalar(w) for w in W]
    y = model(xs, Ws)
    assert value == y.value and [dx, *dW] == reverse_autodiff(y, [xs, *Ws])


def test_the_stopped_argument_carries_no_adjoint_in_the_sweep():
    cf = sg.compile(lambda x: P.stop_gradient(sg.exp(x)) * x)
    assert cf.value_and_grad(1.0) == (math.e, [math.e])
    sweep = cf.ir.split("reverse sweep:")[1]
    assert "exp" not in cf.ir.split("reverse sweep:")[0].split("\n")[-1] and "v0:" not in sweep


@pytest.mark.parametrize("call, kind, words", [
    (lambda cf: cf.value_and_grad(-2.0), DomainError, "root1p(-2.0): outside the domain of root1p (math"),
    (lambda cf: cf(-2.0), DomainError, "root1p(-2.0): outside the domain of root1p (math"),
    (lambda cf: cf(1600.0), NumericOverflow, "exponential(800.0): the result is too large for a float"),
])
def test_errors_in_compiled_code_are_the_recording_engines(call, kind, words):
    cf = sg.compile(lambda x: P.root1p(x) * 2.0 + P.exponential(x / 2.0))
    assert cf.value_and_grad(0.0) == (3.0, [1.5])
    with pytest.raises(kind) as caught:
        call(cf)
    assert words in str(caught.value)


def test_a_partial_that_raises_raises_on_a_value_call_too_as_when_recorded():
    """The recording engine computes the partials when it records the node: hypot's divide by
    zero at (0, 0) even when only the value is asked for; so does the compiled code."""
    cf = sg.compile(lambda a, b: P.hypot(a, b))
    assert cf(3.0, 4.0) == 5.0
    with pytest.raises(DivisionByZero, match=r"hypot\(0.0, 0.0\): division by zero"):
        cf(0.0, 0.0)
    with pytest.raises(DivisionByZero):
        P.hypot(Scalar(0.0), Scalar(0.0))


def test_a_partials_function_that_changes_its_count_is_refused_as_when_recorded():
    @sg.primitive(partials=lambda x: [1.0] if x < 5 else [1.0, 2.0])
    def fickle(x):
        return x
    cf = sg.compile(lambda x: fickle(x) * 3.0)
    assert cf.value_and_grad(1.0) == (3.0, [3.0])
    with pytest.raises(TypeError, match="fickle: its partials function returned 2 partials"):
        cf.value_and_grad(6.0)
