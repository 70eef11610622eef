"""scalargrad.compile against the recording engine on random programs (issue 18).

The programs (tests/compile_programs.py) have control flow on values, loops on int(),
early returns, builtin max/min, reads of values, several outputs, list arguments with dots
over slices, closed-over and global Scalars that change between calls, and NaN, infinite,
huge and int inputs. Each is compiled and called at points chosen to flip its branches,
every call compared with the recording engine's answer (tests/compile_differential.py). A
failing example shrinks to a small program and prints as Python, with every call made.

The bounded profile runs with the fast suite; ``pytest -m fuzz`` runs the long one (and
``python benchmarks/compile_fuzz.py`` counts mismatches by class over several seeds).
The tests after those check the harness itself: it finds a compiler that is wrong, and
finds nothing wrong with an engine that is the recording engine.
"""
import math

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings

from tests.compile import compile_differential as differential
from tests.compile import compile_oracle as oracle
from tests.compile.compile_programs import Program, programs, scenarios

SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def _agrees(scenario):
    outcome = differential.run(scenario)
    if outcome.mismatches:
        pytest.fail(outcome.report(), pytrace=False)


@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=SLOW_IS_FINE)
@given(scenarios())
def test_compiled_random_programs_answer_as_the_recording_engine(scenario):
    _agrees(scenario)


@pytest.mark.fuzz
@pytest.mark.slow
@settings(max_examples=2500, deadline=None, suppress_health_check=SLOW_IS_FINE)
@given(scenarios())
def test_compiled_random_programs_answer_as_the_recording_engine_long(scenario):
    _agrees(scenario)


# The harness -----------------------------------------------------------------------------------
class FirstTrace(differential.Recorded):
    """A wrong compiler: the recording engine's answers at the first point it was called at
    (for each call kind), whatever it is called with later: guards never checked."""

    def __init__(self, function, argnums=None):
        super().__init__(function, argnums)
        self.first = {}

    def _at_first(self, kind, args, answer):
        first = self.first.setdefault((kind, len(args)), args)
        return answer(*first)

    def __call__(self, *args):
        return self._at_first("call", args, super().__call__)

    def value_and_grad(self, *args):
        return self._at_first("value_and_grad", args, super().value_and_grad)


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=SLOW_IS_FINE)
@given(scenarios())
def test_the_harness_finds_nothing_wrong_with_the_recording_engine(scenario):
    outcome = differential.run(scenario, compile=differential.Recorded)
    if outcome.mismatches:
        pytest.fail(outcome.report(), pytrace=False)


def test_the_harness_finds_a_compiler_that_never_checks_its_guards():
    found = find(scenarios(), lambda s: bool(differential.run(s, compile=FirstTrace).mismatches),
                 settings=settings(max_examples=300, deadline=None, derandomize=True, database=None,
                                   phases=[Phase.generate], suppress_health_check=SLOW_IS_FINE))
    assert differential.run(found, compile=FirstTrace).mismatches


@pytest.mark.parametrize("feature", [
    "if ", "else:", "break", "range(min(max(int(", "return [", "max(", "min(", "float(", "round(",
    ".value", "sg.value_of(", "format(", "sg.dot(", "sg.sum(", "sg.mean(", "sg.logsumexp(",
    "zip(", "X1[", "C0", "W[", "G0", "K0", "sg.log(", "sg.relu(", " ** ", "sg.maximum(",
])
def test_the_programs_drawn_have_each_feature(feature):
    """Each construct the fuzzer is meant to cover appears in some drawn program."""
    found = find(programs(), lambda p: feature in p.source(),
                 settings=settings(max_examples=2000, database=None, derandomize=True,
                                   phases=[Phase.generate], suppress_health_check=SLOW_IS_FINE))
    assert isinstance(found, Program) and feature in found.source()


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=SLOW_IS_FINE)
@given(scenarios())
def test_vjp_batch_rounding_bound_covers_adding_the_examples_in_another_order(scenario):
    """The bound vjp_batch's gradients are compared within holds between the recording
    engine's example-by-example answer and the same gradients added in another order (each
    example's alone, then summed newest first): a bound too tight would call rounding a
    mismatch."""
    program = scenario.program
    f, _ = program.build()
    args = scenario.base
    lists = [i for i, size in enumerate(program.inputs) if size is not None]
    if not lists:
        return
    argnums = [lists[0]]
    shared = lists[0] + 1
    examples = [list(a[shared:]) for a in (args, differential.point(("negate",), args, []))]
    start = [[0.5] * len(args[lists[0]])]
    chained = oracle.vjp_batch(f, start, scenario.seed, args[:shared], examples, argnums)
    if isinstance(chained, oracle.Raised):
        return
    _, together, bounds = chained
    alone = [oracle.vjp_into(f, [[0.0] * len(start[0])], scenario.seed, [*args[:shared], *example], argnums)
             for example in examples]
    other = list(start[0])
    for _, (gradient,) in reversed(alone):
        other = [a + g for a, g in zip(other, gradient)]
    assert oracle.close([other], together, bounds), (together, other, bounds)
    assert all(b >= 0 and not math.isnan(b) for b in bounds[0])
