import math
import random

import pytest

from scalargrad import finite_difference, forward_autodiff, reverse_autodiff
from scalargrad.matrix import Matrix
from scalargrad.optim import make_optimizer
from scalargrad.errors import Diverged, InputError
from scalargrad.train.loop import train_epoch
from scalargrad.train.model import DEFAULT_ACTIVATION, Classifier, accuracy, argmax, confusion_matrix


def blobs(n=200, seed=0):
    """Three well-separated clusters in 2-D: a problem a linear classifier solves."""
    rng = random.Random(seed)
    centres = [(-3.0, 0.0), (3.0, 0.0), (0.0, 4.0)]
    rows, labels = [], []
    for i in range(n):
        label = i % 3
        cx, cy = centres[label]
        rows.append([cx + rng.gauss(0, 0.5), cy + rng.gauss(0, 0.5)])
        labels.append(label)
    return rows, labels


def test_parameter_counts():
    assert len(Classifier(49).parameters()) == 49 * 10 + 10
    assert len(Classifier(49, hidden=32).parameters()) == 49 * 32 + 32 + 32 * 10 + 10


def test_loss_is_the_hand_computed_cross_entropy():
    model = Classifier(2, classes=3)
    weights, bias = model.layers[0]
    for p, v in zip(weights.parameters() + bias.parameters(), [1, -1, 0.5, 2, 0, -0.5, 0.1, 0.2, 0.3]):
        p.value = float(v)
    rows, labels = [[1.0, 2.0], [-1.0, 0.5]], [2, 0]
    expected = 0.0
    for (a, b), label in zip(rows, labels):
        logits = [a * 1 + b * 2 + 0.1, a * -1 + b * 0 + 0.2, a * 0.5 + b * -0.5 + 0.3]
        expected += math.log(sum(math.exp(z) for z in logits)) - logits[label]
    assert model.loss(rows, labels).value == pytest.approx(expected / 2)


