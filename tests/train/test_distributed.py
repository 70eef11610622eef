"""MPI ranks under ``mpiexec -n 2``: the same trajectory as one process, and leaving together.

These tests need mpiexec and mpi4py (the mpi extra, which CI installs). They are skipped
only where mpiexec cannot run two ranks at all, and never on CI (CI=true), where that is
a failure.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from scalargrad.train.loop import Settings
from scalargrad_cli.main import cli
from tests.train.test_parallel import trained

pytestmark = pytest.mark.slow  # several MPI ranks: not in the fast suite

ROOT = Path(__file__).resolve().parents[2]  # the project: tests is a package in it


def find_mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"
    return str(beside) if beside.exists() else shutil.which("mpiexec")


@pytest.fixture(scope="module")
def mpiexec():
    """The mpiexec command that runs two ranks of this Python with mpi4py."""
    command = find_mpiexec()
    problem = None
    if command is None:
        problem = "no mpiexec (pip install 'scalargrad[mpi]')"
    else:
        probe = subprocess.run([command, "-n", "2", sys.executable, "-c",
                                "from mpi4py import MPI; print(MPI.COMM_WORLD.Get_size())"],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0 or "".join(probe.stdout.split()) != "22":  # lines may mix
            problem = f"mpiexec cannot run 2 ranks: {probe.stderr.strip()[-300:]}"
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI installs the mpi extra, yet {problem}")
    if problem:
        pytest.skip(problem)
    return command


def ranks(mpiexec, *args, timeout=120, n=2, **kwargs):
    return subprocess.run([mpiexec, "-n", str(n), *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


SCRIPT = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {root!r})
    from scalargrad.train import distributed
    from scalargrad.train.loop import TrainingRun
    from tests.train.test_parallel import DATA, Losses, SETTINGS

    run = TrainingRun(SETTINGS, DATA)
    losses = Losses()
    way = getattr(distributed, sys.argv[2])
    training = way.for_run(run, distributed.world())
    sync = training if way is distributed.ZeroTraining else None
    run.train(2, losses, training.agreed(lambda: False), step=training.step,
              predict=training.predict, sync=sync)
    report = {{"losses": losses.losses, "accuracy": run.history[-1].test_accuracy,
               "values": [p.value for p in run.model.parameters()]}}
    if sync is not None:
        own = training.own.optimizer
        report["slice"] = {{"lo": training.lo, "hi": training.hi,
                           "parameters": own.size, "scalars": len(own.parameters),
                           "lengths": [len(getattr(own, key)) for key in own.BUFFERS]}}
        # the run's optimizer was last whole at the second epoch's start (a pull)
        report["unpulled_steps"] = run.optimizer.steps
        training.pull()
    report["optimizer"] = run.optimizer.state_dict()
    with open(f"{{sys.argv[1]}}/rank{{training.rank}}.json", "w") as out:
        json.dump(report, out)
""")


def close_to(ours, theirs):
    """Equal to 1e-9 relative, or 1e-9 of the largest magnitude where a sum cancelled."""
    scale = max(map(abs, theirs), default=0.0)
    return ours == pytest.approx(theirs, rel=1e-9, abs=1e-9 * scale)


@pytest.mark.parametrize("way, n", [("ZeroTraining", 2), ("ZeroTraining", 3),
                                    ("AllreduceTraining", 2)])
