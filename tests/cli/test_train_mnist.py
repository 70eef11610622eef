"""train-mnist through click's CliRunner, on the real MNIST files in ../shared/mnist."""
import json
import os
import signal
import stat
import struct

import pytest
from click.testing import CliRunner

import scalargrad_cli.train_mnist as command
from scalargrad.optim import SGD, Adam
from scalargrad_cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, ["train-mnist", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_error_line(result):
    """The error is a single line, and nothing else is printed (bad options too)."""
    lines = result.output.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("Error:")


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if the command touches the MNIST files."""
    def touched(*args, **kwargs):
        raise AssertionError("the data were loaded")
    for name in ("ensure_files", "load_mnist", "locate_files"):
        monkeypatch.setattr(command.mnist, name, touched)


def run_json(shared_mnist, *args):
    result = run("--data-dir", str(shared_mnist), "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_end_to_end_on_real_data(shared_mnist):
    summary = run_json(shared_mnist, "--limit", "3000", "--epochs", "1")
    assert summary["test_accuracy"] >= 0.80
    assert summary["examples"] == 3000 and summary["epochs"] == 1 and summary["size"] == 7
    for key in ("train_accuracy", "hidden", "seconds", "examples_per_second"):
        assert key in summary
    assert 0 < summary["train_accuracy"] <= 1 and summary["examples_per_second"] > 0


@pytest.mark.parametrize("model", [[], ["--hidden", "8"]])
def test_compiled_and_recording_engines_follow_the_same_trajectory(shared_mnist, model):
    common = ["--limit", "640", "--epochs", "2", "--batch-size", "16", *model]
    compiled = run_json(shared_mnist, *common)
    recording = run_json(shared_mnist, *common, "--no-compile")
    assert (compiled["engine"], recording["engine"]) == ("compiled", "recording")
    for ours, theirs in zip(compiled["history"], recording["history"]):
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
        assert ours["train_accuracy"] == theirs["train_accuracy"]
        assert ours["test_accuracy"] == theirs["test_accuracy"]
    forward = run_json(shared_mnist, "--limit", "20", "--batch-size", "10", "--mode", "forward")
    assert forward["engine"] == "recording"  # one sweep per parameter: never compiled


def test_the_human_display(shared_mnist):
    result = run("--data-dir", str(shared_mnist), "--limit", "500")
    assert result.exit_code == 0, result.output
    for text in ("Training", "Confusion matrix", "misclassified", "true ", "test accuracy"):
        assert text in result.output


def test_same_seed_same_result(shared_mnist):
    args = ("--limit", "600", "--hidden", "8", "--seed", "3", "--batch-size", "20")
    first, second = run_json(shared_mnist, *args), run_json(shared_mnist, *args)
    assert first["history"][0]["loss"] == second["history"][0]["loss"]
    assert first["test_accuracy"] == second["test_accuracy"]


def test_save_then_load_predicts_identically(shared_mnist, tmp_path):
    model = tmp_path / "model.json"
    trained = run_json(shared_mnist, "--limit", "1000", "--hidden", "6", "--activation", "tanh",
                       "--save", str(model))
    evaluated = run_json(shared_mnist, "--load", str(model), "--epochs", "0")
    assert evaluated["test_accuracy"] == trained["test_accuracy"]
    assert evaluated["hidden"] == 6 and evaluated["activation"] == "tanh" and evaluated["epochs"] == 0
    saved = json.loads(model.read_text())
    assert saved["options"]["hidden"] == 6 and saved["progress"]["epochs"] == 1


def test_forward_mode_runs_on_a_tiny_batch(shared_mnist):
    forward = run_json(shared_mnist, "--limit", "40", "--batch-size", "20", "--mode", "forward")
    reverse = run_json(shared_mnist, "--limit", "40", "--batch-size", "20")
    assert forward["history"][0]["loss"] == pytest.approx(reverse["history"][0]["loss"], rel=1e-9)
    assert forward["test_accuracy"] == pytest.approx(reverse["test_accuracy"], abs=1e-3)


def press_ctrl_c(monkeypatch, at_step, times=1):
    """Send SIGINT to this process (times times) during the optimizer's step number at_step."""
    real_step = Adam.step_values  # what every step comes to, in workers' slices too
    steps = []

    def step_values(self, values, grads, lr=None):
        steps.append(1)
        if len(steps) == at_step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, values, grads, lr)
    monkeypatch.setattr(Adam, "step_values", step_values)


