"""scalargrad.view.explain: sweeps replayed step by step, against hand computation and autodiff."""
import math
import random

import pytest

from scalargrad import (Scalar, forward_autodiff, graph, relu, reverse_autodiff, sigmoid, sin,
                        sqrt, sum as total, tanh)
from scalargrad.view.explain import forward_steps, reverse_steps


def example():
    """f = x*y + sin(x) at x = 2, y = 3: %2 = mul x y, %3 = sin x, %4 = add %2 %3."""
    x, y = Scalar(2.0), Scalar(3.0)
    return graph(x * y + sin(x), names={"x": x, "y": y})


def contributions(step):
    return [(c.parent, c.partial, c.added, c.before, c.after) for c in step.contributions]


def test_reverse_steps_by_hand():
    view = example()
    steps = reverse_steps(view)
    assert [s.node.label for s in steps] == ["%4", "%3", "%2", "x", "y"]
    assert [s.adjoint for s in steps] == [1.0, 1.0, 1.0, 3 + math.cos(2), 2.0]
    assert contributions(steps[0]) == [(2, 1.0, 1.0, 0.0, 1.0), (3, 1.0, 1.0, 0.0, 1.0)]
    assert contributions(steps[1]) == [(0, math.cos(2), math.cos(2), 0.0, math.cos(2))]
    # x's adjoint accumulates: sin's share first, then mul's
    assert contributions(steps[2]) == [(0, 3.0, 3.0, math.cos(2), math.cos(2) + 3.0),
                                       (1, 2.0, 2.0, 0.0, 2.0)]
    assert steps[3].contributions == () and not any(s.skipped for s in steps)


def test_forward_steps_by_hand():
    view = example()
    steps = forward_steps(view, 0)
    assert [s.node.label for s in steps] == ["x", "y", "%2", "%3", "%4"]
    assert [s.tangent for s in steps] == [1.0, 0.0, 3.0, math.cos(2), 3.0 + math.cos(2)]
    # y's tangent is 0: it adds nothing to %2
    assert [(t.parent, t.partial, t.tangent, t.product) for t in steps[2].terms] == \
        [(0, 3.0, 1.0, 3.0)]
    assert [(t.parent, t.product) for t in steps[4].terms] == [(2, 3.0), (3, math.cos(2))]
    seeded_at_y = forward_steps(view, 1)
    assert [s.tangent for s in seeded_at_y] == [0.0, 1.0, 2.0, 0.0, 2.0]


def test_a_zero_adjoint_passes_nothing_even_through_an_infinite_partial():
    x = Scalar(1.0)
    root = sqrt(x - 1)          # sqrt'(0) = inf
    view = graph(root * 0.0 + x, names={"x": x})
    steps = {s.node.operation or s.node.label: s for s in reverse_steps(view)}
    assert steps["sqrt"].skipped and steps["sqrt"].adjoint == 0.0
    assert steps["sub"].skipped
    assert steps["x"].adjoint == 1.0 == reverse_autodiff(root * 0.0 + x, x)


def test_relu_stops_the_adjoint():
    x = Scalar(2.0)
    view = graph(relu(x - 5) * x, names={"x": x})
    steps = reverse_steps(view)
    assert [(s.node.operation, s.adjoint, s.skipped) for s in steps] == [
        ("mul", 1.0, False), ("relu", 2.0, False), ("sub", 0.0, True), ("", 0.0, False)]


def random_function(rng):
    xs = [Scalar(rng.uniform(-1.5, 1.5)) for _ in range(3)]
    pool = list(xs)
    for _ in range(25):
        a, b = rng.choice(pool), rng.choice(pool)
        pool.append(rng.choice([lambda: a * b, lambda: a + b, lambda: a - 2 * b,
                                lambda: tanh(a), lambda: sin(a) * 1.5, lambda: sigmoid(a),
                                lambda: total([a, b, 0.5]), lambda: relu(a) + b])())
    return xs, pool[-1]


@pytest.mark.parametrize("seed", range(8))
def test_replayed_sweeps_give_exactly_what_autodiff_gives(seed):
    xs, y = random_function(random.Random(seed))
    names = {f"x{i}": x for i, x in enumerate(xs)}
    view = graph(y, names=names)
    steps = reverse_steps(view)
    by_index = {s.node.index: s.adjoint for s in steps}
    assert [by_index[i] for i in range(len(view.nodes))] == [n.grad for n in view.nodes]
    inputs = [n for n in view.nodes if n.name]
    assert [by_index[n.index] for n in inputs] == reverse_autodiff(y, [names[n.name]
                                                                       for n in inputs])
    for n in inputs:
        assert forward_steps(view, n.index)[-1].tangent == forward_autodiff(y, names[n.name])


def test_a_graph_that_is_one_input():
    x = Scalar(4.0)
    view = graph(x, names={"x": x})
    assert [(s.node.label, s.adjoint) for s in reverse_steps(view)] == [("x", 1.0)]
    assert [s.tangent for s in forward_steps(view, 0)] == [1.0]
    with pytest.raises(ValueError, match="no node %3"):
        forward_steps(view, 3)


def test_the_sweeps_through_a_users_primitive_name_it_and_use_its_partials():
    from tests.core.test_primitives import hypot
    x, y = Scalar(3.0), Scalar(4.0)
    view = graph(hypot(x, y) * x, names={"x": x, "y": y})
    reverse = reverse_steps(view)
    assert [s.node.operation for s in reverse[:2]] == ["mul", "hypot"]
    for got, hand in zip(contributions(reverse[1]), [(0, 0.6, 1.8, 5.0, 6.8), (1, 0.8, 2.4, 0.0, 2.4)]):
        assert got == pytest.approx(hand)
    assert [s.adjoint for s in reverse[-2:]] == reverse_autodiff(hypot(x, y) * x, [x, y])
    assert reverse_autodiff(hypot(x, y) * x, [x, y]) == pytest.approx([6.8, 2.4])
    assert forward_steps(view, 0)[-1].tangent == forward_autodiff(hypot(x, y) * x, x)
