"""scalargrad.compile: each wrong answer issue 18 reproduced, as a named test.

Every expectation is the recording engine's (tests/compile_oracle.py: the function run on
fresh Scalars and differentiated by reverse_autodiff), scalargrad.value_and_grad's, or
derived by hand in the test; never the compiler's own output. Each test makes its calls in
the order that exposed the bug: a first call that traces one path, then calls that must not
reuse it wrongly.
"""
import math
import pickle

import pytest

import scalargrad as sg
from scalargrad import Scalar, reverse_autodiff
from scalargrad.optim import SGD
from tests.compile import compile_oracle as oracle


def agrees(f, calls, argnums=None):
    """Compile f, then ask value_and_grad and the value at each point in turn: each answer
    must be the recording engine's (its error too)."""
    cf = sg.compile(f, argnums=argnums)
    for args in calls:
        got = oracle.attempt(lambda: cf.value_and_grad(*args))
        want = oracle.value_and_grad(f, args, argnums)
        assert oracle.same(got, want), f"value_and_grad{args}: {got!r}, recording {want!r}"
        got = oracle.attempt(lambda: cf(*args))
        want = oracle.value(f, args)
        assert oracle.same(got, want), f"value{args}: {got!r}, recording {want!r}"
    return cf


# A: a guard on a value the output does not use ------------------------------------------------
def _branch_on_a_product(x):
    if x * 2 > 3:
        return x * 1.0
    return -x


def test_a_guard_on_a_product_the_returned_branch_does_not_use_is_checked_at_every_call():
    agrees(_branch_on_a_product, [(2.0,), (1.0,), (2.0,), (-3.0,)])
    assert sg.compile(_branch_on_a_product).value_and_grad(1.0) == (-1.0, [-1.0])  # by hand


def test_float_of_a_value_the_output_does_not_otherwise_use_is_a_guard():
    g = lambda x: x * float(x * x)  # noqa: E731
    agrees(g, [(1.0,), (3.0,), (-2.0,)])
    cg = sg.compile(g)
    cg(1.0)
    assert cg.value_and_grad(3.0) == (27.0, [9.0])  # x * c with c = 9: derivative c


def _clipped(w):
    n = sg.sqrt(w * w)
    return w / n if n > 1.0 else w * 1.0


def test_clipping_by_a_norm_the_unclipped_branch_does_not_use():
    agrees(_clipped, [(0.5,), (3.0,), (-4.0,), (0.25,)])
    c = sg.compile(_clipped)
    c.value_and_grad(0.5)
    assert c.value_and_grad(3.0) == (1.0, [0.0])  # w/|w|: constant 1, derivative 0


def _huber(x):
    a = abs(x)
    if a < 1:
        return 0.5 * x * x
    return a - 0.5


def test_huber_loss_switches_branch_on_abs():
    agrees(_huber, [(0.5,), (3.0,), (-2.0,), (0.25,), (-0.75,)])


def _sum_until_threshold(xs):
    """Adds items while the running sum stays at most 2; the sum that crossed it is dropped."""
    total = xs[0] * 1.0
    for x in xs[1:]:
        step = total + x
        if step > 2.0:
            return total
        total = step
    return total


def test_a_running_sum_that_stops_at_a_threshold():
    agrees(_sum_until_threshold, [([1.5, 1.0, 0.1],), ([0.5, 0.25, 0.25],), ([0.5, 1.25, 1.0],),
                                  ([1.5, 1.0, 0.1],)])


def test_a_guard_on_a_closed_over_parameter_sees_the_optimizers_update():
    w = Scalar(1.0)

    def f(x):
        s = w * 2
        if s > 0:
            return x * 3.0
        return x * -1.0

    cf = sg.compile(f)
    assert cf.value_and_grad(1.0) == oracle.value_and_grad(f, (1.0,))
    SGD([w], lr=1.0).step([2.0])  # w: 1 - 2 = -1
    assert w.value == -1.0
    want = oracle.value_and_grad(f, (1.0,))
    assert want == (-1.0, [-1.0])
    assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(1.0)), want)
    assert oracle.same(oracle.attempt(lambda: cf(1.0)), -1.0)


# B: a guard on list items ------------------------------------------------------------------------
def test_a_guard_on_a_list_item_runs_without_a_name_error():
    w = [0.5, -1.0, 2.0]
    f = lambda xs: sg.dot(xs, w) if xs[0] > 0 else -sg.dot(xs, w)  # noqa: E731
    agrees(f, [([1.0, 2.0, 3.0],), ([-1.0, 2.0, 3.0],), ([1.0, 0.0, 0.0],)])
    assert sg.compile(f)([1.0, 2.0, 3.0]) == 0.5 - 2.0 + 6.0  # by hand


