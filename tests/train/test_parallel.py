"""Shared-memory workers: the same trajectory as one process, and failures that end the run."""
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from scalargrad.train import parallel
from scalargrad.errors import Diverged, InputError, WorkerFailed
from scalargrad.optim import SGD
from scalargrad.train.parallel import SharedMemoryTraining
from scalargrad.train.loop import Callbacks, Settings, TrainingRun
from scalargrad.train.gradient import CompiledGradient, RecordedGradient
from scalargrad.train.model import accuracy
from scalargrad.train.step import local_step
from tests.train.test_loop import StopAfter, dataset, values

DATA = dataset(train=400, test=40)  # 50 batches of 8
SETTINGS = Settings(hidden=8, batch_size=8, seed=3, lr=0.01)


@pytest.fixture(autouse=True)
def no_hang():
    """A test that waits for a worker forever fails after 60 s instead of hanging the suite."""
    def too_long(signum, frame):
        raise TimeoutError("the test waited more than 60 s")
    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


class Losses(Callbacks):
    """The running loss after every batch."""

    def __init__(self):
        self.losses = []

    def batch_done(self, report):
        self.losses.append(report.loss)


def trained(settings, workers, epochs=1, should_stop=lambda: False, data=DATA, run=None,
            make_gradient=RecordedGradient):
    """(run, per-batch running losses) after training with this many workers (1: the plain loop)."""
    run = run or TrainingRun(settings, data)
    losses = Losses()
    if workers == 1:
        run.train(epochs, losses, should_stop)
    else:
        with SharedMemoryTraining.for_run(run, workers, make_gradient) as training:
            run.train(epochs, losses, should_stop, step=training.step, sync=training,
                      predict=training.predict)
    return run, losses.losses


def assert_same_run(parallel, single):
    assert values(parallel) == pytest.approx(values(single), rel=1e-9, abs=1e-12)
    state, expected = parallel.optimizer.state_dict(), single.optimizer.state_dict()
    assert state["steps"] == expected["steps"]
    for key in type(single.optimizer).BUFFERS:
        assert state[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12)
    assert parallel.rng.getstate() == single.rng.getstate()


def test_two_workers_follow_the_single_process_trajectory():
    single, single_losses = trained(SETTINGS, 1)
    parallel, parallel_losses = trained(SETTINGS, 2)
    assert len(parallel_losses) == len(single_losses) == 50
    assert parallel_losses == pytest.approx(single_losses, rel=1e-9)
    assert_same_run(parallel, single)
    assert parallel.history[0].test_accuracy == single.history[0].test_accuracy


def test_workers_running_compiled_code_follow_the_single_process_trajectory():
    single, single_losses = trained(SETTINGS, 1)
    compiled, compiled_losses = trained(SETTINGS, 2, make_gradient=CompiledGradient)
    assert compiled_losses == pytest.approx(single_losses, rel=1e-9)
    assert_same_run(compiled, single)


def test_uneven_shards_momentum_and_more_workers_than_examples_in_the_last_batch():
    settings = Settings(hidden=5, batch_size=8, seed=1, lr=0.05, optimizer="momentum")
    data = dataset(train=68, test=20)  # batches of 8, then one of 4: shards of 3, 3, 2 and 2, 1, 1
    single, single_losses = trained(settings, 1, epochs=2, data=data)
    parallel, parallel_losses = trained(settings, 3, epochs=2, data=data)
    assert parallel_losses == pytest.approx(single_losses, rel=1e-9)
    assert isinstance(parallel.optimizer, SGD)
    assert_same_run(parallel, single)
    five, _ = trained(settings, 5, epochs=1, data=dataset(train=12, test=4))
    one, _ = trained(settings, 1, epochs=1, data=dataset(train=12, test=4))
    assert_same_run(five, one)


def test_a_run_stopped_under_workers_resumes_in_one_process_as_if_never_split():
    straight, _ = trained(SETTINGS, 1, epochs=2)
    first = TrainingRun(SETTINGS, DATA)
    stop = StopAfter(20)
    with SharedMemoryTraining.for_run(first, 2) as training:
        summary = first.train(2, stop, stop, step=training.step, sync=training)
    assert summary.interrupted and first.unfinished.examples == 160
    resumed = TrainingRun.resume(first.checkpoint(), DATA)
    trained(SETTINGS, 1, epochs=2, run=resumed)
    assert_same_run(resumed, straight)


def test_workers_predict_their_part_of_the_rows_with_the_latest_parameters():
    run = TrainingRun(SETTINGS, DATA)
    with SharedMemoryTraining.for_run(run, 3) as training:
        for first in range(0, 80, 8):
            training.step(list(range(first, first + 8)))
        shared = training.predict(DATA.test_rows)
        alone = run.model.predict(DATA.test_rows)
        assert shared == alone and len(shared) == 40
        assert training.predict(DATA.test_rows[:2]) == alone[:2]  # some workers get none
        too_many = DATA.train_rows[:41]  # more than there is room for: this process predicts
        assert training.predict(too_many) == run.model.predict(too_many)
        others = DATA.train_rows[40:80]  # other rows of the same length: copied in their turn
        assert training.predict(others) == run.model.predict(others) != shared
        training.step(list(range(80, 88)))  # the same rows again, at new parameter values
        assert training.predict(DATA.test_rows) == run.model.predict(DATA.test_rows)


