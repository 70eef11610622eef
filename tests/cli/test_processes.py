"""train-mnist --workers: the same run as one process, Ctrl-C, and a worker that dies."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scalargrad.train import sharing as sharing_module
from scalargrad.train.choice import FasterStep
from scalargrad_cli.processes import WorkerCount
from tests.cli.test_train_mnist import one_error_line, press_ctrl_c, run, run_json

pytestmark = pytest.mark.slow  # worker processes: not in the fast suite

ARGS = ("--limit", "400", "--batch-size", "8", "--hidden", "8", "--seed", "5")  # 50 steps


def test_two_workers_give_the_run_of_one_process(shared_mnist):
    single = run_json(shared_mnist, *ARGS, "--epochs", "2")
    parallel = run_json(shared_mnist, *ARGS, "--epochs", "2", "--workers", "2")
    for ours, theirs in zip(parallel["history"], single["history"]):
        assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
        assert ours["test_accuracy"] == theirs["test_accuracy"]
        assert ours["train_accuracy"] == theirs["train_accuracy"]
    timings = ("seconds", "examples_per_second", "history")
    assert {key: value for key, value in parallel.items() if key not in timings} == \
        {key: value for key, value in single.items() if key not in timings}


def test_ctrl_c_under_workers_saves_a_run_that_resumes_as_if_never_stopped(shared_mnist,
                                                                          tmp_path, monkeypatch):
    straight = run_json(shared_mnist, *ARGS, "--epochs", "2")
    model = tmp_path / "model.json"
    press_ctrl_c(monkeypatch, at_step=10)  # in the workers too, which ignore it
    result = run("--data-dir", str(shared_mnist), "--json", *ARGS, "--epochs", "2",
                 "--workers", "2", "--save", str(model))
    assert result.exit_code == 130
    summary = json.loads(result.stdout)
    assert summary["interrupted"] is True and summary["examples"] == 80
    monkeypatch.undo()
    resumed = run_json(shared_mnist, "--resume", str(model), "--epochs", "2", "--workers", "2")
    assert resumed["history"][-1]["loss"] == pytest.approx(straight["history"][-1]["loss"],
                                                           rel=1e-9)
    assert resumed["test_accuracy"] == straight["test_accuracy"]


@pytest.mark.parametrize("given, expected", [("1", 1), ("3", 3), ("auto", "auto"),
                                             (" AUTO ", "auto"), (4, 4)])
def test_worker_counts(given, expected):
    assert WorkerCount().convert(given, None, None) == expected


@pytest.mark.parametrize("args, words", [
    (["--workers", "0"], "0 is not a whole number >= 1"),
    (["--workers", "two"], "'two' is neither a whole number nor 'auto'"),
    (["--workers", "2", "--distributed"], "not both"),
])
def test_bad_worker_options_are_one_line_usage_errors(args, words):
    result = run(*args)
    assert result.exit_code == 2 and words in result.output and one_error_line(result)


def test_auto_gives_the_run_of_one_process_and_says_which_it_took(shared_mnist, monkeypatch):
    """Whichever way --workers auto takes (forced here through the ways' measured speed:
    the workers faster, then slower), the same run; --json and the summary say which."""
    single = run_json(shared_mnist, *ARGS, "--epochs", "2")
    for factor, processes in ((0.25, 2), (4.0, 1)):
        monkeypatch.setattr(sharing_module, "FasterStep", slowed(factor, least=10))
        auto = run_json(shared_mnist, *ARGS, "--epochs", "2", "--workers", "auto")
        for ours, theirs in zip(auto["history"], single["history"]):
            assert ours["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
            assert ours["test_accuracy"] == theirs["test_accuracy"]
        chose = auto.pop("workers")
        # an untimed step and 5 timed of one process, a trial of the workers likewise, then
        # the faster: the slower workers lost 6 * (4 - 1) = 18 s, so the next trial would
        # wait 18 / 2% = 900 steps; the faster lost nothing: one process is tried after
        # 10 steps, loses 6 * (1 - 0.25) = 4.5 s, and the next would wait 900 steps
        assert chose == {"processes": processes, "speedup": pytest.approx(1 / factor),
                         "trials": 2 if processes == 2 else 1,
                         "steps": {"1": 12, "2": 88} if processes == 2 else {"1": 94, "2": 6}}
        shown = run("--data-dir", str(shared_mnist), *ARGS, "--workers", "auto")
        assert shown.exit_code == 0
        summary = f"workers: auto ({processes} process{'es' if processes == 2 else ''}: "
        assert summary in shown.output


def slowed(factor, **how):
    """A FasterStep on a clock that only steps move: one process's take 1 s, the workers'
    ``factor`` s."""
    def choose(first, second):
        now = [0.0]

        def costing(step, seconds):
            def timed(batch):
                result = step(batch)
                now[0] += seconds
                return result
            return timed
        first.step, second.step = costing(first.step, 1.0), costing(second.step, factor)
        return FasterStep(first, second, clock=lambda: now[0], **how)
    return choose


def children(pid):
    """The worker processes of process pid: forked, so they run the same command line."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"train-mnist" in cmdline:
            found.append(int(stat.parent.name))
    return found


