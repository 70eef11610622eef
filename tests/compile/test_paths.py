"""Which way a call is answered: by a variant's code, by vjp_batch's loop, or by the recording
engine (where a variant does not fit). Each way must give the recording engine's answer on
its own: the others are safety nets that would hide a broken one, so these tests shut them."""
import math
import random
import warnings
from contextlib import contextmanager

import pytest

import scalargrad as sg
from scalargrad.compile import MAX_VARIANTS
from tests.compile import compile_oracle as oracle


@contextmanager
def compiled_only(cf):
    """Inside, a call that the recording engine (or, for vjp_batch, a run example by example)
    would answer is an error: the compiled code answers, or the test fails."""
    def refuse(*args, **kwargs):
        raise AssertionError("answered by a fallback")
    cf._record = refuse
    cf._one_by_one = refuse
    try:
        yield cf
    finally:
        del cf._record, cf._one_by_one


def _two_layers(w, x, t):
    """2 inputs -> 3 tanh units -> 2 logits -> a softmax loss, and the logits."""
    hidden = [sg.tanh(sg.dot(w[j:6:3], x) + w[6 + j]) for j in range(3)]
    logits = [sg.dot(w[9 + 3 * k:12 + 3 * k], hidden) + w[15 + k] for k in range(2)]
    return [sg.logsumexp(logits) - sg.dot(t, logits), *logits]


def _scalars(a, b):
    """Number arguments only, an output used by another, an int, a literal output."""
    c = a * b + sg.exp(a) / (1.0 + b * b)
    return [c, c * a - sg.sqrt(b * b + 1.0), 2.0]


def _points(rng, count):
    return [([rng.uniform(-1, 1) for _ in range(17)], [rng.uniform(-2, 2), rng.uniform(-2, 2)],
             [1.0, 0.0] if rng.random() < 0.5 else [0.0, 1.0]) for _ in range(count)]


def _check(cf, f, args, seed, argnums):
    buffers = [[0.25] * len(args[i]) for i in oracle.positions(argnums, len(args))
               if isinstance(args[i], list)]
    want = oracle.vjp_into(f, [list(b) for b in buffers], seed, args, argnums)
    outputs = cf.vjp_into(buffers, seed, *args)
    assert oracle.same((outputs, buffers), want)
    assert oracle.same(cf(*args), oracle.value(f, args))
    assert oracle.same(cf.jacobian(*args), oracle.jacobian(f, args, argnums))


@pytest.mark.parametrize("f, argnums, make", [
    (_two_layers, [0], lambda rng: _points(rng, 1)[0]),
    (_scalars, None, lambda rng: (rng.uniform(0.1, 2), rng.uniform(-2, 2))),
])
def test_a_variants_code_answers_every_call_itself(f, argnums, make):
    rng = random.Random(11)
    cf = sg.compile(f, argnums=argnums)
    first = make(rng)
    cf(*first)  # traced
    with compiled_only(cf):
        for _ in range(4):
            args = make(rng)
            for seed in ((1.0, 0.0, 0.0), (0.5, -2.0, 3.0)):
                _check(cf, f, args, seed, argnums)
    value_and_grad = sg.compile(lambda a, b: _scalars(a, b)[1], argnums=[-1])
    value_and_grad(1.0, 2.0)
    with compiled_only(value_and_grad):
        for a, b in ((0.5, 1.5), (2.0, -0.25)):
            got = value_and_grad.value_and_grad(a, b)
            assert oracle.same(got, oracle.value_and_grad(lambda p, q: _scalars(p, q)[1], (a, b), [-1]))


def test_vjp_batch_answers_from_its_loop_as_example_by_example_would():
    rng = random.Random(12)
    cf = sg.compile(_two_layers, argnums=[0])
    w = [rng.uniform(-1, 1) for _ in range(17)]
    examples = [example[1:] for example in _points(rng, 6)]
    cf.vjp_batch([[0.0] * 17], (1.0, 0.0, 0.0), [w], examples[:1])  # traced
    with compiled_only(cf):
        for seed in ((1.0, 0.0, 0.0), (0.5, 1.0, -1.0)):
            buffers = [[0.25] * 17]
            want = oracle.vjp_batch(_two_layers, [[0.25] * 17], seed, [w], examples, [0])
            outputs = cf.vjp_batch(buffers, seed, [w], examples)
            assert oracle.same(outputs, want[0])
            assert oracle.close(buffers, want[1], want[2])