def test_ctrl_c_stops_after_the_batch_and_still_saves(shared_mnist, tmp_path, monkeypatch):
    press_ctrl_c(monkeypatch, at_step=1)
    model = tmp_path / "model.json"
    result = run("--data-dir", str(shared_mnist), "--json", "--limit", "1000",
                 "--batch-size", "25", "--epochs", "3", "--save", str(model))
    assert result.exit_code == 130
    summary = json.loads(result.stdout)
    assert summary["interrupted"] is True and summary["examples"] == 25 and summary["epochs"] == 0
    assert summary["history"] == [dict(summary["history"][0], epoch=1, examples=25, complete=False)]
    saved = json.loads(model.read_text())
    assert saved["progress"]["examples"] == 25 and saved["progress"]["epochs"] == 0
    assert saved["history"] == summary["history"]


def test_a_diverging_run_stops_with_a_hint(shared_mnist):
    result = run("--data-dir", str(shared_mnist), "--limit", "300", "--optimizer", "sgd",
                 "--lr", "1e308")
    assert result.exit_code == 1
    assert "diverged" in result.output and "smaller --lr" in result.output


@pytest.mark.parametrize("args, words", [
    (["--size", "9"], "'9' is not one of"),
    (["--lr", "0"], "--lr"),
    (["--optimizer", "rmsprop"], "rmsprop"),
    (["--load", "/nonexistent/model.json"], "cannot read model"),
])
def test_bad_options_exit_2_with_one_line(args, words):
    result = run(*args)
    assert result.exit_code == 2 and words in result.output


def test_a_corrupt_model_file_is_refused(tmp_path):
    broken = tmp_path / "model.json"
    broken.write_text("{not json")
    result = run("--load", str(broken))
    assert result.exit_code == 2 and "not a JSON model file" in result.output


def test_conflicting_options_with_a_loaded_model(shared_mnist, tmp_path):
    model = tmp_path / "model.json"
    run_json(shared_mnist, "--limit", "100", "--save", str(model))
    result = run("--data-dir", str(shared_mnist), "--load", str(model), "--hidden", "5")
    assert result.exit_code == 2 and "conflicts with the loaded model" in result.output


def test_a_truncated_data_file_is_named_without_a_traceback(tmp_path):
    # raw (uncompressed) files are accepted as present, so nothing is downloaded here
    header = struct.pack(">IIII", 2051, 10000, 28, 28)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(header + b"\0" * 100)
    for name, count in (("train-labels-idx1-ubyte", 60000), ("t10k-labels-idx1-ubyte", 10000)):
        (tmp_path / name).write_bytes(struct.pack(">II", 2049, count) + b"\0" * count)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 2051, 60000, 28, 28) + b"\0" * (60000 * 784))
    result = run("--data-dir", str(tmp_path))
    assert result.exit_code != 0
    assert "t10k-images-idx3-ubyte" in result.output and "truncated" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_saving_never_leaves_a_half_written_file(shared_mnist, tmp_path, monkeypatch):
    model = tmp_path / "model.json"
    model.write_text("precious")

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    result = run("--data-dir", str(shared_mnist), "--limit", "50", "--save", str(model))
    assert result.exit_code == 1 and "cannot save" in result.output
    assert model.read_text() == "precious" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def write_idx(folder, name, magic, array):
    """A raw (uncompressed) IDX file, which mnist accepts without a checksum."""
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    (folder / name).write_bytes(header + array.astype("uint8").tobytes())


def tiny_mnist(folder, train=40, test=20):
    import numpy as np

    rng = np.random.default_rng(0)
    for prefix, count in (("train", train), ("t10k", test)):
        write_idx(folder, f"{prefix}-images-idx3-ubyte", 2051, rng.integers(0, 256, (count, 28, 28)))
        write_idx(folder, f"{prefix}-labels-idx1-ubyte", 2049, np.arange(count) % 10)
    return folder


