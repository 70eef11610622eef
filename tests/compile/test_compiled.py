"""scalargrad.compile: the same values and derivatives as the recording engine, guarded."""
import math
import random
import re
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Scalar, reverse_autodiff
from scalargrad.compile import MAX_VARIANTS


def recorded(function, *args):
    """(value, gradient per argument) by the recording engine."""
    inputs = [Scalar(a) if not isinstance(a, list) else [Scalar(v) for v in a] for a in args]
    y = function(*inputs)
    flat = [x for item in inputs for x in (item if isinstance(item, list) else [item])]
    grads = reverse_autodiff(y, flat)
    shaped, start = [], 0
    for item in inputs:
        size = len(item) if isinstance(item, list) else 1
        shaped.append(grads[start:start + size] if isinstance(item, list) else grads[start])
        start += size
    return y.value, shaped


def test_the_seed_example():
    cf = sg.compile(lambda x: 2 * x ** 2 + 4 * x + 3)
    assert cf(12.0) == 339.0
    assert cf.value_and_grad(12.0) == (339.0, [52.0])
    assert cf.value_and_grad(-1.0) == (1.0, [0.0])
    assert "v0 = " in cf.source and "def grad" in cf.source


OPS = ["add", "sub", "mul", "div", "tanh", "sin", "exp", "sigmoid", "sum", "dot", "lse", "pow",
       "relu", "abs", "max", "softplus", "atan", "sqrtsq"]


def program_function(program):
    def f(x, y, zs):
        values = [x, y, *zs]
        for op, i, j, c in program:
            p, q = values[i % len(values)], values[j % len(values)]
            values.append({
                "add": lambda: p + q, "sub": lambda: p - c * q, "mul": lambda: p * q * 0.5,
                "div": lambda: p / (2.0 + q * q), "tanh": lambda: sg.tanh(p), "sin": lambda: sg.sin(p),
                "exp": lambda: sg.exp(sg.tanh(p)), "sigmoid": lambda: sg.sigmoid(p),
                "sum": lambda: sg.sum([p, q, c]), "dot": lambda: sg.dot([p, c, q], [q, p, 0.5]),
                "lse": lambda: sg.logsumexp([p, q, c]), "pow": lambda: (1.5 + sg.tanh(p)) ** q,
                "relu": lambda: sg.relu(p - c), "abs": lambda: abs(p), "max": lambda: sg.maximum(p, q),
                "softplus": lambda: sg.softplus(p), "atan": lambda: sg.atan(p * c),
                "sqrtsq": lambda: sg.sqrt(1.0 + p * p)}[op]())
        return values[-1] + values[-2] * 0.25
    return f


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 50), st.integers(0, 50),
                          st.floats(-2, 2)), min_size=1, max_size=25),
       st.lists(st.floats(-1.5, 1.5), min_size=4, max_size=4))
def test_random_programs_give_the_recording_engines_values_and_gradients(program, point):
    f = program_function(program)
    x, y, zs = point[0], point[1], point[2:]
    cf = sg.compile(f)
    try:
        expected = recorded(f, x, y, zs)
    except (ArithmeticError, ValueError):
        return
    for _ in range(2):  # traced, then replayed
        value, grads = cf.value_and_grad(x, y, zs)
        assert value == pytest.approx(expected[0], rel=1e-12, abs=1e-300)
        assert grads[0] == pytest.approx(expected[1][0], rel=1e-12, abs=1e-300)
        assert grads[1] == pytest.approx(expected[1][1], rel=1e-12, abs=1e-300)
        assert grads[2] == pytest.approx(expected[1][2], rel=1e-12, abs=1e-300)
    # at another point, without tracing again unless a guard (max, relu are not guards) says so
    other = [v * 0.7 + 0.1 for v in point]
    try:
        expected = recorded(f, other[0], other[1], other[2:])
    except (ArithmeticError, ValueError):
        return
    value, grads = cf.value_and_grad(other[0], other[1], other[2:])
    assert value == pytest.approx(expected[0], rel=1e-12, abs=1e-300)
    assert grads[2] == pytest.approx(expected[1][2], rel=1e-12, abs=1e-300)
    assert len(compiler_variants(cf)) == 1


def compiler_variants(cf):
    return [p for programs in cf._variants.values() for p in programs]


def test_comparisons_are_guards_and_a_failed_guard_traces_a_new_variant():
    def f(x):
        return x * x if x > 0 else -3.0 * x

    cf = sg.compile(f)
    assert cf.value_and_grad(2.0) == (4.0, [4.0])
    assert cf.value_and_grad(-1.0) == (3.0, [-3.0])
    assert cf.value_and_grad(5.0) == (25.0, [10.0])
    assert len(compiler_variants(cf)) == 2
    assert cf.source.count("raise _Retrace") == 2 * 3  # one guard, in the 3 functions of each variant


def test_kinks_that_are_primitives_never_trace_again():
    cf = sg.compile(lambda x, y: sg.relu(x) + abs(y) + sg.maximum(x, y) + sg.minimum(x, y))
    for point in ([1.0, -2.0], [-1.0, 2.0], [0.5, 0.5], [-3.0, -4.0]):
        value, grads = cf.value_and_grad(*point)
        assert (value, grads) == recorded(lambda a, b: sg.relu(a) + abs(b) + sg.maximum(a, b)
                                          + sg.minimum(a, b), *point)
    assert len(compiler_variants(cf)) == 1