def start(shared_mnist, *args):
    process = subprocess.Popen([sys.executable, "-m", "scalargrad_cli", "train-mnist",
                                "--data-dir", str(shared_mnist), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 60
    while not children(process.pid):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.01)
    # Training has begun. A child seen in the first instant can also be the resource
    # tracker between its fork and its exec, when it still shows this command line.
    time.sleep(0.3)
    return process


def test_a_killed_worker_ends_the_command_with_one_error_line(shared_mnist):
    process = start(shared_mnist, "--limit", "20000", "--hidden", "16", "--workers", "2")
    (worker,) = children(process.pid)
    os.kill(worker, signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    errors = [line for line in err.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: worker 1 of 2 (process {worker}) was killed by SIGKILL; the run "
                      f"cannot go on"]


def test_a_killed_workers_run_is_saved_as_it_stood_and_resumes(shared_mnist, tmp_path):
    """With --save, the run up to its last whole step is saved (its optimizer's state is
    kept in shared memory), and --resume goes on from there."""
    model, log = tmp_path / "model.json", tmp_path / "metrics.jsonl"
    process = start(shared_mnist, "--limit", "20000", "--hidden", "16", "--workers", "2",
                    "--save", str(model), "--metrics", str(log), "--log-every", "1")
    deadline = time.monotonic() + 60
    while not log.exists() or not log.read_text():  # a first whole step, to be saved
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    (worker,) = children(process.pid)
    os.kill(worker, signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    (error,) = [line for line in err.splitlines() if line.startswith("Error:")]
    saved = json.loads(model.read_text())
    trained = saved["progress"]["unfinished"]["examples"]
    assert 0 < trained < 20000
    assert error == (f"Error: worker 1 of 2 (process {worker}) was killed by SIGKILL; the run "
                     f"cannot go on; the run as it stood after its last whole step ({trained:,} "
                     f"examples trained) is saved to {model}: --resume it to go on")
    resumed = run_json(shared_mnist, "--resume", str(model))
    assert resumed["epochs"] == resumed["total_epochs"] == 1
    assert resumed["examples"] == 20000 - trained and resumed["total_examples"] == 20000


def test_ctrl_c_at_the_terminal_reaches_every_process_and_only_the_first_one_acts(
        shared_mnist, tmp_path):
    """A terminal sends SIGINT to the whole process group: the workers must not die of it."""
    model = tmp_path / "model.json"
    process = start(shared_mnist, "--limit", "20000", "--hidden", "16", "--workers", "2",
                    "--json", "--save", str(model))
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and 0 < summary["examples"] < 20000
    saved = json.loads(model.read_text())
    assert saved["progress"]["unfinished"]["examples"] == summary["examples"]