def test_download_progress_is_shown_while_files_arrive(tmp_path, monkeypatch):
    tiny_mnist(tmp_path)
    calls = []
    real_ensure_files = command.mnist.ensure_files

    def downloading_ensure_files(data_dir, progress):
        for done in (0, 50, 100):
            progress("t10k-labels-idx1-ubyte.gz", done, 100)
            calls.append(done)
        return real_ensure_files(data_dir, progress=progress)

    monkeypatch.setattr(command.mnist, "ensure_files", downloading_ensure_files)
    result = run("--json", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert calls == [0, 50, 100] and json.loads(result.stdout)["examples"] == 40


def test_the_command_uses_the_library_default_activation():
    from scalargrad.train.model import DEFAULT_ACTIVATION
    option = next(p for p in command.train_mnist.params if p.name == "activation")
    assert option.default == DEFAULT_ACTIVATION


# ---------------------------------------------------------------- B: no lost work

@pytest.mark.parametrize("where, problem", [
    ("missing/model.json", "does not exist"),
    ("", "empty"),
    (".", "is a folder"),
    ("a-file/model.json", "is not a folder"),
])
def test_an_unusable_save_path_fails_before_any_data_are_loaded(tmp_path, monkeypatch, no_data,
                                                                where, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("keep")
    result = run("--save", where)
    assert result.exit_code == 2 and problem in result.output and one_error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs a folder root cannot write")
def test_a_save_path_in_an_unwritable_folder_fails_before_any_data_are_loaded(no_data):
    result = run("--save", "/sys/kernel/model.json")
    assert result.exit_code == 2 and "cannot write" in result.output and one_error_line(result)


def test_when_saving_fails_at_the_end_the_summary_is_still_printed(shared_mnist, tmp_path,
                                                                   monkeypatch):
    def failing_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", failing_fsync)
    result = run("--data-dir", str(shared_mnist), "--json", "--limit", "100",
                 "--save", str(tmp_path / "model.json"))
    assert result.exit_code == 1
    assert json.loads(result.stdout)["examples"] == 100
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot save the model to {tmp_path / 'model.json'}: No space left on device")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_a_saved_model_respects_the_umask(shared_mnist, tmp_path, umask_027):
    model = tmp_path / "model.json"
    run_json(shared_mnist, "--limit", "50", "--save", str(model))
    assert stat.S_IMODE(model.stat().st_mode) == 0o640


def test_saving_through_a_symlink_writes_its_target(shared_mnist, tmp_path):
    target = tmp_path / "models" / "model.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    run_json(shared_mnist, "--limit", "50", "--save", str(link))
    assert link.is_symlink() and json.loads(target.read_text())["format"] == "scalargrad-mnist-model"


# ---------------------------------------------------------------- C: the data are read once

def test_renaming_a_data_file_during_training_changes_nothing(shared_mnist, tmp_path, monkeypatch):
    for source in shared_mnist.glob("*.gz"):
        (tmp_path / source.name).symlink_to(source)
    real_step = Adam.step

    def step(self, grads, lr=None):
        images = tmp_path / "t10k-images-idx3-ubyte.gz"
        if images.exists():
            images.rename(tmp_path / "renamed.gz")
        return real_step(self, grads, lr)
    monkeypatch.setattr(Adam, "step", step)
    result = run("--data-dir", str(tmp_path), "--limit", "100")
    assert result.exit_code == 0, result.output
    assert "misclassified" in result.output and not (tmp_path / "t10k-images-idx3-ubyte.gz").exists()


# ---------------------------------------------------------------- D: Ctrl-C

def test_a_second_ctrl_c_stops_at_once_and_saves_nothing(shared_mnist, tmp_path, monkeypatch):
    press_ctrl_c(monkeypatch, at_step=2, times=2)
    model = tmp_path / "model.json"
    model.write_text("precious")
    result = run("--data-dir", str(shared_mnist), "--json", "--limit", "1000", "--save", str(model))
    assert result.exit_code == 130 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == "Error: interrupted"
    assert model.read_text() == "precious" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_a_second_ctrl_c_while_saving_leaves_the_old_file_whole(shared_mnist, tmp_path, monkeypatch):
    press_ctrl_c(monkeypatch, at_step=1)
    real_fsync = os.fsync

    def fsync_interrupted(fd):
        os.kill(os.getpid(), signal.SIGINT)
        real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync_interrupted)
    model = tmp_path / "model.json"
    model.write_text("precious")
    result = run("--data-dir", str(shared_mnist), "--json", "--limit", "1000", "--save", str(model))
    assert result.exit_code == 130 and "Error: interrupted" in result.stderr
    assert model.read_text() == "precious" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


# ---------------------------------------------------------------- E: numeric options

@pytest.mark.parametrize("args", [
    ["--lr", "nan"], ["--lr", "inf"], ["--lr", "-inf"], ["--lr", "0"], ["--lr", "-0.1"],
    ["--lr", "1e400"], ["--hidden", "-1"], ["--hidden", "nan"], ["--hidden", "100000000"],
    ["--epochs", "-1"], ["--epochs", "inf"], ["--batch-size", "0"], ["--batch-size", "-5"],
    ["--limit", "0"], ["--limit", "nan"], ["--limit", "-3"], ["--seed", "nan"], ["--seed", "1.5"],
    ["--size", "0"], ["--epochs", "0"], ["--batch-size", "500", "--limit", "100"],
])
def test_bad_numbers_are_usage_errors_before_any_data_are_loaded(no_data, args):
    result = run(*args)
    assert result.exit_code == 2 and one_error_line(result), result.output


# ---------------------------------------------------------------- F: malformed model files

def a_saved_document(tmp_path):
    """A real version 2 model file's document, made on tiny data."""
    model = tmp_path / "valid.json"
    result = run("--data-dir", str(tiny_mnist(tmp_path)), "--json", "--batch-size", "8",
                 "--hidden", "3", "--save", str(model))
    assert result.exit_code == 0, result.output
    return json.loads(model.read_text())


def ragged(document):
    weights = document["model"]["layers"][0]["weights"]
    weights[0].append(weights[1].pop())


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.update(options=[]), "options must be an object"),
    (lambda d: d.update(options=None), "options must be an object"),
    (lambda d: d.update(options="7"), "options must be an object"),
    (lambda d: d["options"].update(hidden=100_000_000), "hidden must be a whole number from 0"),
    (lambda d: d["model"].update(hidden=100_000_000), "expected 100000000"),
    (lambda d: d["model"].update(classes=10**12), "expected 1000000000000"),
    (lambda d: d["model"]["layers"][1]["weights"][2].__setitem__(1, float("nan")), "holds nan"),
    (ragged, "row 1 of layer 1's weights has 4 entries, expected 3"),
    (lambda d: d.update(version=99), "format version 99 is not one this scalargrad reads"),
    (lambda d: d["optimizer"].update(first_moments=None), "first_moments must be a list"),
])
def test_a_malformed_model_file_is_one_line_naming_it_and_the_problem(tmp_path, monkeypatch,
                                                                     change, problem):
    document = a_saved_document(tmp_path)
    change(document)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    for option in ("--load", "--resume"):
        result = run(option, str(broken), "--data-dir", str(tmp_path))
        assert result.exit_code == 2 and one_error_line(result), result.output
        assert result.output.startswith(f"Error: {broken}: ") and problem in result.output


