import math
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Scalar, finite_difference, forward_autodiff, jacobian, reverse_autodiff


def func(x):
    return 2 * x ** 2 + 4 * x + 3


def test_the_seed_example():
    assert func(12) == 339
    x = Scalar(12)
    y = func(x)
    assert y.value == 339.0
    assert reverse_autodiff(y, x) == 52.0
    assert forward_autodiff(y, x) == 52.0


def test_list_of_inputs_gives_list_in_that_order():
    a, b, c = Scalar(2.0), Scalar(3.0), Scalar(5.0)
    y = a * b * b + c
    assert reverse_autodiff(y, [c, a, b]) == [1.0, 9.0, 12.0]
    assert forward_autodiff(y, [c, a, b]) == [1.0, 9.0, 12.0]


def test_unrelated_inputs_and_plain_number_outputs_give_zero():
    x, unrelated = Scalar(1.0), Scalar(2.0)
    y = sg.exp(x)
    assert reverse_autodiff(y, [x, unrelated])[1] == 0.0
    assert forward_autodiff(y, [x, unrelated])[1] == 0.0
    assert reverse_autodiff(3.0, [x, unrelated]) == [0.0, 0.0]
    assert forward_autodiff(3.0, x) == 0.0


def test_inputs_must_be_scalars():
    with pytest.raises(TypeError):
        reverse_autodiff(Scalar(1.0), 1.0)


def test_asking_twice_gives_the_same_answer():
    x = Scalar(0.3)
    y = sg.sin(x) * x
    first = reverse_autodiff(y, x)
    assert reverse_autodiff(y, x) == first
    assert forward_autodiff(y, x) == first
    assert reverse_autodiff(y, x) == first


def test_shared_subexpressions_and_diamonds_accumulate():
    x = Scalar(1.5)
    shared = x * x             # used three times
    y = shared + shared * shared + sg.sin(shared)
    dshared = 1 + 2 * 2.25 + math.cos(2.25)
    assert reverse_autodiff(y, x) == pytest.approx(dshared * 3.0)
    assert forward_autodiff(y, x) == pytest.approx(dshared * 3.0)
    assert reverse_autodiff(x * x, x) == 3.0
    assert reverse_autodiff(x + x, x) == 2.0


def test_derivative_with_respect_to_an_intermediate_node():
    x = Scalar(2.0)
    h = x * 3.0
    y = h * h + x
    # holding x fixed elsewhere, dy/dh = 2h; forward and reverse agree on it
    assert reverse_autodiff(y, h) == 12.0
    assert forward_autodiff(y, h) == 12.0
    assert reverse_autodiff(y, [h, x]) == forward_autodiff(y, [h, x]) == [12.0, 37.0]


def test_control_flow_loops_ifs_and_recursion_in_user_code():
    def power_by_loop(x, n):
        result = 1.0
        for _ in range(n):
            result = result * x
        return result

    def collatz_like(x, steps):
        if steps == 0:
            return x
        return collatz_like(x / 2 if x > 1 else 3 * x + 1, steps - 1)

    x = Scalar(1.7)
    assert reverse_autodiff(power_by_loop(x, 5), x) == pytest.approx(5 * 1.7 ** 4)
    # 1.7 -> 0.85 -> 3.55 -> 1.775 : y = (3 * (x / 2) + 1) / 2, dy/dx = 3/4
    y = collatz_like(x, 3)
    assert y.value == pytest.approx(1.775)
    assert forward_autodiff(y, x) == pytest.approx(0.75)


def test_a_million_node_chain_in_both_modes_at_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Scalar(1.0)
    y = x
    for _ in range(500_000):
        y = y * 1.000001
        y = y + 0.5
    expected = 1.000001 ** 500_000
    assert reverse_autodiff(y, x) == pytest.approx(expected, rel=1e-9)
    assert forward_autodiff(y, x) == pytest.approx(expected, rel=1e-9)
    del y  # freeing a million-deep chain must not overflow the C stack either


def test_wide_fan_in():
    xs = [Scalar(float(i)) for i in range(20_000)]
    y = xs[0]
    for x in xs[1:]:
        y = y + x * x
    grads = reverse_autodiff(y, xs)
    assert grads[0] == 1.0 and grads[1:] == [2.0 * i for i in range(1, 20_000)]
    assert forward_autodiff(y, xs[:50]) == grads[:50]