def test_where_no_variant_fits_the_recording_engine_answers_every_kind_of_call():
    """float() makes every point a new variant: after MAX_VARIANTS of them, the recording
    engine answers each call, values, derivatives, vjp with several seeds and batches."""
    def f(w, x):
        c = float(x[0])  # a constant of the code: a guard on x[0]
        return [sg.dot(w, x) * c + w[0] * w[1], sg.tanh(w[1] * c)]
    cf = sg.compile(f, argnums=[0])
    w = [0.5, -1.5]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(MAX_VARIANTS + 1):
            cf([1.0, 2.0], [float(k), 1.0])
        assert sum(len(p) for p in cf._variants.values()) == MAX_VARIANTS
        for x in ([3.5, -1.0], [0.25, 2.0]):
            args = (w, x)
            assert oracle.same(cf(*args), oracle.value(f, args))
            assert oracle.same(cf.jacobian(*args), oracle.jacobian(f, args, [0]))
            for seed in ((1.0, 0.0), (2.0, -0.5)):
                buffers = [[0.25, -0.5]]
                want = oracle.vjp_into(f, [[0.25, -0.5]], seed, args, [0])
                assert oracle.same((cf.vjp_into(buffers, seed, *args), buffers), want)
        single = sg.compile(lambda w, x: f(w, x)[0], argnums=[0])
        for k in range(MAX_VARIANTS + 1):
            single([1.0, 2.0], [float(k), 1.0])
        for x in ([3.5, -1.0], [0.25, 2.0]):
            assert oracle.same(single.value_and_grad(w, x),
                               oracle.value_and_grad(lambda a, b: f(a, b)[0], (w, x), [0]))
        examples = [([3.5, -1.0],), ([0.25, 2.0],), ([-2.0, 0.5],)]
        buffers = [[0.25, -0.5]]
        want = oracle.vjp_batch(f, [[0.25, -0.5]], (1.0, 3.0), [w], examples, [0])
        outputs = cf.vjp_batch(buffers, (1.0, 3.0), [w], examples)
        assert oracle.same(outputs, want[0]) and oracle.same(buffers, want[1])


def test_an_error_in_the_code_is_the_recording_engines_error_for_every_kind_of_call():
    f = lambda w, x: [sg.log(sg.dot(w, x)), w[0] * 2.0]  # noqa: E731
    cf = sg.compile(f, argnums=[0])
    cf([1.0, 1.0], [1.0, 1.0])
    bad = ([1.0, 1.0], [-1.0, -1.0])
    for call, want in ((lambda: cf(*bad), oracle.value(f, bad)),
                       (lambda: cf.jacobian(*bad), oracle.jacobian(f, bad, [0])),
                       (lambda: cf.vjp_into([[0.0, 0.0]], (1.0, 1.0), *bad),
                        oracle.vjp_into(f, [[0.0, 0.0]], (1.0, 1.0), bad, [0]))):
        got = oracle.attempt(call)
        assert isinstance(want, oracle.Raised) and got == want


def test_the_seeded_sweep_of_the_recording_engine_follows_a_tape_the_function_cut():
    """A function that differentiates while it runs is not traced; its vjp comes from the
    recording engine, whose seeded sweep then orders the graph itself."""
    def f(x):
        slope = sg.reverse_autodiff(x[0] * x[0], x[0])  # ends the tape: x[0] twice
        return [x[0] * slope + x[1], sg.sin(x[1]) * x[0]]
    cf = sg.compile(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in (([1.5, 0.5],), ([-0.5, 2.0],)):
            buffers = [[0.25, 0.25]]
            want = oracle.vjp_into(f, [[0.25, 0.25]], (1.0, -1.0), args)
            assert oracle.same((cf.vjp_into(buffers, (1.0, -1.0), *args), buffers), want)
    assert math.isclose(buffers[0][0], 0.25 + 2 * -0.5 - math.sin(2.0))  # by hand: d/dx0
