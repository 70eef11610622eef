"""FasterStep: fake ways whose steps cost what a test says (on a fake clock)."""
import pytest

from scalargrad.train.choice import MARGIN, FasterStep, Way


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Ways:
    """Two fake ways: each step costs ``cost[k]`` seconds per example on the clock, and is
    logged as the number of processes that took it; each hand-over is logged too."""

    def __init__(self, one, two):
        self.clock, self.cost = Clock(), [one, two]
        self.log, self.handed = [], []

    def way(self, k, processes):
        def step(batch):
            self.clock.now += self.cost[k] * len(batch)
            self.log.append(processes)
            return 0.5, len(batch)
        return Way(processes, step, lambda: self.handed.append(processes))

    def chooser(self, **how):
        return FasterStep(self.way(0, 1), self.way(1, 2), clock=self.clock, **how)


def run(chooser, steps, batch=(0, 1, 2, 3)):
    for _ in range(steps):
        assert chooser(list(batch)) == (0.5, 4)


def test_faster_workers_are_chosen_after_one_trial_of_each():
    ways = Ways(one=2.0, two=1.0)
    chooser = ways.chooser(trial=3, least=50)
    run(chooser, 59)
    # one process: an untimed step and 3 timed; the workers the same; then the workers
    # for 50 steps, and the next trial
    assert ways.log == [1] * 4 + [2] * 54 + [1] and ways.handed == [2, 1]
    assert chooser.speedup == 2.0 and chooser.describe() == "2 processes: 2.00x 1 process"


def test_slower_workers_are_tried_and_left():
    ways = Ways(one=1.0, two=1 / 0.6)
    chooser = ways.chooser(trial=3, least=50)
    run(chooser, 30)
    assert ways.log == [1] * 4 + [2] * 4 + [1] * 22 and ways.handed == [2, 1]
    assert chooser.describe() == "1 process: 2 processes were 0.60x"


@pytest.mark.parametrize("speedup", [1.0, MARGIN * 0.99])
def test_a_tie_or_nearly_goes_to_one_process(speedup):
    ways = Ways(one=1.0, two=1.0 / speedup)
    chooser = ways.chooser(trial=2, least=50)
    run(chooser, 20)
    assert ways.log[6:] == [1] * 14 and chooser.active == 0


def test_the_next_trial_comes_when_the_last_one_cost_at_most_the_budget():
    """Workers 3x slower per example: a trial of 1 + 2 steps of 4 examples loses
    3 * 4 * (3 - 1) = 24 s; at 10% of 4 s a step, the next trial waits 24 / 0.4 = 60 steps."""
    ways = Ways(one=1.0, two=3.0)
    chooser = ways.chooser(trial=2, least=10, budget=0.1)
    run(chooser, 3 + 3 + 60 + 3 + 5)
    assert ways.log == [1] * 3 + [2] * 3 + [1] * 60 + [2] * 3 + [1] * 5
    assert chooser.trials == 2 and chooser.steps_by == [68, 6]


def test_a_change_of_costs_brings_a_trial_at_once_and_the_choice_changes():
    ways = Ways(one=2.0, two=1.0)
    chooser = ways.chooser(trial=2, least=10)
    run(chooser, 6 + 5)  # the workers are chosen, for at least 10 steps before a trial
    assert ways.log[6:] == [2] * 5 and chooser.active == 1
    ways.cost[1] = 4.0  # another program takes a core: the workers wait for it
    # their next step makes their median (1 and 4: 2.5) slower than one process's (2) by
    # more than MARGIN: a trial of one process at once, which keeps it
    run(chooser, 1 + 3 + 10)
    assert ways.log[11:] == [2] + [1] * 13 and chooser.active == 0
    assert chooser.describe() == "1 process: 2 processes were 0.80x"
    ways.cost[1] = 1.0  # the core is free again
    # a trial of the workers (one process has taken the 10 steps before it: the last trial
    # lost nothing), which keeps them; 10 steps, a trial of one process that loses
    # 3 * 4 * (2 - 1) = 12 s, so the next waits 12 / (2% of 4 s) = 150 steps
    run(chooser, 3 + 10 + 3 + 150)
    assert ways.log[25:] == [2] * 13 + [1] * 3 + [2] * 150
    assert chooser.active == 1 and chooser.describe() == "2 processes: 2.00x 1 process"
    run(chooser, 1)
    assert ways.log[-1] == 1 and ways.handed == [2, 1, 2, 1, 2, 1]
    assert chooser.trials == 5


def test_no_trial_comes_before_the_last_one_is_paid_for():
    """One process tried and left at 2 s an example beside the workers' 1 s: that trial
    lost 3 * 4 * (2 - 1) = 12 s, 2% of 150 of the workers' 4 s steps. The workers then
    slow to 3 s, slower than one process was: its trial comes after 150 timed steps of the
    workers (and their first, untimed), not at once (nor at the 1000 steps ``least``
    allows)."""
    ways = Ways(one=2.0, two=1.0)
    chooser = ways.chooser(trial=2, least=1000)
    run(chooser, 6 + 1000 + 3)  # the first trial lost nothing; the second, of one process, 12 s
    assert ways.log[1006:] == [1] * 3 and chooser.trials == 2 and chooser.active == 1
    run(chooser, 10)
    ways.cost[1] = 3.0
    run(chooser, 141 + 3)
    assert ways.log[1009:] == [2] * 151 + [1] * 3
    assert chooser.trials == 3 and chooser.active == 0


def test_a_step_or_a_hand_over_that_fails_leaves_the_way_in_use():
    ways = Ways(one=1.0, two=2.0)
    chooser = ways.chooser(trial=1, least=10)

    def failing():
        raise RuntimeError("gone")
    run(chooser, 2)
    chooser.ways[1].take_over = failing
    with pytest.raises(RuntimeError):
        chooser([0])
    assert chooser.active == 0 and chooser.way.label == "1 process"
    stopped = chooser.ways[0]

    def interrupted(batch):
        raise KeyboardInterrupt
    stopped.step = interrupted
    chooser.ways[1].take_over = lambda: None
    chooser.ways[0].take_over = lambda: None
    run(chooser, 1)  # the trial's first step, by the workers
    with pytest.raises(KeyboardInterrupt):
        run(chooser, 2)  # the workers' timed step, then one process fails
    assert chooser.active == 0 and chooser.steps_by == [2, 2]
