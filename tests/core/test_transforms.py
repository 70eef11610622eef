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


# ---------------------------------------------------------------------------------------
# jvp and vjp, against finite differences, the Jacobian and the Hessian.
def _surface(a, b):
    """A function of two arguments through built-in rules and users' primitives."""
    from tests.core.test_primitives import erf, hypot
    return erf(a * b) * hypot(a, 2.0 * b) + sg.sin(a) * b ** 2


def _surface_floats(a, b):
    return math.erf(a * b) * math.hypot(a, 2.0 * b) + math.sin(a) * b ** 2


SURFACE_POINTS = [(0.4, -0.7), (1.3, 0.2), (-0.9, 1.1)]
DIRECTIONS = [(1.0, 0.0), (0.3, -2.0), (-1.5, 0.5)]


def _along(function, point, direction):
    """d/ds function(point + s * direction) at 0, by finite differences."""
    return sg.finite_difference(lambda s: function(*(p + s * d for p, d in zip(point, direction))),
                                0.0, richardson=True)


@pytest.mark.parametrize("point", SURFACE_POINTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_jvp_is_the_derivative_along_the_tangent(point, direction):
    value, tangent = sg.jvp(_surface, point, direction)
    assert value == pytest.approx(_surface_floats(*point), rel=1e-14)
    assert type(value) is float and type(tangent) is float
    assert tangent == pytest.approx(_along(_surface_floats, point, direction), rel=1e-8)
    gradient = grad(_surface, (0, 1))(*point)
    assert tangent == pytest.approx(sum(g * d for g, d in zip(gradient, direction)), rel=1e-12)


@pytest.mark.parametrize("point", SURFACE_POINTS)
def test_jvp_and_vjp_of_a_list_valued_function_against_its_jacobian(point):
    def two(a, b):
        return [_surface(a, b), a * sg.exp(b), 3.0]
    xs = [Scalar(v) for v in point]
    rows = sg.jacobian(two(*xs), xs)
    for direction in DIRECTIONS:
        values, tangents = sg.jvp(two, point, direction)
        assert values == pytest.approx([_surface_floats(*point), point[0] * math.exp(point[1]), 3.0])
        assert tangents == pytest.approx([sum(r * d for r, d in zip(row, direction)) for row in rows],
                                         rel=1e-12)
    values, vjp_fn = sg.vjp(two, *point)
    assert values == pytest.approx([_surface_floats(*point), point[0] * math.exp(point[1]), 3.0])
    for cotangent in ([1.0, 0.0, 0.0], [0.5, -2.0, 7.0]):
        expected = [sum(c * row[i] for c, row in zip(cotangent, rows)) for i in range(2)]
        assert vjp_fn(cotangent) == pytest.approx(tuple(expected), rel=1e-12)


def test_vjp_of_a_number_valued_function_is_the_gradient_scaled():
    value, vjp_fn = sg.vjp(_surface, 0.4, -0.7)
    gradient = grad(_surface, (0, 1))(0.4, -0.7)
    assert value == _surface(0.4, -0.7)
    assert vjp_fn(1.0) == gradient  # the same sweep
    assert vjp_fn(-2.5) == pytest.approx(tuple(-2.5 * g for g in gradient), rel=1e-15)
    assert vjp_fn(1.0) == gradient  # called again: the same
    for k, truth in enumerate((_along(_surface_floats, (0.4, -0.7), (1.0, 0.0)),
                               _along(_surface_floats, (0.4, -0.7), (0.0, 1.0)))):
        assert vjp_fn(1.0)[k] == pytest.approx(truth, rel=1e-8)


def _hessian_vector_products(function, point, direction):
    """H v four ways, each a pairing of jvp (forward) and vjp (reverse), grad between."""
    n = len(point)
    gradient = grad(function, tuple(range(n)))

    def directional(*x):
        return sg.jvp(function, x, direction)[1]

    def basis(i):
        return tuple(1.0 if j == i else 0.0 for j in range(n))
    return {
        "forward over reverse": list(sg.jvp(gradient, point, direction)[1]),
        "reverse over reverse": list(sg.vjp(lambda *x: list(gradient(*x)), *point)[1](list(direction))),
        "reverse over forward": list(sg.vjp(directional, *point)[1](1.0)),
        "forward over forward": [sg.jvp(lambda *x, i=i: sg.jvp(function, x, basis(i))[1], point,
                                        direction)[1] for i in range(n)],
    }


@pytest.mark.parametrize("point", SURFACE_POINTS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_hessian_vector_products_four_ways_against_hessian_and_finite_differences(point, direction):
    xs = [Scalar(v) for v in point]
    rows = hessian(_surface(*xs), xs)
    expected = [sum(h * d for h, d in zip(row, direction)) for row in rows]
    gradient = grad(_surface, (0, 1))
    estimated = [_along(lambda *x, i=i: gradient(*x)[i], point, direction) for i in range(2)]
    assert expected == pytest.approx(estimated, rel=1e-6, abs=1e-8)
    for pairing, product in _hessian_vector_products(_surface, point, direction).items():
        assert product == pytest.approx(expected, rel=1e-12, abs=1e-14), pairing


def test_jvp_composes_with_grad_both_ways_and_with_stop_gradient():
    # d/dx of (d/dx f along 1) is f''
    assert grad(lambda x: sg.jvp(f, (x,), (1.0,))[1])(0.7) == pytest.approx(f2(0.7), rel=1e-12)
    assert sg.jvp(grad(f), (0.7,), (2.0,)) == pytest.approx((f1(0.7), 2.0 * f2(0.7)), rel=1e-12)
    # d/dx [x * jvp of (y -> x*y) along 1] = d/dx x**2 = 2x: the inner call's x is outer's
    assert grad(lambda x: x * sg.jvp(lambda y: x * y, (1.5,), (1.0,))[1])(3.0) == 6.0
    assert sg.jvp(lambda x: x * sg.stop_gradient(x), (3.0,), (1.0,)) == (9.0, 3.0)
    assert sg.vjp(lambda x: x * sg.stop_gradient(x), 3.0)[1](1.0) == (3.0,)


def test_jvp_and_vjp_with_scalars_record_what_depends_on_them():
    w = Scalar(2.0)
    value, tangent = sg.jvp(lambda x: w * x * x, (3.0,), (1.0,))
    assert value.__class__ is Scalar and tangent.__class__ is Scalar
    assert (value.value, tangent.value) == (18.0, 12.0)
    assert reverse_autodiff(tangent, w) == 6.0  # d/dw of 2wx
    value, vjp_fn = sg.vjp(lambda x: w * x, 3.0)
    (cotangent,) = vjp_fn(1.0)
    assert value.value == 6.0 and reverse_autodiff(cotangent, w) == 1.0


@pytest.mark.parametrize("call, kind, words", [
    (lambda: sg.jvp(f, (1.0, 2.0), (1.0,)), ValueError, "jvp: 2 primals but 1 tangents"),
    (lambda: sg.jvp(f, 1.0, 1.0), TypeError, "jvp: the primals must be a tuple or list, got float"),
    (lambda: sg.jvp(f, (1.0,), ("1",)), TypeError, "jvp: a tangent must be a number, got str"),
    (lambda: sg.jvp(lambda x: "x", (1.0,), (1.0,)), TypeError,
     "jvp: the function must return a number or a list of numbers, got str"),
    (lambda: sg.vjp(lambda x: [x, x], 1.0)[1]([1.0]), ValueError, "vjp: a cotangent of 1 for 2 outputs"),
    (lambda: sg.vjp(lambda x: [x, x], 1.0)[1](1.0), TypeError, "vjp: the cotangent must be a tuple or list"),
])
def test_jvp_and_vjp_refuse_what_does_not_fit(call, kind, words):
    with pytest.raises(kind) as caught:
        call()
    assert words in str(caught.value)
