"""Matrix: construction, arithmetic, broadcasting, losses, gradients and shape errors."""
import math

import pytest

import scalargrad as sg
from scalargrad import Scalar, finite_difference, reverse_autodiff
from scalargrad.matrix import Matrix, gradients
from scalargrad.core.scalar import edges
from tests.core.test_primitives import erf


def params(rows):
    """A Matrix of new parameter Scalars with the given values."""
    return Matrix([[Scalar(v) for v in row] for row in rows])


def close(a, b, tol=1e-9):
    """Nested lists of numbers equal to within tol."""
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return abs(a - b) <= tol * max(1.0, abs(b))


# Construction and access -------------------------------------------------------------------
def test_construction_converts_numbers_and_keeps_scalars():
    s = Scalar(2.0)
    m = Matrix([[1, 2.5], [s, -3]])
    assert m.shape == (2, 2)
    assert m[0, 0] == 1.0 and type(m[0, 0]) is float
    assert m[1, 0] is s
    assert m.row(1)[0] is s
    assert m.tolist() == [[1.0, 2.5], [2.0, -3.0]]
    assert m.parameters()[0] is s and len(m.parameters()) == 1


@pytest.mark.parametrize("rows", [[], [[]], [[1, 2], [3]]])
def test_construction_rejects_empty_and_ragged(rows):
    with pytest.raises(ValueError):
        Matrix(rows)


def test_construction_rejects_non_numbers():
    with pytest.raises(TypeError, match="str"):
        Matrix([[1.0, "2"]])


def test_transpose_and_row_are_views_of_the_same_entries():
    m = params([[1, 2, 3], [4, 5, 6]])
    t = m.T
    assert t.shape == (3, 2)
    assert t.tolist() == [[1, 4], [2, 5], [3, 6]]
    assert t[2, 1] is m[1, 2]
    row = m.row(0)
    row.append(7.0)  # a copy: the Matrix is unchanged
    assert m.shape == (2, 3)


def test_parameters_are_row_major_scalars_only():
    a, b, c = Scalar(1), Scalar(2), Scalar(3)
    m = Matrix([[a, 0.5], [b, c]])
    assert [id(p) for p in m.parameters()] == [id(a), id(b), id(c)]


def test_zeros_and_random():
    data = Matrix.zeros(2, 3)
    assert data.tolist() == [[0.0] * 3] * 2 and data.parameters() == []
    weights = Matrix.zeros(2, 3, parameters=True)
    found = weights.parameters()
    assert len(found) == 6 and len({id(p) for p in found}) == 6
    assert all(p.value == 0.0 for p in found)
    first, again = Matrix.random(3, 4, seed=7, scale=0.1), Matrix.random(3, 4, seed=7, scale=0.1)
    assert first.tolist() == again.tolist() and len(first.parameters()) == 12
    assert first.tolist() != Matrix.random(3, 4, seed=8, scale=0.1).tolist()
    assert max(abs(v) for row in first.tolist() for v in row) < 1.0  # scale 0.1
    with pytest.raises(ValueError):
        Matrix.zeros(0, 3)
    with pytest.raises(ValueError):
        Matrix.random(2, 0)


# Arithmetic ------------------------------------------------------------------------------
def test_matmul_by_hand():
    a = Matrix([[1, 2, 3], [4, 5, 6]])
    b = Matrix([[7, 8], [9, 10], [11, 12]])
    assert (a @ b).tolist() == [[58, 64], [139, 154]]
    assert type((a @ b)[0, 0]) is float  # data @ data records nothing


def test_a_product_of_numbers_with_zeros_gives_the_bits_of_the_plain_sums():
    rng = __import__("random").Random(7)
    rows = [[0.0 if rng.random() < 0.6 else rng.uniform(-9, 9) for _ in range(6)] for _ in range(5)]
    rows[0] = [0.0] * 6
    rows[1][2] = math.inf  # a data entry that is not finite is not a zero: it stays
    weights = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(6)]
    expected = [[sum(a * weights[k][j] for k, a in enumerate(row)) for j in range(3)] for row in rows]
    got = (Matrix(rows) @ Matrix(weights)).tolist()
    assert repr(got) == repr([[float(v) for v in row] for row in expected])
    weights[0][1] = math.nan  # a weight that is not finite times a zero: nan, as the plain sums
    assert math.isnan((Matrix(rows) @ Matrix(weights))[0, 1])


