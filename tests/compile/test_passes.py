"""The passes over the form (compile/passes.py): each keeps the recording engine's answers,
bit for bit, on the programs it changes; checked against tests/compile/compile_oracle.py."""
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Matrix, Scalar
from scalargrad.compile.form import Apply, Dot, Guard, Pack
from scalargrad.compile.passes import MIN_CHAIN, NEVER_RAISE, pipeline, prune
from scalargrad.compile.trace import trace
from scalargrad.core import rules
from scalargrad.core.functions import log_softmax, negative_log_softmax
from tests.compile import compile_oracle as oracle

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-308, 5e-324, 1e308, -1e308, 710.0, -710.0, math.inf,
           -math.inf, math.nan, 2.0 ** 53 + 1.0]


@pytest.mark.parametrize("name", sorted(NEVER_RAISE))
def test_the_rules_prune_may_drop_never_raise_on_any_float(name):
    rule = rules.RULES[name]
    if isinstance(rule, rules.NaryRule):
        function = rules.FLOAT_FUNCTIONS.get(name) or rules.HELPERS[{"sum": "total"}.get(name, name)]
        for a in SPECIAL:
            for b in SPECIAL:
                function([a, b, 1.0, -1.0] if name != "dot" else [a, b, b, a])
        return
    value = sg.core.codegen.float_function(rule)
    for a in SPECIAL:
        for b in SPECIAL:
            value(*(a, b)[:len(rule.arguments)])


def test_the_rules_prune_keeps_can_raise():
    raising = {name for name, rule in rules.RULES.items() if name not in NEVER_RAISE}
    assert raising == {"exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "div", "pow"}


def test_prune_keeps_guards_what_they_read_and_what_can_raise_and_drops_the_rest():
    def f(x):
        unused = sg.tanh(x) * 2.0  # nothing reads it, it cannot raise: dropped
        del unused
        sg.log(x * 3.0)  # can raise: kept, with what it reads
        if sg.sin(x) + 1.0 > 0.5:  # a guard: kept, with what it reads
            return x * 5.0
        return x
    form = trace(f, (1.0,), (None,), (0,))
    names = [e.rule.name if isinstance(e, Apply) else "guard" for e in prune(form).equations]
    assert names == ["mul", "log", "sin", "add", "guard", "mul"]
    assert len(form.equations) == 8


def _value_and_grad_and_jacobian_agree(f, args, argnums=None):
    cf = sg.compile(f, argnums=argnums)
    for _ in range(2):  # traced, then replayed
        got = oracle.attempt(lambda: cf.value_and_grad(*args))
        assert oracle.same(got, oracle.value_and_grad(f, args, argnums)), got
        assert oracle.same(oracle.attempt(lambda: cf.jacobian(*args)), oracle.jacobian(f, args, argnums))
    return cf


def _fused(cf):
    return [e for p in cf._variants.values() for program in p for e in program.form.equations
            if isinstance(e, Dot) and e.fused]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=MIN_CHAIN, max_size=12),
       st.integers(0, 5), st.lists(st.floats(-3, 3), min_size=4, max_size=4),
       st.sampled_from(["none", "factor", "other"]))
def test_a_sum_of_products_is_fused_with_the_recording_engines_order_of_adjoints(pairs, start, point, meddle):
    """Factors drawn from a few values (so one meets itself, the start, and both sides):
    each adjoint's additions in the recording engine's order. An operation made between the
    chain's own, reading a factor, must stop the fusing; one reading nothing of it need not."""
    other = Scalar(0.5)

    def f(w, a, b):
        pool = [w[0], w[1], w[2], a, b, a * b]
        total = pool[start]
        for k, (i, j) in enumerate(pairs):
            if k == 2 and meddle != "none":
                side = sg.tanh(pool[i] if meddle == "factor" else other)
                pool.append(side)
            total = total + pool[i] * pool[j]
        return total * 1.0 + pool[-1]
    args = ([point[0], point[1], point[2]], point[3], 0.75)
    cf = _value_and_grad_and_jacobian_agree(f, args)
    assert bool(_fused(cf)) == (meddle != "factor")


def test_a_product_of_slices_of_one_list_that_overlap_adds_each_cell_in_order():
    def f(w):
        return sg.dot(w[0:4], w[1:5]) + sg.dot(w[::2], w[1::2]) * w[2] + sum(
            (w[k] * w[k + 1] for k in range(9)), w[3])  # fused, overlapping sides and start
    rng = random.Random(3)
    cf = _value_and_grad_and_jacobian_agree(f, ([rng.uniform(-1, 1) for _ in range(10)],))
    assert _fused(cf)


