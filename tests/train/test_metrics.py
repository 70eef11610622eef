"""scalargrad.train.metrics: JSON lines of a training run, and read back."""
import io
import json
import math
import random

import pytest

from scalargrad.errors import DataError
from scalargrad.train.metrics import Broadcast, MetricsRecorder, check_continues, read_metrics
from scalargrad.train.loop import Callbacks, Dataset, Settings, TrainingRun


def data(train=50, test=20):
    rng = random.Random(0)

    def rows(n):
        return [[rng.random() for _ in range(49)] for _ in range(n)], [i % 10 for i in range(n)]
    return Dataset(*rows(train), *rows(test))


SETTINGS = Settings(batch_size=8, seed=1, lr=0.02)  # 50 examples: 7 batches an epoch


def train(epochs, every=2, out=None, run=None, stop_after=None):
    run = run or TrainingRun(SETTINGS, data())
    recorder = MetricsRecorder(8, 0.02, every, out)
    batches = []
    listener = Callbacks()
    listener.batch_done = lambda report: batches.append(report)
    should_stop = (lambda: len(batches) >= stop_after) if stop_after else (lambda: False)
    summary = run.train(epochs, Broadcast(listener, recorder), should_stop)
    return run, recorder, summary


def lines(out):
    """The JSON lines written to out, parsed back."""
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_every_few_steps_and_at_each_epoch_end():
    out = io.StringIO()
    _, recorder, summary = train(2, every=3, out=out)
    records = lines(out)
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["step"] for r in steps] == [3, 6, 9, 12]  # 7 steps an epoch, 14 in all
    assert [r["epoch"] for r in steps] == [1, 1, 2, 2]
    assert [r["examples"] for r in steps] == [24, 48, 50 + 16, 50 + 40]
    assert [(r["step"], r["epoch"], r["examples"]) for r in epochs] == [(7, 1, 50), (14, 2, 100)]
    for record, history in zip(epochs, summary.history):
        assert record["loss"] == history.loss and record["accuracy"] == history.train_accuracy
        assert record["test_accuracy"] == history.test_accuracy and record["complete"]
        assert record["examples_per_second"] == pytest.approx(50 / history.seconds)
    assert all(r["lr"] == 0.02 and r["examples_per_second"] > 0 for r in records)
    assert set(steps[0]) == {"kind", "run", "step", "epoch", "examples", "loss", "accuracy",
                             "examples_per_second", "lr"}
    assert recorder.records == epochs


def test_step_lines_carry_the_running_loss_and_accuracy_of_the_epoch():
    out = io.StringIO()
    reports = []
    run = TrainingRun(SETTINGS, data())
    recorder = MetricsRecorder(8, 0.02, 1, out)
    listener = Callbacks()
    listener.batch_done = reports.append
    run.train(1, Broadcast(listener, recorder))
    steps = [r for r in lines(out) if r["kind"] == "step"]
    assert [(r["loss"], r["accuracy"]) for r in steps] == [(b.loss, b.accuracy) for b in reports]


def test_a_resumed_run_goes_on_counting_where_it_stopped():
    whole = io.StringIO()
    train(2, every=1, out=whole)
    first, second = io.StringIO(), io.StringIO()
    run, _, _ = train(2, every=1, out=first, stop_after=10)  # stops 3 batches into epoch 2
    checkpoint = run.checkpoint()
    resumed = TrainingRun.resume(checkpoint, data())
    train(1, every=1, out=second, run=resumed)
    joined = lines(first) + lines(second)
    keys = ("kind", "step", "epoch", "examples")
    # the interrupted epoch's line says so; otherwise the same lines as one run
    assert [r for r in joined if r["kind"] == "epoch"][1]["complete"] is False
    without = [r for r in joined if r.get("complete") is not False]
    assert [tuple(r[k] for k in keys) for r in without] == \
        [tuple(r[k] for k in keys) for r in lines(whole)]


def test_the_recorder_keeps_each_steps_own_values_continuous_across_epochs():
    _, recorder, summary = train(2, every=100)
    points = recorder.steps.items()
    assert len(points) == 14 and all(map(math.isfinite, (v for p in points for v in p)))
    xs = [x for x, _, _ in points]
    assert xs == sorted(xs) and points[6][0] == 1.0 and points[-1][0] == 2.0
    # each step is its batch alone: weighted by the batch sizes (8, ..., 8, 2), the steps
    # of an epoch make its mean loss and its accuracy
    sizes = [8] * 6 + [2]
    for epoch, record in enumerate(summary.history):
        steps = points[7 * epoch:7 * (epoch + 1)]
        assert sum(n * loss for n, (_, loss, _) in zip(sizes, steps)) / 50 == \
            pytest.approx(record.loss, rel=1e-12)
        right = [n * accuracy for n, (_, _, accuracy) in zip(sizes, steps)]
        assert all(r == round(r) for r in right)
        assert sum(right) == round(record.train_accuracy * 50)