# C: several outputs --------------------------------------------------------------------------------
def _shared_product(x, y):
    a = x * y
    return [a, a + y]


def _square_twice(w):
    a = w * w
    return [a + 3 * w, a]


@pytest.mark.parametrize("f, args, hand", [
    (lambda x, y: [x * y, x * y + y], (2.0, 3.0), [[3.0, 2.0], [3.0, 3.0]]),
    (_shared_product, (2.0, 3.0), [[3.0, 2.0], [3.0, 3.0]]),
    (_square_twice, (2.0,), [[7.0], [4.0]]),
], ids=["product-written-twice", "product-shared", "square-shared"])
def test_jacobian_rows_of_outputs_that_share_a_node(f, args, hand):
    assert oracle.jacobian(f, args) == hand
    cf = sg.compile(f)
    for _ in range(2):  # traced, then replayed
        assert oracle.same(oracle.attempt(lambda: cf.jacobian(*args)), hand)


def _square_twice_of_a_list(w):
    a = w[0] * w[0]
    return [a + 3 * w[0], a]


def test_vjp_into_with_several_seeds_gives_each_output_its_own():
    cf = sg.compile(_square_twice_of_a_list)
    for _ in range(2):
        buffer = [0.0]
        assert cf.vjp_into([buffer], (1.0, 10.0), [2.0]) == [10.0, 4.0]
        assert buffer == [1.0 * 7.0 + 10.0 * 4.0]  # by hand: d/dw (w^2 + 3w) = 7, d/dw w^2 = 4
        assert oracle.vjp_into(_square_twice_of_a_list, [[0.0]], (1.0, 10.0), ([2.0],)) == (
            [10.0, 4.0], [[47.0]])


def _shared_product_by_example(w, x):
    a = w[0] * x[0]
    return [a + 3.0 * w[0], a]


def test_vjp_batch_with_several_seeds_gives_each_output_its_own():
    """d/dw [w x + 3w, w x] . (1, 10) = 11 x + 3: 14 at x = 1, 25 at x = 2."""
    cf = sg.compile(_shared_product_by_example, argnums=[0])
    examples = [([1.0],), ([2.0],)]
    for _ in range(3):  # traced, then the batch code made, then run
        buffer = [0.0]
        assert cf.vjp_batch([buffer], (1.0, 10.0), [[1.0]], examples) == [[4.0, 1.0], [5.0, 2.0]]
        assert buffer == [39.0]
    want = oracle.vjp_batch(_shared_product_by_example, [[0.0]], (1.0, 10.0), [[1.0]], examples, [0])
    assert want[:2] == ([[4.0, 1.0], [5.0, 2.0]], [[39.0]])


# D: a Scalar given to value_and_grad -------------------------------------------------------------
def _accepted_as_the_recording_engine(f, x, answer):
    """answer (compiled value_and_grad at the Scalar x) is scalargrad.value_and_grad's: a
    value that is a Scalar still recorded from x, and derivatives that are too."""
    want_value, want_derivative = sg.value_and_grad(f)(x)
    value, (derivative,) = answer
    assert isinstance(value, Scalar) and value.value == want_value.value
    assert reverse_autodiff(value, x) == reverse_autodiff(want_value, x)  # the graph is live
    assert oracle.same(sg.value_of(derivative), sg.value_of(want_derivative))
    if isinstance(want_derivative, Scalar):
        assert isinstance(derivative, Scalar)
        assert reverse_autodiff(derivative, x) == reverse_autodiff(want_derivative, x)


@pytest.mark.parametrize("f", [lambda x: x * x, lambda x: sg.exp(x) * x, lambda x: sg.sin(x) + x ** 3],
                         ids=["square", "x-exp-x", "sin-plus-cube"])
def test_value_and_grad_of_a_scalar_is_refused_or_the_recording_engines_answer_on_every_call(f):
    """The contract (issue 18, D): a Scalar given to value_and_grad is refused with a
    TypeError, or answered as scalargrad.value_and_grad answers it (a live graph); the
    same on the first call and after calls with floats. Both are accepted here; nothing
    else is (a float whose graph is lost, a refusal only sometimes)."""
    first = sg.compile(f)
    later = sg.compile(f)
    later(0.5)
    later.value_and_grad(0.25)
    outcomes = []
    for cf in (first, later):
        x = Scalar(0.75)
        try:
            answer = cf.value_and_grad(x)
        except TypeError:
            outcomes.append("refused")
        else:
            _accepted_as_the_recording_engine(f, x, answer)
            outcomes.append("recorded")
    assert outcomes[0] == outcomes[1], outcomes