@pytest.mark.parametrize("hidden, activation", [(0, "relu"), (4, "tanh"), (4, "relu")])
def test_forward_and_reverse_gradients_agree_and_match_finite_differences(hidden, activation):
    model = Classifier(3, classes=3, hidden=hidden, activation=activation, seed=1)
    rows, labels = [[0.2, -0.4, 0.9], [1.0, 0.3, -0.2]], [1, 2]
    params = model.parameters()
    loss = model.loss(rows, labels)
    reverse = reverse_autodiff(loss, params)
    assert forward_autodiff(loss, params) == pytest.approx(reverse, rel=1e-10, abs=1e-12)
    for k in (0, len(params) // 2, len(params) - 1):
        def loss_at(v, k=k):
            saved = params[k].value
            params[k].value = v
            try:
                return model.loss(rows, labels).value
            finally:
                params[k].value = saved
        assert reverse[k] == pytest.approx(finite_difference(loss_at, params[k].value), rel=1e-5, abs=1e-8)


def test_training_separates_blobs_and_prediction_matches_the_recorded_logits():
    rows, labels = blobs()
    model = Classifier(2, classes=3)
    optimizer = make_optimizer("adam", model.parameters(), 0.1)
    rng = random.Random(0)
    first = train_epoch(model, optimizer, rows, labels, 16, rng)
    for _ in range(4):
        last = train_epoch(model, optimizer, rows, labels, 16, rng)
    assert last.loss < first.loss and last.examples == len(rows)
    fraction, predictions = accuracy(model, rows, labels)
    assert fraction > 0.97
    recorded = model.logits(Matrix(rows)).tolist()
    assert predictions == [max(range(3), key=row.__getitem__) for row in recorded]


def test_the_same_seed_gives_the_same_run():
    def run():
        rows, labels = blobs()
        model = Classifier(2, classes=3, hidden=5, seed=3)
        optimizer = make_optimizer("momentum", model.parameters(), 0.05)
        result = train_epoch(model, optimizer, rows, labels, 8, random.Random(7))
        return result.loss, [p.value for p in model.parameters()]
    assert run() == run()


def test_should_stop_ends_the_epoch_after_the_current_batch():
    rows, labels = blobs()
    model = Classifier(2, classes=3)
    result = train_epoch(model, make_optimizer("sgd", model.parameters(), 0.1), rows, labels, 10,
                         random.Random(0), should_stop=lambda: True)
    assert result.examples == 10 and result.loss_sum / 10 == result.loss


def test_an_epoch_stopped_early_continues_exactly():
    rows, labels = blobs(n=100)

    def fresh():
        model = Classifier(2, classes=3, hidden=4, seed=5)
        return model, make_optimizer("adam", model.parameters(), 0.05)

    model, optimizer = fresh()
    straight = train_epoch(model, optimizer, rows, labels, 16, random.Random(9))

    model2, optimizer2 = fresh()
    rng = random.Random(9)
    at_start = rng.getstate()
    batches = []
    first = train_epoch(model2, optimizer2, rows, labels, 16, rng,
                        on_batch=batches.append, should_stop=lambda: len(batches) == 3)
    assert first.examples == 48
    rng.setstate(at_start)  # the order is drawn again, identically, and 48 examples skipped
    rest = train_epoch(model2, optimizer2, rows, labels, 16, rng, resume=first)
    assert [p.value for p in model2.parameters()] == [p.value for p in model.parameters()]
    assert (rest.examples, rest.loss, rest.accuracy) == (100, straight.loss, straight.accuracy)
    assert rest.seconds >= first.seconds


def test_a_diverging_loss_is_reported():
    rows, labels = blobs()
    rows = [[v * 1e10 for v in row] for row in rows]  # logits beyond a float after one step
    model = Classifier(2, classes=3)
    optimizer = make_optimizer("sgd", model.parameters(), 1e308)
    with pytest.raises(Diverged, match="loss became"):
        for _ in range(3):
            train_epoch(model, optimizer, rows, labels, 50, random.Random(0))


def test_saved_models_round_trip_and_predict_identically():
    rows, labels = blobs()
    model = Classifier(2, classes=3, hidden=6, activation="tanh", seed=2)
    train_epoch(model, make_optimizer("adam", model.parameters(), 0.05), rows, labels, 16, random.Random(0))
    restored = Classifier.from_dict(model.to_dict())
    assert restored.predict(rows) == model.predict(rows)
    assert [p.value for p in restored.parameters()] == [p.value for p in model.parameters()]


def small_model_dict():
    model = Classifier(2, classes=3, hidden=2, seed=1)
    return model.to_dict()


def broken(change):
    data = small_model_dict()
    change(data)
    return data


def set_weight(layer, row, col, value):
    def change(data):
        data["layers"][layer]["weights"][row][col] = value
    return change


def ragged(data):
    """Rows of 3 and 1 entries where 2 and 2 belong: the total count is right."""
    weights = data["layers"][0]["weights"]
    weights[0].append(weights[1].pop())


@pytest.mark.parametrize("data, problem", [
    ([], "must be an object"),
    (None, "must be an object"),
    ("7", "must be an object"),
    (broken(lambda d: d.pop("layers")), "layers"),
    (broken(lambda d: d.update(hidden=100_000_000)), "has 2 entries, expected 100000000"),
    (broken(lambda d: d.update(hidden=0)), "1 layer"),
    (broken(lambda d: d.update(classes=10**9)), "has 3 entries, expected 1000000000"),
    (broken(lambda d: d.update(inputs=-2)), "inputs"),
    (broken(lambda d: d.update(inputs=True)), "inputs"),
    (broken(lambda d: d.update(hidden="2")), "hidden"),
    (broken(lambda d: d.update(activation="sigmoidish")), "activation"),
    (broken(lambda d: d.update(layers={})), "layers"),
    (broken(lambda d: d["layers"].__setitem__(0, [])), "layer 1"),
    (broken(ragged), "row 1 of layer 1's weights has 3 entries, expected 2"),
    (broken(lambda d: d["layers"][1]["bias"].pop()), "layer 2's bias has 2 entries, expected 3"),
    (broken(lambda d: d["layers"][1].update(weights=[])), "layer 2's weights has 0 rows, expected 2"),
    (broken(set_weight(0, 1, 0, math.nan)), "nan"),
    (broken(set_weight(1, 0, 2, math.inf)), "inf"),
    (broken(set_weight(1, 1, 1, 10**400)), "not a finite number"),
    (broken(set_weight(0, 0, 1, "0.5")), "'0.5'"),
    (broken(set_weight(0, 0, 1, True)), "True"),
    (broken(set_weight(0, 0, 1, None)), "None"),
])
def test_a_malformed_saved_model_is_an_input_error_raised_before_building(data, problem):
    with pytest.raises(InputError) as raised:
        Classifier.from_dict(data)
    assert problem in str(raised.value) and "\n" not in str(raised.value)


def test_integer_weights_are_numbers_too():
    data = small_model_dict()
    data["layers"][0]["weights"][0][0] = 2
    assert Classifier.from_dict(data).layers[0][0][0, 0].value == 2.0


def test_confusion_matrix_counts():
    assert confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], classes=3) == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_unknown_activation_and_mode():
    with pytest.raises(ValueError):
        Classifier(2, activation="sigmoidish")
    model = Classifier(2, classes=3)
    with pytest.raises(ValueError):
        train_epoch(model, make_optimizer("sgd", model.parameters(), 0.1), [[0.0, 0.0]], [0], 1,
                    random.Random(0), mode="sideways")



def test_the_default_activation_is_relu():
    """relu: what train-mnist's measured targets use, and cheaper than tanh."""
    assert DEFAULT_ACTIVATION == "relu"
    assert Classifier(4, classes=2, hidden=3).activation == DEFAULT_ACTIVATION


def test_an_epoch_trains_its_batches_through_the_step_it_is_given():
    rows, labels = blobs(n=20)
    batches = []

    def step(batch):
        batches.append(list(batch))
        return 0.5, 1
    model = Classifier(2, classes=3)
    before = [p.value for p in model.parameters()]
    result = train_epoch(model, None, rows, labels, 8, random.Random(3), step=step)
    assert [len(batch) for batch in batches] == [8, 8, 4]
    assert sorted(i for batch in batches for i in batch) == list(range(20))
    assert (result.examples, result.loss, result.correct) == (20, 0.5, 3)
    assert [p.value for p in model.parameters()] == before  # the step alone trains


def test_a_step_that_diverges_is_told_how_far_the_epoch_got():
    rows, labels = blobs(n=20)
    calls = []

    def step(batch):
        calls.append(batch)
        if len(calls) == 2:
            raise Diverged("the loss became nan")
        return 1.0, 0
    with pytest.raises(Diverged, match="^the loss became nan after 8 examples$"):
        train_epoch(Classifier(2, classes=3), None, rows, labels, 8, random.Random(0), step=step)


def test_argmax_is_the_first_position_of_the_largest_value_as_numpys():
    import numpy as np
    rng = random.Random(11)
    for _ in range(200):
        values = [float(rng.randint(-3, 3)) for _ in range(rng.randint(1, 12))]  # many ties
        assert argmax(values) == int(np.argmax(values))
    assert argmax((0.0, -0.0)) == 0 and argmax([-0.0, 0.0]) == 0
