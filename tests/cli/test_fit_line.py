"""`scalargrad fit-line` through click's CliRunner."""
import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from scalargrad.fit import linefit
from scalargrad.optim import OPTIMIZERS
from scalargrad_cli.main import cli
from tests.view.svg_geometry import assert_readable


def run(*args):
    return CliRunner().invoke(cli, ["fit-line", *map(str, args)])


def run_json(*args):
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def default_points():
    """The points the default run generates (100 on y = 0.7x + 4, noise 0.5, seed 0)."""
    return linefit.synthetic_points(100, slope=0.7, intercept=4.0, noise=0.5, seed=0)


def test_default_run_lands_on_least_squares():
    report = run_json()
    slope, intercept = np.polyfit(*default_points(), 1)
    assert abs(report["slope"] - slope) < 1e-3 and abs(report["intercept"] - intercept) < 1e-3
    assert report["least_squares"]["slope"] == pytest.approx(slope, rel=1e-12)
    assert report["least_squares"]["intercept"] == pytest.approx(intercept, rel=1e-12)
    assert report["true"] == {"slope": 0.7, "intercept": 4.0}
    assert report["converged"] and 0 < report["steps"] <= 1000
    assert report["mode"] == "reverse" and report["points"] == 100


def test_json_has_the_documented_keys_and_nothing_else_on_stdout():
    result = run("--json", "--points", 20)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    for key in ("slope", "intercept", "least_squares", "true", "loss", "steps", "mode", "seconds"):
        assert key in report
    assert set(report["least_squares"]) == {"slope", "intercept"}


def test_forward_and_reverse_modes_agree():
    for optimizer in OPTIMIZERS:
        reverse = run_json("--optimizer", optimizer, "--mode", "reverse")
        forward = run_json("--optimizer", optimizer, "--mode", "forward")
        assert forward["mode"] == "forward"
        assert forward["steps"] == reverse["steps"]
        assert forward["slope"] == pytest.approx(reverse["slope"], rel=1e-10)
        assert forward["intercept"] == pytest.approx(reverse["intercept"], rel=1e-10)


def test_human_output_has_table_summary_and_plot():
    result = run("--points", 30, "--seed", 3)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for text in ("true", "least squares", "fitted", "final loss", "steps", "time", "●", "─"):
        assert text in out
    lines = out.split("\nLoss")[0].splitlines()  # the points' plot, before the loss chart
    labelled_rows = [line for line in lines if " ┤" in line]
    other_rows = [line for line in lines
                  if line.startswith(" ") and line.lstrip().startswith("│")]
    assert len(labelled_rows) == 3 and len(labelled_rows) + len(other_rows) == 20


def test_csv_on_an_exact_line_recovers_it(tmp_path):
    path = tmp_path / "line.csv"
    path.write_text("x,y\n" + "".join(f"{x},{3 * x - 2}\n" for x in range(-4, 9)))
    report = run_json("--csv", path, "--tolerance", 1e-10)
    assert report["slope"] == pytest.approx(3.0, abs=1e-9)
    assert report["intercept"] == pytest.approx(-2.0, abs=1e-9)
    assert report["points"] == 13 and "true" not in report


def test_badly_scaled_csv_converges(tmp_path):
    xs, ys = linefit.synthetic_points(80, slope=3e-9, intercept=2e-3, noise=2e-7, seed=9,
                                      x_range=(1e6, 1.002e6))
    path = tmp_path / "scaled.csv"
    path.write_text("".join(f"{x!r},{y!r}\n" for x, y in zip(xs, ys)))
    slope, intercept = np.polyfit(xs, ys, 1)
    for optimizer in OPTIMIZERS:
        report = run_json("--csv", path, "--optimizer", optimizer)
        assert report["converged"]
        assert report["slope"] == pytest.approx(slope, rel=1e-4)
        worst = max(abs(report["slope"] * x + report["intercept"] - (slope * x + intercept))
                    for x in xs)
        assert worst < 1e-10  # y values are ~2e-3, noise 2e-7


@pytest.mark.parametrize("rows, slope, y_scale", [
    ("1e200,1\n2e200,2\n3e200,3\n", 1e-200, 3.0),
    ("0,0\n1e-300,1\n", 1e300, 1.0),
    ("-1.5e308,1.5e308\n1.5e308,-1.5e308\n", -1.0, 1.5e308),  # x and y ranges overflow
])
def test_csv_of_extreme_magnitudes_is_fitted(tmp_path, rows, slope, y_scale):
    # each set lies exactly on y = slope * x
    path = tmp_path / "extreme.csv"
    path.write_text(rows)
    report = run_json("--csv", path)
    assert report["slope"] == pytest.approx(slope, rel=1e-5)
    assert report["least_squares"]["slope"] == pytest.approx(slope, rel=1e-15)
    assert abs(report["least_squares"]["intercept"]) <= 1e-15 * y_scale
    human = run("--csv", path)
    assert human.exit_code == 0 and "●" in human.stdout, human.output


