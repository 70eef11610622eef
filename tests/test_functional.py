"""Higher-order derivatives: create_graph, grad, value_and_grad, hessian."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Scalar, forward_autodiff, reverse_autodiff
from scalargrad.functional import grad, hessian, hessian_of, value_and_grad


def f(x):
    return x ** 3 * sg.sin(x)


def f1(x):
    return 3 * x ** 2 * math.sin(x) + x ** 3 * math.cos(x)


def f2(x):
    return 6 * x * math.sin(x) + 6 * x ** 2 * math.cos(x) - x ** 3 * math.sin(x)


def f3(x):
    return (6 * math.sin(x) + 18 * x * math.cos(x) - 9 * x ** 2 * math.sin(x)
            - x ** 3 * math.cos(x))


@pytest.mark.parametrize("at", [-1.1, 0.4, 2.5])
def test_first_second_third_derivatives_by_grad(at):
    assert grad(f)(at) == pytest.approx(f1(at), rel=1e-12)
    assert grad(grad(f))(at) == pytest.approx(f2(at), rel=1e-12)
    assert grad(grad(grad(f)))(at) == pytest.approx(f3(at), rel=1e-11)
    assert type(grad(grad(f))(at)) is float


@pytest.mark.parametrize("outer", ["reverse", "forward"])
@pytest.mark.parametrize("inner", ["reverse", "forward"])
def test_every_pairing_of_modes_gives_the_second_derivative(inner, outer):
    modes = {"reverse": reverse_autodiff, "forward": forward_autodiff}
    x = Scalar(0.9)
    first = modes[inner](f(x), x, create_graph=True)
    assert isinstance(first, Scalar) and first.value == pytest.approx(f1(0.9))
    assert modes[outer](first, x) == pytest.approx(f2(0.9), rel=1e-12)


def test_create_graph_with_lists_and_unrelated_inputs():
    x, y, unrelated = Scalar(0.5), Scalar(2.0), Scalar(7.0)
    z = sg.exp(x * y)
    dx, dy, du = reverse_autodiff(z, [x, y, unrelated], create_graph=True)
    assert all(isinstance(d, Scalar) for d in (dx, dy, du)) and du.value == 0.0
    # d2z/dxdy = exp(xy) (1 + xy)
    assert reverse_autodiff(dx, y) == pytest.approx(math.exp(1.0) * 2.0)
    assert forward_autodiff(dy, x) == pytest.approx(math.exp(1.0) * 2.0)
    # mixed partials are equal either way round
    assert reverse_autodiff(dx, y) == pytest.approx(reverse_autodiff(dy, x))


def test_without_create_graph_results_are_floats():
    x = Scalar(1.0)
    assert type(reverse_autodiff(x * x, x)) is float


def test_nary_nodes_at_second_order():
    ws = [Scalar(v) for v in (0.3, -0.2, 0.5)]
    data = [1.0, 2.0, 3.0]
    loss = sg.logsumexp([sg.dot(ws, data), sg.dot(ws, ws), sg.sum(ws)])
    exact = hessian(loss, ws)
    for j in range(3):
        def partial_j(*v, j=j):
            xs = [Scalar(a) for a in v]
            return reverse_autodiff(_lse(xs, data), xs)[j]
        row = sg.finite_difference(partial_j, [w.value for w in ws], richardson=True)
        assert row == pytest.approx(exact[j], rel=1e-6, abs=1e-8)


def _lse(xs, data):
    return sg.logsumexp([sg.dot(xs, data), sg.dot(xs, xs), sg.sum(xs)])


def rosenbrock(a, b):
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


@pytest.mark.parametrize("a, b", [(1.0, 1.0), (-1.2, 1.0), (0.3, -0.7)])
def test_rosenbrock_hessian_against_its_closed_form(a, b):
    value, rows = hessian_of(rosenbrock, [a, b])
    assert value == pytest.approx(rosenbrock(a, b))
    closed_form = [[2 - 400 * (b - a * a) + 800 * a * a, -400 * a], [-400 * a, 200.0]]
    assert rows[0] == pytest.approx(closed_form[0]) and rows[1] == pytest.approx(closed_form[1])


def test_forward_over_reverse_equals_reverse_over_reverse():
    xs = [Scalar(v) for v in (0.3, -0.8, 1.1)]
    y = sg.tanh(xs[0] * xs[1]) + xs[2] ** 3 * sg.sigmoid(xs[0]) + sg.log1p(xs[1] ** 2)
    forward_over_reverse = hessian(y, xs)
    gradient = reverse_autodiff(y, xs, create_graph=True)
    reverse_over_reverse = [reverse_autodiff(g, xs) for g in gradient]
    for row_a, row_b in zip(forward_over_reverse, reverse_over_reverse):
        assert row_a == pytest.approx(row_b, rel=1e-12)
    assert forward_over_reverse[0][1] == pytest.approx(forward_over_reverse[1][0])


def test_newton_on_rosenbrock_converges_to_the_minimum():
    point = [-1.2, 1.0]
    for _ in range(20):
        xs = [Scalar(v) for v in point]
        y = rosenbrock(*xs)
        g = reverse_autodiff(y, xs)
        (h11, h12), (h21, h22) = hessian(y, xs)
        det = h11 * h22 - h12 * h21
        point = [point[0] - (h22 * g[0] - h12 * g[1]) / det,
                 point[1] - (-h21 * g[0] + h11 * g[1]) / det]
    assert point == pytest.approx([1.0, 1.0], abs=1e-10)


def test_kink_conventions_hold_at_every_order():
    for at in (-1.0, 0.0, 2.0):
        assert grad(grad(sg.relu))(at) == 0.0
        assert grad(grad(abs))(at) == 0.0
        assert grad(grad(grad(sg.relu)))(at) == 0.0
    assert grad(sg.relu)(0.0) == 0.0 and grad(abs)(0.0) == 0.0


def test_no_perturbation_confusion():
    # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x
    assert grad(lambda x: x * grad(lambda y: x * y)(2.0))(3.0) == 6.0
    # the inner variable is fresh even when handed the outer one: d/dx [d/dy (x y) at y=x] = 1
    assert grad(lambda x: grad(lambda y: x * y)(x))(3.0) == 1.0


def test_value_and_grad_and_argnums():
    value, (da, db) = value_and_grad(rosenbrock, (0, 1))(0.5, 0.5)
    assert value == pytest.approx(6.5)
    assert (da, db) == pytest.approx((-1 - 400 * 0.5 * 0.25, 200 * 0.25))
    assert grad(rosenbrock, 1)(0.5, 0.5) == pytest.approx(50.0)
    with pytest.raises(ValueError):
        grad(rosenbrock, 2)(0.5, 0.5)


@settings(max_examples=60, deadline=None)
@given(st.floats(-2, 2), st.floats(-2, 2))
def test_hessian_matches_finite_differences_of_the_gradient(a, b):
    def func(x, y):
        return sg.sin(x * y) + x ** 2 * sg.exp(0.3 * y) + sg.tanh(x - y)

    _, exact = hessian_of(func, [a, b])
    for j in range(2):
        def partial_j(x, y, j=j):
            xs = [Scalar(x), Scalar(y)]
            return reverse_autodiff(func(*xs), xs)[j]
        row = sg.finite_difference(partial_j, [a, b], richardson=True)
        assert row == pytest.approx(exact[j], rel=1e-6, abs=1e-7)