def test_a_version_1_model_file_can_be_loaded_but_not_resumed(tmp_path):
    document = a_saved_document(tmp_path)
    old = {"format": "scalargrad-mnist-model", "version": 1,
           "options": {"size": 7, "hidden": 3, "activation": "relu", "optimizer": "adam",
                       "lr": 0.003, "batch_size": 8, "seed": 0, "limit": None, "epochs": 1},
           "model": document["model"], "test_accuracy": document["test_accuracy"]}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    evaluated = run_json(tmp_path, "--load", str(path), "--epochs", "0")
    assert evaluated["test_accuracy"] == document["test_accuracy"] and evaluated["hidden"] == 3
    result = run("--data-dir", str(tmp_path), "--resume", str(path))
    assert result.exit_code == 2 and "without its training state" in result.output
    assert one_error_line(result)


# ---------------------------------------------------------------- G: resuming

RESUMABLE = ("--limit", "300", "--hidden", "4", "--batch-size", "32", "--seed", "2")


def training_state(path):
    """What must match bit for bit: weights, optimizer state, RNG, progress, history losses."""
    saved = json.loads(path.read_text())
    history = [{k: v for k, v in record.items() if k != "seconds"} for record in saved["history"]]
    progress = dict(saved["progress"])
    unfinished = progress.pop("unfinished")
    return saved["model"], saved["optimizer"], progress, unfinished, history, saved["schedule"]


def test_one_epoch_then_one_resumed_equals_two_straight(shared_mnist, tmp_path):
    straight, first, resumed = (tmp_path / name for name in ("straight", "first", "resumed"))
    constant = ("--schedule", "constant")  # a decaying schedule is planned over --epochs
    run_json(shared_mnist, *RESUMABLE, *constant, "--epochs", "2", "--save", str(straight))
    run_json(shared_mnist, *RESUMABLE, *constant, "--epochs", "1", "--save", str(first))
    summary = run_json(shared_mnist, "--resume", str(first), "--epochs", "1", "--save", str(resumed))
    # all but the plan (10 steps or 20), which a constant rate without warm-up never reads
    assert training_state(resumed)[:5] == training_state(straight)[:5]
    assert summary["epochs"] == 1 and summary["total_epochs"] == 2 and summary["examples"] == 300
    assert summary["hidden"] == 4 and summary["total_examples"] == 600


@pytest.mark.parametrize("schedule", [(), ("--schedule", "cosine", "--warmup", "0.25"),
                                      ("--schedule", "constant", "--warmup", "0.5")])
