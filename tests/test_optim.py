"""Optimizers: updates against hand computations, validation, and saving/restoring state."""
import json
import math

import pytest

from scalargrad import Scalar
from scalargrad.optim import SGD, Adam


def values(parameters):
    return [p.value for p in parameters]


def test_sgd_step():
    ps = [Scalar(1.0), Scalar(-2.0)]
    optimizer = SGD(ps, lr=0.1)
    optimizer.step([0.5, 0.25])
    assert values(ps) == pytest.approx([0.95, -2.025], abs=1e-15)
    assert optimizer.steps == 1


def test_sgd_momentum_two_steps():
    p = Scalar(1.0)
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step([0.5])    # v = 0.5,               p = 1 - 0.05
    assert p.value == pytest.approx(0.95, abs=1e-15)
    optimizer.step([0.2])    # v = 0.9*0.5 + 0.2 = 0.65, p = 0.95 - 0.065
    assert p.value == pytest.approx(0.885, abs=1e-15)
    assert optimizer.velocities == pytest.approx([0.65], abs=1e-15)


def test_sgd_weight_decay_with_and_without_momentum():
    p = Scalar(2.0)
    SGD([p], lr=0.1, weight_decay=0.1).step([0.5])   # g = 0.5 + 0.1*2 = 0.7
    assert p.value == pytest.approx(1.93, abs=1e-15)
    q = Scalar(2.0)
    optimizer = SGD([q], lr=0.1, momentum=0.9, weight_decay=0.1)
    optimizer.step([0.5])    # g = 0.7, v = 0.7, q = 1.93
    optimizer.step([0.5])    # g = 0.5 + 0.193 = 0.693, v = 0.63 + 0.693 = 1.323
    assert q.value == pytest.approx(1.93 - 0.1323, abs=1e-14)


def test_adam_three_steps_by_hand():
    p = Scalar(1.0)
    optimizer = Adam([p], lr=0.1)
    eps = 1e-8
    # step 1, g = 0.5: m = 0.05, v = 0.00025; corrected 0.5 and 0.25
    optimizer.step([0.5])
    expected = 1.0 - 0.1 * 0.5 / (math.sqrt(0.25) + eps)
    assert p.value == pytest.approx(expected, abs=1e-15)
    # step 2, g = -0.3: m = 0.045 - 0.03 = 0.015, v = 0.00024975 + 0.00009 = 0.00033975
    optimizer.step([-0.3])
    expected -= 0.1 * (0.015 / (1 - 0.9 ** 2)) / (math.sqrt(0.00033975 / (1 - 0.999 ** 2)) + eps)
    assert p.value == pytest.approx(expected, abs=1e-15)
    # step 3, g = 0.2: m = 0.0135 + 0.02 = 0.0335, v = 0.00033941025 + 0.00004
    optimizer.step([0.2])
    expected -= (0.1 * (0.0335 / (1 - 0.9 ** 3))
                 / (math.sqrt(0.00037941025 / (1 - 0.999 ** 3)) + eps))
    assert p.value == pytest.approx(expected, abs=1e-15)
    assert optimizer.first_moments == pytest.approx([0.0335], abs=1e-15)
    assert optimizer.second_moments == pytest.approx([0.00037941025], abs=1e-15)
    assert optimizer.steps == 3


def test_step_checks_the_number_of_gradients():
    optimizer = SGD([Scalar(1.0), Scalar(2.0)], lr=0.1)
    with pytest.raises(ValueError, match="1 gradients for 2 parameters"):
        optimizer.step([0.1])
    assert optimizer.steps == 0


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.0),
    lambda p: SGD(p, lr=-1.0),
    lambda p: SGD(p, lr=0.1, momentum=1.0),
    lambda p: SGD(p, lr=0.1, weight_decay=-0.1),
    lambda p: Adam(p, lr=0.1, betas=(0.9, 1.0)),
    lambda p: Adam(p, lr=0.1, betas=(0.9,)),
    lambda p: Adam(p, lr=0.1, eps=0.0),
])
def test_bad_hyperparameters_are_rejected(make):
    with pytest.raises(ValueError):
        make([Scalar(1.0)])


