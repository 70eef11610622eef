"""Learning-rate schedules (optim.Schedule) and optimizer steps at a given rate: closed forms
at chosen steps, monotonicity, and runs that stop and resume bit for bit."""
import json
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalargrad import Scalar
from scalargrad.optim import SCHEDULES, SGD, Adam, Schedule


def values(parameters):
    return [p.value for p in parameters]


# Closed forms -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SCHEDULES)
def test_warm_up_rises_linearly_and_ends_at_the_peak(kind):
    schedule = Schedule(kind, lr=0.003, steps=1000, warmup=200)
    assert schedule.rate(0) == pytest.approx(0.003 / 200, rel=1e-15)
    assert schedule.rate(49) == pytest.approx(0.003 / 4, rel=1e-15)
    assert schedule.rate(99) == pytest.approx(0.003 / 2, rel=1e-15)
    assert schedule.rate(199) == pytest.approx(0.003, rel=1e-15)  # the last warm-up step
    assert schedule.rate(200) == 0.003  # the first step after it: the peak itself


def test_cosine_at_the_quarter_half_and_end_of_its_decay():
    lr, warmup, n = 0.01, 100, 400  # 400 steps after the warm-up
    schedule = Schedule("cosine", lr=lr, steps=warmup + n, warmup=warmup)
    assert schedule.rate(warmup + n // 4) == pytest.approx(lr * (2 + math.sqrt(2)) / 4, rel=1e-14)
    assert schedule.rate(warmup + n // 2) == pytest.approx(lr / 2, rel=1e-14)
    assert schedule.rate(warmup + 3 * n // 4) == pytest.approx(lr * (2 - math.sqrt(2)) / 4,
                                                                rel=1e-13)
    # the last step: lr (1 + cos(pi (n-1)/n)) / 2 = lr sin^2(pi / 2n), small but not zero
    assert schedule.rate(warmup + n - 1) == pytest.approx(lr * math.sin(math.pi / (2 * n)) ** 2,
                                                          rel=1e-9)
    assert schedule.rate(warmup + n - 1) > 0
    assert schedule.rate(warmup + n) == 0.0
    assert schedule.rate(10 * n) == 0.0


def test_onecycle_falls_in_a_straight_line_to_zero():
    lr, warmup, n = 0.02, 300, 700
    schedule = Schedule("onecycle", lr=lr, steps=warmup + n, warmup=warmup)
    assert schedule.rate(warmup + 350) == pytest.approx(lr / 2, rel=1e-15)
    assert schedule.rate(warmup + 70) == pytest.approx(lr * 0.9, rel=1e-14)
    assert schedule.rate(warmup + n - 1) == pytest.approx(lr / n, rel=1e-12)
    assert schedule.rate(warmup + n) == 0.0
    # both sides of the triangle are straight: equal differences between neighbours
    rising = [schedule.rate(k + 1) - schedule.rate(k) for k in range(warmup - 1)]
    falling = [schedule.rate(k) - schedule.rate(k + 1) for k in range(warmup, warmup + n - 1)]
    assert rising == pytest.approx([lr / warmup] * len(rising), rel=1e-9)
    assert falling == pytest.approx([lr / n] * len(falling), rel=1e-9)


def test_constant_keeps_the_peak_for_ever():
    schedule = Schedule("constant", lr=0.05, steps=10, warmup=4)
    assert [schedule.rate(k) for k in range(4, 40)] == [0.05] * 36


@pytest.mark.parametrize("kind", SCHEDULES)
def test_without_warm_up_the_first_step_has_the_peak(kind):
    assert Schedule(kind, lr=0.7, steps=50).rate(0) == 0.7


def test_a_schedule_that_is_all_warm_up():
    schedule = Schedule("cosine", lr=1.0, steps=4, warmup=4)
    assert [schedule.rate(k) for k in range(6)] == [0.25, 0.5, 0.75, 1.0, 0.0, 0.0]


def test_the_mean_rate_of_a_decay_is_half_the_peak():
    """The mean of lr (1 + cos(pi p))/2 and of lr (1 - p) over p in [0, 1) is lr/2 (the
    sums over n steps differ from the integrals by lr/2n: the first term is lr, the missing
    last one 0)."""
    n = 1000
    for kind in ("cosine", "onecycle"):
        schedule = Schedule(kind, lr=2.0, steps=n)
        assert sum(schedule.rate(k) for k in range(n)) / n == pytest.approx(1.0 + 1.0 / n,
                                                                              rel=1e-12)


# Monotonicity ---------------------------------------------------------------------------------
@given(st.sampled_from(SCHEDULES), st.integers(1, 300), st.integers(0, 300),
       st.floats(1e-6, 10.0))
def test_rates_rise_through_the_warm_up_and_never_rise_after_it(kind, steps, warmup, lr):
    warmup = min(warmup, steps)
    schedule = Schedule(kind, lr=lr, steps=steps, warmup=warmup)
    rates = [schedule.rate(k) for k in range(steps + 5)]
    assert all(a < b for a, b in zip(rates[:warmup], rates[1:warmup]))
    after = rates[warmup:]
    assert all(a >= b for a, b in zip(after, after[1:]))
    assert all(0.0 <= rate <= lr * (1 + 1e-15) for rate in rates)
    if kind == "constant":
        assert after == [lr] * len(after)


# Resuming exactly -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", SCHEDULES)
def test_a_schedule_restored_from_its_state_gives_the_same_rates_bit_for_bit(kind):
    original = Schedule(kind, lr=0.0031, steps=937, warmup=113)
    saved = json.loads(json.dumps(original.state_dict()))
    restored = Schedule("constant", lr=1.0, steps=1)
    restored.load_state_dict(saved)
    assert restored.state_dict() == original.state_dict()
    assert [restored.rate(k) for k in range(1000)] == [original.rate(k) for k in range(1000)]


def gradients(steps, count, seed=5):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(count)] for _ in range(steps)]