def test_jacobian_modes_agree_and_auto_picks_the_cheaper():
    x, y = Scalar(0.5), Scalar(-1.2)
    outputs = [x * y, sg.sin(x) + y, sg.exp(x * y), 4.0]
    expected = [[-1.2, 0.5], [math.cos(0.5), 1.0],
                [-1.2 * math.exp(-0.6), 0.5 * math.exp(-0.6)], [0.0, 0.0]]
    for mode in ("forward", "reverse", "auto"):
        rows = jacobian(outputs, [x, y], mode=mode)
        assert len(rows) == 4 and all(len(r) == 2 for r in rows)
        for row, want in zip(rows, expected):
            assert row == pytest.approx(want)
    with pytest.raises(ValueError):
        jacobian(outputs, [x, y], mode="sideways")


# Random composite functions: both modes against each other and against finite differences.
UNARY_SAFE = [sg.sin, sg.cos, sg.tanh, sg.sigmoid, sg.atan, sg.softplus]


@st.composite
def programs(draw):
    """A random straight-line program over three inputs, as (op, i, j) steps."""
    steps = []
    for k in range(draw(st.integers(1, 12))):
        live = 3 + k
        kind = draw(st.sampled_from(["add", "sub", "mul", "unary", "const", "sum", "dot"]))
        i, j = draw(st.integers(0, live - 1)), draw(st.integers(0, live - 1))
        steps.append((kind, i, j, draw(st.integers(0, len(UNARY_SAFE) - 1)),
                      draw(st.floats(-2, 2, allow_nan=False))))
    return steps


def run(program, a, b, c):
    values = [a, b, c]
    for kind, i, j, f, k in program:
        u, v = values[i], values[j]
        values.append({"add": lambda: u + v, "sub": lambda: u - v, "mul": lambda: u * v,
                       "unary": lambda: UNARY_SAFE[f](u), "const": lambda: u * k + 1.0,
                       "sum": lambda: sg.sum([u, v, k]), "dot": lambda: sg.dot([u, v], [k, 0.5])}[kind]())
    return values[-1] * values[-2]


