"""Compiled training steps against the recording engine's (shards.RecordedGradient)."""
import math

import pytest

from scalargrad.train.compiled_gradient import CompiledGradient, fastest_gradient
from scalargrad.errors import Diverged
from scalargrad.optim import Adam
from scalargrad.train.gradient import RecordedGradient, step_with
from scalargrad.train.model import Classifier, step_in_this_process
from tests.train.test_loop import digits

MODELS = [dict(hidden=0), dict(hidden=6, activation="tanh"), dict(hidden=6, activation="relu")]


@pytest.mark.parametrize("options", MODELS)
def test_the_compiled_gradient_is_the_recorded_one(options):
    rows, labels = digits(24, seed=4)
    model = Classifier(49, 10, seed=1, **options)
    if not options["hidden"]:  # zeros would make every logit equal: start elsewhere
        for k, parameter in enumerate(model.parameters()):
            parameter.value = math.sin(k) / 10
    recorded = RecordedGradient(model)
    compiled = CompiledGradient(model)
    for shard in (slice(0, 24), slice(3, 10), slice(5, 6)):  # a second batch runs vjp_batch
        expected, got = recorded(rows[shard], labels[shard]), compiled(rows[shard], labels[shard])
        assert got.loss_sum == pytest.approx(expected.loss_sum, rel=1e-12)
        assert got.correct == expected.correct
        assert got.gradient == pytest.approx(expected.gradient, rel=1e-9, abs=1e-15)


def test_load_sets_the_values_and_leaves_them_in_the_model():
    rows, labels = digits(10, seed=5)
    model, other = Classifier(49, 10, hidden=4, seed=2), Classifier(49, 10, hidden=4, seed=7)
    values = [p.value for p in other.parameters()]
    expected = RecordedGradient(other)(rows, labels)
    compiled = CompiledGradient(model)
    compiled.load(values)
    assert [p.value for p in model.parameters()] == values  # the run evaluates and saves it
    assert compiled(rows, labels).gradient == pytest.approx(expected.gradient, rel=1e-9, abs=1e-15)


def test_an_empty_shard_contributes_nothing():
    model = Classifier(49, 10, hidden=3)
    result = CompiledGradient(model)([], [])
    assert (result.loss_sum, result.correct, result.gradient) == (0.0, 0, [0.0] * len(model.parameters()))


def test_forward_mode_records_and_compiled_code_is_reverse_mode_only():
    model = Classifier(49, 10, hidden=3)
    assert isinstance(fastest_gradient(model, "reverse"), CompiledGradient)
    assert isinstance(fastest_gradient(model, "forward"), RecordedGradient)
    with pytest.raises(ValueError, match="reverse"):
        CompiledGradient(model, "forward")


@pytest.mark.parametrize("options", MODELS)
def test_a_compiled_run_follows_the_recorded_runs_trajectory(options):
    """Same seed, same batches: the losses of 30 Adam steps equal to 1e-9 relative."""
    rows, labels = digits(90, seed=6)
    losses = {}
    for engine in ("recorded", "compiled"):
        model = Classifier(49, 10, seed=3, **options)
        optimizer = Adam(model.parameters(), lr=0.01)
        if engine == "recorded":
            step = step_in_this_process(model, optimizer, rows, labels)
        else:
            step = step_with(CompiledGradient(model), optimizer, rows, labels)
        batches = [list(range(k, k + 9)) for k in range(0, 90, 9)] * 3
        losses[engine] = [step(batch) for batch in batches]
        losses[engine + " weights"] = [p.value for p in model.parameters()]
    assert [c for _, c in losses["compiled"]] == [c for _, c in losses["recorded"]]
    assert ([loss for loss, _ in losses["compiled"]]
            == pytest.approx([loss for loss, _ in losses["recorded"]], rel=1e-9))
    assert losses["compiled weights"] == pytest.approx(losses["recorded weights"], rel=1e-9, abs=1e-12)
    assert losses["compiled"][-1][0] < 0.75 * losses["compiled"][0][0]  # and it did learn


def test_parameters_so_large_that_the_loss_overflows_stop_the_step():
    rows, labels = digits(10, seed=5)
    model = Classifier(49, 10, hidden=3)
    optimizer = Adam(model.parameters(), lr=0.01)
    for parameter in model.parameters():
        parameter.value = 1e300
    before = [p.value for p in model.parameters()]
    with pytest.raises(Diverged):
        step_with(CompiledGradient(model), optimizer, rows, labels)(list(range(10)))
    assert [p.value for p in model.parameters()] == before  # no step was taken