def test_the_model_is_refreshed_before_it_is_read_and_any_error_leaves_the_last_step():
    """A step leaves the new values in shared memory alone: the model holds them once it is
    refreshed (as TrainingRun.train does before it reads it), and leaving the block on any
    error puts the model and the optimizer as one process would have them after the same
    steps."""
    batches = [list(range(first, first + 8)) for first in (0, 8, 16)]
    alone = TrainingRun(SETTINGS, DATA)
    step = local_step(alone.model, alone.optimizer, DATA.train_rows, DATA.train_labels)
    after_each = []
    for batch in batches:
        step(batch)
        after_each.append(alone.model.values())
    run = TrainingRun(SETTINGS, DATA)
    before = run.model.values()
    with pytest.raises(RuntimeError, match="the caller's own"):
        with SharedMemoryTraining.for_run(run, 2, CompiledGradient) as training:
            training.step(batches[0])
            assert run.model.values() == before
            training.refresh_model()
            assert run.model.values() == pytest.approx(after_each[0], rel=1e-9, abs=1e-12)
            for batch in batches[1:]:
                training.step(batch)
            raise RuntimeError("the caller's own error")
    assert values(run) == pytest.approx(after_each[-1], rel=1e-9, abs=1e-12)
    state, expected = run.optimizer.state_dict(), alone.optimizer.state_dict()
    assert state["steps"] == expected["steps"] == 3
    for key in type(alone.optimizer).BUFFERS:
        assert state[key] == pytest.approx(expected[key], rel=1e-9, abs=1e-12)


def test_a_killed_worker_stops_the_run_with_a_clear_error_and_leaves_nothing_behind():
    run = TrainingRun(SETTINGS, DATA)
    training = SharedMemoryTraining.for_run(run, 3)
    names = [shared.memory.name for shared in training._arrays]
    assert all(Path("/dev/shm", name).exists() for name in names)
    victim = training.processes[1]
    with pytest.raises(WorkerFailed, match=rf"worker 2 of 3 \(process {victim.pid}\) was killed "
                                           r"by SIGKILL"):
        with training:
            training.step(list(range(8)))
            os.kill(victim.pid, signal.SIGKILL)
            run.train(1, step=training.step, sync=training)
    assert not any(Path("/dev/shm", name).exists() for name in names)
    assert not victim.is_alive() and training.processes == []


class KillAfter(Callbacks):
    """Kills a worker process (and waits for it to be gone) after so many batches."""

    def __init__(self, batches, victim):
        self.batches, self.victim, self.done = batches, victim, 0

    def batch_done(self, report):
        self.done += 1
        if self.done == self.batches:
            os.kill(self.victim.pid, signal.SIGKILL)
            self.victim.join()


@pytest.mark.parametrize("make_gradient, batches", [
    (RecordedGradient, 20), (CompiledGradient, 20),
    (RecordedGradient, 50),  # the epoch's last: noticed by the evaluation, done here instead
])
def test_a_run_whose_worker_dies_is_left_as_after_its_last_step_and_resumes_exactly(
        make_gradient, batches):
    """The optimizer's state is kept in shared memory too: after a worker is killed, the
    run holds the model and optimizer of its last whole step, and the epoch's progress, so
    a checkpoint of it resumes (in one process) exactly as if nothing had happened."""
    straight, _ = trained(SETTINGS, 1, epochs=2)
    first = TrainingRun(SETTINGS, DATA)
    training = SharedMemoryTraining.for_run(first, 3, make_gradient)
    with pytest.raises(WorkerFailed, match="was killed by SIGKILL") as failed:
        with training:
            first.train(2, KillAfter(batches, training.processes[1]), step=training.step, sync=training,
                        predict=training.predict)
    assert failed.value.recovered and first.examples == batches * 8
    record = first.history[-1]
    assert record.examples == batches * 8 and record.complete == (batches == 50)
    assert record.test_accuracy == accuracy(first.model, DATA.test_rows, DATA.test_labels)[0]
    resumed = TrainingRun.resume(first.checkpoint(), DATA)
    trained(SETTINGS, 1, epochs=1 if record.complete else 2, run=resumed)  # what is left of 2
    assert_same_run(resumed, straight)


def dying_at_step(monkeypatch, steps, half_written):
    """Workers' OptimizerSlice.update exits (status 3) when its optimizer has taken so many
    steps: before sharing anything, or halfway through sharing (its mark set to -1)."""
    parent, update = os.getpid(), parallel.OptimizerSlice.update

    def dying(self, table, values, batch_size, buffers, marks, k, lr=None):
        if os.getpid() != parent and self.optimizer.steps == steps:
            if half_written:
                marks[k] = -1
            os._exit(3)
        update(self, table, values, batch_size, buffers, marks, k, lr)

    monkeypatch.setattr(parallel.OptimizerSlice, "update", dying)