def test_a_run_interrupted_mid_epoch_resumes_to_the_same_weights(shared_mnist, tmp_path,
                                                                 monkeypatch, schedule):
    """Bit for bit, whatever the schedule (by default onecycle with a 5% warm-up here): the
    rates are a function of the step, and the plan is saved with the run."""
    straight, stopped, resumed = (tmp_path / name for name in ("straight", "stopped", "resumed"))
    run_json(shared_mnist, *RESUMABLE, *schedule, "--epochs", "2", "--save", str(straight))
    with monkeypatch.context() as patched:
        press_ctrl_c(patched, at_step=13)  # 10 steps an epoch: stops 3 batches into epoch 2
        result = run("--data-dir", str(shared_mnist), "--json", *RESUMABLE, *schedule,
                     "--epochs", "2", "--save", str(stopped))
    assert result.exit_code == 130
    stopped_summary = json.loads(result.stdout)
    assert stopped_summary["examples"] == 396 and stopped_summary["epochs"] == 1
    assert json.loads(stopped.read_text())["progress"]["unfinished"]["examples"] == 96
    summary = run_json(shared_mnist, "--resume", str(stopped), "--epochs", "1",
                       "--save", str(resumed))
    assert training_state(resumed) == training_state(straight)
    assert summary["examples"] == 204 and summary["epochs"] == 1 and not summary["interrupted"]


def test_the_default_run_takes_its_measured_recipe_and_says_so(shared_mnist):
    summary = run_json(shared_mnist, "--limit", "64")
    assert (summary["schedule"], summary["lr"], summary["warmup"], summary["batch_size"]) == (
        "cosine", 0.2, 0.0, 32)
    hidden = run_json(shared_mnist, "--limit", "64", "--hidden", "3", "--schedule", "constant")
    assert (hidden["schedule"], hidden["lr"], hidden["warmup"]) == ("constant", 0.003, 0.0)


@pytest.mark.parametrize("args, words", [
    (["--schedule", "linear"], "'linear' is not one of 'constant', 'cosine', 'onecycle'"),
    (["--warmup", "1.5"], "1.5 is not in the range 0<=x<=1"),
    (["--warmup", "-0.1"], "--warmup"), (["--warmup", "nan"], "nan is not a finite number"),
    (["--warmup", "some"], "'some' is not a valid float"),
])
def test_bad_schedules_and_warm_ups_are_one_line_before_any_work(no_data, args, words):
    result = run(*args)
    assert result.exit_code == 2 and one_error_line(result), result.output
    assert words in result.output


def test_resuming_past_a_decaying_schedule_s_plan_is_one_line_and_changes_nothing(shared_mnist,
                                                                                 tmp_path):
    model = tmp_path / "model.json"
    run_json(shared_mnist, "--limit", "64", "--epochs", "2", "--save", str(model))
    before = model.read_bytes()
    result = run("--data-dir", str(shared_mnist), "--resume", str(model), "--save", str(model))
    assert result.exit_code == 2 and one_error_line(result), result.output
    assert ("the run's cosine schedule was planned over 2 epochs and its rate is 0 after them: "
            "the run has trained them all") in result.output
    assert model.read_bytes() == before


def test_a_model_file_whose_batch_is_larger_than_its_limit_is_blamed(tmp_path):
    document = a_saved_document(tmp_path)
    document["options"]["limit"] = 4
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = run("--data-dir", str(tmp_path), "--resume", str(broken))
    assert result.exit_code == 2 and one_error_line(result)
    assert result.output.startswith(f"Error: {broken}: options: batch_size 8 is larger than limit 4")


def test_resume_keeps_the_options_of_the_run(shared_mnist, tmp_path):
    model = tmp_path / "model.json"
    run_json(shared_mnist, "--limit", "64", "--batch-size", "16", "--save", str(model))
    same = run_json(shared_mnist, "--resume", str(model), "--batch-size", "16", "--epochs", "0")
    assert same["batch_size"] == 16 and same["limit"] == 64 and same["total_epochs"] == 1
    for args in (["--lr", "0.1"], ["--limit", "65"], ["--optimizer", "sgd"], ["--seed", "1"]):
        result = run("--data-dir", str(shared_mnist), "--resume", str(model), *args)
        assert result.exit_code == 2 and "conflicts with the run being resumed" in result.output
    result = run("--data-dir", str(shared_mnist), "--resume", str(model), "--load", str(model))
    assert result.exit_code == 2 and one_error_line(result)


# ---------------------------------------------------------------- hostile inputs