def test_int_and_bool_of_a_scalar_are_guards():
    table = [10.0, 20.0, 30.0]
    cf = sg.compile(lambda x: x * table[int(x)] if x else x + 1.0)
    assert cf(1.5) == 30.0 and cf(2.5) == 75.0 and cf(1.2) == pytest.approx(24.0)
    assert cf(0.0) == 1.0
    assert len(compiler_variants(cf)) == 3


def test_reading_value_is_a_guard_as_float_is():
    """x.value is a plain number: compiled code that kept it as a constant would give the
    traced call's answer at every other point (x * 3.0 at x = 5: 15, not 25)."""
    cf = sg.compile(lambda x: x * x.value)
    assert cf(3.0) == 9.0 and cf(5.0) == 25.0
    assert cf.value_and_grad(5.0) == (25.0, [5.0])  # d/dx of x*c is c, as with float(x)
    assert "if x0 != 3.0: raise _Retrace" in cf.source
    branch = sg.compile(lambda x: 2.0 * x if x.value > 0 else -x)
    assert branch(1.0) == 2.0 and branch(-1.0) == 1.0
    assert len(compiler_variants(branch)) == 2
    # the library's own ways to read a value are guards too
    value_of = sg.compile(lambda x: x * sg.value_of(x))
    assert value_of(3.0) == 9.0 and value_of(5.0) == 25.0
    from scalargrad import Matrix
    read = sg.compile(lambda x: x * Matrix([[x]]).tolist()[0][0])
    assert read(3.0) == 9.0 and read(5.0) == 25.0


def test_values_read_inside_scalargrad_are_not_guards_and_value_is_a_slot_again_after():
    slot = type(Scalar.__dict__["value"])
    cf = sg.compile(lambda w, x: [sg.dot(w, x), sg.logsumexp(w)], argnums=[0])
    cf.vjp_into([[0.0, 0.0]], (1.0, 1.0), [1.0, 2.0], [3.0, 4.0])  # dot and logsumexp read values
    assert "_Retrace" not in cf.source
    assert type(Scalar.__dict__["value"]) is slot
    with pytest.raises(ZeroDivisionError):  # a traced call that fails leaves the slot too
        sg.compile(lambda x: x.value / 0.0)(1.0)
    assert type(Scalar.__dict__["value"]) is slot


def test_too_many_variants_fall_back_to_the_recording_engine_and_say_so_once():
    cf = sg.compile(lambda x: x * float(x))  # float() makes the value a constant: a guard on it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [cf.value_and_grad(float(k)) for k in range(12)]
    assert [value for value, _ in results] == [float(k * k) for k in range(12)]
    assert [grads[0] for _, grads in results] == [float(k) for k in range(12)]  # d/dx of x*c is c
    assert len(compiler_variants(cf)) == MAX_VARIANTS
    assert sum("recording engine" in str(w.message) for w in caught) == 1


def test_domain_errors_have_the_recording_engines_messages():
    cf = sg.compile(lambda x: sg.log(x) * 2.0)
    assert cf(math.e) == pytest.approx(2.0)
    with pytest.raises(sg.DomainError, match=r"^log\(-1.0\): outside the domain of log \(x > 0\)$"):
        cf(-1.0)
    with pytest.raises(sg.NumericOverflow, match=r"^exp\(1000.0\)"):
        sg.compile(sg.exp).value_and_grad(1000.0)


def test_lists_argnums_and_accumulating_into_buffers():
    def loss(weights, pixels, target):
        logits = [sg.dot(weights[k * 3:k * 3 + 3], pixels) for k in range(2)]
        return sg.logsumexp(logits) - sg.dot(target, logits)

    weights, pixels, target = [0.1, -0.2, 0.3, 0.4, 0.5, -0.6], [1.0, 2.0, 3.0], [0.0, 1.0]
    cf = sg.compile(loss, argnums=[0])
    value, (grad_weights,) = cf.value_and_grad(weights, pixels, target)
    expected_value, expected = recorded(loss, weights, pixels, target)
    assert value == expected_value and grad_weights == expected[0]
    assert "G1" not in cf.source and "G2" not in cf.source  # the data get no adjoints at all
    buffer = [1.0] * 6
    cf.value_and_grad_into([buffer], weights, pixels, target)
    assert buffer == [1.0 + g for g in expected[0]]


def _reused_slices(w, x):
    """w's slices read by several dots, overlapping, and one of its items alone."""
    return sg.dot(w[0:3], x) + sg.relu(sg.dot(w[0:3], x[::-1])) + sg.dot(w[2:5], x) * w[3]


@pytest.mark.parametrize("w3", [0.25, 0.0])  # w[3] = 0: the store to x's slice is skipped
@pytest.mark.parametrize("x", [[1.0, 2.0, -3.0], [-1.0, 2.0, 3.0]])  # the relu alive, dead
def test_value_and_grad_stores_a_slices_first_gradient_and_adds_the_others(x, w3):
    """grad's buffers start at zero, so the first write to a part of one is a store; any
    later write there (a part read again, overlapping, or an item) adds, also after a first
    store skipped because its adjoint was zero."""
    w = [0.5, -1.0, 2.0, w3, -0.75]
    cf = sg.compile(_reused_slices)
    assert cf.value_and_grad(w, x) == recorded(_reused_slices, w, x)
    grad = cf.source.split("def grad")[1].split("def vjp")[0]
    stores = re.findall(r"(G\d\[[\d:]+\]) = \[g_v\d+ \* b for b in", grad)
    adds = re.findall(r"(G\d\[[\d:]+\]) = \[a \+", grad)
    # newest first: w[3] alone, then w[2:5] (overlaps it), x[0:3] (new: stored), w[0:3]
    # (overlaps w[2:5]) twice, x[0:3] again
    assert stores == ["G1[0:3]"] and adds == ["G0[2:5]", "G0[0:3]", "G0[0:3]", "G1[0:3]"]


