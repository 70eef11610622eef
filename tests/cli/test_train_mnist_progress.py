"""train-mnist's progress off a terminal (`| tee log`): plain lines on stderr, at a steady
pace, with the time left; labelled phases for loading and evaluating (CliRunner's output
is not a terminal; on the real MNIST files in ../shared/mnist)."""
import json
import re

from click.testing import CliRunner

import scalargrad_cli.mnist_display as display
from scalargrad_cli.main import cli

LINE = re.compile(r"epoch (\d)/2: ([\d,]+)/640 examples, loss (\d\.\d{4}), ([\d,]+) examples/s, "
                  r"(\d+ s|\d+ min \d+ s) left")


def test_progress_lines_go_to_stderr(shared_mnist, monkeypatch):
    monkeypatch.setattr(display, "PLAIN_EVERY", 0.0)  # a line after every batch
    result = CliRunner().invoke(cli, ["train-mnist", "--data-dir", str(shared_mnist), "--limit",
                                      "640", "--epochs", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout holds the document alone
    lines = result.stderr.splitlines()
    assert lines[0] == "epoch 1/2: started"  # nothing said off a terminal while loading
    assert all(len(line) <= 80 for line in lines)
    progress = [LINE.fullmatch(line) for line in lines]
    for epoch, record in zip((1, 2), summary["history"]):
        seen = [int(m.group(2).replace(",", "")) for m in progress if m and m.group(1) == str(epoch)]
        assert seen == list(range(32, 641, 32))  # 20 batches of 32
        end = lines.index(f"epoch {epoch}/2: evaluating on the test set")
        assert LINE.fullmatch(lines[end - 1]).group(2) == "640"
        done = lines[end + 1]
        assert done.startswith(f"epoch {epoch}/2 done: loss {record['loss']:.4f}, ")
        assert f"test {record['test_accuracy']:.2%}" in done


def test_lines_come_every_few_seconds_not_every_batch(shared_mnist):
    result = CliRunner().invoke(cli, ["train-mnist", "--data-dir", str(shared_mnist), "--limit",
                                      "640", "--epochs", "2"])
    assert result.exit_code == 0
    progress = [line for line in result.stderr.splitlines() if LINE.fullmatch(line)]
    # a run of well under PLAIN_EVERY seconds: each epoch's last batch only
    assert [line.split(":")[1].split()[0] for line in progress] == ["640/640", "640/640"]
    assert "Training" in result.stdout and "examples/s," not in result.stdout


def test_durations_read_as_people_say_them():
    assert [display.duration(s) for s in (0.4, 59.6, 61, 3599, 3600, 7380)] == [
        "0 s", "1 min 0 s", "1 min 1 s", "59 min 59 s", "1 h 0 min", "2 h 3 min"]