def test_a_run_resumed_within_an_epoch_leaves_out_its_first_batch():
    run, _, _ = train(1, stop_after=3)
    resumed = TrainingRun.resume(run.checkpoint(), run.data)
    _, recorder, summary = train(1, run=resumed)
    points = recorder.steps.items()
    assert [round(x * 50) for x, _, _ in points] == [40, 48, 50]  # not 32, its first
    assert all(math.isfinite(loss) for _, loss, _ in points)


def test_read_metrics(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"kind": "step", "step": 1}\n\n{"kind": "epoch"}\n')
    assert read_metrics(str(path)) == [{"kind": "step", "step": 1}, {"kind": "epoch"}]
    path.write_text('{"kind": "step"}\n[1, 2]\n')
    with pytest.raises(DataError, match="line 2: not a JSON object"):
        read_metrics(str(path))
    with pytest.raises(DataError, match="cannot read"):
        read_metrics(str(tmp_path / "missing.jsonl"))


def test_every_must_be_positive():
    with pytest.raises(ValueError):
        MetricsRecorder(8, 0.1, 0)


# Appending only to the resumed run's own log (issue 17, item 9) --------------------------
def log_of(tmp_path, run_id="r1", stop_after=None):
    """A metrics log of a run (stopped after stop_after batches) and the run."""
    path = tmp_path / "m.jsonl"
    run = TrainingRun(SETTINGS, data())
    run.run_id = run_id
    with open(path, "w") as out:
        recorder = MetricsRecorder(8, 0.02, 3, out, run.run_id)
        batches = []
        listener = Callbacks()
        listener.batch_done = batches.append
        run.train(2, Broadcast(listener, recorder),
                  (lambda: len(batches) >= stop_after) if stop_after else (lambda: False))
    return path, run.checkpoint()


def continues(path, checkpoint):
    check_continues(str(path), checkpoint.run_id, checkpoint.optimizer["steps"],
                    checkpoint.examples)


@pytest.mark.parametrize("stop_after", [None, 10])
def test_a_run_s_own_log_is_continued(tmp_path, stop_after):
    path, checkpoint = log_of(tmp_path, stop_after=stop_after)
    last = read_metrics(str(path))[-1]
    assert last["run"] == checkpoint.run_id and last["kind"] == "epoch"
    assert last["step"] == checkpoint.optimizer["steps"] == (14 if stop_after is None else 10)
    continues(path, checkpoint)
    continues(tmp_path / "missing.jsonl", checkpoint)  # a new log
    (tmp_path / "empty.jsonl").write_text("\n")
    continues(tmp_path / "empty.jsonl", checkpoint)


def test_another_run_s_log_is_refused(tmp_path):
    path, checkpoint = log_of(tmp_path, run_id="theirs")
    checkpoint.run_id = "mine"
    with pytest.raises(DataError, match="last record is of another run \\(run theirs, step 14\\)"
                                        ", not the run being resumed \\(run mine, step 14\\)"):
        continues(path, checkpoint)


def test_a_log_that_went_on_after_the_save_is_refused(tmp_path):
    path, checkpoint = log_of(tmp_path, stop_after=10)
    with open(path, "a") as out:
        out.write(json.dumps({**read_metrics(str(path))[-1], "kind": "step", "step": 12,
                              "examples": 96}) + "\n")
    with pytest.raises(DataError, match="at step 12 .* of this run, which was saved at step 10"):
        continues(path, checkpoint)


@pytest.mark.parametrize("content, problem", [
    (bytes(range(255, 0, -1)) * 4, "line 1: not UTF-8 text"),
    (b'{"format": "scalargrad-mnist-model", "version": 2}', "line 1: not a record of kind step"),
    (b'{"kind": "step", "step": 3, "examples": 24}\nnot json\n', "line 2: not a JSON object"),
    (b"x" * 100_000, "line 1: longer than 65,536 bytes"),
    (b"[1, 2]\n", "line 1: not a JSON object"),
])
def test_what_is_not_a_metrics_log_is_never_appended_to(tmp_path, content, problem):
    path = tmp_path / "m.jsonl"
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        check_continues(str(path), "r1", 3, 24)
    assert problem in str(error.value) and "not a metrics log" in str(error.value)
    assert "\n" not in str(error.value)


def test_a_log_written_before_runs_had_ids_continues_a_checkpoint_without_one(tmp_path):
    path, checkpoint = log_of(tmp_path)
    records = read_metrics(str(path))
    path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "run"}) + "\n"
                            for r in records))
    checkpoint.run_id = None
    continues(path, checkpoint)
    checkpoint.run_id = "r1"
    with pytest.raises(DataError, match="another run"):
        continues(path, checkpoint)


class FullDisk(io.StringIO):
    """A file that takes two lines, then is full."""

    def write(self, text):
        if self.getvalue().count("\n") >= 2:
            raise OSError(28, "No space left on device")
        return super().write(text)


def test_a_metrics_file_that_fills_up_stops_the_lines_not_the_run():
    out = FullDisk()
    run, recorder, summary = train(2, every=1, out=out)
    assert len(lines(out)) == 2 and recorder.failed.strerror == "No space left on device"
    assert summary.epochs == 2 and not summary.interrupted