def test_value_and_grad_into_adds_to_the_buffers_and_leaves_them_alone_on_an_error():
    cf = sg.compile(lambda w, x: sg.log(sg.dot(w, x)), argnums=[0])
    buffer = [1.0, 2.0]
    value, (gradient,) = cf.value_and_grad_into([buffer], [1.0, 2.0], [3.0, 4.0])
    assert gradient is buffer and buffer == [1.0 + 3.0 / 11.0, 2.0 + 4.0 / 11.0]
    with pytest.raises(sg.DomainError, match="log"):
        cf.value_and_grad_into([buffer], [1.0, 2.0], [-3.0, 1.0])
    assert buffer == [1.0 + 3.0 / 11.0, 2.0 + 4.0 / 11.0]
    with pytest.raises(ValueError, match="1 buffers wanted, of lengths \\[2\\]"):
        cf.value_and_grad_into([[0.0]], [1.0, 2.0], [3.0, 4.0])


def test_a_dot_over_slices_of_a_list_is_one_line_each_way():
    cf = sg.compile(lambda w, x: sg.dot(w[::2], x) + sg.dot(w[1::2], x))
    w, x = [0.5 * k for k in range(200)], [1.0 / (k + 1) for k in range(100)]
    assert cf.value_and_grad(w, x) == recorded(lambda a, b: sg.dot(a[::2], b) + sg.dot(a[1::2], b), w, x)
    assert len(cf.source.splitlines()) < 60


def test_jacobian_of_a_function_returning_a_list():
    cf = sg.compile(lambda x, y: [x * y, sg.sin(x), y ** 2])
    rows = cf.jacobian(0.5, 2.0)
    assert rows == [[2.0, 0.5], [math.cos(0.5), 0.0], [0.0, 4.0]]
    assert cf(0.5, 2.0) == [1.0, math.sin(0.5), 4.0]


def test_closed_over_scalars_are_read_at_each_call():
    scale = Scalar(2.0)
    cf = sg.compile(lambda x: x * scale + scale ** 2)
    assert cf(3.0) == 10.0
    scale.value = 3.0  # an optimizer updates parameters in place
    assert cf.value_and_grad(3.0) == (18.0, [3.0])


def test_closed_over_plain_numbers_are_constants_of_the_code_as_documented():
    data = [2.0]
    cf = sg.compile(lambda x: x * data[0])
    assert cf(3.0) == 6.0 and "v0 = x0 * 2.0" in cf.source
    data[0] = 5.0  # not an argument, not a Scalar: the code keeps what the trace read
    assert cf(3.0) == 6.0


def test_another_list_length_is_another_trace_and_bad_arguments_are_refused():
    cf = sg.compile(lambda xs: sg.sum(xs) * 2.0)
    assert cf([1.0, 2.0]) == 6.0 and cf([1.0, 2.0, 3.0]) == 12.0
    assert len(compiler_variants(cf)) == 2
    for bad in ("a", [1.0, "b"], [[1.0]], None):
        with pytest.raises(TypeError):
            cf(bad)


def test_inside_another_recording_a_compiled_function_just_records():
    cf = sg.compile(lambda x: sg.tanh(x) * 2.0)
    x = Scalar(0.3)
    y = cf(x) * 3.0
    assert isinstance(y, Scalar) and reverse_autodiff(y, x) == pytest.approx(6 / math.cosh(0.3) ** 2)


def test_the_source_holds_only_generated_names_and_numbers():
    secret = "rm -rf /"

    def user_function(danger_name, other):
        label = secret  # text in the function must never reach the source
        assert label
        return sg.exp(danger_name) * other + 1.0e-3

    cf = sg.compile(user_function)
    cf.value_and_grad(0.5, 2.0)
    assert secret not in cf.source and "danger" not in cf.source and "label" not in cf.source
    names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", cf.source))
    allowed = re.compile(r"^(v\d+|x\d+(_\d+)?|X\d+|G\d+|e\d+|E|g_(v|x|e)\d+(_\d+)?|_f_\w+|_\w+|"
                         r"def|return|if|not|for|in|zip|raise|seed|seeds|buffers|value|grad|vjp|"
                         r"scalar_gradients|append|int|round|e\d*)$")
    assert all(allowed.match(name) for name in names), sorted(n for n in names if not allowed.match(n))


