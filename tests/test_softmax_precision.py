"""logsumexp, Matrix.log_softmax, softmax and cross_entropy, values and gradients, against
references computed in high precision (mpmath, 60 digits, from the exact float logits), at
logits from 1 to 1e300 in magnitude.

Each result must be as accurate as rounding its inputs allows: a softmax weight
exp(x - logsumexp) to a few roundings of the exponent (its error grows with the size of
x - logsumexp, as any float exp's does), a log-softmax or a loss to a few roundings of the
differences it is made of. A result computed by subtracting the rounded logsumexp (which
gave [1, 1] for two logits of 1e16, and a loss of 0 for ten of 1e300) is off by far more.
"""
import math
import random

import mpmath
import pytest
from mpmath import mpf

import scalargrad as sg
from scalargrad import Matrix, Scalar, forward_autodiff, reverse_autodiff
from scalargrad.core.transforms import hessian

ULP = 2.0 ** -53


# ---------------------------------------------------------------------------------------
# The reproductions.
def test_logsumexp_gradient_at_1e16_is_a_half_each():
    a, b = Scalar(1e16), Scalar(1e16)
    assert reverse_autodiff(sg.logsumexp([a, b]), [a, b]) == [0.5, 0.5]
    assert forward_autodiff(sg.logsumexp([a, b]), [a, b]) == [0.5, 0.5]


def test_logsumexp_gradient_at_1e13_is_right_to_rounding():
    xs = [Scalar(1e13), Scalar(1e13 + 0.5), Scalar(1e13 - 2.0)]
    expected = reference_softmax([x.value for x in xs])
    for found, truth in zip(reverse_autodiff(sg.logsumexp(xs), xs), expected):
        assert found == pytest.approx(float(truth), rel=1e-15)


def test_softmax_of_two_logits_of_1e17_is_a_half_each():
    assert Matrix([[1e17, 1e17]]).softmax().tolist() == [[0.5, 0.5]]
    x, y = Scalar(1e17), Scalar(1e17)
    assert Matrix([[x, y]]).softmax().tolist() == [[0.5, 0.5]]


def test_cross_entropy_of_ten_logits_of_1e300():
    logits = [Scalar(1e300) for _ in range(10)]
    loss = Matrix([logits]).cross_entropy([3])
    assert loss.value == pytest.approx(math.log(10), rel=1e-15)
    gradient = reverse_autodiff(loss, logits)
    assert gradient == pytest.approx([0.1] * 3 + [-0.9] + [0.1] * 6, rel=1e-15)
    assert forward_autodiff(loss, logits) == pytest.approx(gradient, rel=1e-15)


def test_a_confident_prediction_keeps_its_small_gradient():
    """Logits 40 and 0, label 0: d loss / d logit_0 = softmax_0 - 1 = -4.2e-18, which the
    difference of 1 and a weight rounded to 1 would give as 0."""
    x, y = Scalar(40.0), Scalar(0.0)
    loss = Matrix([[x, y]]).cross_entropy([0])
    truth = -1 / (1 + math.exp(40.0))
    assert reverse_autodiff(loss, x) == pytest.approx(truth, rel=1e-14, abs=0)
    assert forward_autodiff(loss, x) == pytest.approx(truth, rel=1e-14, abs=0)
    assert loss.value == pytest.approx(math.log1p(math.exp(-40.0)), rel=1e-14, abs=0)
    jacobian = sg.jacobian(Matrix([[x, y]]).softmax().row(0), [x, y])
    assert jacobian[0][0] == pytest.approx(-truth * (1 + truth), rel=1e-14, abs=0)


# ---------------------------------------------------------------------------------------
# References.
def reference_softmax(logits):
    with mpmath.workdps(60):
        xs = [mpf(v) for v in logits]
        top = max(xs)
        weights = [mpmath.exp(x - top) for x in xs]
        total = mpmath.fsum(weights)
        return [w / total for w in weights]


def reference_log_softmax(logits):
    """([x - logsumexp], logsumexp): the differences from the top first (exact in 60
    digits), so that logits of 1e300 keep their log-softmax."""
    with mpmath.workdps(60):
        xs = [mpf(v) for v in logits]
        top = max(xs)
        spread = mpmath.log(mpmath.fsum(mpmath.exp(x - top) for x in xs))
        return [(x - top) - spread for x in xs], top + spread


def close(found, truth, exponent=0.0, roundings=8):
    """found agrees with truth to a few roundings, more where truth is exp of a large
    exponent (whose rounding a float exp multiplies by the exponent's size)."""
    with mpmath.workdps(60):
        if truth == 0:
            return found == 0
        if abs(truth) < 2.2250738585072014e-308:  # underflows: any number as small will do
            return abs(found) < 4.5e-308
        allowed = roundings * ULP * (1 + abs(float(exponent))) * abs(truth)
        return abs(mpf(found) - truth) <= allowed


def exponents(log_weights, i, j):
    """The size of the exponents behind p_i (delta_ij - p_j): p_i's and p_j's, or on the
    diagonal p_i's and the largest of the others' (1 - p_i is their sum)."""
    others = [abs(w) for k, w in enumerate(log_weights) if k != i] or [0]
    return abs(log_weights[i]) + (abs(log_weights[j]) if i != j else max(others))