def test_a_worker_that_dies_before_sharing_its_update_has_it_done_for_it(monkeypatch):
    """Its slice's shared state is still the last step's: this process steps it, the step
    is whole, and the failure ends the run at the next step, recovered and resumable."""
    straight, _ = trained(SETTINGS, 1, epochs=1)
    dying_at_step(monkeypatch, 4, half_written=False)
    run = TrainingRun(SETTINGS, DATA)
    with pytest.raises(WorkerFailed, match="exited with status 3") as failed:
        with SharedMemoryTraining.for_run(run, 3) as training:
            run.train(1, step=training.step, sync=training)
    assert failed.value.recovered and run.unfinished.examples == 5 * 8  # the 5th step is whole
    resumed = TrainingRun.resume(run.checkpoint(), DATA)
    trained(SETTINGS, 1, epochs=1, run=resumed)
    assert_same_run(resumed, straight)


def test_a_worker_that_dies_while_sharing_its_update_leaves_nothing_to_recover(monkeypatch):
    """Its slice is half written: the run cannot be put back together."""
    dying_at_step(monkeypatch, 4, half_written=True)
    run = TrainingRun(SETTINGS, DATA)
    with pytest.raises(WorkerFailed, match="exited with status 3") as failed:
        with SharedMemoryTraining.for_run(run, 2) as training:
            run.train(1, step=training.step, sync=training)
    assert not failed.value.recovered


def test_a_worker_killed_in_the_middle_of_a_batch_is_noticed_too():
    run = TrainingRun(Settings(hidden=64, batch_size=200, seed=0), dataset(train=400, test=4))
    training = SharedMemoryTraining.for_run(run, 2)
    victim = training.processes[0]
    threading.Timer(0.05, os.kill, (victim.pid, signal.SIGKILL)).start()  # while both compute
    started = time.perf_counter()
    with pytest.raises(WorkerFailed, match="was killed by SIGKILL"):
        with training:
            for _ in range(100):
                training.step(list(range(200)))
    assert time.perf_counter() - started < 30


class FailingInWorkers(RecordedGradient):
    """A gradient that fails in every process but the one that made it."""

    parent = os.getpid()

    def __call__(self, rows, labels):
        if os.getpid() != self.parent:
            raise MemoryError("no room for the graph")
        return super().__call__(rows, labels)


def test_a_worker_that_fails_reports_why():
    run = TrainingRun(SETTINGS, DATA)
    with pytest.raises(WorkerFailed, match="worker 1 of 2 failed: MemoryError: no room"):
        with SharedMemoryTraining.for_run(run, 2, make_gradient=FailingInWorkers) as training:
            run.train(1, step=training.step, sync=training)


def test_divergence_is_reported_as_in_one_process():
    settings = Settings(hidden=4, batch_size=8, seed=0, lr=1e308, optimizer="sgd")
    messages = []
    for workers in (1, 2):
        with pytest.raises(Diverged, match=r"the loss became (nan|inf) after \d+ examples") as caught:
            trained(settings, workers, epochs=3)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_without_fork_workers_are_refused_in_a_sentence(monkeypatch):
    monkeypatch.setattr(parallel.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    with pytest.raises(InputError, match="forked, which this system cannot do"):
        SharedMemoryTraining.for_run(TrainingRun(SETTINGS, DATA), 2)


def test_workers_must_be_a_whole_number():
    run = TrainingRun(SETTINGS, DATA)
    for workers in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="workers"):
            SharedMemoryTraining.for_run(run, workers)


class SlowInWorkers:
    """A ShardGradient that takes 2 ms more per example in every process but this one (a
    worker sharing its core with another program), and notes the shard sizes it computes."""

    def __init__(self, model, mode):
        self.gradient, self.parent, self.sizes = RecordedGradient(model, mode), os.getpid(), []

    def load(self, values):
        self.gradient.load(values)

    def __call__(self, rows, labels):
        if os.getpid() != self.parent:
            time.sleep(0.002 * len(rows))
        self.sizes.append(len(rows))
        return self.gradient(rows, labels)

    def at(self, values, rows, labels):
        self.load(values)
        return self(rows, labels)


def test_a_slow_worker_is_given_less_of_each_batch_and_the_trajectory_stays_the_same():
    settings = Settings(hidden=8, batch_size=16, seed=3, lr=0.01)
    single, single_losses = trained(settings, 1)
    run = TrainingRun(settings, DATA)
    losses = Losses()
    with SharedMemoryTraining.for_run(run, 2, SlowInWorkers) as training:
        run.train(1, losses, lambda: False, step=training.step, sync=training, predict=training.predict)
        own = training.gradient.sizes[2:]  # this process's shards, after the warm-up's two
    assert own[0] == 8  # the first batch is cut evenly: nothing is measured yet
    assert min(own[-10:]) >= 12  # then the slow worker gets at most a quarter of it
    assert losses.losses == pytest.approx(single_losses, rel=1e-9)
    assert_same_run(run, single)
