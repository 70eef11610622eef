"""TrainingRun: the epoch loop, stopping after a batch, and resuming exactly."""
import dataclasses
import math
import random

import pytest

from scalargrad.train import mnist
from scalargrad.errors import InputError
from scalargrad.train.loop import IMAGE_SIZES, Callbacks, Checkpoint, Dataset, Settings, TrainingRun
from scalargrad.train.model import Classifier


def digits(n, seed=0):
    """Ten noisy prototypes in 49 dimensions: a small stand-in for 7x7 MNIST."""
    rng = random.Random(seed)
    prototypes = [[rng.random() for _ in range(49)] for _ in range(10)]
    rows, labels = [], []
    for i in range(n):
        label = i % 10
        rows.append([min(1.0, max(0.0, v + rng.gauss(0, 0.2))) for v in prototypes[label]])
        labels.append(label)
    return rows, labels


def dataset(train=60, test=30):
    train_rows, train_labels = digits(train, seed=1)
    test_rows, test_labels = digits(test, seed=2)
    return Dataset(train_rows, train_labels, test_rows, test_labels)


SETTINGS = Settings(hidden=3, batch_size=8, seed=4, lr=0.01)
DATA = dataset()


def values(run):
    return [p.value for p in run.model.parameters()]


def without_seconds(history):
    return [dataclasses.replace(record, seconds=0.0) for record in history]


class StopAfter(Callbacks):
    """Callbacks and a should_stop that asks to stop once so many batches were trained."""

    def __init__(self, batches):
        self.batches, self.seen = batches, 0

    def batch_done(self, report):
        self.seen += 1

    def __call__(self):
        return self.seen >= self.batches


class Recorder(Callbacks):
    def __init__(self):
        self.events = []

    def epoch_started(self, epoch, examples, total):
        self.events.append(("start", epoch, examples, total))

    def batch_done(self, report):
        self.events.append(("batch", report.examples))

    def epoch_ended(self, record):
        self.events.append(("end", record.epoch, record.examples, record.complete))


def recipe_of(settings):
    return settings.schedule, settings.lr, settings.warmup, settings.batch_size


def test_settings_resolve_the_defaults_measured_in_benchmarks_results():
    """benchmarks/results/schedule_search.txt's recommended recipes; SGD, momentum and an
    explicit constant schedule keep the constant rates used before schedules."""
    assert recipe_of(Settings()) == ("cosine", 0.2, 0.0, 32)
    assert recipe_of(Settings(hidden=32)) == ("onecycle", 0.032, 0.05, 32)
    assert recipe_of(Settings(size=28, hidden=128)) == ("onecycle", 0.012, 0.05, 128)
    assert recipe_of(Settings(schedule="constant")) == ("constant", 0.05, 0.0, 32)
    assert recipe_of(Settings(hidden=32, schedule="constant")) == ("constant", 0.003, 0.0, 32)
    assert recipe_of(Settings(optimizer="sgd")) == ("constant", 0.5, 0.0, 32)
    assert recipe_of(Settings(hidden=3, schedule="cosine")) == ("cosine", 0.032, 0.05, 32)
    assert recipe_of(Settings(optimizer="momentum", schedule="onecycle", warmup=0.1)) == (
        "onecycle", 0.1, 0.1, 32)
    assert Settings(lr=1).lr == 1.0 and isinstance(Settings(lr=1).lr, float)
    assert Settings.from_dict(Settings(hidden=5).to_dict()) == Settings(hidden=5)


def test_the_image_sizes_are_the_ones_mnist_makes():
    assert sorted(IMAGE_SIZES) == sorted(mnist.SIZES)