# E: an error in code the output does not use --------------------------------------------------------
def _unused_log(x):
    sg.log(x)
    return x * 2


def _unused_division(x):
    1.0 / (x - 1.0)
    return x * 2


def _unused_exp(x):
    sg.exp(x * 1000.0)
    return x * 2


@pytest.mark.parametrize("f, good, bad, error", [
    (_unused_log, 1.0, -1.0, sg.DomainError),
    (_unused_division, 2.0, 1.0, sg.DivisionByZero),
    (_unused_exp, 0.5, 2.0, sg.NumericOverflow),
])
def test_an_error_in_code_the_output_does_not_use_is_raised_as_recording_raises_it(f, good, bad, error):
    want = oracle.value(f, (bad,))
    assert isinstance(want, oracle.Raised) and issubclass(want.type, error)
    cf = agrees(f, [(good,), (bad,), (good,)])
    assert oracle.same(oracle.attempt(lambda: cf.jacobian(bad)), oracle.jacobian(f, (bad,)))


# F: NaN reaching a guard ----------------------------------------------------------------------------
@pytest.mark.parametrize("first", [None, 1.0], ids=["nan-first", "traced-at-1"])
@pytest.mark.parametrize("f", [lambda x: x * float(x), lambda x: x * x.value, lambda x: x if x > 0 else -x,
                               lambda x: x * round(x), lambda x: x * int(x)],
                         ids=["float", "value", "comparison", "round", "int"])
def test_nan_at_a_guard_gives_the_recording_engines_answer_never_the_internal_retrace(f, first):
    """float(nan) != nan, so a guard that compares the value again fails on every call;
    round/int of NaN raise ValueError in the recording engine, which must be what comes out."""
    calls = [(math.nan,), (math.nan,), (2.0,), (math.nan,)]
    agrees(f, calls if first is None else [(first,), *calls])


# Smaller -------------------------------------------------------------------------------------------
def test_ints_past_two_to_the_53_are_computed_as_floats_and_results_are_floats():
    f = lambda a, b: a * a - b * b  # noqa: E731
    assert oracle.value(f, (2 ** 53 + 1, 2 ** 53)) == 0.0  # both round to 2**53 as floats
    cf = agrees(f, [(2 ** 53 + 1, 2 ** 53), (3, 2), (2 ** 60 + 1, 5), (3, 2)])
    result = cf(3, 2)
    assert result == 5.0 and type(result) is float
    lists = sg.compile(lambda xs: xs[0] * xs[1] - xs[2])
    assert oracle.same(oracle.attempt(lambda: lists([3, 4, 2 ** 53 + 1])),
                       oracle.value(lambda xs: xs[0] * xs[1] - xs[2], ([3, 4, 2 ** 53 + 1],)))
    assert oracle.same(oracle.attempt(lambda: lists([10 ** 400, 1, 1])),  # too large for a float
                       oracle.value(lambda xs: xs[0] * xs[1] - xs[2], ([10 ** 400, 1, 1],)))


@pytest.mark.parametrize("call", [
    lambda cf: cf(True), lambda cf: cf.value_and_grad(True), lambda cf: cf.jacobian(False),
    lambda cf: cf.vjp_into([], (1.0,), True)], ids=["call", "value_and_grad", "jacobian", "vjp_into"])
def test_bools_are_refused_after_a_float_call_as_on_the_first(call):
    with pytest.raises(TypeError):  # the recording engine: Scalar(True) is a TypeError
        Scalar(True)
    with pytest.raises(TypeError):
        call(sg.compile(lambda x: x * x))
    cf = sg.compile(lambda x: x * x)
    cf(1.5)
    cf.value_and_grad(1.5)
    with pytest.raises(TypeError):
        call(cf)


def test_a_bool_in_a_list_is_refused_after_a_list_call():
    cf = sg.compile(lambda xs: xs[0] * xs[1])
    cf.value_and_grad([1.0, 2.0])
    for call in (lambda: cf([1.0, True]), lambda: cf.value_and_grad([True, 2.0])):
        with pytest.raises(TypeError):
            call()


@pytest.mark.parametrize("f", [
    lambda x: x * float(format(x, ".3f")), lambda x: x * float(f"{x:.2f}"),
    lambda x: x * len(repr(x)), lambda x: x * len(str(x)), lambda x: x * len(f"{x}"),
], ids=["format", "f-string-spec", "repr", "str", "f-string"])
def test_formatting_a_traced_scalar_reads_its_value_so_it_is_a_guard(f):
    agrees(f, [(1.0,), (2.0,), (10.0,), (1.0,), (-12.5,)])


def _log_of_item(w, x):
    return [sg.log(w[0] + x[0])]