def test_a_batch_larger_than_the_data_is_refused(tmp_path):
    result = run("--data-dir", str(tiny_mnist(tmp_path)), "--batch-size", "64")
    assert result.exit_code == 2 and one_error_line(result)
    assert "batch size 64 is larger than the 40 training examples" in result.output


def test_a_missing_data_dir_is_a_usage_error_that_creates_nothing(tmp_path, no_data):
    result = run("--data-dir", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and one_error_line(result) and "does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_data_file_with_the_wrong_magic_number_is_named(tmp_path):
    tiny_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(struct.pack(">II", 9999, 0))
    result = run("--data-dir", str(tmp_path))
    assert result.exit_code == 2 and one_error_line(result)
    assert "train-labels-idx1-ubyte: wrong magic number 9999" in result.output


def test_epochs_0_with_load_evaluates_without_training(tmp_path):
    model = tmp_path / "model.json"
    trained = run_json(tiny_mnist(tmp_path), "--batch-size", "8", "--save", str(model))
    before = model.read_text()
    evaluated = run_json(tmp_path, "--load", str(model), "--epochs", "0", "--save", str(model))
    assert evaluated["test_accuracy"] == trained["test_accuracy"] and evaluated["examples"] == 0
    assert json.loads(model.read_text())["model"] == json.loads(before)["model"]


# ---------------------------------------------------------------- issue 17: item 8

PATH_OPTIONS = ["--save", "--resume", "--load", "--metrics", "--plot", "--report"]
SHARED_FILE = {frozenset(("--save", "--load")), frozenset(("--save", "--resume"))}
PAIRS = [(a, b) for i, a in enumerate(PATH_OPTIONS) for b in PATH_OPTIONS[i + 1:]]


def aliased(tmp_path, mode):
    """A file (which exists) and another name for it: the same, relative, a symlink, a hard
    link (the same inode), a path through a symlinked folder."""
    (tmp_path / "a").mkdir()
    original = tmp_path / "a" / "file.json"
    original.write_text("precious")
    if mode == "symlink":
        (tmp_path / "link.json").symlink_to(original)
        return str(original), "link.json"
    if mode == "hardlink":
        os.link(original, tmp_path / "hard.json")
        return str(original), "hard.json"
    if mode == "symlinked folder":
        (tmp_path / "b").symlink_to(tmp_path / "a")
        return "a/../a/file.json", "b/file.json"
    return str(original), str(original) if mode == "same" else "a/file.json"


@pytest.mark.parametrize("first, second", PAIRS, ids=[f"{a}{b}" for a, b in PAIRS])
@pytest.mark.parametrize("mode", ["same", "relative", "symlink", "hardlink", "symlinked folder"])
def test_every_pair_of_path_options_naming_one_file_is_refused_before_any_work(
        tmp_path, monkeypatch, no_data, first, second, mode):
    monkeypatch.chdir(tmp_path)
    one, other = aliased(tmp_path, mode)
    result = run(first, one, second, other)
    assert result.exit_code == 2 and one_error_line(result), result.output
    if frozenset((first, second)) == frozenset(("--load", "--resume")):
        assert "exclude each other" in result.output
    elif frozenset((first, second)) in SHARED_FILE:  # a model saved over itself: allowed
        assert "name the same file" not in result.output
        assert "not a JSON model file" in result.output  # it went on to read it
    else:
        assert f"Error: {first} and {second} name the same file" in result.output
    assert (tmp_path / "a" / "file.json").read_text() == "precious"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["file.json"]


def test_the_issue_s_resume_into_its_own_metrics_is_refused(tmp_path):
    model = tmp_path / "r.json"
    run_json(tiny_mnist(tmp_path), "--batch-size", "8", "--save", str(model))
    before = model.read_bytes()
    result = run("--data-dir", str(tmp_path), "--resume", str(model), "--epochs", "1",
                 "--metrics", str(model))
    assert result.exit_code == 2 and one_error_line(result)
    assert "--resume and --metrics name the same file" in result.output
    assert model.read_bytes() == before


def test_save_and_plot_naming_one_file_are_refused(tmp_path, no_data):
    model = tmp_path / "m.json"
    result = run("--save", str(model), "--plot", str(model))
    assert result.exit_code == 2 and "--save and --plot name the same file" in result.output
    assert not model.exists()


@pytest.mark.parametrize("option", ["--save", "--metrics", "--plot", "--report"])
def test_an_output_naming_a_data_file_is_refused(tmp_path, option):
    tiny_mnist(tmp_path)
    data = tmp_path / "t10k-labels-idx1-ubyte"
    before = data.read_bytes()
    result = run("--data-dir", str(tmp_path), option, str(data))
    assert result.exit_code == 2 and one_error_line(result)
    assert f"{option} and the MNIST file t10k-labels-idx1-ubyte name the same file" in result.output
    assert data.read_bytes() == before


# ---------------------------------------------------------------- issue 17: item 11

def test_the_issue_s_divergence_without_nan_exits_1_and_saves_the_last_good_step(
        shared_mnist, tmp_path):
    """sgd at lr 1e300: the first step makes weights of 3e299 and a loss of 1e299, all
    finite. The second batch shows it; the last good step is the untrained model."""
    model = tmp_path / "model.json"
    result = run("--data-dir", str(shared_mnist), "--limit", "320", "--optimizer", "sgd",
                 "--lr", "1e300", "--json", "--save", str(model))
    assert result.exit_code == 1 and result.stdout == ""
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: training diverged: the loss grew to ")
    assert "more than 1e+06 times its first value (2.3) after 32 examples of epoch 1" in line
    assert line.endswith(f"(0 examples trained) is saved to {model}")
    saved = json.loads(model.read_text())
    assert saved["progress"]["examples"] == 0 and saved["optimizer"]["steps"] == 0
    assert all(w == 0.0 for row in saved["model"]["layers"][0]["weights"] for w in row)
    evaluated = run_json(shared_mnist, "--load", str(model), "--epochs", "0")
    assert evaluated["test_accuracy"] == pytest.approx(0.098, abs=0.01)  # all zeros: one class


def test_a_run_that_diverges_later_is_saved_where_it_was_last_good(shared_mnist, tmp_path,
                                                                   monkeypatch):
    """sgd at lr 1000 with a hidden layer diverges at the third batch: the save holds the
    run after one batch, the same as a run stopped there by Ctrl-C (the truth)."""
    args = ("--data-dir", str(shared_mnist), "--limit", "400", "--batch-size", "8",
            "--hidden", "8", "--seed", "2", "--optimizer", "sgd", "--lr", "1000")
    diverged, stopped = tmp_path / "diverged.json", tmp_path / "stopped.json"
    result = run(*args, "--save", str(diverged))
    assert result.exit_code == 1 and "(8 examples trained) is saved to" in result.output
    real_step = SGD.step

    def step(self, grads, lr=None):  # Ctrl-C during the first step: the run stops after it
        if self.steps == 0:
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, grads, lr)
    monkeypatch.setattr(SGD, "step", step)
    assert run(*args, "--save", str(stopped)).exit_code == 130
    ours, truth = training_state(diverged), training_state(stopped)
    assert ours[:3] == truth[:3] and ours[4] == truth[4]
    assert {**ours[3], "seconds": 0} == {**truth[3], "seconds": 0}


