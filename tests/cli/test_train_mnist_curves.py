"""train-mnist's training curves: --metrics, --log-every, --plot and the terminal chart
(through click's CliRunner, on the real MNIST files in ../shared/mnist)."""
import json
import math

import pytest
from click.testing import CliRunner

import scalargrad_cli.train_mnist as command
from scalargrad.train.metrics import read_metrics
from scalargrad_cli.main import cli
from tests.view.svg_geometry import assert_readable


def run(*args):
    result = CliRunner().invoke(cli, ["train-mnist", *map(str, args)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture
def no_data(monkeypatch):
    """Fail the test if the command touches the MNIST files."""
    def touched(*args, **kwargs):
        raise AssertionError("the data were loaded")
    monkeypatch.setattr(command.mnist, "ensure_files", touched)


def test_metrics_lines_parse_back_and_agree_with_the_run(shared_mnist, tmp_path):
    path = tmp_path / "metrics.jsonl"
    result = run("--data-dir", shared_mnist, "--limit", 640, "--epochs", 2, "--json",
                 "--metrics", path, "--log-every", 5)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    records = read_metrics(str(path))
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    assert [r["step"] for r in steps] == list(range(5, 41, 5))  # 20 batches of 32 an epoch
    assert [r["examples"] for r in steps] == [160 * k for k in range(1, 9)]
    assert [(r["epoch"], r["step"], r["examples"]) for r in epochs] == [(1, 20, 640),
                                                                       (2, 40, 1280)]
    for record, history in zip(epochs, summary["history"]):
        assert record["test_accuracy"] == history["test_accuracy"]
        assert record["loss"] == history["loss"]
    # the default cosine schedule from 0.2, planned over the 40 steps of 2 epochs: step k's
    # rate is 0.2 (1 + cos(pi (k - 1) / 40)) / 2
    assert [r["lr"] for r in records] == pytest.approx(
        [0.2 * (1 + math.cos(math.pi * (r["step"] - 1) / 40)) / 2 for r in records], rel=1e-12)
    assert all(r["examples_per_second"] > 0 for r in records)
    assert all(0 < r["accuracy"] <= 1 and math.isfinite(r["loss"]) for r in records)


def test_resume_appends_and_goes_on_counting(shared_mnist, tmp_path, monkeypatch):
    path, model = tmp_path / "metrics.jsonl", tmp_path / "model.json"
    run("--data-dir", shared_mnist, "--limit", 320, "--json", "--metrics", path,
        "--log-every", 4, "--save", model, "--schedule", "constant")
    resumed = run("--data-dir", shared_mnist, "--resume", model, "--json", "--metrics", path,
                  "--log-every", 4)
    assert resumed.exit_code == 0, resumed.output
    records = read_metrics(str(path))
    assert [(r["kind"], r["step"]) for r in records] == [
        ("step", 4), ("step", 8), ("epoch", 10), ("step", 12), ("step", 16), ("step", 20),
        ("epoch", 20)]
    assert records[-1]["examples"] == 640 and records[-1]["epoch"] == 2


def test_plot_draws_loss_and_accuracy_per_step(shared_mnist, tmp_path):
    path = tmp_path / "curves.svg"
    result = run("--data-dir", shared_mnist, "--limit", 640, "--epochs", 2, "--plot", path)
    assert result.exit_code == 0, result.output
    root, texts, _ = assert_readable(path.read_text())
    strings = [text for text, _ in texts]
    assert "train-mnist: 7x7 images, softmax regression, adam lr 0.2 (cosine), batches of 32" in strings
    for text in ("Loss", "Accuracy", "epoch", "each step, smoothed", "test (after each epoch)"):
        assert text in strings


def test_the_terminal_shows_the_curves(shared_mnist):
    result = run("--data-dir", shared_mnist, "--limit", 320)
    assert result.exit_code == 0
    out = result.output
    assert "Loss" in out and "Accuracy" in out and "train, each step, smoothed" in out
    # told apart without colour: test accuracy as joined squares, the train line plain
    assert "─■ test (after each epoch)" in out and "━━ train, each step, smoothed" in out
    assert out.index("Loss") < out.index("Confusion matrix")
    assert any(0x2800 < ord(c) <= 0x28FF for c in out)  # the curves, in braille


@pytest.mark.parametrize("option", ["--metrics", "--plot", "--report"])
def test_an_unusable_output_path_fails_before_any_data_are_loaded(tmp_path, no_data, option):
    (tmp_path / "file").write_text("")
    result = run(option, tmp_path / "file" / "out")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and "is not a folder" in result.output
    assert result.output.count("\n") == 1


def test_log_every_must_be_positive(no_data):
    result = run("--log-every", 0)
    assert result.exit_code == 2 and "--log-every" in result.output


# ---------------------------------------------------------------- issue 17, item 9

def saved_run(shared_mnist, tmp_path, name="model.json", metrics="metrics.jsonl"):
    model, log = tmp_path / name, tmp_path / metrics
    result = run("--data-dir", shared_mnist, "--limit", 128, "--json", "--save", model,
                 "--metrics", log, "--log-every", 2, "--schedule", "constant")
    assert result.exit_code == 0, result.output
    return model, log


def test_the_run_id_is_in_the_model_and_every_metrics_record(shared_mnist, tmp_path):
    model, log = saved_run(shared_mnist, tmp_path)
    run_id = json.loads(model.read_text())["run"]
    assert len(run_id) == 16 and {r["run"] for r in read_metrics(str(log))} == {run_id}
    resumed = run("--data-dir", shared_mnist, "--resume", model, "--json", "--metrics", log,
                  "--save", model)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(model.read_text())["run"] == run_id
    assert {r["run"] for r in read_metrics(str(log))} == {run_id}  # appended, same run


def test_resuming_with_another_run_s_metrics_is_refused_before_any_work(shared_mnist, tmp_path):
    model, _ = saved_run(shared_mnist, tmp_path)
    _, other_log = saved_run(shared_mnist, tmp_path, "other.json", "other.jsonl")
    before = other_log.read_bytes()
    result = run("--data-dir", shared_mnist, "--resume", model, "--metrics", other_log)
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "its last record is of another run" in result.output
    assert "give --metrics another file" in result.output
    assert other_log.read_bytes() == before


@pytest.mark.parametrize("content", [b"\x00\xff random bytes \xfe", b'{"format": "x"}\n'])
def test_resuming_with_a_file_that_is_not_a_metrics_log_never_appends(shared_mnist, tmp_path,
                                                                      content):
    model, _ = saved_run(shared_mnist, tmp_path)
    log = tmp_path / "junk"
    log.write_bytes(content)
    result = run("--data-dir", shared_mnist, "--resume", model, "--metrics", log)
    assert result.exit_code == 2 and "not a metrics log" in result.output
    assert log.read_bytes() == content


def test_a_model_saved_before_run_ids_resumes_its_old_log_and_gets_an_id(shared_mnist, tmp_path):
    model, log = saved_run(shared_mnist, tmp_path)
    document = json.loads(model.read_text())
    del document["run"]
    model.write_text(json.dumps(document))
    log.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "run"}) + "\n"
                           for r in read_metrics(str(log))))
    result = run("--data-dir", shared_mnist, "--resume", model, "--json", "--metrics", log,
                 "--save", model)
    assert result.exit_code == 0, result.output
    new_id = json.loads(model.read_text())["run"]
    records = read_metrics(str(log))
    assert new_id and records[-1]["run"] == new_id and "run" not in records[0]


def test_a_metrics_file_that_fills_up_is_reported_after_the_run_is_saved(shared_mnist, tmp_path,
                                                                         monkeypatch):
    class FullDisk:
        def __init__(self, path, mode, encoding):
            self.file = open(path, mode, encoding=encoding)

        def write(self, text):
            raise OSError(28, "No space left on device")

        def flush(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()
    monkeypatch.setattr(command, "open", FullDisk, raising=False)
    model, log = tmp_path / "model.json", tmp_path / "m.jsonl"
    result = run("--data-dir", shared_mnist, "--limit", 64, "--json", "--save", model,
                 "--metrics", log)
    assert result.exit_code == 1 and json.loads(result.stdout)["examples"] == 64
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: cannot write the metrics to {log}: No space left on device (the lines "
        "stopped there)")
    assert json.loads(model.read_text())["progress"]["examples"] == 64
