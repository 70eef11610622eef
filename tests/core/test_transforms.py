"""Higher-order derivatives: create_graph, grad, value_and_grad, hessian."""
import functools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Scalar, forward_autodiff, reverse_autodiff
from scalargrad.core.transforms import grad, hessian, hessian_of, value_and_grad


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


def test_second_derivatives_in_both_orders_against_finite_differences_of_the_gradient():
    """Forward-over-reverse and reverse-over-reverse, each against an independent truth
    (central differences of the exact gradient, worked out by hand), not each other."""
    def value(a, b, c):
        return math.tanh(a * b) + c ** 3 * _sigmoid(a) + math.log1p(b ** 2)

    def gradient(a, b, c):
        sech2 = 1 / math.cosh(a * b) ** 2
        s = _sigmoid(a)
        return [sech2 * b + c ** 3 * s * (1 - s), sech2 * a + 2 * b / (1 + b ** 2),
                3 * c ** 2 * s]

    point = [0.3, -0.8, 1.1]
    xs = [Scalar(v) for v in point]
    y = sg.tanh(xs[0] * xs[1]) + xs[2] ** 3 * sg.sigmoid(xs[0]) + sg.log1p(xs[1] ** 2)
    assert y.value == pytest.approx(value(*point), rel=1e-14)
    first = reverse_autodiff(y, xs, create_graph=True)
    assert [g.value for g in first] == pytest.approx(gradient(*point), rel=1e-13)
    truth = [sg.finite_difference(lambda *v, i=i: gradient(*v)[i], point, richardson=True)
             for i in range(3)]
    forward_over_reverse = hessian(y, xs)
    reverse_over_reverse = [reverse_autodiff(g, xs) for g in first]
    for row_a, row_b, true_row in zip(forward_over_reverse, reverse_over_reverse, truth):
        assert row_a == pytest.approx(true_row, rel=1e-7, abs=1e-9)
        assert row_b == pytest.approx(true_row, rel=1e-7, abs=1e-9)


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


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
    # d/dx [x * d/dy (x + y)] = d/dx x = 1
    assert grad(lambda x: x * grad(lambda y: x + y)(2.0))(3.0) == 1.0
    # the inner variable is fresh even when handed the outer one: d/dx [d/dy (x y) at y=x] = 1
    assert grad(lambda x: grad(lambda y: x * y)(x))(3.0) == 1.0


def test_a_derivative_that_depends_on_a_closed_over_scalar_stays_differentiable():
    y = Scalar(3.0)
    g = grad(lambda t: t * y)(2.0)  # d/dt (t y) = y
    assert isinstance(g, Scalar) and g.value == 3.0
    assert reverse_autodiff(g, y) == 1.0 and forward_autodiff(g, y) == 1.0
    h = grad(lambda t: sg.sin(t * y))(1.5)  # y cos(t y)
    assert h.value == pytest.approx(3.0 * math.cos(4.5))
    # d/dy [y cos(1.5 y)] = cos(1.5 y) - 1.5 y sin(1.5 y)
    assert reverse_autodiff(h, y) == pytest.approx(math.cos(4.5) - 4.5 * math.sin(4.5))
    # a derivative that does not depend on y is a float, even though the function does
    assert type(grad(lambda t: t + y)(2.0)) is float
    value, derivative = value_and_grad(lambda t: t * y)(2.0)
    assert isinstance(value, Scalar) and reverse_autodiff(value, y) == 2.0


def test_nesting_three_deep_without_confusion():
    # d/dx [x * d/dy [y * d/dz (x y z)]] = d/dx [x * d/dy (x y^2)] = d/dx [2 x^2 y] at y=1.5
    def inner(x, y):
        return y * grad(lambda z: x * y * z)(0.7)

    def middle(x):
        return x * grad(lambda y: inner(x, y))(1.5)

    assert grad(middle)(2.0) == pytest.approx(4 * 2.0 * 1.5)