def test_without_save_a_diverged_run_exits_1_and_writes_nothing(shared_mnist, tmp_path):
    result = run("--data-dir", str(shared_mnist), "--limit", "320", "--optimizer", "sgd",
                 "--lr", "1e300", "--plot", str(tmp_path / "curves.svg"))
    assert result.exit_code == 1 and "training diverged" in result.output
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- issue 17: item 12

def test_the_issue_s_forward_run_on_a_large_model_is_refused_before_training(shared_mnist):
    result = run("--data-dir", str(shared_mnist), "--mode", "forward", "--size", "28",
                 "--hidden", "128", "--epochs", "1")
    assert result.exit_code == 2 and one_error_line(result), result.output
    # 101,770 parameters, squared, times 60,000 examples: 6.2e14 visits at 1e-7 s
    assert "one sweep per parameter (101,770)" in result.output
    assert "about 6.2e+14 node visits for 60,000 examples x 1 epoch" in result.output
    assert "719 days" in result.output and "--force" in result.output


def test_force_starts_a_forward_run_over_the_limit(shared_mnist, monkeypatch):
    monkeypatch.setattr(command, "FORWARD_LIMIT", 1e6)  # 500² x 40 = 1e7 visits: over it
    args = ("--limit", "40", "--batch-size", "20", "--mode", "forward")
    refused = run("--data-dir", str(shared_mnist), *args)
    assert refused.exit_code == 2 and "without --force" in refused.output
    assert run_json(shared_mnist, *args, "--force")["examples"] == 40


def ctrl_c_inside(monkeypatch, owner, name, at_call=2):
    """Send SIGINT to this process as the at_call-th call of owner.name begins (the call
    then runs into it); returns the calls, each marked True once it returned."""
    real, calls = getattr(owner, name), []

    def interrupted(*args, **kwargs):
        calls.append(False)
        if len(calls) == at_call:
            os.kill(os.getpid(), signal.SIGINT)
        result = real(*args, **kwargs)
        calls[-1] = True
        return result
    monkeypatch.setattr(owner, name, interrupted)
    return calls