def test_vjp_into_adds_the_seeded_gradient_and_returns_every_output():
    cf = sg.compile(lambda w, x: [sg.dot(w, x), sg.tanh(w[0]) * x[1]], argnums=[0])
    w, x = [0.5, -1.0], [2.0, 3.0]
    buffer = [10.0, 20.0]
    outputs = cf.vjp_into([buffer], (1.0, 2.0), w, x)
    assert outputs == [-2.0, math.tanh(0.5) * 3.0]
    sech2 = 1 / math.cosh(0.5) ** 2
    assert buffer == pytest.approx([10.0 + 2.0 + 2.0 * sech2 * 3.0, 20.0 + 3.0])
    again = [0.0, 0.0]
    cf.vjp_into([again], (1.0, 0.0), w, x)  # the short path, at the same shape
    assert again == [2.0, 3.0]
    with pytest.raises(sg.DomainError):  # an error on the way: the recording engine's
        sg.compile(lambda w: [sg.log(w[0])], argnums=[0]).vjp_into([[0.0]], (1.0,), [-1.0])


def _layer(w, x, t):
    """A 3 -> 2 affine map with a softmax loss: weights (3x2, row-major) and biases in w."""
    logits = [sg.dot(w[j:6:2], x) + w[6 + j] for j in range(2)]
    return [sg.logsumexp(logits) - sg.dot(t, logits), *logits]


def test_vjp_batch_is_vjp_into_example_by_example():
    cf = sg.compile(_layer, argnums=[0])
    w = [0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.05, -0.05]
    examples = [([1.0, 2.0, -1.0], [1.0, 0.0]), ([0.5, 0.0, 3.0], [0.0, 1.0]),
                ([-2.0, 1.5, 0.25], [0.0, 1.0])]
    one_by_one = [0.0] * 8
    expected = [cf.vjp_into([one_by_one], (1.0, 0.0, 0.0), w, x, t) for x, t in examples]
    batched = [1.0] * 8  # the batch's gradient is added to what the buffer holds
    assert cf.vjp_batch([batched], (1.0, 0.0, 0.0), [w], examples) == expected
    assert batched == pytest.approx([1.0 + g for g in one_by_one], rel=1e-12)
    # against the recording engine: the summed loss's gradient, reverse mode
    ws = [Scalar(v) for v in w]
    total = sum(_layer(ws, x, t)[0] for x, t in examples)
    assert one_by_one == pytest.approx(sg.reverse_autodiff(total, ws), rel=1e-12)
    assert cf.vjp_batch([batched], (1.0, 0.0, 0.0), [w], []) == []
    assert "def vjp_batch(X0, EXAMPLES, seed):" in cf.source


def _relu_layer(w, x):
    """2 inputs -> 3 relu units -> a sum: dead units pass no adjoint to their weights."""
    hidden = [sg.relu(sg.dot(w[j:6:3], x) + w[6 + j]) for j in range(3)]
    return [sg.dot(w[9:12], hidden)]


def _one_by_one(cf, w, examples):
    buffer = [0.0] * len(w)
    outputs = [cf.vjp_into([buffer], (1.0,), w, *example) for example in examples]
    return outputs, buffer


def test_vjp_batch_skips_the_datas_zeros_and_gives_the_same_bits():
    rng = random.Random(5)
    cf = sg.compile(_relu_layer, argnums=[0])
    w = [rng.uniform(-1, 1) for _ in range(12)]
    examples = [([0.0, 0.0],), ([0.0, 2.5],), ([-1.5, 0.0],), ([0.75, -3.0],), ([0.0, 1e-300],)]
    expected_outputs, expected = _one_by_one(cf, w, examples)
    batched = [0.0] * 12
    cf._one_by_one = None  # the batch must not fall back to running example by example
    assert cf.vjp_batch([batched], (1.0,), [w], examples) == expected_outputs
    assert batched == expected and "_nonzero(X1)" in cf.source and "_column_sums(" in cf.source
    ws = [Scalar(v) for v in w]
    total = sum(_relu_layer(ws, *example)[0] for example in examples)
    assert expected == pytest.approx(sg.reverse_autodiff(total, ws), rel=1e-12)


@pytest.mark.parametrize("where", ["weight", "data"])
def test_vjp_batch_with_a_value_that_is_not_finite_gives_what_example_by_example_gives(where):
    cf = sg.compile(_relu_layer, argnums=[0])
    w = [0.5, -0.25, 1.0, 0.75, 0.5, -1.0, 0.1, 0.2, -5.0, 1.0, 2.0, 3.0]
    examples = [([1.0, 0.0],), ([0.0, 1.0],)]
    cf.vjp_batch([[0.0] * 12], (1.0,), [w], examples)  # traced, and the batch code made
    if where == "weight":  # inf times a skipped zero pixel: nan, not 0, in the full dot
        w[3] = math.inf
    else:  # a dead unit (the third) sees an infinite pixel: 0 * inf is not 0
        examples.append(([math.inf, 0.0],))
    expected_outputs, expected = _one_by_one(cf, w, examples)
    batched = [0.0] * 12
    outputs = cf.vjp_batch([batched], (1.0,), [w], examples)
    assert repr(outputs) == repr(expected_outputs) and repr(batched) == repr(expected)


def _dead_output(w, x):
    """2 relu units feeding a relu: a huge weight times a huge input makes a hidden value inf,
    which a dead output (its adjoint zero) must not multiply (0 * inf is nan)."""
    hidden = [sg.relu(w[j] * x[j]) for j in range(2)]
    return [sg.relu(sg.dot(w[2:4], hidden))]


def _sqrt_output(w, x):
    """2 relu units feeding a sqrt: when both are dead, the adjoint sqrt'(0) is inf, and inf
    times a hidden zero is nan."""
    hidden = [sg.relu(w[j] * x[j]) for j in range(2)]
    return [sg.sqrt(sg.dot(w[2:4], hidden))]