@settings(max_examples=150, deadline=None)
@given(programs(), st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
def test_random_composites_both_modes_and_finite_differences(program, point):
    xs = [Scalar(v) for v in point]
    y = run(program, *xs)
    assume(isinstance(y, Scalar) and abs(y.value) < 1e6)
    reverse = reverse_autodiff(y, xs)
    forward = forward_autodiff(y, xs)
    numeric = finite_difference(lambda a, b, c: run(program, a, b, c), point, richardson=True)
    assert reverse == pytest.approx(forward, rel=1e-9, abs=1e-9)
    assert reverse == pytest.approx(numeric, rel=1e-5, abs=1e-5)


def test_reverse_mode_skips_nodes_with_zero_adjoint():
    x = Scalar(0.0)
    y = sg.sqrt(x) * 0.0 + x   # sqrt'(0) = inf, but a zero adjoint reaches it
    assert reverse_autodiff(y, x) == 1.0
    assert math.isnan(forward_autodiff(y, x))  # inf * 0 in the forward product: documented


@pytest.mark.parametrize("step", ["_sweep_off_tape", "topological_order"])
def test_an_interrupted_sweep_leaves_the_graph_clean(monkeypatch, step):
    """Ctrl-C after the walk has set adjoints everywhere: asking again is still right,
    in both modes (the tape is ended so that both must order part of the graph from the graph)."""
    from scalargrad.core import autodiff
    x = Scalar(2.0)
    h = x * x
    sg.sin(x)  # a node between h and y, so that the walk passes an unrelated node
    autodiff.reverse_autodiff(h, x)  # ends the tape: y's walk must find h from the graph
    y = sg.exp(h) + x
    real = getattr(autodiff, step)

    def interrupted(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(autodiff, step, interrupted)
    with pytest.raises(KeyboardInterrupt):
        reverse_autodiff(y, x) if step == "_sweep_off_tape" else forward_autodiff(y, x)
    monkeypatch.undo()
    expected = 4 * math.exp(4.0) + 1
    for _ in range(2):  # a mark left on x would add up over sweeps
        assert reverse_autodiff(y, x) == pytest.approx(expected)
        assert forward_autodiff(y, x) == pytest.approx(expected)


NOT_OUTPUTS = [[Scalar(1.0) * 2, Scalar(1.0) * 3], None, "abc", {"y": 1.0}, True]


@pytest.mark.parametrize("bad", NOT_OUTPUTS, ids=lambda b: type(b).__name__)
def test_an_output_that_is_not_a_scalar_or_a_number_is_a_type_error(bad):
    x = Scalar(1.0)
    for entry in (lambda: reverse_autodiff(bad, x), lambda: forward_autodiff(bad, x),
                  lambda: reverse_autodiff(bad, [x], create_graph=True),
                  lambda: sg.jacobian([bad], [x]), lambda: sg.hessian(bad, [x])):
        with pytest.raises(TypeError, match=type(bad).__name__):
            entry()


def test_plain_numbers_are_constants_everywhere():
    x = Scalar(1.0)
    assert reverse_autodiff(3, x) == 0.0 and forward_autodiff(2.5, [x]) == [0.0]
    assert sg.jacobian([1.0, x * 2], [x]) == [[0.0], [2.0]]
    assert sg.hessian(4.0, [x]) == [[0.0]]


@pytest.mark.parametrize("bad", [1.0, "x", None, [1.0]])
def test_inputs_that_are_not_scalars_are_a_type_error_naming_them(bad):
    x = Scalar(1.0)
    with pytest.raises(TypeError, match="Scalar"):
        reverse_autodiff(x * 2, bad)
    with pytest.raises(TypeError, match="Scalar"):
        forward_autodiff(x * 2, bad)


def test_errors_name_the_entry_point():
    x = Scalar(1.0)
    for name, call in (("reverse_autodiff", lambda: reverse_autodiff(None, x)),
                       ("forward_autodiff", lambda: forward_autodiff(None, x)),
                       ("jacobian", lambda: sg.jacobian([None], [x])),
                       ("reverse_autodiff", lambda: reverse_autodiff(x, [x, 1.0])),
                       ("forward_autodiff", lambda: forward_autodiff(x, 2.0)),
                       ("jacobian", lambda: sg.jacobian([x], [x, "x"]))):
        with pytest.raises(TypeError, match=f"^{name}: "):
            call()
    with pytest.raises(TypeError, match="got float"):
        reverse_autodiff(x * 2, [x, 1.5])
    with pytest.raises(TypeError, match="sequence, got int"):
        sg.jacobian(5, [x])
    with pytest.raises(TypeError, match="a Scalar or a sequence of Scalars, got float"):
        reverse_autodiff(x * 2, 1.5)
    with pytest.raises(ValueError, match="mode must be"):
        sg.jacobian([x], [x], mode="sideways")


def test_shapes_of_results_for_leaves_constants_and_any_sequence():
    from collections import UserList
    x, z = Scalar(2.0), Scalar(3.0)
    assert reverse_autodiff(x, x) == 1.0 and reverse_autodiff(x, [z, x]) == [0.0, 1.0]
    assert forward_autodiff(x, x) == 1.0
    for y in (x, 3.0):  # a leaf output, a constant output: derivatives as Scalars on request
        for mode in (reverse_autodiff, forward_autodiff):
            d = mode(y, x, create_graph=True)
            assert isinstance(d, Scalar) and d.value == (1.0 if y is x else 0.0)
    assert reverse_autodiff(x * z, UserList([x, z])) == [3.0, 2.0]
    assert sg.jacobian((x * z,), (x, z)) == [[3.0, 2.0]]
    assert sg.jacobian([x * z], [x, z], mode="auto") == [[3.0, 2.0]]  # one output: reverse
    assert sg.jacobian([x * z, x + z, x - z], [x], mode="auto") == [[3.0], [1.0], [1.0]]


def test_derivatives_with_respect_to_interior_nodes_in_every_mode():
    z, x = Scalar(1.5), Scalar(2.0)
    a = z * 2.0          # older than h, unrelated to it
    h = x * 3.0          # the input: an interior node
    y = h * a + sg.sin(h)
    expected = a.value + math.cos(h.value)
    assert reverse_autodiff(y, h) == pytest.approx(expected) and type(reverse_autodiff(y, h)) is float
    assert forward_autodiff(y, h) == pytest.approx(expected)
    for mode in (reverse_autodiff, forward_autodiff):
        d = mode(y, h, create_graph=True)
        assert d.value == pytest.approx(expected)
        assert reverse_autodiff(d, z) == pytest.approx(2.0)  # d/dz (a + cos h) = 2


def test_second_order_through_zero_adjoints_and_infinite_partials():
    x, z = Scalar(0.5), Scalar(0.0)
    y = x * x + sg.relu(-x)  # the relu's branch has a zero adjoint, older nodes do not
    g = reverse_autodiff(y, x, create_graph=True)
    assert g.value == 1.0 and reverse_autodiff(g, x) == 2.0
    w = x + sg.sqrt(z)  # sqrt'(0) = inf, but nothing flows through it for d/dx
    assert forward_autodiff(w, x, create_graph=True).value == 1.0
    assert forward_autodiff(w, x) == 1.0 and reverse_autodiff(w, x) == 1.0