@pytest.mark.parametrize("make", [
    lambda p: Adam(p, lr=0.01),
    lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=0.001),
])
@pytest.mark.parametrize("kind", SCHEDULES)
def test_a_scheduled_run_stopped_and_resumed_from_json_ends_where_the_straight_one_does(
        make, kind):
    grads = gradients(40, 3)
    start = [0.5, -1.5, 2.0]

    def scheduled_steps(optimizer, schedule, some):
        for g in some:
            optimizer.step(g, lr=schedule.rate(optimizer.steps))

    straight = [Scalar(x) for x in start]
    optimizer, schedule = make(straight), Schedule(kind, lr=0.01, steps=40, warmup=7)
    scheduled_steps(optimizer, schedule, grads)

    first = [Scalar(x) for x in start]
    interrupted, its_schedule = make(first), Schedule(kind, lr=0.01, steps=40, warmup=7)
    scheduled_steps(interrupted, its_schedule, grads[:17])
    saved = json.loads(json.dumps({"optimizer": interrupted.state_dict(),
                                   "schedule": its_schedule.state_dict()}))
    resumed_parameters = [Scalar(p.value) for p in first]
    resumed, resumed_schedule = make(resumed_parameters), Schedule("constant", 1.0, 1)
    resumed.load_state_dict(saved["optimizer"])
    resumed_schedule.load_state_dict(saved["schedule"])
    scheduled_steps(resumed, resumed_schedule, grads[17:])
    assert values(resumed_parameters) == values(straight)
    assert resumed.state_dict() == optimizer.state_dict()