@pytest.mark.parametrize("layer, w, examples", [
    (_dead_output, [1e200, 2.0, -0.5, 1.0], [([-1.0, 2.0],), ([1.0, 1.0],), ([1e200, 0.0],)]),
    (_sqrt_output, [1.0, 2.0, 0.5, 1.0], [([1.0, 1.0],), ([-1.0, -1.0],)]),
])
def test_vjp_batch_with_a_hidden_value_or_adjoint_not_finite_gives_what_example_by_example_gives(
        layer, w, examples):
    """The second dot's weight gradients are added a hidden column at a time, skipping the
    hidden zeros (zero_skipping.column_sums): only right when the hidden values and the
    adjoints are finite, which the batch code checks."""
    cf = sg.compile(layer, argnums=[0])
    cf.vjp_batch([[0.0] * 4], (1.0,), [w], examples[:1])  # traced
    cf.vjp_batch([[0.0] * 4], (1.0,), [w], examples[:1])  # the batch code made
    assert "R0.append(" in cf.source and "_column_sums(D0, CR0)" in cf.source
    expected_outputs, expected = _one_by_one(cf, w, examples)
    batched = [0.0] * 4
    outputs = cf.vjp_batch([batched], (1.0,), [w], examples)
    assert repr(outputs) == repr(expected_outputs) and repr(batched) == repr(expected)


def test_a_layers_inputs_are_made_into_one_tuple_that_each_unit_reads():
    def f(w, x):
        hidden = [sg.tanh(w[j] * x[j]) for j in range(3)]
        return sum(sg.dot(w[3 + 3 * k:6 + 3 * k], hidden) ** 2 for k in range(2))
    cf = sg.compile(f, argnums=[0])
    w, x = [0.5, -1.0, 2.0, 0.1, 0.2, 0.3, -0.4, 0.5, -0.6], [1.0, 0.5, -0.25]
    value, (gradient,) = cf.value_and_grad(w, x)
    expected_value, expected = _recorded(f, (w, x), 0)
    assert value == expected_value and gradient == pytest.approx(expected, rel=1e-12)
    assert cf.source.count("t0 = (v") == 3  # made once in each of value, grad and vjp
    assert cf.source.count("(v1, v3, v5)") == 3


def test_vjp_batch_with_an_infinite_adjoint_gives_what_example_by_example_gives():
    cf = sg.compile(lambda w, x: [sg.sqrt(sg.dot(w, x))], argnums=[0])
    w, examples = [1.0, 2.0], [([1.0, 0.0],), ([0.0, 0.0],)]  # sqrt'(0) = inf, times zero pixels
    cf.vjp_batch([[0.0, 0.0]], (1.0,), [w], examples)
    expected_outputs, expected = _one_by_one(cf, w, examples)
    batched = [0.0, 0.0]
    assert cf.vjp_batch([batched], (1.0,), [w], examples) == expected_outputs
    assert repr(batched) == repr(expected) == "[nan, nan]"


def test_vjp_batch_that_meets_a_new_variant_or_an_error_runs_example_by_example():
    def f(w, x):
        return [w[0] * x[0] if x[0] > 0 else sg.log(w[0] + x[0])]
    cf = sg.compile(f, argnums=[0])
    buffer = [0.0]
    assert cf.vjp_batch([buffer], (1.0,), [[2.0]], [([3.0],), ([4.0],)]) == [[6.0], [8.0]]
    assert buffer == [7.0]
    # the second example takes the other branch: traced, and its derivative is 1/(w+x)
    assert cf.vjp_batch([buffer], (1.0,), [[2.0]], [([3.0],), ([-1.0],)]) == [[6.0], [0.0]]
    assert buffer == [7.0 + 3.0 + 1.0]
    untouched = [5.0]
    with pytest.raises(sg.DomainError, match="log"):
        cf.vjp_batch([untouched], (1.0,), [[2.0]], [([3.0],), ([-3.0],)])
    assert untouched == [5.0]  # touched only once the whole batch has succeeded


def test_vjp_batch_differentiates_shared_lists_only_and_checks_each_examples_shape():
    cf = sg.compile(lambda w, x: [sg.dot(w, x)], argnums=[1])
    cf.vjp_into([[0.0, 0.0]], (1.0,), [1.0, 2.0], [3.0, 4.0])
    with pytest.raises(TypeError, match="shared"):
        cf.vjp_batch([[0.0, 0.0]], (1.0,), [[1.0, 2.0]], [([3.0, 4.0],)])
    cw = sg.compile(lambda w, x: [sg.dot(w, x)], argnums=[0])
    buffer = [0.0, 0.0]
    cw.vjp_batch([buffer], (1.0,), [[1.0, 2.0]], [([3.0, 4.0],)])
    with pytest.raises(ValueError, match="lengths differ"):  # never the dot of the first two
        cw.vjp_batch([buffer], (1.0,), [[1.0, 2.0]], [([3.0, 4.0],), ([1.0, 1.0, 1.0],)])