def random_rows(seed, count):
    """Rows of 2, 3 or 10 logits around a top whose magnitude is log-uniform from 1 to
    1e300 (either sign): differences from the top of 0 (ties) to hundreds, as representable
    at that magnitude (at 1e300 only ties and one-hot rows remain)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        top = rng.choice((1.0, -1.0)) * 10.0 ** rng.choice((rng.uniform(0, 17), rng.uniform(0, 300)))
        size = rng.choice((2, 3, 10))
        offsets = [rng.choice((0.0, rng.uniform(0, 2), rng.uniform(0, 60), rng.uniform(0, 800)))
                   for _ in range(size - 1)]
        row = [top] + [top - d for d in offsets]
        rng.shuffle(row)
        rows.append(row)
    return rows


ROWS = random_rows(17, 120)


def test_the_rows_cover_the_magnitudes_and_shapes():
    tops = [max(abs(v) for v in row) for row in ROWS]
    assert min(tops) < 10 and max(tops) > 1e250 and any(1e12 < t < 1e17 for t in tops)
    assert {len(row) for row in ROWS} == {2, 3, 10}
    assert any(len(set(row)) < len(row) for row in ROWS)  # ties


# ---------------------------------------------------------------------------------------
# Properties over the rows.
@pytest.mark.parametrize("row", ROWS)
def test_logsumexp_and_its_gradient_against_high_precision(row):
    xs = [Scalar(v) for v in row]
    y = sg.logsumexp(xs)
    log_weights, lse = reference_log_softmax(row)
    assert close(y.value, lse)
    truth = reference_softmax(row)
    for mode in (reverse_autodiff, forward_autodiff):
        for found, p, exponent in zip(mode(y, xs), truth, log_weights):
            assert close(found, p, exponent), (row, found, p)


@pytest.mark.parametrize("row", ROWS)
def test_log_softmax_and_softmax_values_and_jacobians_against_high_precision(row):
    xs = [Scalar(v) for v in row]
    log_weights, _ = reference_log_softmax(row)
    weights = reference_softmax(row)
    found_log = [v.value for v in Matrix([xs]).log_softmax().row(0)]
    found = [v.value for v in Matrix([xs]).softmax().row(0)]
    for i in range(len(row)):
        # a log-weight is a difference of the logits' differences and a logarithm: a few
        # roundings of the largest of them
        scale = max(abs(float(log_weights[i])), 1.0)
        assert abs(mpf(found_log[i]) - log_weights[i]) <= 8 * ULP * scale, (row, i)
        assert close(found[i], weights[i], log_weights[i]), (row, i)
    jacobian = sg.jacobian(Matrix([xs]).softmax().row(0), xs)
    with mpmath.workdps(60):
        for i, p in enumerate(weights):
            rest = mpmath.fsum(q for k, q in enumerate(weights) if k != i)
            for j, q in enumerate(weights):
                truth = p * rest if i == j else -p * q
                assert close(jacobian[i][j], truth, exponents(log_weights, i, j), roundings=16), \
                    (row, i, j)


@pytest.mark.parametrize("seed", range(8))
def test_cross_entropy_loss_and_gradient_against_high_precision(seed):
    rows = random_rows(seed, 4)
    rng = random.Random(seed)
    size = len(rows[0])
    rows = [row[:size] if len(row) >= size else row + [row[0]] * (size - len(row)) for row in rows]
    labels = [rng.randrange(size) for _ in rows]
    logits = Matrix([[Scalar(v) for v in row] for row in rows])
    loss = logits.cross_entropy(labels)
    with mpmath.workdps(60):
        losses, gradients = [], []
        for row, label in zip(rows, labels):
            log_weights, _ = reference_log_softmax(row)
            weights = reference_softmax(row)
            losses.append(-log_weights[label])
            rest = mpmath.fsum(q for k, q in enumerate(weights) if k != label)
            gradients.append([(-rest if k == label else q) / len(rows) for k, q in enumerate(weights)])
        truth = mpmath.fsum(losses) / len(rows)
        scale = mpmath.fsum(abs(t) for t in losses) / len(rows)
        assert abs(mpf(loss.value) - truth) <= 16 * ULP * max(scale, 1e-300), (rows, labels)
    flat = logits.parameters()
    for mode in (reverse_autodiff, forward_autodiff):
        found = mode(loss, flat)
        for k, (value, truth_value) in enumerate(zip(found, [g for row in gradients for g in row])):
            row, column = divmod(k, size)
            log_weights, _ = reference_log_softmax(rows[row])
            assert close(value, truth_value, log_weights[column], roundings=16), (rows[row], labels[row], k)


@pytest.mark.parametrize("row", ROWS[:40])
def test_second_derivatives_of_logsumexp_and_cross_entropy_against_high_precision(row):
    xs = [Scalar(v) for v in row]
    weights = reference_softmax(row)
    log_weights, _ = reference_log_softmax(row)
    for function in (sg.logsumexp, lambda v: Matrix([v]).cross_entropy([0])):
        found = hessian(function(xs), xs)  # the Hessian of the loss is logsumexp's
        with mpmath.workdps(60):
            for i, p in enumerate(weights):
                rest = mpmath.fsum(q for k, q in enumerate(weights) if k != i)
                for j, q in enumerate(weights):
                    truth = p * rest if i == j else -p * q
                    assert close(found[i][j], truth, exponents(log_weights, i, j), roundings=32), \
                        (row, i, j)
