import subprocess
import sys

from click.testing import CliRunner

import scalargrad
from scalargrad_cli.main import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and scalargrad.__version__ in result.output


def test_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("train-mnist", "fit-line", "check-grad", "bench"):
        assert command in result.output


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["fit-circle"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_python_dash_m_runs_the_same_command():
    completed = subprocess.run([sys.executable, "-m", "scalargrad_cli", "--version"],
                               capture_output=True, text=True)
    assert completed.returncode == 0 and scalargrad.__version__ in completed.stdout


def test_the_library_imports_no_cli_or_numpy():
    code = ("import sys, scalargrad, scalargrad.matrix, scalargrad.train.model, scalargrad.check.expression;"
            "print(sorted(m for m in ('numpy', 'click', 'rich') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stdout.strip() == "[]"


def test_python_dash_m_scalargrad_runs_the_command_line():
    completed = subprocess.run([sys.executable, "-m", "scalargrad", "--version"],
                               capture_output=True, text=True)
    assert completed.returncode == 0 and scalargrad.__version__ in completed.stdout