def test_vjp_batch_leaves_the_buffers_untouched_when_a_later_example_raises():
    cf = sg.compile(_log_of_item, argnums=[0])
    examples = [([1.0],), ([2.0],), ([-5.0],)]
    want = oracle.vjp_batch(_log_of_item, [[5.0]], (1.0,), [[2.0]], examples, [0])
    assert isinstance(want, oracle.Raised) and want.type is sg.DomainError
    for _ in range(3):  # traced, the batch code made, run
        buffer = [5.0]
        got = oracle.attempt(lambda: cf.vjp_batch([buffer], (1.0,), [[2.0]], examples))
        assert got == want
        assert buffer == [5.0]
        cf.vjp_batch([[0.0]], (1.0,), [[2.0]], examples[:2])


def _three(x, y, z):
    return x * y + sg.sin(z) * y


def test_argnums_minus_one_is_the_last_argument_as_in_python():
    args = (0.5, 2.0, 0.25)
    assert sg.value_and_grad(_three, argnums=[-1])(*args) == sg.value_and_grad(_three, argnums=[2])(*args)
    value, (derivative,) = sg.value_and_grad(_three, argnums=[-1])(*args)
    agrees(_three, [args, (1.0, -1.0, 3.0)], argnums=[-1])
    cf = sg.compile(_three, argnums=[-1, 0])
    assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(*args)),
                       (value, [derivative, 2.0]))  # d/dx of x*y is y, by hand
    assert oracle.same(oracle.attempt(lambda: cf.jacobian(*args)), oracle.jacobian(_three, args, [2, 0]))


@pytest.mark.parametrize("argnums", [[5], [-4], [0, 3]])
def test_argnums_out_of_range_is_a_value_error(argnums):
    with pytest.raises(ValueError):  # as the recording engine's value_and_grad
        sg.value_and_grad(_three, argnums=argnums)(0.5, 2.0, 0.25)
    cf = sg.compile(_three, argnums=argnums)
    for call in (lambda: cf.value_and_grad(0.5, 2.0, 0.25), lambda: cf.jacobian(0.5, 2.0, 0.25)):
        with pytest.raises(ValueError):
            call()


def test_a_closed_over_scalar_rebound_in_the_enclosing_scope_is_never_stale():
    w = Scalar(2.0)
    f = lambda x: x * w + w  # noqa: E731
    cf = sg.compile(f)
    assert cf.value_and_grad(3.0) == (8.0, [2.0])
    w = Scalar(7.0)  # rebound: the closure's cell holds another Scalar now  # noqa: F841
    assert oracle.value_and_grad(f, (3.0,)) == (28.0, [7.0])
    assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(3.0)), (28.0, [7.0]))
    assert oracle.same(oracle.attempt(lambda: cf(3.0)), 28.0)


def test_a_global_scalar_rebound_is_never_stale():
    namespace = {"W": Scalar(2.0), "sg": sg}
    exec("def f(x):\n    return sg.tanh(x) * W + W * W\n", namespace)  # noqa: S102 - a module of its own
    f = namespace["f"]
    cf = sg.compile(f)
    assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(0.5)), oracle.value_and_grad(f, (0.5,)))
    namespace["W"] = Scalar(-3.0)
    want = oracle.value_and_grad(f, (0.5,))
    assert want == (math.tanh(0.5) * -3.0 + 9.0, [-3.0 * (1 - math.tanh(0.5) ** 2)])
    assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(0.5)), want)


def test_an_item_of_a_closed_over_list_of_scalars_replaced_is_never_stale():
    ws = [Scalar(1.0), Scalar(2.0)]
    f = lambda x: x * ws[0] + ws[1]  # noqa: E731
    cf = sg.compile(f)
    assert cf.value_and_grad(3.0) == (5.0, [1.0])
    ws[0] = Scalar(5.0)
    assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(3.0)), (17.0, [5.0]))
    ws[1] = Scalar(-1.0)
    assert oracle.same(oracle.attempt(lambda: cf(3.0)), 14.0)


def _module_level(x):
    return x * x


@pytest.mark.parametrize("f", [_module_level, lambda x: x * x], ids=["module-level", "lambda"])
def test_pickling_a_compiled_function_is_a_clear_type_error(f):
    """A clear message: it says what cannot be pickled (a compiled function) and names
    pickling, not an attribute lookup deep in pickle."""
    cf = sg.compile(f)
    for _ in range(2):  # before any call, and with variants traced
        with pytest.raises(TypeError) as caught:
            pickle.dumps(cf)
        message = str(caught.value).lower()
        assert "compiled" in message and "pickl" in message and "attribute lookup" not in message
        cf.value_and_grad(1.5)