def test_huge_noise_is_fitted_and_the_loss_reported_as_too_large():
    report = run_json("--noise", 1e200, "--points", 50)
    xs, ys = linefit.synthetic_points(50, noise=1e200, seed=0)
    slope = np.polyfit(xs, [y / 1e200 for y in ys], 1)[0] * 1e200
    assert report["least_squares"]["slope"] == pytest.approx(slope, rel=1e-9)
    assert report["slope"] == pytest.approx(slope, rel=1e-5)
    assert report["loss"] is None and 1e199 < report["rmse"] < 1e201
    human = run("--noise", 1e200, "--points", 50)
    assert human.exit_code == 0 and "too large for a float" in human.stdout, human.output


def test_a_large_csv_is_fitted_in_minibatches_close_to_least_squares(tmp_path):
    xs, ys = linefit.synthetic_points(20_000, slope=-3.0, intercept=1e3, noise=4.0, seed=11)
    path = tmp_path / "large.csv"
    path.write_text("x,y\n" + "".join(f"{x!r},{y!r}\n" for x, y in zip(xs, ys)))
    result = run("--json", "--csv", path)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["points"] == 20_000 and report["batch_size"] == 1_000 and report["converged"]
    # within a quarter of the least-squares standard errors (see test_linefit)
    slope, intercept = np.polyfit(xs, ys, 1)
    x, y = np.array(xs), np.array(ys)
    s = np.sqrt(np.mean((y - slope * x - intercept) ** 2))
    d_slope = (report["slope"] - slope) * x.std() * np.sqrt(len(x)) / s
    d_height = ((report["slope"] - slope) * x.mean() + report["intercept"] - intercept) * np.sqrt(
        len(x)) / s
    assert np.hypot(d_slope, d_height) <= 0.25 * (1 + 1e-6)
    assert "batch loss" in result.stderr
    human = run("--csv", path)
    assert "minibatches of 1,000 points" in human.stdout
    assert "converged within 0.25 standard errors of least squares" in human.stdout


def one_line_error(result, exit_code=2, after_progress=False):
    """The "Error:" line of a failed run: all of stderr, or its last line after progress."""
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("Error: "), result.stderr
    if after_progress:
        assert all(line.startswith("fit: step ") for line in lines[:-1]), result.stderr
    else:
        assert len(lines) == 1, result.stderr
    return lines[-1]