def test_ranks_follow_the_single_process_trajectory(mpiexec, tmp_path, way, n):
    """Three ranks cut the parameters into slices of unequal sizes."""
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    result = ranks(mpiexec, sys.executable, str(script), str(tmp_path), way, n=n)
    assert result.returncode == 0, result.stderr
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(n)]
    single, single_losses = trained(Settings(hidden=8, batch_size=8, seed=3, lr=0.01), 1,
                                    epochs=2)
    assert len(single_losses) == 100
    expected_state = single.optimizer.state_dict()
    for report in reports:  # both ranks hold the same model
        assert report["losses"] == pytest.approx(single_losses, rel=1e-9)
        assert report["accuracy"] == single.history[-1].test_accuracy
        assert report["values"] == pytest.approx([p.value for p in single.model.parameters()],
                                                 rel=1e-9, abs=1e-12)
        state = report["optimizer"]
        assert state["steps"] == expected_state["steps"] == 100
        for key in ("first_moments", "second_moments"):  # gathered whole, on every rank
            assert close_to(state[key], expected_state[key])
    assert all(report["values"] == reports[0]["values"] for report in reports)
    if way == "ZeroTraining":  # the slices cut the parameters in turn, each its rank's
        count = len(reports[0]["values"])
        slices = [report["slice"] for report in reports]
        edges = [s["lo"] for s in slices] + [slices[-1]["hi"]]
        assert edges[0] == 0 and edges[-1] == count
        assert [s["hi"] for s in slices] == edges[1:]
        assert max(s["hi"] - s["lo"] for s in slices) - min(s["hi"] - s["lo"]
                                                           for s in slices) == (count % n > 0)
        for s in slices:
            # the slice's optimizer steps its values as floats: it holds no Scalar
            assert s["scalars"] == 0 and s["parameters"] == s["hi"] - s["lo"]
            assert s["lengths"] == [s["hi"] - s["lo"]] * 2  # Adam's two moments, its slice's
        # between pulls the run's whole optimizer is not stepped: it is as pulled at the
        # second epoch's start, 50 steps in
        assert [report["unpulled_steps"] for report in reports] == [50] * n


ARGS = ("--limit", "400", "--batch-size", "8", "--hidden", "8", "--seed", "2")


def command(*args):
    return [sys.executable, "-m", "scalargrad_cli", "train-mnist", *args]


def test_the_command_under_mpiexec_matches_one_process_and_rank_0_alone_speaks(
        mpiexec, shared_mnist, tmp_path):
    data = ("--data-dir", str(shared_mnist))
    single_file, mpi_file = tmp_path / "single.json", tmp_path / "mpi.json"
    single_metrics, mpi_metrics = tmp_path / "single.jsonl", tmp_path / "mpi.jsonl"
    single = CliRunner().invoke(cli, ["train-mnist", *data, *ARGS, "--json", "--save",
                                      str(single_file), "--metrics", str(single_metrics)])
    assert single.exit_code == 0, single.output
    result = ranks(mpiexec, *command(*data, *ARGS, "--distributed", "--json", "--save",
                                     str(mpi_file), "--metrics", str(mpi_metrics)))
    assert result.returncode == 0, result.stderr
    expected, summary = json.loads(single.stdout), json.loads(result.stdout)  # one document
    assert summary["history"][0]["loss"] == pytest.approx(expected["history"][0]["loss"],
                                                          rel=1e-9)
    assert summary["test_accuracy"] == expected["test_accuracy"]
    saved, reference = json.loads(mpi_file.read_text()), json.loads(single_file.read_text())
    assert saved["progress"] == reference["progress"]
    assert saved["optimizer"]["steps"] == reference["optimizer"]["steps"] == 50
    for key in ("first_moments", "second_moments"):  # gathered from both ranks' slices
        assert close_to(saved["optimizer"][key], reference["optimizer"][key])
    lines = [json.loads(line) for line in mpi_metrics.read_text().splitlines()]
    expected_lines = [json.loads(line) for line in single_metrics.read_text().splitlines()]
    assert [line["step"] for line in lines] == [line["step"] for line in expected_lines]
    weights = saved["model"]["layers"][0]["weights"]
    assert weights[20] == pytest.approx(reference["model"]["layers"][0]["weights"][20],
                                        rel=1e-9, abs=1e-12)