def test_parameters_must_be_scalars():
    with pytest.raises(TypeError, match="Scalars"):
        SGD([1.0], lr=0.1)


GRADIENTS = [[0.5, -1.0], [0.2, 0.3], [-0.4, 0.1], [0.05, -0.2], [0.3, 0.3]]


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda p: Adam(p, lr=0.05, betas=(0.8, 0.99)),
])
def test_saved_state_continues_identically(make):
    straight = [Scalar(1.0), Scalar(-1.0)]
    optimizer = make(straight)
    for grads in GRADIENTS:
        optimizer.step(grads)

    first = [Scalar(1.0), Scalar(-1.0)]
    interrupted = make(first)
    for grads in GRADIENTS[:2]:
        interrupted.step(grads)
    saved = json.loads(json.dumps(interrupted.state_dict()))

    resumed_parameters = [Scalar(p.value) for p in first]
    resumed = make(resumed_parameters)
    resumed.load_state_dict(saved)
    for grads in GRADIENTS[2:]:
        resumed.step(grads)
    assert values(resumed_parameters) == values(straight)
    assert resumed.state_dict() == optimizer.state_dict()


def test_state_dict_contents():
    sgd = SGD([Scalar(1.0)], lr=0.1, momentum=0.5)
    sgd.step([1.0])
    assert sgd.state_dict() == {"type": "SGD", "steps": 1, "lr": 0.1, "momentum": 0.5,
                                "weight_decay": 0.0, "velocities": [1.0]}
    adam = Adam([Scalar(1.0)], lr=0.1)
    state = adam.state_dict()
    assert state["type"] == "Adam" and state["steps"] == 0 and state["betas"] == [0.9, 0.999]
    assert state["first_moments"] == [0.0] and state["second_moments"] == [0.0]


def test_load_state_dict_restores_hyperparameters():
    source = Adam([Scalar(1.0)], lr=0.01, betas=(0.5, 0.6), eps=1e-6)
    target = Adam([Scalar(1.0)], lr=0.1)
    target.load_state_dict(source.state_dict())
    assert (target.lr, target.betas, target.eps) == (0.01, (0.5, 0.6), 1e-6)


def test_load_state_dict_rejects_mismatches():
    sgd = SGD([Scalar(1.0), Scalar(2.0)], lr=0.1)
    with pytest.raises(ValueError, match="for 'Adam'"):
        sgd.load_state_dict(Adam([Scalar(1.0), Scalar(2.0)]).state_dict())
    with pytest.raises(ValueError, match="velocities has 1 entries for 2 parameters"):
        sgd.load_state_dict(SGD([Scalar(1.0)], lr=0.1).state_dict())
    incomplete = sgd.state_dict()
    del incomplete["velocities"]
    with pytest.raises(ValueError, match="lacks velocities"):
        sgd.load_state_dict(incomplete)


def adam_state(**changes):
    optimizer = Adam([Scalar(1.0), Scalar(2.0)], lr=0.1)
    optimizer.step([0.5, -0.5])
    state = optimizer.state_dict()
    state.update(changes)
    return state


@pytest.mark.parametrize("state, problem", [
    (None, "must be a dict"),
    ([], "must be a dict"),
    (adam_state(steps=-1), "steps"),
    (adam_state(steps=1.5), "steps"),
    (adam_state(steps=True), "steps"),
    (adam_state(lr=math.nan), "lr"),
    (adam_state(lr=math.inf), "lr"),
    (adam_state(lr="0.1"), "lr"),
    (adam_state(betas=[0.9]), "betas"),
    (adam_state(betas=5), "betas"),
    (adam_state(betas=["0.9", 0.99]), "betas"),
    (adam_state(eps=None), "eps"),
    (adam_state(first_moments=[0.1, math.nan]), "first_moments"),
    (adam_state(first_moments=[0.1, "x"]), "first_moments"),
    (adam_state(first_moments={"a": 1}), "first_moments"),
    (adam_state(second_moments=[0.1, -0.2]), "second_moments"),
])
def test_load_state_dict_rejects_malformed_values_and_changes_nothing(state, problem):
    optimizer = Adam([Scalar(1.0), Scalar(2.0)], lr=0.01)
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=problem):
        optimizer.load_state_dict(state)
    with pytest.raises(ValueError, match=problem):
        Adam.check_state(state, 2)
    assert optimizer.state_dict() == before