ENGINES = {"forward": ["--mode", "forward"], "reverse compiled": [],
           "reverse recording": ["--no-compile"]}


@pytest.mark.parametrize("mode", list(ENGINES))
def test_a_first_ctrl_c_drops_the_batch_whose_gradient_is_being_computed(shared_mnist, tmp_path,
                                                                         monkeypatch, mode):
    """The stop takes effect at once, whatever the mode: the second batch's gradient is
    abandoned where the Ctrl-C found it, and the run is saved as it stood after the first."""
    import scalargrad.train.gradient as gradient
    if mode == "forward":
        calls = ctrl_c_inside(monkeypatch, gradient, "forward_autodiff")
    elif mode == "reverse compiled":
        calls = ctrl_c_inside(monkeypatch, gradient.CompiledGradient, "__call__")
    else:
        calls = ctrl_c_inside(monkeypatch, gradient, "reverse_autodiff")
    model = tmp_path / "model.json"
    result = run("--data-dir", str(shared_mnist), "--json", "--limit", "100", "--batch-size",
                 "20", *ENGINES[mode], "--save", str(model))
    assert result.exit_code == 130, result.output
    assert calls == [True, False]  # the second gradient never returned
    summary = json.loads(result.stdout)
    assert summary["interrupted"] and summary["examples"] == 20
    assert json.loads(model.read_text())["progress"]["unfinished"]["examples"] == 20


@pytest.mark.slow  # worker processes
def test_with_workers_a_first_ctrl_c_drops_every_shard_being_computed(shared_mnist, tmp_path,
                                                                      monkeypatch):
    """Forward mode, two processes: the Ctrl-C reaches this process as it begins its shard of
    the second batch; the other worker is told (a signal) and drops its own shard."""
    from scalargrad.train.parallel import SharedMemoryTraining
    ctrl_c_inside(monkeypatch, SharedMemoryTraining, "_own_gradient")
    answers = []
    real_answers = SharedMemoryTraining._answers

    def recording(self):
        got = real_answers(self)
        answers.append([answer[0] for answer in got])
        return got
    monkeypatch.setattr(SharedMemoryTraining, "_answers", recording)
    model = tmp_path / "model.json"
    result = run("--data-dir", str(shared_mnist), "--json", "--limit", "80", "--batch-size",
                 "40", "--mode", "forward", "--workers", "2", "--save", str(model))
    assert result.exit_code == 130, result.output
    assert answers[:2] == [["done"], ["abandoned"]]
    assert json.loads(result.stdout)["examples"] == 40


# ---------------------------------------------------------------- issue 17: items 13, 14

@pytest.mark.parametrize("option", ["--save", "--metrics", "--plot"])
def test_a_file_name_of_300_characters_is_one_line(tmp_path, no_data, option):
    result = run(option, str(tmp_path / ("p" * 296 + ".svg")))
    assert result.exit_code == 2 and one_error_line(result), result.output
    assert "the file name is too long" in result.output and list(tmp_path.iterdir()) == []


def test_an_mnist_file_that_is_a_folder_is_named_as_one(tmp_path):
    tiny_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").mkdir()
    result = run("--data-dir", str(tmp_path))
    assert result.exit_code == 2 and one_error_line(result), result.output
    assert f"{tmp_path / 't10k-labels-idx1-ubyte.gz'} is a folder" in result.output
    assert "download" not in result.output


def test_workers_auto_on_one_core_trains_in_one_process_and_says_so(shared_mnist, monkeypatch):
    import scalargrad.train.sharing as sharing_module
    import scalargrad_cli.processes as processes_module
    for module in (sharing_module, processes_module):
        monkeypatch.setattr(module, "cores", lambda: 1)
    args = ("--limit", "400", "--batch-size", "8", "--seed", "5")
    auto = run_json(shared_mnist, *args, "--workers", "auto")
    assert auto.pop("workers") == {"processes": 1, "speedup": None, "trials": 0, "steps": None}
    single = run_json(shared_mnist, *args)
    assert auto["history"][0]["loss"] == single["history"][0]["loss"]
    shown = run("--data-dir", str(shared_mnist), *args, "--workers", "auto")
    assert shown.exit_code == 0
    assert "workers: auto (1 process: 1 core)" in shown.output.splitlines()
    progress = [line for line in shown.output.splitlines() if " examples, loss " in line]
    assert progress and all(line.endswith(", workers: auto (1 process: 1 core)")
                            for line in progress)