def test_a_run_saved_and_resumed_under_mpiexec_goes_on_as_the_straight_run(
        mpiexec, shared_mnist, tmp_path):
    """Rank 0 saves the optimizer's state gathered from the slices; resumed under mpiexec,
    each rank takes its slice of it again: the second epoch is the straight run's."""
    data = ("--data-dir", str(shared_mnist), "--schedule", "constant")  # a decaying one is
    first, second = tmp_path / "first.json", tmp_path / "second.json"  # planned over --epochs
    straight_file = tmp_path / "straight.json"
    result = ranks(mpiexec, *command(*data, *ARGS, "--distributed", "--save", str(first)))
    assert result.returncode == 0, result.stderr
    result = ranks(mpiexec, *command(*data, "--resume", str(first), "--distributed", "--json",
                                     "--save", str(second)))
    assert result.returncode == 0, result.stderr
    straight = CliRunner().invoke(cli, ["train-mnist", *data, *ARGS, "--epochs", "2", "--json",
                                        "--save", str(straight_file)])
    assert straight.exit_code == 0, straight.output
    resumed, expected = json.loads(result.stdout), json.loads(straight.stdout)
    assert [epoch["loss"] for epoch in resumed["history"]] == pytest.approx(
        [epoch["loss"] for epoch in expected["history"]], rel=1e-9)
    assert resumed["test_accuracy"] == expected["test_accuracy"]
    saved, reference = json.loads(second.read_text()), json.loads(straight_file.read_text())
    assert saved["optimizer"]["steps"] == reference["optimizer"]["steps"] == 100
    for key in ("first_moments", "second_moments"):
        assert close_to(saved["optimizer"][key], reference["optimizer"][key])
    for ours, theirs in zip(saved["model"]["layers"], reference["model"]["layers"]):
        rows = [ours["weights"], theirs["weights"]]
        assert close_to(*[[x for row in weights for x in row] for weights in rows])


