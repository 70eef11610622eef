"""The unit of work: split batches, the gradient over a shard against the whole batch's, and
compiled code's gradient against the recording engine's."""
import math

import pytest

from scalargrad import reverse_autodiff
from scalargrad.train.gradient import (CompiledGradient, RecordedGradient, engine_used,
                                       make_gradient, split)
from scalargrad.train.model import Classifier
from tests.train.test_loop import digits


@pytest.mark.parametrize("size, parts", [(10, 3), (8, 2), (3, 5), (1, 1), (0, 2), (32, 32)])
def test_split_makes_contiguous_shards_of_nearly_equal_size(size, parts):
    batch = list(range(100, 100 + size))
    shards = split(batch, parts)
    assert len(shards) == parts
    assert [i for shard in shards for i in shard] == batch
    sizes = [len(shard) for shard in shards]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def model_and_examples():
    rows, labels = digits(12, seed=3)
    return Classifier(49, 10, hidden=6, seed=2), rows, labels


def test_the_gradient_of_a_shard_is_its_examples_share_of_the_batch_gradient():
    model, rows, labels = model_and_examples()
    mean_loss = model.loss(rows, labels)
    whole = reverse_autodiff(mean_loss, model.parameters())  # independent: the batch's mean
    gradient = RecordedGradient(model)
    first, second = gradient(rows[:5], labels[:5]), gradient(rows[5:], labels[5:])
    summed = [(a + b) / len(rows) for a, b in zip(first.gradient, second.gradient)]
    assert summed == pytest.approx(whole, rel=1e-12, abs=1e-15)
    assert (first.loss_sum + second.loss_sum) / len(rows) == pytest.approx(mean_loss.value,
                                                                           rel=1e-14)
    predictions = model.predict(rows)
    assert first.correct + second.correct == sum(p == t for p, t in zip(predictions, labels))


def test_forward_mode_gives_the_same_gradient():
    model, rows, labels = model_and_examples()
    reverse = RecordedGradient(model, "reverse")(rows[:3], labels[:3])
    forward = RecordedGradient(model, "forward")(rows[:3], labels[:3])
    assert forward.gradient == pytest.approx(reverse.gradient, rel=1e-12, abs=1e-15)


def test_load_sets_the_values_the_gradient_is_taken_at():
    model, rows, labels = model_and_examples()
    other = Classifier(49, 10, hidden=6, seed=9)
    expected = RecordedGradient(other)(rows, labels)
    gradient = RecordedGradient(model)
    gradient.load([p.value for p in other.parameters()])
    assert [p.value for p in model.parameters()] == [p.value for p in other.parameters()]
    assert gradient(rows, labels).gradient == expected.gradient


@pytest.mark.parametrize("make", [RecordedGradient, CompiledGradient])
def test_an_empty_shard_contributes_nothing(make):
    model, _, _ = model_and_examples()
    result = make(model)([], [])
    assert (result.loss_sum, result.correct) == (0.0, 0)
    assert result.gradient == [0.0] * len(model.parameters())


def test_huge_parameters_give_a_loss_that_is_not_finite_for_the_step_to_refuse():
    model, rows, labels = model_and_examples()
    for parameter in model.parameters():
        parameter.value = 1e300
    assert not math.isfinite(RecordedGradient(model)(rows, labels).loss_sum)


def test_an_overflow_while_recording_is_reported_for_the_step_to_refuse(monkeypatch):
    model, rows, labels = model_and_examples()

    def overflowing(*args):
        raise OverflowError("exp(1000.0): result too large")
    monkeypatch.setattr(Classifier, "logits", overflowing)
    result = RecordedGradient(model)(rows, labels)
    assert result.overflow == "exp(1000.0): result too large"
    assert result.loss_sum == math.inf and result.gradient == [0.0] * len(model.parameters())


def test_an_unknown_mode_is_refused():
    model, _, _ = model_and_examples()
    with pytest.raises(ValueError, match="mode"):
        RecordedGradient(model, "sideways")


# Compiled code against the recording engine ---------------------------------------------
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


@pytest.mark.parametrize("options", MODELS)
def test_rows_holding_ints_give_the_bits_of_their_floats(options):
    """CompiledGradient promises floats_known to compiled code: its data only meet float
    weights in products, where an int gives its float's bits."""
    rows, labels = digits(12, seed=8)
    as_numbers = [[[0, 1, 2, 255, 2 ** 70][k % 5] if v == 0.0 or k % 7 == 0 else v
                   for k, v in enumerate(row)] for row in rows]
    as_floats = [[float(v) for v in row] for row in as_numbers]
    compiled = CompiledGradient(Classifier(49, 10, seed=1, **options))
    for _ in range(2):  # the first call traces; the second runs the batch code
        got, want = compiled(as_numbers, labels), compiled(as_floats, labels)
        assert (got.loss_sum, got.correct, got.gradient) == (want.loss_sum, want.correct, want.gradient)


def test_load_sets_the_values_and_leaves_them_in_the_model():
    rows, labels = digits(10, seed=5)
    model, other = Classifier(49, 10, hidden=4, seed=2), Classifier(49, 10, hidden=4, seed=7)
    values = [p.value for p in other.parameters()]
    expected = RecordedGradient(other)(rows, labels)
    compiled = CompiledGradient(model)
    compiled.load(values)
    assert [p.value for p in model.parameters()] == values  # the run evaluates and saves it
    assert compiled(rows, labels).gradient == pytest.approx(expected.gradient, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("make", [RecordedGradient, CompiledGradient])
def test_at_takes_the_gradient_at_given_values_and_compiled_code_touches_no_scalar(make):
    rows, labels = digits(10, seed=6)
    model, other = Classifier(49, 10, hidden=4, seed=2), Classifier(49, 10, hidden=4, seed=7)
    values = [p.value for p in other.parameters()]
    expected = RecordedGradient(other)(rows, labels)  # independent: another model at them
    before = [p.value for p in model.parameters()]
    got = make(model).at(values, rows, labels)
    assert got.loss_sum == pytest.approx(expected.loss_sum, rel=1e-12)
    assert got.correct == expected.correct
    assert got.gradient == pytest.approx(expected.gradient, rel=1e-9, abs=1e-15)
    if make is CompiledGradient:  # the float path: the model's Scalars are left alone
        assert [p.value for p in model.parameters()] == before


def test_forward_mode_records_and_compiled_code_is_reverse_mode_only():
    model = Classifier(49, 10, hidden=3)
    assert isinstance(make_gradient(model, "reverse"), CompiledGradient)  # the default
    assert isinstance(make_gradient(model, "reverse", "recording"), RecordedGradient)
    assert isinstance(make_gradient(model, "forward"), RecordedGradient)
    assert isinstance(make_gradient(model, "forward", "recording"), RecordedGradient)
    assert [engine_used(mode, engine) for mode in ("reverse", "forward")
            for engine in ("compiled", "recording")] == ["compiled", "recording"] + ["recording"] * 2
    with pytest.raises(ValueError, match="reverse"):
        CompiledGradient(model, "forward")
    with pytest.raises(ValueError, match="engine"):
        make_gradient(model, "reverse", "fastest")
    with pytest.raises(ValueError, match="mode"):
        make_gradient(model, "sideways")
