"""train-mnist through click's CliRunner, on the real MNIST files in ../shared/mnist."""
import json
import os
import signal
import struct

import pytest
from click.testing import CliRunner

import scalargrad_cli.train_mnist as command
from scalargrad_cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, ["train-mnist", *args])
    assert "Traceback" not in result.output
    return result


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
    assert saved["options"]["hidden"] == 6 and saved["options"]["epochs"] == 1


def test_forward_mode_runs_on_a_tiny_batch(shared_mnist):
    forward = run_json(shared_mnist, "--limit", "40", "--batch-size", "20", "--mode", "forward")
    reverse = run_json(shared_mnist, "--limit", "40", "--batch-size", "20")
    assert forward["history"][0]["loss"] == pytest.approx(reverse["history"][0]["loss"], rel=1e-9)
    assert forward["test_accuracy"] == pytest.approx(reverse["test_accuracy"], abs=1e-3)


def test_ctrl_c_stops_after_the_batch_and_still_saves(shared_mnist, tmp_path, monkeypatch):
    real_train_epoch = command.train_epoch

    def interrupted_train_epoch(*args, **kwargs):
        on_batch = args[7]

        def press_ctrl_c(report):
            on_batch(report)
            if report.examples == 25:
                os.kill(os.getpid(), signal.SIGINT)
        return real_train_epoch(*args[:7], press_ctrl_c, *args[8:], **kwargs)

    monkeypatch.setattr(command, "train_epoch", interrupted_train_epoch)
    model = tmp_path / "model.json"
    summary = run_json(shared_mnist, "--limit", "1000", "--batch-size", "25", "--epochs", "3",
                       "--save", str(model))
    assert summary["interrupted"] is True and summary["examples"] == 25 and summary["epochs"] == 1
    assert model.exists()


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

    def failing_dump(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(command.json, "dump", failing_dump)
    result = run("--data-dir", str(shared_mnist), "--limit", "50", "--save", str(model))
    assert result.exit_code == 1 and "cannot save" in result.output
    assert model.read_text() == "precious" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_download_progress_is_shown_while_files_arrive(monkeypatch):
    import numpy as np

    calls = []

    def fake_load_mnist(data_dir, size, progress):
        for done in (0, 50, 100):
            progress("t10k-labels-idx1-ubyte.gz", done, 100)
            calls.append(done)
        rng = np.random.default_rng(0)
        images = rng.random((40, size * size))
        labels = np.arange(40) % 10
        return (images, labels), (images[:20], labels[:20])

    monkeypatch.setattr(command.mnist, "load_mnist", fake_load_mnist)
    result = run("--json")
    assert result.exit_code == 0, result.output
    assert calls == [0, 50, 100] and json.loads(result.stdout)["examples"] == 40


def test_the_command_uses_the_library_default_activation():
    from scalargrad.training import DEFAULT_ACTIVATION
    option = next(p for p in command.train_mnist.params if p.name == "activation")
    assert option.default == DEFAULT_ACTIVATION