def test_divergence_ends_every_rank_with_one_error_line(mpiexec, shared_mnist):
    result = ranks(mpiexec, *command("--data-dir", str(shared_mnist), "--limit", "300",
                                     "--optimizer", "sgd", "--lr", "1e308", "--distributed"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "training diverged" in errors[0]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_divergence_rolls_every_rank_back_to_the_last_good_step_as_one_process_does(
        mpiexec, shared_mnist, tmp_path, optimizer):
    """sgd (or momentum) at lr 1000 diverges at the third batch: the run goes back to after
    the first (trained again on every rank, each taking its slice of the optimizer's state
    at the epoch's start again), and rank 0 saves it as one process would."""
    args = ("--data-dir", str(shared_mnist), *ARGS, "--optimizer", optimizer, "--lr", "1000")
    single_file, mpi_file = tmp_path / "single.json", tmp_path / "mpi.json"
    single = CliRunner().invoke(cli, ["train-mnist", *args, "--save", str(single_file)])
    assert single.exit_code == 1 and "is saved to" in single.output, single.output
    result = ranks(mpiexec, *command(*args, "--distributed", "--save", str(mpi_file)))
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "(8 examples trained) is saved to" in errors[0]
    saved, reference = json.loads(mpi_file.read_text()), json.loads(single_file.read_text())
    sums = [progress["unfinished"].pop("loss_sum") for progress in (saved["progress"],
                                                                     reference["progress"])]
    assert sums[0] == pytest.approx(sums[1], rel=1e-9)  # the shards' losses added in turn
    for progress in (saved["progress"], reference["progress"]):
        del progress["unfinished"]["seconds"]
    assert saved["progress"] == reference["progress"] and saved["progress"]["examples"] == 8
    for ours, theirs in zip(saved["model"]["layers"][1]["weights"],
                            reference["model"]["layers"][1]["weights"]):
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)
    assert saved["optimizer"]["steps"] == reference["optimizer"]["steps"] == 1
    assert close_to(saved["optimizer"]["velocities"], reference["optimizer"]["velocities"])


def test_a_rank_that_cannot_start_stops_the_others_with_its_error(mpiexec, shared_mnist):
    """Rank 1 looks for the data where there cannot be any; rank 0 must not wait for it."""
    script = ('if [ "${PMI_RANK:-$OMPI_COMM_WORLD_RANK}" = 1 ]; then '
              'export SCALARGRAD_DATA=/dev/null/mnist; fi; exec "$@"')
    result = ranks(mpiexec, "sh", "-c", script, "sh",
                   *command("--limit", "300", "--distributed"),
                   env={**os.environ, "SCALARGRAD_DATA": str(shared_mnist)}, timeout=60)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: rank 1: ") and "/dev/null" in errors[0]


def test_without_mpi4py_distributed_is_refused_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now fails
    result = CliRunner().invoke(cli, ["train-mnist", "--distributed"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("Error: --distributed needs mpi4py")
    assert "pip install 'scalargrad[mpi]'" in result.output



CTRL_C_ON_RANK_1 = textwrap.dedent("""
    import os, signal, sys
    from mpi4py import MPI
    from scalargrad.optim import Adam
    from scalargrad_cli.main import cli

    real_step, steps = Adam.step_values, []

    def step_values(self, values, grads, lr=None):  # Ctrl-C reaches rank 1 alone, during
        steps.append(1)                             # its 10th step
        if len(steps) == 10 and MPI.COMM_WORLD.Get_rank() == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real_step(self, values, grads, lr)

    Adam.step_values = step_values
    cli(["train-mnist", *sys.argv[1:]])
""")


def test_ctrl_c_on_one_rank_stops_every_rank_after_the_same_batch(mpiexec, shared_mnist,
                                                                   tmp_path):
    script, model = tmp_path / "ctrl_c.py", tmp_path / "model.json"
    script.write_text(CTRL_C_ON_RANK_1)
    data = ("--data-dir", str(shared_mnist))
    result = ranks(mpiexec, sys.executable, str(script), *data, *ARGS, "--epochs", "2",
                   "--distributed", "--json", "--save", str(model))
    assert result.returncode == 130, result.stderr
    summary = json.loads(result.stdout)
    assert summary["interrupted"] is True and summary["examples"] == 80
    resumed = CliRunner().invoke(cli, ["train-mnist", *data, "--resume", str(model), "--epochs",
                                       "2", "--json"])
    straight = CliRunner().invoke(cli, ["train-mnist", *data, *ARGS, "--epochs", "2", "--json"])
    assert resumed.exit_code == straight.exit_code == 0, resumed.output
    finished, expected = json.loads(resumed.stdout), json.loads(straight.stdout)
    assert finished["history"][-1]["loss"] == pytest.approx(expected["history"][-1]["loss"],
                                                            rel=1e-9)
    assert finished["test_accuracy"] == expected["test_accuracy"]


CTRL_C_IN_A_GRADIENT_ON_RANK_1 = textwrap.dedent("""
    import os, signal, sys
    from mpi4py import MPI
    from scalargrad.train.gradient import CompiledGradient
    from scalargrad_cli.main import cli

    real_call, calls = CompiledGradient.__call__, []

    def call(self, rows, labels):  # Ctrl-C reaches rank 1 alone, in its 10th shard
        calls.append(1)
        if len(calls) == 10 and MPI.COMM_WORLD.Get_rank() == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real_call(self, rows, labels)

    CompiledGradient.__call__ = call
    cli(["train-mnist", *sys.argv[1:]])
""")


def test_a_ctrl_c_in_one_rank_s_gradient_drops_that_batch_on_every_rank(mpiexec, shared_mnist,
                                                                          tmp_path):
    """The rank abandons its shard and says so in the Allreduce: every rank drops the
    batch, so the run stops after 9 batches (72 examples) everywhere, and goes on exactly."""
    script, model = tmp_path / "ctrl_c.py", tmp_path / "model.json"
    script.write_text(CTRL_C_IN_A_GRADIENT_ON_RANK_1)
    data = ("--data-dir", str(shared_mnist))
    result = ranks(mpiexec, sys.executable, str(script), *data, *ARGS, "--distributed",
                   "--json", "--save", str(model))
    assert result.returncode == 130, result.stderr
    summary = json.loads(result.stdout)
    assert summary["interrupted"] is True and summary["examples"] == 72
    resumed = CliRunner().invoke(cli, ["train-mnist", *data, "--resume", str(model), "--json"])
    straight = CliRunner().invoke(cli, ["train-mnist", *data, *ARGS, "--json"])
    assert resumed.exit_code == straight.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["history"][-1]["loss"] == pytest.approx(
        json.loads(straight.stdout)["history"][-1]["loss"], rel=1e-9)
