import importlib
import subprocess
import sys

import click
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


def test_every_command_module_is_in_the_table_under_its_own_name():
    """Commands are imported when looked up (cli/main.py's COMMANDS): one missing from the
    table, or named there otherwise than in its module, would not be found."""
    defined = {}
    for path in sorted(Path(__file__).resolve().parents[2].joinpath("cli").glob("[!_]*.py")):
        module = importlib.import_module(f"scalargrad_cli.{path.stem}")
        defined.update({command.name: command for command in vars(module).values()
                        if isinstance(command, click.Command) and not isinstance(command, click.Group)
                        and command.callback is not None and command.callback.__module__ == module.__name__})
    assert set(defined) == set(cli.list_commands(click.Context(cli)))
    for name, command in defined.items():
        assert cli.get_command(click.Context(cli), name) is command


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


def test_a_command_imports_the_network_modules_only_to_download():
    """urllib and http.client cost 40 ms at the start of every command that imported them."""
    code = ("import sys, scalargrad, scalargrad_cli.main, scalargrad.train.mnist;"
            "print(sorted(m for m in ('urllib.request', 'http.client') if m in sys.modules))")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stdout.strip() == "[]", completed.stderr


def test_python_dash_m_scalargrad_runs_the_command_line():
    completed = subprocess.run([sys.executable, "-m", "scalargrad", "--version"],
                               capture_output=True, text=True)
    assert completed.returncode == 0 and scalargrad.__version__ in completed.stdout


# ---------------------------------------------------------------- how every command ends
# (issue 17, items 13 and 15)
import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "scalargrad"  # the installed command


def command(*args, **kwargs):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


PRINTING = [["check-grad", "x", "--at", "x=1"], ["check-grad", "x*y", "--at", "x=1,y=2", "--json"],
            ["graph", "x*y", "--at", "x=1,y=2"], ["trace", "sin(x)"],
            ["explain", "x*y", "--at", "x=1,y=2"], ["fit-line", "--points", "20", "--json"],
            ["--version"], ["--help"], ["train-mnist", "--help"]]


@pytest.mark.parametrize("args", PRINTING, ids=[" ".join(a) for a in PRINTING])
def test_a_full_disk_on_stdout_is_one_error_line(args):
    with open("/dev/full", "w") as full:
        completed = subprocess.run([sys.executable, str(SCRIPT), *args], stdout=full,
                                   stderr=subprocess.PIPE, text=True, timeout=120)
    assert completed.returncode == 1
    assert completed.stderr.splitlines()[-1:] == [
        "Error: cannot write the output: No space left on device"], completed.stderr
    assert "Traceback" not in completed.stderr and "Exception ignored" not in completed.stderr


@pytest.mark.parametrize("args", PRINTING[:4], ids=[" ".join(a) for a in PRINTING[:4]])
def test_a_reader_that_went_away_ends_the_command_quietly(args):
    read, write = os.pipe()
    os.close(read)  # like `| head -0`: every write is EPIPE
    try:
        completed = subprocess.run([sys.executable, str(SCRIPT), *args], stdout=write,
                                   stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert completed.returncode == 1 and completed.stderr == ""


BAD_OPTIONS = [["train-mnist", "--size", "9"], ["train-mnist", "--nope"], ["fit-line", "--lr", "x"],
               ["fit-line", "--points", "1"], ["check-grad"], ["graph", "x", "--format", "png"],
               ["explain", "x", "--mode", "sideways"], ["trace", "x", "--extra"],
               ["bench", "--slow"], ["fit-circle"], ["train-mnist", "--epochs"],
               ["fit-line", "--csv"], ["train-mnist", "--workers", "none"]]


@pytest.mark.parametrize("args", BAD_OPTIONS, ids=[" ".join(a) for a in BAD_OPTIONS])
def test_an_option_error_is_exactly_one_error_line_as_the_manual_says(args):
    """No 'Usage:' and 'Try --help' lines before it: docs/cli.md promises one line."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1, result.output
    assert result.stderr.startswith("Error: ")
    manual = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert "one `Error:` line on stderr, and nothing else" in manual


INTERRUPT_IMPORT = """
import os, runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as a terminal's, even if ignored here
target = sys.argv[1]
class CtrlC:  # a Ctrl-C while `target` is being imported
    def find_spec(self, name, path=None, target_=None):
        if name == target:
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, CtrlC())
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


CHECK_GRAD = ["check-grad", "x", "--at", "x=1"]
TRAIN_HELP, BENCH_HELP = ["train-mnist", "-h"], ["bench", "-h"]
IMPORTED = [("scalargrad_cli", CHECK_GRAD), ("click", CHECK_GRAD), ("rich.console", CHECK_GRAD),
            ("scalargrad.core.scalar", CHECK_GRAD), ("scalargrad.compile.compiled", CHECK_GRAD),
            ("scalargrad_cli.check_grad", CHECK_GRAD),  # a command's module: when it is looked up
            ("numpy", TRAIN_HELP), ("scalargrad_cli.train_mnist", TRAIN_HELP),
            ("scalargrad_cli.bench", BENCH_HELP)]


@pytest.mark.slow  # a process each
@pytest.mark.parametrize("module, args", IMPORTED, ids=[module for module, _ in IMPORTED])
def test_ctrl_c_while_the_command_line_is_imported_exits_130_quietly(module, args):
    completed = subprocess.run([sys.executable, "-c", INTERRUPT_IMPORT, module, str(SCRIPT), *args],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 130 and completed.stderr.strip() == "", completed.stderr
    assert completed.stdout == ""


@pytest.mark.slow  # a process each
@pytest.mark.parametrize("delay", [0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.5])
def test_ctrl_c_at_any_moment_is_status_130_and_quiet(delay):
    """A real SIGINT, from when Python has started the command (site's own imports, before
    any of the command's code, are beyond its reach) to the middle of its work."""
    # a fit of a million points: its work goes on well past the last delay
    process = subprocess.Popen([sys.executable, str(SCRIPT), "fit-line", "--points", "1000000"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip() == "", err


CTRL_C_IN_A_GC_CALLBACK = """
import gc, os, runpy, signal, sys
fired = []
def ctrl_c(phase, info):  # a Ctrl-C landing while the collector runs its callbacks
    if phase == "start" and not fired and "scalargrad_cli.main" in sys.modules:
        fired.append(True)
        os.kill(os.getpid(), signal.SIGINT)
gc.callbacks.append(ctrl_c)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_a_ctrl_c_during_a_garbage_collector_callback_is_not_lost():
    """Python drops an exception raised in a gc callback (scalargrad's tape has one): the
    command's handler delivers the interrupt once the callback has returned."""
    completed = subprocess.run([sys.executable, "-c", CTRL_C_IN_A_GC_CALLBACK, str(SCRIPT),
                                "check-grad", "sin(x)*y", "--random", "100", "--order", "2"],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 130 and completed.stderr.strip() == "", completed.stderr
