"""A run that diverges (issue 17, item 11): a loss that is not finite, or grows more than a
millionfold, or a weight that is not finite, ends it with Diverged, and leaves the run as
it stood after its last good step: the same state as a run of the same settings stopped
right there (the independent truth), in one process or with workers."""
import dataclasses
import math

import pytest

from scalargrad.errors import Diverged
from scalargrad.train.parallel import SharedMemoryTraining
from scalargrad.train.loop import Callbacks, Settings, TrainingRun
from scalargrad.optim import DIVERGENCE_FACTOR
from scalargrad.train.step import LossGuard, local_step
from tests.train.test_loop import DATA, StopAfter, values, without_seconds

SETTINGS = Settings(hidden=3, batch_size=8, seed=4, lr=0.01)  # 60 examples: 8 batches an epoch
EPOCH = 8


def the_batches(epochs=3):
    """The batches a run of SETTINGS trains, in order."""
    run = TrainingRun(SETTINGS, DATA)
    seen = []
    step = local_step(run.model, run.optimizer, DATA.train_rows, DATA.train_labels,
                      rate=run.rate)

    def recording(batch):
        seen.append(list(batch))
        return step(batch)
    run.train(epochs, step=recording)
    return seen


BATCHES = the_batches()


def state(run):
    """What must be the same: weights, optimizer, RNG, progress and history."""
    checkpoint = run.checkpoint()
    unfinished = checkpoint.unfinished and dataclasses.replace(checkpoint.unfinished, seconds=0.0)
    return (values(run), checkpoint.optimizer, checkpoint.random_state, checkpoint.epochs,
            checkpoint.examples, unfinished, without_seconds(checkpoint.history))


def stopped_after(batches, workers=1):
    """The truth: a run of SETTINGS stopped after this many batches."""
    run = TrainingRun(SETTINGS, DATA)
    stop = StopAfter(batches)
    if workers == 1:
        run.train(3, stop, stop)
    else:
        with SharedMemoryTraining.for_run(run, workers) as training:
            run.train(3, stop, stop, training.step, training.predict, training)
    return run


class DivergingAt:
    """A batch step that trains as usual, but whose k-th batch (1-based, in the run's
    order) shows a diverging loss, once: how a too large step shows at the next batch."""

    def __init__(self, step, k, how="grows"):
        self.step, self.target, self.how, self.fired = step, BATCHES[k - 1], how, False

    def __call__(self, batch):
        loss, correct = self.step(batch)
        if list(batch) == self.target and not self.fired:
            self.fired = True
            if self.how == "nan":
                raise Diverged("the loss became nan")
            return loss * 2 * DIVERGENCE_FACTOR * 10, correct
        return loss, correct


def diverged_at(k, workers=1, how="grows"):
    run = TrainingRun(SETTINGS, DATA)
    events = []
    listener = Callbacks()
    listener.epoch_ended = events.append
    with pytest.raises(Diverged) as raised:
        if workers == 1:
            step = local_step(run.model, run.optimizer, DATA.train_rows,
                              DATA.train_labels, rate=run.rate)
            run.train(3, listener, step=DivergingAt(step, k, how))
        else:
            with SharedMemoryTraining.for_run(run, workers) as training:
                run.train(3, listener, step=DivergingAt(training.step, k, how),
                          predict=training.predict, sync=training)
    return run, raised.value, events


# k: the batch that shows the divergence; the last good step is k - 2 batches in (the
# update before batch k made the weights that diverged): mid-epoch, the start of the run,
# across the end of an epoch, the end of an epoch itself, deep in the third epoch.
@pytest.mark.parametrize("k", [3, 2, 5, EPOCH + 1, EPOCH + 2, EPOCH + 3, 2 * EPOCH + 6])
@pytest.mark.parametrize("how", ["grows", "nan"])
def test_a_diverged_run_is_left_as_a_run_stopped_at_its_last_good_step(k, how):
    run, error, events = diverged_at(k, how=how)
    assert error.rolled_back and f"of epoch {(k - 1) // EPOCH + 1}" in str(error)
    assert state(run) == state(stopped_after(k - 2))
    assert run.test_accuracy == run.history[-1].test_accuracy if run.history else True


def test_the_first_batch_diverging_leaves_nothing_good():
    _, error, _ = diverged_at(1, how="nan")
    assert not error.rolled_back