# Optimizer steps at a given rate -----------------------------------------------------------
@pytest.mark.parametrize("make", [lambda p: Adam(p, lr=0.02), lambda p: SGD(p, lr=0.3, momentum=0.5)])
def test_constant_without_warm_up_is_exactly_the_plain_optimizer(make):
    grads = gradients(25, 4)
    plain_parameters, scheduled_parameters = [Scalar(1.0) for _ in range(4)], [Scalar(1.0) for _ in range(4)]
    plain, scheduled = make(plain_parameters), make(scheduled_parameters)
    schedule = Schedule("constant", lr=plain.lr, steps=25)
    for g in grads:
        plain.step(g)
        scheduled.step(g, lr=schedule.rate(scheduled.steps))
    assert values(scheduled_parameters) == values(plain_parameters)


def test_sgd_steps_with_the_rate_given_and_keeps_its_own():
    p = Scalar(1.0)
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    optimizer.step([0.5], lr=0.2)    # v = 0.5, p = 1 - 0.1
    optimizer.step([0.2], lr=0.0)    # v = 0.65, p unchanged
    optimizer.step([0.0], lr=0.5)    # v = 0.585, p = 0.9 - 0.2925
    assert p.value == pytest.approx(0.6075, abs=1e-15)
    assert optimizer.velocities == pytest.approx([0.585], abs=1e-15)
    assert optimizer.lr == 0.1 and optimizer.steps == 3


def test_adam_steps_with_the_rate_given():
    p, q = Scalar(1.0), Scalar(1.0)
    at_rate, by_default = Adam([p], lr=0.1), Adam([q], lr=0.05)
    for g in (0.5, -0.3, 0.2):
        at_rate.step([g], lr=0.05)
        by_default.step([g])
    assert p.value == q.value
    # a first step of g = 0.5 moves by lr * m_hat / sqrt(v_hat) = lr * 0.5 / 0.5 (eps aside)
    r = Scalar(0.0)
    Adam([r], lr=0.1).step([0.5], lr=0.004)
    assert r.value == pytest.approx(-0.004, rel=1e-7)


@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf, True, "0.1"])
def test_a_bad_rate_for_a_step_is_rejected_before_anything_changes(lr):
    p = Scalar(1.0)
    optimizer = Adam([p], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        optimizer.step([0.5], lr=lr)
    assert optimizer.steps == 0 and p.value == 1.0 and optimizer.first_moments == [0.0]


# Checks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("state, problem", [
    (None, "must be a dict"),
    ({"kind": "cosine", "lr": 0.1, "steps": 10}, "lacks warmup"),
    ({"kind": "linear", "lr": 0.1, "steps": 10, "warmup": 0}, "kind"),
    ({"kind": "cosine", "lr": 0.0, "steps": 10, "warmup": 0}, "lr"),
    ({"kind": "cosine", "lr": math.inf, "steps": 10, "warmup": 0}, "lr"),
    ({"kind": "cosine", "lr": "0.1", "steps": 10, "warmup": 0}, "lr"),
    ({"kind": "cosine", "lr": 0.1, "steps": 0, "warmup": 0}, "steps"),
    ({"kind": "cosine", "lr": 0.1, "steps": 10.0, "warmup": 0}, "steps"),
    ({"kind": "cosine", "lr": 0.1, "steps": True, "warmup": 0}, "steps"),
    ({"kind": "cosine", "lr": 0.1, "steps": 10, "warmup": 11}, "warmup"),
    ({"kind": "cosine", "lr": 0.1, "steps": 10, "warmup": -1}, "warmup"),
])
def test_malformed_states_are_rejected_and_change_nothing(state, problem):
    schedule = Schedule("onecycle", lr=0.5, steps=20, warmup=3)
    before = schedule.state_dict()
    with pytest.raises(ValueError, match=problem):
        schedule.load_state_dict(state)
    assert schedule.state_dict() == before
    if isinstance(state, dict) and len(state) == 4:
        with pytest.raises(ValueError, match=problem):
            Schedule(**state)


@pytest.mark.parametrize("done", [-1, 1.0, None, True])
def test_rate_needs_a_whole_number_of_steps_done(done):
    with pytest.raises(ValueError, match="done"):
        Schedule("cosine", lr=0.1, steps=10).rate(done)