def test_matmul_entries_are_single_dot_nodes_over_the_weights():
    data = Matrix([[1.0, 2.0, 3.0]])
    weights = params([[1], [2], [3]])
    out = (data @ weights)[0, 0]
    assert out.value == 14.0
    parents, partials = edges(out)
    assert out.operation == "dot" and partials == (1.0, 2.0, 3.0)
    assert [id(p) for p in parents] == [id(p) for p in weights.parameters()]


def test_matmul_gradients_match_finite_differences():
    def loss(*v):
        a = Matrix([[v[0], v[1]], [v[2], v[3]]])
        b = Matrix([[v[4], 2.0], [v[5], -1.0]])
        return (a @ b).apply(sg.tanh).sum()

    values = [0.3, -0.2, 0.5, 0.1, 0.7, -0.4]
    xs = [Scalar(v) for v in values]
    assert close(reverse_autodiff(loss(*xs), xs), finite_difference(loss, values), 1e-6)


def test_elementwise_with_matrix_scalar_and_number():
    a = Matrix([[1, 2], [3, 4]])
    b = Matrix([[10, 20], [30, 40]])
    assert (a + b).tolist() == [[11, 22], [33, 44]]
    assert (b - a).tolist() == [[9, 18], [27, 36]]
    assert (a * b).tolist() == [[10, 40], [90, 160]]
    assert (b / a).tolist() == [[10, 10], [10, 10]]
    assert (a + 1).tolist() == [[2, 3], [4, 5]]
    assert (1 - a).tolist() == [[0, -1], [-2, -3]]
    assert (2 * a).tolist() == [[2, 4], [6, 8]]
    assert (12 / a).tolist() == [[12, 6], [4, 3]]
    assert (a / 2).tolist() == [[0.5, 1], [1.5, 2]]
    assert (-a).tolist() == [[-1, -2], [-3, -4]]
    s = Scalar(3.0)
    scaled = s * a
    assert scaled.tolist() == [[3, 6], [9, 12]]
    assert reverse_autodiff(scaled.sum(), s) == 10.0
    assert (a - s).tolist() == [[-2, -1], [0, 1]]
    assert (s - a).tolist() == [[2, 1], [0, -1]]


def test_bias_row_broadcasts_over_rows_on_either_side():
    x = Matrix([[1, 2, 3], [4, 5, 6]])
    bias = params([[10, 20, 30]])
    assert (x + bias).tolist() == [[11, 22, 33], [14, 25, 36]]
    assert (bias - x).tolist() == [[9, 18, 27], [6, 15, 24]]
    # each bias entry is used once per row: its gradient is the number of rows
    assert reverse_autodiff((x + bias).sum(), bias.parameters()) == [2.0, 2.0, 2.0]


def test_apply_on_floats_and_scalars():
    m = Matrix([[0.0, Scalar(1.0)]])
    out = m.apply(sg.exp)
    assert type(out[0, 0]) is float and out[0, 0] == 1.0
    assert isinstance(out[0, 1], Scalar) and out[0, 1].value == pytest.approx(math.e)


def test_sum_and_mean():
    m = params([[1, 2], [3, 4]])
    total, average = m.sum(), m.mean()
    assert total.value == 10.0 and average.value == 2.5
    assert total.operation == "sum" and len(edges(total)[0]) == 4
    assert reverse_autodiff(average, m.parameters()) == [0.25] * 4