@pytest.mark.parametrize("text, message", [
    ("x,y\n1,2\n3;4\n5,6\n", "line 3: expected two numbers 'x,y', got '3;4'"),
    ("x,y\n1,2\n", "at least 2 points, got 1"),
    ("1,2\n1,3\n1,4\n", "all x values are equal"),
    ("1,2\n2,nan\n", "line 2: x and y must be finite"),
    ("1,2\n2,inf\n", "line 2: x and y must be finite"),
    ("0,0\n1e-300,1e10\n", "the least-squares slope is about 1.0e+310, beyond the range of floats"),
    ("", "at least 2 points, got 0"),
    ("x,y\n", "at least 2 points, got 0"),
    ("x,y\n\n7,8\n\n", "at least 2 points, got 1"),
    ("1,2\n-inf,3\n", "line 2: x and y must be finite"),
    ("1,2\n2,1e999\n", "line 2: x and y must be finite"),  # too large for a float
])
def test_bad_csv_gives_one_line_and_exit_2(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    for extra in ([], ["--json"]):
        assert message in one_line_error(run("--csv", path, *extra))


def test_missing_csv_file(tmp_path):
    line = one_line_error(run("--csv", tmp_path / "nowhere.csv"))
    assert "nowhere.csv" in line and "No such file" in line


@pytest.mark.parametrize("content, message", [
    (b"1,2\n3,4\n\xff\xfe5,6\n", "line 3: not UTF-8 text"),
    (b"1,2\n3," + b"9" * 10_000_000 + b"\n", "line 2: longer than 1,000 bytes, the limit for one "
                                             "line (read 1,001 bytes of it)"),
    (b"\x00" * 5000, "line 1: longer than 1,000 bytes"),
    (b"1,2\n3,4\x00\n", "line 2: expected two numbers 'x,y', got '3,4\\x00'"),
])
def test_hostile_files_give_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    assert message in one_line_error(run("--csv", path))


def test_a_directory_is_not_a_csv_file(tmp_path):
    assert "Is a directory" in one_line_error(run("--csv", tmp_path))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_is_refused_after_one_line_in_bounded_memory():
    tracemalloc.start()
    try:
        line = one_line_error(run("--csv", "/dev/zero", "--json"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "/dev/zero, line 1: longer than 1,000 bytes" in line
    assert peak < 5_000_000


def test_a_csv_of_more_than_a_million_points_is_refused(tmp_path):
    # a header and exactly 1,000,000 points are read (then refused for their equal x)
    path = tmp_path / "many.csv"
    path.write_text("x,y\n" + "1,1\n" * 1_000_000)
    assert "all x values are equal" in one_line_error(run("--csv", path))
    with path.open("a") as file:
        file.write("2,2\n")
    line = one_line_error(run("--csv", path))
    assert line == (f"Error: {path}: more than 1,000,001 lines, the limit (a header and "
                    f"1,000,000 points); stopped at line 1,000,002, after 4,000,008 bytes")


def test_divergence_suggests_a_smaller_learning_rate():
    line = one_line_error(run("--lr", 100), exit_code=1, after_progress=True)
    assert "diverged" in line and "smaller --lr" in line


def test_progress_goes_to_stderr_as_lines_with_json_and_an_error_starts_its_own_line():
    # stderr is not a terminal here: progress comes as whole lines. With lr 1.5 each
    # step doubles the distance to the optimum (the Hessian is 2I: |1 - 2 lr| = 2), so the
    # loss's excess over the least-squares loss grows fourfold a step, and passes 1e6 times
    # the first loss at about log4(1e6) = 10 steps: divergence, though nothing overflowed.
    result = run("--json", "--lr", 1.5, "--steps", 2000)
    line = one_line_error(result, exit_code=1, after_progress=True)
    assert "diverged after 10 steps: it grew more than 1e+06-fold" in line
    assert "try a smaller --lr than 1.5" in line
    assert result.stderr.splitlines()[:-1] == [result.stderr.splitlines()[0]]
    assert result.stderr.startswith("fit: step 0/2,000  loss ")


def test_progress_lines_do_not_disturb_the_json_on_stdout():
    result = run("--json", "--steps", 20, "--tolerance", 0)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["steps"] == 20
    assert [text.split()[2] for text in result.stderr.splitlines()] == ["0/20", "2/20", "4/20",
                                                                      "6/20", "8/20", "10/20",
                                                                      "12/20", "14/20", "16/20",
                                                                      "18/20", "20/20"]


@pytest.mark.parametrize("option, values", [
    ("--lr", ["nan", "inf", "-inf", "-0.1", "0", "-0", "1e-400"]),
    ("--noise", ["nan", "inf", "-1", "1e308"]),
    ("--tolerance", ["nan", "inf", "-inf", "-1e-9"]),
    ("--steps", ["0", "-1", "1.5", "nan"]),
    ("--points", ["0", "1", "-5", "1000001", "nan"]),
    ("--seed", ["nan", "1.5"]),
    ("--optimizer", ["lbfgs"]),
    ("--mode", ["sideways"]),
])
def test_bad_options_are_usage_errors_before_any_work(monkeypatch, tmp_path, option, values):
    def no_work(*args, **kwargs):
        raise AssertionError("data were read or generated despite a bad option")

    monkeypatch.setattr(linefit, "synthetic_points", no_work)
    monkeypatch.setattr(linefit, "read_points_csv", no_work)
    for value in values:
        for data in ([], ["--csv", str(tmp_path / "data.csv")]):
            result = run(*data, option, value)
            assert result.exit_code == 2, (option, value, result.output)
            assert "Traceback" not in result.output and result.stdout == ""
            errors = result.stderr.splitlines()  # one line, as the README says
            assert len(errors) == 1 and errors[0].startswith("Error:"), result.stderr
            assert option in errors[0], result.stderr


def test_too_few_steps_is_reported_as_not_converged():
    report = run_json("--steps", 3, "--optimizer", "momentum")
    assert report["steps"] == 3 and not report["converged"]
    result = run("--steps", 3)
    assert result.exit_code == 0 and "not converged" in result.stdout


def test_a_huge_point_count_is_refused_rather_than_exhausting_memory():
    result = CliRunner().invoke(cli, ["fit-line", "--points", str(10 ** 12)])
    assert result.exit_code == 2 and "--points" in result.output


def test_the_story_is_told_in_the_terminal():
    out = run("--points", 30, "--seed", 3).stdout
    assert "· step 0 (start): y = -2x + 0" in out and "(early)" in out
    assert "Loss" in out and "final, step" in out


def test_json_names_the_moments_of_the_story():
    report = run_json()
    start, early, final = report["moments"]
    assert (start["name"], start["step"], start["slope"]) == ("start", 0, -2.0)
    assert early["name"] == "early" and 0 < early["step"] < final["step"] == report["steps"]
    assert math.sqrt(start["loss"] * final["loss"]) >= early["loss"]
    assert (final["slope"], final["intercept"]) == (report["slope"], report["intercept"])


def test_plot_writes_the_story_as_svg(tmp_path):
    path = tmp_path / "fit.svg"
    report = run_json("--plot", path)
    root, texts, _ = assert_readable(path.read_text())
    strings = [text for text, _ in texts]
    assert "fit-line: 100 points on y = 0.7x + 4 with noise" in strings
    assert "step 0: y = -2x + 0" in strings
    assert f"final, step {report['steps']}" in strings
    csv = tmp_path / "points.csv"
    csv.write_text("".join(f"{x},{2 * x + 1}\n" for x in range(10)))
    assert run("--csv", csv, "--plot", path, "--json").exit_code == 0
    assert f"fit-line: {csv}" in path.read_text()


def test_an_unwritable_plot_is_refused_before_the_fit(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(linefit, "fit_line", lambda *a, **k: pytest.fail("the fit ran"))
    result = run("--plot", tmp_path / "file" / "fit.svg")
    assert result.exit_code == 2 and result.output.startswith("Error: ")
    assert "is not a folder" in result.output and result.output.count("\n") == 1


def test_far_from_the_origin_the_legend_says_the_lines_drawn(tmp_path):
    """x near 1e15: the start line (through the mean of y) is y = 0x + mean, not + 0, and
    at 80 columns no equation of the legend is split over two lines."""
    import random
    import re
    rng = random.Random(3)
    ks = [rng.uniform(0, 10) for _ in range(100)]
    ys = [0.7 * k + 4 + rng.gauss(0, 0.5) for k in ks]
    path = tmp_path / "far.csv"
    path.write_text("".join(f"{1e15 + k!r},{y!r}\n" for k, y in zip(ks, ys)))
    result = CliRunner().invoke(cli, ["fit-line", "--csv", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = next(line for line in lines if "(start)" in line)
    intercept = float(re.search(r"\(start\): y = 0x \+ ([\d.]+)", start).group(1))
    assert intercept == float(f"{sum(ys) / len(ys):.3g}")
    equation = re.compile(r"y = -?[\d.e+-]+x [+-] [\d.e+]+")
    legend = [line for line in lines if "(start)" in line or "(early)" in line or "─ fit" in line]
    assert sum(len(equation.findall(line)) for line in legend) == 3  # each one whole
    assert all(len(line) <= 80 for line in legend)


# ---------------------------------------------------------------- issue 17
@pytest.mark.parametrize("first", ["1,abc", "0x10,2", "1.5.2,3"])
def test_a_first_line_with_a_number_is_refused_not_taken_as_a_header(tmp_path, first):
    path = tmp_path / "data.csv"
    path.write_text(f"{first}\n2,3\n3,5\n4,7\n")
    line = one_line_error(run("--csv", path))
    assert line == f"Error: {path}, line 1: expected two numbers 'x,y', got '{first}'"


def test_an_empty_csv_path_is_named_as_empty():
    assert one_line_error(run("--csv", "")) == "Error: the CSV path is empty"


@pytest.mark.parametrize("mode", ["same", "relative", "symlink", "hardlink"])
def test_csv_and_plot_naming_one_file_are_refused_before_the_fit(tmp_path, monkeypatch, mode):
    import os
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,2\n2,3\n3,5\n")
    other = {"same": str(data), "relative": "./data.csv", "symlink": "link.csv",
             "hardlink": "hard.csv"}[mode]
    if mode == "symlink":
        os.symlink(data, "link.csv")
    if mode == "hardlink":
        os.link(data, "hard.csv")
    for first, second in ((str(data), other), (other, str(data))):
        line = one_line_error(run("--csv", first, "--plot", second))
        assert line.startswith("Error: --csv and --plot name the same file")
    assert data.read_text() == "x,y\n1,2\n2,3\n3,5\n"


def test_a_plot_name_of_300_characters_is_one_line(tmp_path):
    line = one_line_error(run("--plot", tmp_path / ("p" * 296 + ".svg")))
    assert "the file name is too long" in line