@pytest.mark.parametrize("changes, problem", [
    ({"lr": math.nan}, "lr must be a positive finite number, not nan"),
    ({"lr": math.inf}, "lr"), ({"lr": 0.0}, "lr"), ({"lr": -0.1}, "lr"), ({"lr": "0.1"}, "lr"),
    ({"lr": True}, "lr"),
    ({"size": 9}, "size must be one of 7, 14, 28, not 9"), ({"size": 7.0}, "size"),
    ({"hidden": -1}, "hidden"), ({"hidden": 4097}, "hidden"), ({"hidden": 10**8}, "hidden"),
    ({"batch_size": 0}, "batch_size"), ({"limit": 0}, "limit"), ({"limit": 2.5}, "limit"),
    ({"mode": "sideways"}, "mode"), ({"activation": "sigmoidish"}, "activation"),
    ({"optimizer": "rmsprop"}, "optimizer"), ({"seed": 1.5}, "seed"), ({"seed": None}, "seed"),
    ({"batch_size": 33, "limit": 32}, "batch_size 33 is larger than limit 32"),
    ({"schedule": "linear"}, "schedule must be one of constant, cosine, onecycle, not 'linear'"),
    ({"warmup": 1.5}, "warmup must be a fraction from 0 to 1, not 1.5"), ({"warmup": -0.1}, "warmup"),
    ({"warmup": math.nan}, "warmup"), ({"warmup": True}, "warmup"), ({"warmup": "0.1"}, "warmup"),
])
def test_unusable_settings_are_input_errors(changes, problem):
    with pytest.raises(InputError, match=problem):
        Settings(**changes)
    with pytest.raises(InputError, match=problem):
        Settings.from_dict({**Settings().to_dict(), **changes})


@pytest.mark.parametrize("data, problem", [([], "must be an object"), (None, "must be an object"),
                                           ("7", "must be an object"), ({"size": 7}, "lack hidden")])
def test_settings_from_something_else_are_input_errors(data, problem):
    with pytest.raises(InputError, match=problem):
        Settings.from_dict(data)


def test_a_run_trains_reports_progress_and_summarises():
    recorder = Recorder()
    run = TrainingRun(SETTINGS, DATA)
    summary = run.train(2, recorder)
    assert recorder.events[0] == ("start", 1, 0, 60)
    assert [e for e in recorder.events if e[0] == "batch"][:2] == [("batch", 8), ("batch", 16)]
    assert ("end", 1, 60, True) in recorder.events and recorder.events[-1] == ("end", 2, 60, True)
    assert (summary.epochs, summary.examples, summary.total_examples) == (2, 120, 120)
    assert not summary.interrupted and [r.epoch for r in summary.history] == [1, 2]
    assert summary.test_accuracy == summary.history[-1].test_accuracy
    predictions = run.model.predict(DATA.test_rows)
    assert summary.predictions == predictions
    assert summary.test_accuracy == sum(p == t for p, t in zip(predictions, DATA.test_labels)) / 30
    report = summary.to_dict()
    assert report["examples"] == 120 and report["hidden"] == 3 and report["lr"] == 0.01
    assert report["history"][0]["complete"] is True


def test_zero_epochs_only_evaluates():
    run = TrainingRun(SETTINGS, DATA)
    before = values(run)
    summary = run.train(0)
    assert values(run) == before and summary.examples == 0 and summary.train_accuracy is None
    assert summary.examples_per_second is None and summary.history == []


def test_one_epoch_then_a_resumed_one_equals_two_straight():
    straight = TrainingRun(SETTINGS, DATA)
    straight_summary = straight.train(2)

    first = TrainingRun(SETTINGS, DATA)
    first.plan(2)  # SETTINGS' onecycle schedule over the two epochs, as the straight run's
    first.train(1)
    resumed = TrainingRun.resume(first.checkpoint(), DATA)
    summary = resumed.train(1)
    assert resumed.schedule.state_dict() == straight.schedule.state_dict()
    assert values(resumed) == values(straight)
    assert resumed.optimizer.state_dict() == straight.optimizer.state_dict()
    assert resumed.rng.getstate() == straight.rng.getstate()
    assert without_seconds(summary.history) == without_seconds(straight_summary.history)
    assert (summary.epochs, summary.examples, summary.total_epochs, summary.total_examples) == \
        (1, 60, 2, 120)