@pytest.mark.parametrize("bad", [[1.0, 2.0], None, "abc"])
def test_grad_of_a_function_returning_something_else_is_a_type_error(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        grad(lambda t: bad)(1.0)


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


def test_grad_names_argnums_from_the_end_and_constant_functions():
    def f(a, b):
        return a * b * b

    assert grad(f).__name__ == "grad(f)" and value_and_grad(f).__name__ == "value_and_grad(f)"
    assert grad(rosenbrock).__name__ == "grad(rosenbrock)"
    assert value_and_grad(rosenbrock).__name__ == "value_and_grad(rosenbrock)"
    assert grad(lambda t: t).__name__ == "grad(<lambda>)"
    unnamed = functools.partial(f, b=1.0)  # no __name__
    assert grad(unnamed).__name__ == "grad(f)" and value_and_grad(unnamed).__name__ == "value_and_grad(f)"
    assert grad(f, -1)(2.0, 3.0) == 12.0 and grad(f, -2)(2.0, 3.0) == 9.0
    with pytest.raises(ValueError, match=r"argnums -3 out of range for 2 arguments"):
        grad(f, -3)(2.0, 3.0)
    value, derivative = value_and_grad(lambda t: 3)(1.0)
    assert value == 3.0 and type(value) is float and derivative == 0.0
    assert hessian_of(lambda a, b: 2, [1.0, 2.0]) == (2.0, [[0.0, 0.0], [0.0, 0.0]])
    assert type(hessian_of(lambda a, b: 2, [1.0, 2.0])[0]) is float


def test_grad_and_hessian_of_work_inside_strict_conversions():
    """They read values with .value: strict mode finds the user's conversions, not theirs."""
    with sg.strict_conversions():
        assert grad(f)(0.4) == pytest.approx(f1(0.4), rel=1e-12)
        value, rows = hessian_of(rosenbrock, [0.5, 0.5])
        assert value == pytest.approx(6.5) and rows[1][1] == pytest.approx(200.0)
        assert value_and_grad(f)(0.4)[0] == pytest.approx(0.4 ** 3 * math.sin(0.4))


# ---------------------------------------------------------------------------------------
# Issue 17, item 5: repeated argnums, and floats from nested calls.
def test_a_repeated_argnum_is_refused():
    """grad(f, argnums=(0, 0)) gave (0.0, 9.0): the first of the two derivatives silently
    lost. A position named twice, directly or from the end, is a ValueError (as torch.func;
    JAX gives the derivative to the last repetition and 0 to the others)."""
    def f(x, y):
        return x * y * y

    for argnums in [(0, 0), (1, -1), (0, 1, 0)]:
        with pytest.raises(ValueError, match=r"names argument \d more than once"):
            grad(f, argnums=argnums)(2.0, 3.0)
        with pytest.raises(ValueError, match="more than once"):
            value_and_grad(f, argnums=argnums)(2.0, 3.0)
    assert grad(f, argnums=(1, 0))(2.0, 3.0) == (12.0, 9.0)  # any order, each once


def test_a_derivative_through_a_returned_inner_call_is_a_float():
    """d/dx of d/dz (x z^2) at z = 2 is 2z = 4: the inner call's z is a constant once it
    has returned, so the outer result depends only on the outer call's own variable."""
    found = grad(lambda x: grad(lambda z: x * z * z)(2.0))(3.0)
    assert type(found) is float and found == 4.0
    # the d/db of d/da a**b at a = 3, b = 0: 1/3
    found = grad(lambda b: grad(lambda a: a ** b)(3.0))(0.0)
    assert type(found) is float and found == pytest.approx(1 / 3, rel=1e-15)
    # three levels: d/dx d/dy d/dz (x y z^2) at z = 2, y = 3 is 2z = 4
    found = grad(lambda x: grad(lambda y: grad(lambda z: x * y * z * z)(2.0))(3.0))(5.0)
    assert type(found) is float and found == 4.0
    value, derivative = value_and_grad(lambda x: grad(lambda z: x * z * z)(2.0))(3.0)
    assert (type(value), value, type(derivative), derivative) == (float, 12.0, float, 4.0)


def test_a_nested_result_depending_on_another_scalar_stays_recorded():
    w = Scalar(2.0)
    found = grad(lambda x: grad(lambda z: w * x * z * z)(2.0))(3.0)  # 4 w
    assert isinstance(found, Scalar) and found.value == 8.0
    assert reverse_autodiff(found, w) == 4.0


def test_the_record_of_calls_in_progress_is_emptied_when_the_outermost_returns_or_raises():
    from scalargrad.core import transforms
    grad(lambda x: grad(lambda z: x * z * z)(2.0))(3.0)
    assert transforms._calls.depth == 0 and transforms._calls.finished == []
    with pytest.raises(ZeroDivisionError):
        grad(lambda x: grad(lambda z: x * z / 0.0)(2.0))(3.0)
    assert transforms._calls.depth == 0 and transforms._calls.finished == []