def test_sums_of_products_of_scalar_arguments_and_numbers_keep_their_values():
    def f(x, y):
        weights = [0.5, -1.0, 2.0, 3.0, 0.25, 1.5, -2.0, 4.0, 0.1]
        return sum((c * (x if k % 2 else y) for k, c in enumerate(weights)), x * y)
    _value_and_grad_and_jacobian_agree(f, (0.3, -1.7))


def test_an_output_is_never_given_its_consumers_adjoint():
    def f(x):
        a = x * 2.0
        b = a + 1.0  # a passes its adjoint on with partial 1 to b, its only consumer
        return [b, a]
    cf = _value_and_grad_and_jacobian_agree(f, (1.5,))
    assert cf.jacobian(1.5) == [[2.0], [2.0]]  # by hand: both rows d(2x)/dx
    assert cf.vjp_into([], (1.0, 10.0), 1.5) == [4.0, 3.0]
    sweep = cf._variants[(None,)][0].form.sweep
    a = next(v for v in sweep.slots if v.name == "v0")
    assert sweep.slots[a] is a  # a, an output, keeps its own adjoint


def test_a_tuple_read_by_several_dots_is_made_once():
    def f(w, x):
        hidden = [sg.tanh(w[j] * x[j]) for j in range(3)]
        return sg.dot(w[3:6], hidden) * sg.dot(w[6:9], hidden)
    form = pipeline(trace(f, ([0.1 * k for k in range(9)], [1.0, 0.5, -0.25]), (9, 3), (0,)))
    packs = [e for e in form.equations if isinstance(e, Pack)]
    dots = [e for e in form.equations if isinstance(e, Dot)]
    assert len(packs) == 1 and all(d.right.packed is packs[0].out for d in dots)
    assert form.equations.index(packs[0]) < form.equations.index(dots[0])


def test_the_printed_form_names_its_equations_guards_and_sweep():
    cf = sg.compile(lambda x, ys: sg.log(sg.dot(ys, [1.0, 2.0])) * x if x > 0 else -x, argnums=[0])
    cf.value_and_grad(2.0, [0.5, 0.25])
    text = cf.ir
    assert text.splitlines()[0] == "form (x0, X1[2]) differentiating [0]:"
    for line in ["guard x0 > 0.0 is True", "v0 = dot X1[0:2] (1.0, 2.0)", "v1 = log v0",
                 "v2 = mul v1 x0", "return v2", "reverse sweep:", "seed 0 -> v2", "x0 += g * v1"]:
        assert line in text, line
    assert "v1 +=" not in text  # log's argument does not depend on x0: no adjoint for it
    assert [type(e) for e in cf._variants[(None, 2)][0].form.equations][0] is Guard


def test_a_guard_on_a_constant_partial_times_infinity_is_still_tested_for_a_zero_adjoint():
    f = lambda x: x * math.inf + x * 0.0  # noqa: E731 - a partial inf: 0 * inf would be nan
    _value_and_grad_and_jacobian_agree(lambda x: sg.relu(f(x)), (-1.0,))
    _value_and_grad_and_jacobian_agree(lambda x: Scalar(0.0) * f(x), (2.0,))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-50, 50) | st.sampled_from([1e16, -1e16, 0.0, 700.0]), min_size=1, max_size=5),
       st.integers(0, 4))
def test_logsumexp_and_the_differences_computed_through_its_shift_are_the_recording_engines(xs, label):
    """logsumexp shifts its arguments by their largest (rules.LOGSUMEXP.shift); log_softmax,
    a cross-entropy and Matrix.cross_entropy compute differences from the shifted values,
    not from the rounded logsumexp: the code computes them the same way, bit for bit."""
    label %= len(xs)
    for f in (lambda v: sg.logsumexp(v) * 1.5, lambda v: sg.sum(log_softmax(v)),
              lambda v: log_softmax(v)[label] * 2.0, lambda v: negative_log_softmax(v, label),
              lambda v: Matrix([v]).cross_entropy([label]), lambda v: sg.logsumexp([*v, 3.0])):
        cf = sg.compile(f)
        for args in ((xs,), ([x * 0.5 for x in xs],)):
            want = oracle.value_and_grad(f, args)
            assert not isinstance(want, oracle.Raised)
            assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(*args)), want)