# Softmax and losses -----------------------------------------------------------------------
def test_softmax_by_hand_and_rows_sum_to_one():
    m = Matrix([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    e = [math.exp(1), math.exp(2), math.exp(3)]
    expected = [[v / sum(e) for v in e], [1 / 3] * 3]
    soft = m.softmax().tolist()
    assert close(soft, expected, 1e-12)
    assert all(abs(sum(row) - 1.0) < 1e-12 for row in soft)


def test_log_softmax_is_stable_for_large_inputs():
    m = params([[1000.0, 1000.0, 999.0], [-1000.0, 0.0, 1000.0]])
    logs = m.log_softmax().tolist()
    lse = 1000.0 + math.log(2.0 + math.exp(-1.0))
    assert close(logs[0], [1000.0 - lse, 1000.0 - lse, 999.0 - lse], 1e-12)
    assert logs[1][2] == 0.0 and logs[1][1] == -1000.0 and logs[1][0] == -2000.0
    soft = m.softmax().tolist()
    assert all(math.isfinite(v) for row in soft for v in row)
    assert abs(sum(soft[0]) - 1.0) < 1e-12
    grads = reverse_autodiff(m.log_softmax()[0, 0], m.parameters())
    assert all(math.isfinite(g) for g in grads)


def test_log_softmax_uses_one_logsumexp_node_per_row():
    """x - logsumexp(row), one logsumexp node per row; the row's largest entry (whose
    derivative 1 - softmax would cancel) as -softplus(logsumexp(the others) - x)."""
    out = params([[1.0, 2.0, 0.5], [3.0, 4.0, 1.0]]).log_softmax()
    row_0 = [edges(out[0, j])[0][1] for j in (0, 2)]
    row_1 = edges(out[1, 0])[0][1]
    assert out[0, 0].operation == "sub" and row_0[0].operation == "logsumexp"
    assert row_0[0] is row_0[1] and row_0[0] is not row_1
    largest = out[0, 1]
    assert largest.operation == "neg" and edges(largest)[0][0].operation == "softplus"
    assert [v.value for v in out.row(0)] == pytest.approx(
        [x - math.log(sum(map(math.exp, (1.0, 2.0, 0.5)))) for x in (1.0, 2.0, 0.5)], rel=1e-15)


def test_log_softmax_gradients_match_finite_differences():
    def loss(a, b, c):
        out = Matrix([[a, b, c]]).log_softmax()
        return out[0, 0] * 2.0 + out[0, 2]

    values = [0.5, -1.0, 2.0]
    xs = [Scalar(v) for v in values]
    assert close(reverse_autodiff(loss(*xs), xs), finite_difference(loss, values), 1e-6)


def test_cross_entropy_by_hand_and_its_gradient():
    logits = params([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    labels = [1, 0]
    loss = logits.cross_entropy(labels)
    rows = logits.tolist()
    by_hand = []
    for row, label in zip(rows, labels):
        total = sum(math.exp(v) for v in row)
        by_hand.append(-math.log(math.exp(row[label]) / total))
    assert loss.value == pytest.approx(sum(by_hand) / 2, rel=1e-12)
    # d loss / d logit = (softmax - one_hot) / rows
    soft = logits.softmax().tolist()
    expected = [[(soft[i][j] - (j == labels[i])) / 2 for j in range(3)] for i in range(2)]
    (grad,) = gradients(loss, [logits])
    assert close(grad, expected, 1e-12)


def test_cross_entropy_against_finite_differences():
    def loss(*v):
        return Matrix([v[:3], v[3:]]).cross_entropy([2, 0])

    values = [0.1, 0.2, -0.3, 1.5, -0.5, 0.0]
    xs = [Scalar(v) for v in values]
    assert close(reverse_autodiff(loss(*xs), xs), finite_difference(loss, values), 1e-6)


def test_mse_by_hand_and_gradient():
    prediction = params([[1.0], [2.0], [4.0]])
    target = Matrix([[0.0], [2.0], [1.0]])
    loss = prediction.mse(target)
    assert loss.value == pytest.approx((1 + 0 + 9) / 3)
    assert reverse_autodiff(loss, prediction.parameters()) == pytest.approx([2 / 3, 0.0, 2.0])
    assert prediction.mse([[1.0], [2.0], [4.0]]).value == 0.0  # nested lists accepted


def test_mse_against_finite_differences():
    def loss(a, b, c):
        return Matrix([[a, b], [c, 1.0]]).mse(Matrix([[0.5, b], [2.0, c]]))

    values = [0.3, 1.7, -0.4]
    xs = [Scalar(v) for v in values]
    assert close(reverse_autodiff(loss(*xs), xs), finite_difference(loss, values), 1e-6)


def test_softmax_regression_step_reduces_the_loss():
    data = Matrix([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    weights = Matrix.random(2, 3, seed=0, scale=0.1)
    bias = Matrix.zeros(1, 3, parameters=True)
    labels = [0, 1, 2]
    parameters = weights.parameters() + bias.parameters()
    before = (data @ weights + bias).cross_entropy(labels)
    for p, g in zip(parameters, reverse_autodiff(before, parameters)):
        p.value -= 0.5 * g
    after = (data @ weights + bias).cross_entropy(labels)
    assert after.value < before.value


# Gradient shapes ---------------------------------------------------------------------------
def test_gradients_come_back_shaped_like_each_matrix():
    weights = params([[1, 2, 3], [4, 5, 6]])
    bias = Matrix([[Scalar(1.0), 0.5, Scalar(2.0)]])  # 0.5 is a constant
    loss = (Matrix([[1.0, 1.0]]) @ weights + bias).sum()
    grad_w, grad_b = gradients(loss, [weights, bias])
    assert grad_w == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert grad_b == [[1.0, 0.0, 1.0]]
    flat = reverse_autodiff(loss, bias.parameters())
    assert bias.reshape_gradient(flat) == grad_b
    with pytest.raises(ValueError, match="reshape_gradient"):
        bias.reshape_gradient([1.0, 2.0, 3.0])


# Shape errors name the operation and both shapes -----------------------------------------
@pytest.mark.parametrize("operation, name, shapes", [
    (lambda: Matrix([[1, 2, 3]] * 2) @ Matrix([[1, 2, 3]] * 2), "matmul", ["(2, 3)", "(2, 3)"]),
    (lambda: Matrix([[1, 2]] * 2) + Matrix([[1, 2, 3]] * 2), "add", ["(2, 2)", "(2, 3)"]),
    (lambda: Matrix([[1, 2]] * 2) - Matrix([[1, 2]] * 3), "sub", ["(2, 2)", "(3, 2)"]),
    (lambda: Matrix([[1, 2]] * 3) * Matrix([[1, 2]] * 2), "mul", ["(3, 2)", "(2, 2)"]),
    (lambda: Matrix([[1, 2]]) / Matrix([[1], [2]]), "div", ["(1, 2)", "(2, 1)"]),
    (lambda: Matrix([[1.0], [2.0]]).mse(Matrix([[1.0, 2.0]])), "mse", ["(2, 1)", "(1, 2)"]),
    (lambda: Matrix([[1.0, 2.0]]).cross_entropy([0, 1]), "cross_entropy", ["(1, 2)"]),
    (lambda: Matrix([[1.0, 2.0]]).cross_entropy([2]), "cross_entropy", ["(1, 2)"]),
])
def test_shape_errors_name_the_operation_and_shapes(operation, name, shapes):
    with pytest.raises(ValueError) as error:
        operation()
    message = str(error.value)
    assert message.startswith(name + ":")
    for shape in shapes:
        assert shape in message


def test_unsupported_operands_raise_type_error():
    with pytest.raises(TypeError):
        Matrix([[1.0]]) @ 2.0
    with pytest.raises(TypeError):
        Matrix([[1.0]]) + "a"


def test_matrix_is_exported_and_indexing_by_one_number_says_how_to_index():
    assert sg.Matrix is Matrix
    m = params([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(TypeError, match=r"\[row, column\]"):
        m[0]
    assert m[-1, -1].value == 4.0 and [x.value for x in m.row(1)] == [3.0, 4.0]


def test_a_users_primitive_applies_to_a_matrix_entry_by_entry():
    m = sg.Matrix([[Scalar(0.5), Scalar(-1.0)], [Scalar(2.0), Scalar(0.1)]])
    loss = m.apply(erf).sum()
    grads = reverse_autodiff(loss, m.parameters())
    assert grads == pytest.approx([2 / math.sqrt(math.pi) * math.exp(-v * v) for v in (0.5, -1.0, 2.0, 0.1)],
                                  rel=1e-14)