@pytest.mark.parametrize("change, problem", [
    ({"momentum": 1.5}, "momentum"), ({"momentum": math.nan}, "momentum"),
    ({"weight_decay": math.inf}, "weight_decay"), ({"velocities": [1.0, None]}, "velocities"),
])
def test_sgd_state_values_are_checked_too(change, problem):
    state = SGD([Scalar(1.0), Scalar(2.0)], lr=0.1, momentum=0.9).state_dict()
    state.update(change)
    with pytest.raises(ValueError, match=problem):
        SGD.check_state(state, 2)


def test_check_state_accepts_a_real_state_for_as_many_parameters():
    Adam.check_state(json.loads(json.dumps(adam_state())), 2)
    with pytest.raises(ValueError, match="2 entries for 3 parameters"):
        Adam.check_state(adam_state(), 3)


@pytest.mark.parametrize("lr", [math.inf, math.nan, "0.1", None])
def test_the_learning_rate_must_be_a_positive_finite_number(lr):
    with pytest.raises(ValueError, match="lr"):
        SGD([Scalar(1.0)], lr=lr)


def reference_steps(kind, values, gradients, lr, **hyper):
    """The formulas of the module docstring, one parameter at a time (plain loops over
    floats): what both step and step_values must give, bit for bit."""
    values, m, v = list(values), [0.0] * len(values), [0.0] * len(values)
    for t, grads in enumerate(gradients, 1):
        for i, g in enumerate(grads):
            if kind is SGD:
                g = g + hyper.get("weight_decay", 0.0) * values[i]
                if hyper.get("momentum", 0.0):
                    g = m[i] = hyper["momentum"] * m[i] + g
                values[i] = values[i] - lr * g
            else:
                b1, b2 = 0.9, 0.999
                m[i] = b1 * m[i] + (1.0 - b1) * g
                v[i] = b2 * v[i] + (1.0 - b2) * g * g
                values[i] -= lr * (m[i] / (1.0 - b1 ** t)) / (math.sqrt(v[i] / (1.0 - b2 ** t)) + 1e-8)
    return values


@pytest.mark.parametrize("kind, hyper", [(SGD, {}), (SGD, {"momentum": 0.9}),
                                         (SGD, {"momentum": 0.5, "weight_decay": 0.01}),
                                         (Adam, {})])
def test_steps_on_scalars_and_on_floats_follow_the_formulas_bit_for_bit(kind, hyper):
    import random
    rng = random.Random(7)
    start = [rng.uniform(-2, 2) for _ in range(50)]
    gradients = [[rng.gauss(0, 1) for _ in range(50)] for _ in range(6)]
    truth = reference_steps(kind, start, gradients, 0.05, **hyper)
    parameters = [Scalar(x) for x in start]
    on_scalars = kind(parameters, lr=0.05, **hyper)
    on_floats = kind(50, lr=0.05, **hyper)
    floats = start
    for grads in gradients:
        on_scalars.step(grads)
        floats = on_floats.step_values(floats, grads)
    assert values(parameters) == floats == truth
    assert on_scalars.state_dict() == on_floats.state_dict()


def test_an_optimizer_over_floats_holds_no_scalars_and_checks_its_inputs():
    optimizer = Adam(3, lr=0.1)
    assert optimizer.parameters == [] and optimizer.size == 3
    with pytest.raises(TypeError, match="made over 3 values\\): use step_values"):
        optimizer.step([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="2 values for 3 parameters"):
        optimizer.step_values([1.0, 2.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="4 gradients for 3 parameters"):
        optimizer.step_values([1.0, 2.0, 3.0], [0.0] * 4)
    with pytest.raises(ValueError, match="must be a whole number >= 0, got -1"):
        SGD(-1, lr=0.1)
    assert optimizer.steps == 0  # nothing was taken
    assert optimizer.step_values([1.0, 2.0, 3.0], [0.0, 1.0, -1.0], lr=0.0) == [1.0, 2.0, 3.0]