def test_the_printed_form_shows_every_kind_of_equation_guard_and_contribution():
    """What cf.ir prints, line by line, for a program that has one of each (the lines
    written from the program: its external, tuple, dot, guards, shifted logsumexp)."""
    w = Scalar(0.5)

    def f(x, ys):
        a = sg.dot(ys, [2.0, 3.0])
        if a > 1.0 and bool(x) and int(x) == 1 and round(x, 1) == 1.5 and float(x) == 1.5:
            a = sg.logsumexp([a, x])
        return [a * w, -a]
    cf = sg.compile(f, argnums=[0, -1])
    cf.jacobian(1.5, [1.0, 0.5])
    assert cf.ir.splitlines() == [
        "form (x0, X1[2]) differentiating [0, 1]:",
        "  e0 = read Scalar",
        "  t0 = tuple (2.0, 3.0)",
        "  v0 = dot X1[0:2] t0",
        "  guard v0 > 1.0 is True",
        "  guard bool(x0) is True",
        "  guard int(x0) is 1",
        "  guard round(x0, 1) is 1.5",
        "  guard float(x0) is 1.5",
        "  v1 = logsumexp (v0, x0) (shifted: top1, inner1)",
        "  v2 = mul v1 e0",
        "  v3 = neg v1",
        "  return [v2, v3]",
        "reverse sweep:",
        "  seed 0 -> v2",
        "  seed 1 -> v3",
        "  v3:",
        "    v1 += g * (-1.0)",
        "  v2:",
        "    v1 += g * e0",
        "  v1:",
        "    v0 += g * [exp(x - out) with x=v0, out=inner1, x less top1]",
        "    x0 += g * [exp(x - out) with x=x0, out=inner1, x less top1]",
        "  v0:",
        "    G1[0:2] += g * t0",
    ]
    fused = sg.compile(lambda w, x: sum((a * b for a, b in zip(w, x)), w[9] * 2.0), argnums=[0])
    fused.value_and_grad([0.5] * 10, [1.0] * 9)
    text = fused.ir
    # v0 = w[9] * 2, then 9 products and 9 additions: v18 the last, the dot; v0, its start,
    # passes its adjoint on with partial 1 to it alone: they share one
    assert text.splitlines()[2:4] == ["  v18 = dot of products X0[0:9] X1[0:9] + v0", "  return v18"]
    assert "  v0 (adjoint of v18):" in text.splitlines()


def test_infinite_numbers_in_the_code_are_written_as_themselves():
    for f in (lambda x: sg.maximum(x, -math.inf) * 2.0 + sg.minimum(x, math.inf),
              lambda x: x * -math.inf, lambda x: sg.relu(x - math.inf) + x):
        for x in (1.5, -2.0):
            _value_and_grad_and_jacobian_agree(f, (x,))


def test_an_operation_between_a_chains_own_reading_its_start_stops_the_fusing():
    def f(w, a):
        total = a * 1.0
        start = total
        for k in range(MIN_CHAIN):
            total = total + w[k] * w[k + 1]
            if k == 3:
                side = sg.tanh(start)  # reads the chain's start, in the middle of it
        return total * side
    rng = random.Random(4)
    cf = _value_and_grad_and_jacobian_agree(f, ([rng.uniform(-1, 1) for _ in range(MIN_CHAIN + 1)], 0.5))
    assert not _fused(cf)


def test_an_item_read_twice_in_a_row_is_no_slice():
    from tests.compile.test_paths import compiled_only
    f = lambda w, x: sg.dot([w[1], w[1], w[2]], x) + sg.sum([w[0], w[0]])  # noqa: E731
    cf = sg.compile(f)
    cf([1.0, 2.0, 3.0], [0.5, -1.0, 2.0])
    with compiled_only(cf):
        for args in (([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]), ([-2.0, 0.25, 1.0], [1.0, 1.0, 1.0])):
            assert oracle.same(cf.value_and_grad(*args), oracle.value_and_grad(f, args))


def test_additions_in_order_round_each_one_as_a_chain_of_additions_does():
    from scalargrad.compile.emit import _added_in_order
    assert _added_in_order([1e16, 1.0, -1e16], 0.0) == 0.0  # 1e16 + 1 rounds back to 1e16
    assert _added_in_order([1.0, 2.0], 0.5) == 3.5 and _added_in_order([], -0.0) == -0.0