@pytest.mark.slow  # worker processes
@pytest.mark.parametrize("k", [4, EPOCH + 1])
def test_with_workers_the_run_is_rolled_back_the_same_way(k):
    run, error, _ = diverged_at(k, workers=2)
    assert error.rolled_back
    truth = state(stopped_after(k - 2, workers=2))
    ours = state(run)
    # the workers' shards are sized by their measured speeds (train/balance.py), so two runs
    # add the same gradients in different groupings: equal to rounding, not bit for bit
    assert ours[0] == pytest.approx(truth[0], rel=1e-9, abs=1e-12)
    optimizer, expected = ours[1], truth[1]
    assert optimizer["steps"] == expected["steps"]
    for key in ("first_moments", "second_moments"):
        assert optimizer[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12)
    assert ours[2:5] == truth[2:5]
    assert (ours[5] is None) == (truth[5] is None)
    if ours[5] is not None:
        assert ours[5].examples == truth[5].examples
        assert ours[5].loss_sum == pytest.approx(truth[5].loss_sum, rel=1e-9)
    assert len(ours[6]) == len(truth[6])


def test_a_weight_that_is_not_finite_at_an_epoch_s_end_is_divergence():
    """The last update of the epoch made a weight nan (the loss never saw it): the run goes
    back to before that update."""
    run = TrainingRun(SETTINGS, DATA)
    step = local_step(run.model, run.optimizer, DATA.train_rows, DATA.train_labels,
                      rate=run.rate)

    def poisoning(batch):
        result = step(batch)
        if list(batch) == BATCHES[EPOCH - 1]:
            run.model.parameters()[5].value = math.nan
        return result
    with pytest.raises(Diverged, match="a weight became nan after 60 examples of epoch 1") as raised:
        run.train(3, step=poisoning)  # planned over 3 epochs, as stopped_after's runs
    assert raised.value.rolled_back
    assert state(run) == state(stopped_after(EPOCH - 1))


def test_the_loss_guard_measures_growth_from_the_first_loss_or_the_floor():
    losses = iter([0.5, 4e5, 5e5 + 1, 7.0])
    guard = LossGuard(lambda batch: (next(losses), 0), floor=0.5)
    assert guard([0]) == (0.5, 0) and guard([0]) == (4e5, 0)
    with pytest.raises(Diverged, match="grew to 5e\\+05, more than 1e\\+06 times its first"):
        guard([0])
    tiny = LossGuard(lambda batch: (1e-9 if tiny.first is None else 2.0, 0), floor=2.3)
    tiny([0])
    assert tiny([0]) == (2.0, 0)  # 2e9 times the first loss, but under 1e6 times the floor
    with pytest.raises(Diverged, match="the loss became inf"):
        LossGuard(lambda batch: (math.inf, 0), floor=1.0)([0])


# A stop while a batch's gradient is computed (issue 17, item 12) --------------------------
def test_a_batch_abandoned_while_its_gradient_is_computed_is_as_if_never_begun():
    """A Ctrl-C during the k-th batch's gradient drops that batch: the run is the one a
    stop after k - 1 batches leaves (the update is never abandoned: see GradientPhase)."""
    from scalargrad.train.step import GRADIENT_PHASE
    for k in (1, 3, EPOCH + 2):
        run = TrainingRun(SETTINGS, DATA)
        step = local_step(run.model, run.optimizer, DATA.train_rows,
                          DATA.train_labels, rate=run.rate)
        calls = []

        def interrupted(batch):
            calls.append(batch)
            if len(calls) == k:
                with GRADIENT_PHASE:
                    GRADIENT_PHASE.interrupt()  # as the Ctrl-C handler does
            return step(batch)
        summary = run.train(3, step=interrupted)
        assert summary.interrupted and run.examples == (k - 1) * 8 - (k > EPOCH) * 4
        assert state(run) == state(stopped_after(k - 1))
        assert not GRADIENT_PHASE.active


def test_a_worker_failing_before_the_first_batch_records_no_empty_epoch(tmp_path):
    """Nothing was trained: the run stays as it came (a checkpoint with an epoch of 0
    examples could not be loaded), and the failure is raised after it was evaluated."""
    from scalargrad.errors import WorkerFailed
    from scalargrad.train import checkpoint as model_file
    from scalargrad.train.model import EpochProgress

    def failing(batch):
        error = WorkerFailed("worker 1 of 2 was killed by SIGKILL")
        error.progress = EpochProgress()
        raise error
    run = TrainingRun(SETTINGS, DATA)
    with pytest.raises(WorkerFailed):
        run.train(2, step=failing)
    assert run.history == [] and run.unfinished is None and run.examples == 0
    path = tmp_path / "model.json"
    model_file.save(str(path), run.checkpoint())
    assert model_file.load(str(path)).examples == 0