def test_a_decaying_schedule_is_planned_by_the_first_call_and_never_trained_past():
    run = TrainingRun(SETTINGS, DATA)  # onecycle, warm-up 5%: 8 steps an epoch
    run.train(2)
    assert run.schedule.state_dict() == {"kind": "onecycle", "lr": 0.01, "steps": 16,
                                         "warmup": 1}  # round(0.05 * 16)
    with pytest.raises(InputError, match="onecycle schedule was planned over 2 epochs and its "
                                         "rate is 0 after them: the run has trained them all"):
        run.train(1)
    constant = TrainingRun(dataclasses.replace(SETTINGS, schedule="constant", warmup=0.0), DATA)
    constant.train(1)
    constant.train(1)  # a constant rate has no end
    assert constant.optimizer.steps == 16


def test_every_step_is_taken_at_the_schedule_s_rate():
    """Adam's rate is a factor of its update: a run of constant lr 0.01 whose optimizer is
    given onecycle's rates must equal the scheduled run, rate by rate (optim.Schedule)."""
    from scalargrad.optim import Schedule
    scheduled = TrainingRun(SETTINGS, DATA)
    scheduled.train(2)
    rates = Schedule("onecycle", 0.01, 16, 1)
    by_hand = TrainingRun(dataclasses.replace(SETTINGS, schedule="constant", warmup=0.0), DATA)
    real_step = by_hand.optimizer.step
    by_hand.optimizer.step = lambda grads, lr=None: real_step(grads, rates.rate(by_hand.optimizer.steps))
    by_hand.train(2)
    assert values(by_hand) == values(scheduled)


def test_a_run_stopped_mid_epoch_records_what_it_trained_and_resumes_exactly():
    straight = TrainingRun(SETTINGS, DATA)
    straight.train(2)

    stopped = TrainingRun(SETTINGS, DATA)
    stop = StopAfter(10)  # 8 batches an epoch (the last of 4): stops 2 batches into epoch 2
    summary = stopped.train(2, stop, stop)
    assert summary.interrupted and summary.epochs == 1 and summary.examples == 60 + 16
    last = summary.history[-1]
    assert (last.epoch, last.examples, last.complete) == (2, 16, False)
    checkpoint = stopped.checkpoint()
    assert checkpoint.epochs == 1 and checkpoint.examples == 76 and checkpoint.unfinished.examples == 16

    recorder = Recorder()
    resumed = TrainingRun.resume(checkpoint, DATA)
    finished = resumed.train(1, recorder)
    assert recorder.events[0] == ("start", 2, 16, 60)
    assert values(resumed) == values(straight)
    assert without_seconds(finished.history) == without_seconds(straight.history)
    assert (finished.epochs, finished.examples, finished.total_examples) == (1, 44, 120)


def test_stopping_at_the_end_of_an_epoch_starts_no_other():
    run = TrainingRun(SETTINGS, DATA)
    stop = StopAfter(8)  # epoch 1 is 8 batches
    summary = run.train(3, stop, stop)
    assert summary.interrupted and summary.epochs == 1 and summary.examples == 60
    assert run.unfinished is None and [r.complete for r in summary.history] == [True]


def test_a_model_or_data_that_does_not_fit_the_settings_is_refused():
    with pytest.raises(InputError, match="hidden"):
        TrainingRun(SETTINGS, DATA, Classifier(49, hidden=4))
    with pytest.raises(InputError, match="batch size 100 is larger than the 60 training"):
        TrainingRun(Settings(batch_size=100), DATA)


def test_a_checkpoint_without_training_state_or_past_the_data_is_not_resumed():
    run = TrainingRun(SETTINGS, DATA)
    with pytest.raises(InputError, match="cannot be resumed"):
        TrainingRun.resume(Checkpoint(SETTINGS, run.model), DATA)
    stop = StopAfter(5)
    run.train(1, stop, stop)
    with pytest.raises(InputError, match="only 30 training examples"):
        TrainingRun.resume(run.checkpoint(), dataset(train=30))


def test_the_run_and_its_files_need_no_numpy_click_or_rich():
    import subprocess
    import sys
    code = ("import sys, scalargrad.train.loop, scalargrad.train.checkpoint, scalargrad.output_file;"
            "print(sorted(m for m in ('numpy', 'click', 'rich') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stdout.strip() == "[]", completed.stderr
