"""A training step: the checks every way of training shares, and a whole step by either
engine (compiled code against the recording engine)."""
import math

import pytest

from scalargrad.errors import Diverged
from scalargrad.optim import SGD, Adam
from scalargrad.train.gradient import CompiledGradient, RecordedGradient
from scalargrad.train.model import Classifier
from scalargrad.train.step import check_weights, checked_loss, local_step, step_with, update
from tests.train.test_loop import digits

MODELS = [dict(hidden=0), dict(hidden=6, activation="tanh"), dict(hidden=6, activation="relu")]


def test_the_loss_of_a_step_is_the_mean_and_refused_unless_finite():
    assert checked_loss(6.0, 4) == 1.5
    for loss_sum in (math.inf, math.nan):
        with pytest.raises(Diverged, match="^the loss became (inf|nan)$"):
            checked_loss(loss_sum, 3)
    with pytest.raises(Diverged, match="^exp overflowed$"):  # the reason, when there is one
        checked_loss(1.0, 3, overflow="exp overflowed")


def test_an_update_steps_on_the_gradient_of_the_mean_loss():
    """SGD by hand: p - lr * (summed gradient / examples)."""
    model = Classifier(2, classes=2)
    optimizer = SGD(model.parameters(), lr=0.5)
    before = model.values()
    summed = [float(k) for k in range(len(before))]
    update(optimizer, summed, 4)
    assert model.values() == [p - 0.5 * (g / 4) for p, g in zip(before, summed)]


def test_a_weight_that_is_not_finite_is_divergence():
    check_weights([0.0, -1e308], 8)
    with pytest.raises(Diverged, match="^a weight became nan after 8 examples$"):
        check_weights([1.0, math.nan, math.inf], 8)


@pytest.mark.parametrize("options", MODELS)
def test_a_compiled_run_follows_the_recorded_runs_trajectory(options):
    """Same seed, same batches: the losses of 30 Adam steps equal to 1e-9 relative."""
    rows, labels = digits(90, seed=6)
    losses = {}
    for engine in ("recorded", "compiled"):
        model = Classifier(49, 10, seed=3, **options)
        optimizer = Adam(model.parameters(), lr=0.01)
        if engine == "recorded":
            step = local_step(model, optimizer, rows, labels, engine="recording")
        else:
            step = local_step(model, optimizer, rows, labels)  # compiled: the default
        batches = [list(range(k, k + 9)) for k in range(0, 90, 9)] * 3
        losses[engine] = [step(batch) for batch in batches]
        losses[engine + " weights"] = [p.value for p in model.parameters()]
    assert [c for _, c in losses["compiled"]] == [c for _, c in losses["recorded"]]
    assert ([loss for loss, _ in losses["compiled"]]
            == pytest.approx([loss for loss, _ in losses["recorded"]], rel=1e-9))
    assert losses["compiled weights"] == pytest.approx(losses["recorded weights"], rel=1e-9, abs=1e-12)
    assert losses["compiled"][-1][0] < 0.75 * losses["compiled"][0][0]  # and it did learn


@pytest.mark.parametrize("make", [CompiledGradient, RecordedGradient])
def test_parameters_so_large_that_the_loss_overflows_stop_the_step(make):
    rows, labels = digits(10, seed=5)
    model = Classifier(49, 10, hidden=3)
    optimizer = Adam(model.parameters(), lr=0.01)
    for parameter in model.parameters():
        parameter.value = 1e300
    before = [p.value for p in model.parameters()]
    with pytest.raises(Diverged):
        step_with(make(model), optimizer, rows, labels)(list(range(10)))
    assert [p.value for p in model.parameters()] == before  # no step was taken