def test_vjp_batch_with_floats_known_skips_the_types_but_not_the_structure():
    cw = sg.compile(lambda w, x: [sg.dot(w, x) + x[0] ** 3], argnums=[0])
    w, rng = [0.5, -1.5], random.Random(3)
    examples = [([rng.uniform(-2, 2), rng.choice([0.0, 1.5])],) for _ in range(5)]
    checked, trusted = [0.25, 0.25], [0.25, 0.25]
    want = cw.vjp_batch([checked], (1.0,), [w], examples)
    assert cw.vjp_batch([trusted], (1.0,), [w], examples, floats_known=True) == want
    assert trusted == checked
    with pytest.raises(ValueError, match="lengths differ"):  # the structure is still checked
        cw.vjp_batch([trusted], (1.0,), [w], [([3.0, 4.0],), ([1.0, 1.0, 1.0],)], floats_known=True)


# Sums of products written op by op ----------------------------------------------------------
def _recorded(f, args, argnum):
    """f's value and its gradient in argument argnum (a list) by the recording engine."""
    scalars = [[Scalar(v) for v in a] if isinstance(a, list) else a for a in args]
    out = f(*scalars)
    return out.value, reverse_autodiff(out, scalars[argnum])


def _check_against_recording(cf, f, w, x):
    """cf (f compiled, differentiating both lists) gives the recording engine's value and
    gradients."""
    value, (gw, gx) = cf.value_and_grad(w, x)
    expected_value, expected_w = _recorded(f, [w, x], 0)
    _same(value, expected_value)
    _same(gw, expected_w)
    _same(gx, _recorded(f, [w, x], 1)[1])


def _same(got, expected):
    """Equal bit for bit, on every Python: a fused sum of products adds in order, as the
    operations it replaced (sum() would compensate from 3.12 on)."""
    assert repr(got) == repr(expected)


def _dense(w, x):
    """A 12 -> 3 tanh layer and a sum, written as micrograd's users write it."""
    units = [sg.tanh(sum((wi * xi for wi, xi in zip(w[12 * j:12 * j + 12], x)), w[36 + j]))
             for j in range(3)]
    return sum((u * c for u, c in zip(units, [0.5, -1.0, 2.0])), 0.0)


def test_a_sum_of_products_written_op_by_op_is_one_statement_each_way():
    rng = random.Random(8)
    w, x = [rng.uniform(-1, 1) for _ in range(39)], [rng.uniform(-2, 2) for _ in range(12)]
    cf = sg.compile(_dense, argnums=[0])
    value, (gradient,) = cf.value_and_grad(w, x)
    expected_value, expected_gradient = _recorded(_dense, [w, x], 0)
    _same(value, expected_value)
    _same(gradient, expected_gradient)
    grad = cf.source.split("def grad")[1].split("def vjp")[0]
    for j in range(3):  # each unit's 12 products: one dot forward, one slice update back
        assert f"_in_order(_map(_mul, X0[{12 * j}:{12 * j + 12}], X1), x0_{36 + j})" in grad
        assert f"G0[{12 * j}:{12 * j + 12}] = [g_v" in grad  # stored: grad's buffers start at 0
    assert " * x1_" not in grad  # no multiply of its own for any product
    assert len(grad.splitlines()) < 40


def _chain_with_reads(w, x):
    """Partial sums and terms read elsewhere: each must still be computed."""
    acc, kept, term = w[0], None, None
    for k in range(1, 20):
        product = w[k] * x[k]
        acc = acc + product
        if k == 5:
            kept = acc  # read again below
        if k == 9:
            term = product
        if k == 14 and acc > 100.0:  # a guard on a partial sum
            acc = acc * 2.0
    return acc * kept + sg.sin(term)


def test_sums_of_products_keep_every_value_something_else_reads():
    rng = random.Random(9)
    cf = sg.compile(_chain_with_reads, argnums=[0, 1])
    for _ in range(3):
        w, x = [rng.uniform(-1, 1) for _ in range(20)], [rng.uniform(-1, 1) for _ in range(20)]
        _check_against_recording(cf, _chain_with_reads, w, x)
    assert "_in_order(_map(_mul, X0[15:20], X1[15:20])" not in cf.source  # 5 terms: too short


def test_terms_that_are_not_list_items_are_added_back_one_by_one_newest_first():
    def f(w, x):
        squares = [sg.exp(v) for v in x]  # locals, not a slice
        return sum((wi * s * 1.5 for wi, s in zip(w, squares)), 2.0) + sum(
            (v * v for v in x), w[0])  # the same factor on both sides of a product
    rng = random.Random(10)
    w, x = [rng.uniform(-1, 1) for _ in range(10)], [rng.uniform(-1, 1) for _ in range(10)]
    cf = sg.compile(f, argnums=[0, 1])
    _check_against_recording(cf, f, w, x)
    assert cf.source.count("_in_order(_map(_mul,") >= 2


# What a compiled function takes, refuses and gives ---------------------------------------------
def test_derivatives_of_scalars_are_refused_on_every_call_and_the_call_itself_records():
    cf = sg.compile(lambda x: x * x)
    for _ in range(2):
        with pytest.raises(TypeError, match="value_and_grad takes numbers"):
            cf.value_and_grad(Scalar(1.5))
        with pytest.raises(TypeError, match="jacobian takes numbers"):
            cf.jacobian([Scalar(1.5)][0])
        cf.value_and_grad(1.5)
    x = Scalar(1.5)
    assert reverse_autodiff(cf(x), x) == 3.0  # a live graph


def test_ints_are_floats_and_results_are_floats():
    cf = sg.compile(lambda a, bs: [a * bs[0], bs[1] / a, a], argnums=[0])
    for args in ((3, [2, 7]), (3.0, [2.0, 7.0]), (2 ** 60 + 1, [3, 1])):
        got = cf(*args)
        assert [type(v) for v in got] == [float] * 3
        assert got == [float(args[0]) * float(args[1][0]), float(args[1][1]) / float(args[0]), float(args[0])]
    assert cf.jacobian(3, [2, 7]) == [[2.0], [-(7.0 / 3.0) / 3.0], [1.0]]  # by hand


@pytest.mark.parametrize("argnums, error", [([0, 0], ValueError), ([0.0], TypeError), (["x"], TypeError)])
def test_argnums_are_distinct_ints(argnums, error):
    with pytest.raises(error, match="argnums"):
        sg.compile(lambda x: x, argnums=argnums)


def test_a_compiled_function_is_neither_pickled_nor_copied():
    import copy
    import pickle
    cf = sg.compile(lambda x: x * 2.0)
    cf(1.0)
    for attempt in (lambda: pickle.dumps(cf), lambda: copy.copy(cf), lambda: copy.deepcopy(cf)):
        with pytest.raises(TypeError, match="cannot be pickled or copied"):
            attempt()


def test_a_variant_whose_guards_fail_on_its_own_call_is_never_kept(monkeypatch):
    """Code that disagreed with its own trace (a guard failing on the very call traced) is
    not trusted: the call gets the recording engine's answer, and the variant is dropped."""
    from scalargrad.compile import compiled
    from scalargrad.compile.form import Guard

    def disagreeing(form):
        made = real(form)
        made.equations.insert(0, Guard("bool", (0.0,), True))  # bool(0.0) is never True
        return made
    real = compiled.pipeline
    monkeypatch.setattr(compiled, "pipeline", disagreeing)
    cf = sg.compile(lambda x: sg.exp(x) * 2.0)
    for call, want in ((lambda: cf(1.0), 2.0 * math.e), (lambda: cf.value_and_grad(0.0), (2.0, [2.0]))):
        assert call() == want
    assert compiler_variants(cf) == []


def test_grad_inside_the_function_is_traced_as_recorded_operations():
    f = lambda x: sg.grad(lambda z: z * z * z)(x) * x  # noqa: E731 - 3x^2 * x, recorded
    cf = sg.compile(f)
    for x in (2.0, -0.5):
        assert cf.value_and_grad(x) == (3 * x ** 3, [9 * x ** 2])
    assert len(compiler_variants(cf)) == 1


def test_a_gradient_the_recording_engine_gives_as_minus_zero_is_minus_zero():
    """grad stores a cell's first contribution, as the recording engine's sweep stores a
    leaf's first: -0.0 stays -0.0 (adding it to a zero would give 0.0)."""
    for f, args in ((lambda w: sg.dot(w, [-0.0, 2.0]), ([1.0, 3.0],)),
                    (lambda w, x: w[0] * x + w[1] * 0.5, ([1.0, 2.0], -0.0)),
                    (lambda x: sg.relu(x) * 2.0 - x * 0.0, (3.0,))):
        got = sg.compile(f).value_and_grad(*args)
        want = recorded(f, *args)
        assert repr(got) == repr(want)


def test_a_seed_of_another_length_than_the_outputs_is_refused_before_any_buffer_is_touched():
    cf = sg.compile(lambda w, x: [sg.dot(w, x), w[0] * 2.0], argnums=[0])
    buffer = [1.0, 2.0]
    for _ in range(3):  # traced, the batch code made, run
        for seed in ((1.0,), (1.0, 0.0, 0.0)):
            with pytest.raises(ValueError, match="2 outputs"):
                cf.vjp_batch([buffer], seed, [[0.5, 0.25]], [([1.0, 2.0],), ([3.0, 4.0],)])
            with pytest.raises(ValueError, match="2 outputs"):
                cf.vjp_into([buffer], seed, [0.5, 0.25], [1.0, 2.0])
        cf.vjp_batch([[0.0, 0.0]], (1.0, 1.0), [[0.5, 0.25]], [([1.0, 2.0],)])
    assert buffer == [1.0, 2.0]


@pytest.mark.parametrize("out", [True, 3, 0.5])
def test_an_output_that_is_a_plain_number_has_its_value_and_no_derivative_a_bool_none(out):
    """As the recording engine: a number returned is a constant (derivatives 0); a bool has a
    value (1.0 for True), but reverse_autodiff refuses to differentiate it."""
    from tests.compile import compile_oracle as oracle
    f = lambda x: [x * 2.0, out]  # noqa: E731
    g = lambda x: out if x > 0 else x  # noqa: E731
    for function, args in ((f, (1.5,)), (g, (1.5,)), (g, (-1.5,))):
        cf = sg.compile(function)
        for _ in range(2):
            for call, want in ((lambda: cf(*args), oracle.value(function, args)),
                               (lambda: cf.jacobian(*args), oracle.jacobian(function, args)),
                               (lambda: cf.value_and_grad(*args), oracle.value_and_grad(function, args))):
                assert oracle.same(oracle.attempt(call), want), (function, args)
    assert sg.compile(f)(1.5) == [3.0, float(out)]  # by hand


# What is refused, and how it is said ----------------------------------------------------------
def _message(call):
    with pytest.raises(Exception) as caught:
        call()
    return type(caught.value), str(caught.value)


def test_each_refusal_says_what_was_given_and_what_is_wanted():
    def f(w, x):
        return [sg.dot(w, x), w[0] * 2.0]
    cf = sg.compile(f, argnums=[0])
    cf([1.0, 2.0], [3.0, 4.0])
    for call, want in [
        (lambda: cf([1.0, "a"], [3.0, 4.0]),
         (TypeError, "compiled function: argument 0 holds a str; lists of numbers only")),
        (lambda: cf([1.0, 2.0], None),
         (TypeError, "compiled function: argument 1 is a NoneType; numbers or flat lists of numbers only")),
        (lambda: cf.jacobian(Scalar(1.0), [3.0, 4.0]),
         (TypeError, "compiled function: argument 0 is a Scalar; jacobian takes numbers (call the "
                     "compiled function itself on Scalars to record it)")),
        (lambda: cf.vjp_into([[0.0]], (1.0, 1.0), [1.0, 2.0], [3.0, 4.0]),
         (ValueError, "vjp_into: 1 buffers wanted, of lengths [2]")),
        (lambda: cf.vjp_into([[0.0, 0.0]], (1.0,), [1.0, 2.0], [3.0, 4.0]),
         (ValueError, "vjp: the seed has 1 weights for 2 outputs")),
        (lambda: cf.vjp_batch([[0.0, 0.0], [0.0]], (1.0, 1.0), [[1.0, 2.0]], [([3.0, 4.0],)]),
         (ValueError, "vjp_batch: 1 buffers wanted, of lengths [2]")),
        (lambda: sg.compile(f, argnums=[1]).vjp_batch([[0.0, 0.0]], (1.0, 1.0), [[1.0, 2.0]],
                                                      [([3.0, 4.0],)]),
         (TypeError, "vjp_batch: the differentiated arguments must be lists, among the shared ones")),
        (lambda: sg.compile(f, argnums=[2]).jacobian([1.0, 2.0], [3.0, 4.0]),
         (ValueError, "compiled(f): argnums holds 2, but the call has 2 arguments")),
        (lambda: sg.compile(lambda x: "text")(1.0),
         (TypeError, "compiled function: the function returned a str; Scalars or numbers only")),
    ]:
        assert _message(call) == want
    value_and_grad = sg.compile(lambda w: sg.dot(w, w))
    assert _message(lambda: value_and_grad.value_and_grad_into([[0.0]], [1.0, 2.0])) == (
        ValueError, "value_and_grad_into: 1 buffers wanted, of lengths [2]")
    assert _message(lambda: sg.compile(math.sin, argnums=[-2])(0.5)) == (
        ValueError, "compiled(sin): argnums holds -2, but the call has 1 arguments")
    assert sg.compile(sg.sin, argnums=[-1]).jacobian(0.5) == [[math.cos(0.5)]]
    assert sg.compile(object()).__name__ == "compiled(f)"


@pytest.mark.parametrize("why, f", [
    ("the function sets a Scalar's value while it runs, which compiled code cannot do again",
     lambda w: lambda x: w.__setattr__("value", 2.0) or x * w),
    ("the function ended the tape while it was traced (it differentiated something, or paused "
     "the cycle collector)", lambda w: lambda x: x * sg.reverse_autodiff(x * x, x)),
])
def test_a_function_that_cannot_be_traced_is_said_why_once(why, f):
    cf = sg.compile(f(Scalar(1.0)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cf(1.5), cf(2.5)
    assert [str(w.message) for w in caught] == [
        f"{cf.__name__}: {why}; running it on the recording engine from now on"]


# The variant that fitted last, first ------------------------------------------------------------
@pytest.fixture
def looked_further(monkeypatch):
    """How many calls went past the variant that fitted last (to the others, or a trace)."""
    from scalargrad.compile import compiled
    calls = []
    real = compiled.Compiled._run

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real(self, *args, **kwargs)
    monkeypatch.setattr(compiled.Compiled, "_run", counting)
    return calls


def test_a_call_like_the_last_one_runs_the_variant_that_fitted_without_looking_further(looked_further):
    cf = sg.compile(lambda w, x: [sg.dot(w, x), sg.sum(w)], argnums=[0])
    cf([1.0, 2.0], [3.0, 4.0])
    assert len(looked_further) == 1  # the trace
    buffer = [0.0, 0.0]
    for w in ([0.5, 0.25], [2.0, -1.0]):
        cf(w, [3.0, 4.0])
        cf.vjp_into([buffer], (1.0, 1.0), w, [3.0, 4.0])
        cf.vjp_batch([buffer], (1.0, 1.0), [w], [([3.0, 4.0],), ([1.0, 0.0],)])
    single = sg.compile(lambda x: x * x)
    single.value_and_grad(2.0)
    single.value_and_grad(3.0)
    assert len(looked_further) == 2


def test_calls_that_alternate_between_two_branches_keep_two_variants(looked_further):
    cf = sg.compile(lambda x: x * x if x > 0 else -x * 3.0)
    from scalargrad.compile import compiled
    traced = []
    real = compiled.trace
    compiled.trace = lambda *args: traced.append(args) or real(*args)
    try:
        for x in (2.0, -1.0, 2.0, -1.0, 3.0, -2.0):
            assert cf.value_and_grad(x) == ((x * x, [2 * x]) if x > 0 else (-3.0 * x, [-3.0]))
    finally:
        compiled.trace = real
    assert len(traced) == 2 and len(compiler_variants(cf)) == 2
