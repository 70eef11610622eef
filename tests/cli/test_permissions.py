"""Files and folders a user may not write or enter: one Error: line each, never a traceback.

The tests run the command line as a user other than root (root may write anywhere): when
they run as root, in a process that becomes `nobody` once the command line is imported (so
that the interpreter and its libraries need not be readable by nobody).
"""
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.conftest import SHARED_MNIST

pytestmark = pytest.mark.slow  # a process per case, as another user: not in the fast suite

AS_ANOTHER_USER = """
import os, sys
from scalargrad_cli.main import cli
for name in cli.list_commands(None):  # each command's modules, imported while still root
    cli.get_command(None, name)
uid = int(sys.argv[1])
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
cli.main(sys.argv[2:], prog_name="scalargrad")
"""


def other_user():
    """The uid to run as: nobody when these tests run as root, else -1 (stay as we are)."""
    if os.geteuid() != 0:
        return -1
    try:
        return pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("there is no user 'nobody' to run the commands as")


@pytest.fixture
def place():
    """A folder the user can enter, holding: mine/ (the user's own), theirs/ (root's, which
    the user cannot write), closed/ (root's, which the user cannot enter)."""
    uid = other_user()
    folder = Path(tempfile.mkdtemp(prefix="scalargrad-permissions-"))
    try:
        folder.chmod(0o755)
        for name, mode in (("mine", 0o755), ("theirs", 0o755), ("closed", 0o700)):
            (folder / name).mkdir()
            (folder / name).chmod(mode)
        (folder / "closed" / "model.json").write_text("{}")
        (folder / "closed" / "data.csv").write_text("1,2\n3,4\n")
        if uid >= 0:
            os.chown(folder / "mine", uid, -1)
        yield folder
    finally:
        shutil.rmtree(folder)


def run(place, *args):
    uid = other_user()
    completed = subprocess.run([sys.executable, "-c", AS_ANOTHER_USER, str(uid), *args],
                               cwd=place, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed


def one_error_line(completed, code=2):
    lines = completed.stderr.splitlines()
    assert completed.returncode == code, completed.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), completed.stderr
    return lines[0]


@pytest.mark.parametrize("option", ["--save", "--metrics", "--plot"])
def test_an_output_in_a_folder_the_user_cannot_write(place, option):
    line = one_error_line(run(place, "train-mnist", option, "theirs/out"))
    assert line == f"Error: theirs/out: cannot write in {place / 'theirs'}: Permission denied"


def test_graph_output_in_a_folder_the_user_cannot_write(place):
    line = one_error_line(run(place, "graph", "x*y", "--at", "x=1,y=2", "--output",
                              "theirs/graph.svg"))
    assert "cannot write in" in line and "Permission denied" in line


@pytest.mark.parametrize("option", ["--save", "--metrics", "--plot"])
def test_an_output_in_a_folder_the_user_cannot_enter(place, option):
    line = one_error_line(run(place, "train-mnist", option, "closed/sub/out"))
    assert "permission denied (a folder on the way cannot be entered)" in line


@pytest.mark.parametrize("option", ["--load", "--resume"])
def test_a_model_in_a_folder_the_user_cannot_enter(place, option):
    line = one_error_line(run(place, "train-mnist", option, "closed/model.json"))
    assert line == "Error: cannot read model closed/model.json: Permission denied"


def test_a_csv_in_a_folder_the_user_cannot_enter(place):
    line = one_error_line(run(place, "fit-line", "--csv", "closed/data.csv"))
    assert line == "Error: cannot read closed/data.csv: Permission denied"


def test_data_in_a_folder_the_user_cannot_enter(place):
    line = one_error_line(run(place, "train-mnist", "--data-dir", "closed"))
    assert "closed" in line and "not readable" in line


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="../shared/mnist is not here")
def test_a_data_file_the_user_cannot_read(place):
    for source in SHARED_MNIST.glob("*.gz"):
        shutil.copy(source, place / "mine" / source.name)
        (place / "mine" / source.name).chmod(0o644)
    (place / "mine" / "t10k-labels-idx1-ubyte.gz").chmod(0o000)
    line = one_error_line(run(place, "train-mnist", "--data-dir", "mine", "--limit", "64"))
    assert "t10k-labels-idx1-ubyte.gz: cannot read: Permission denied" in line


def test_a_file_of_another_user_in_the_user_s_own_folder_is_not_replaced(place):
    """The folder is writable, so a rename could replace the file: cp and > could not."""
    theirs = place / "mine" / "model.json"
    theirs.write_text("precious")
    theirs.chmod(0o644)  # root's file: the user may read it, not write it
    if other_user() < 0:
        theirs.chmod(0o444)  # as another user's file would be to us
    line = one_error_line(run(place, "train-mnist", "--save", "mine/model.json"))
    assert line.startswith("Error: mine/model.json may not be written by this user (mode 644, "
                           "owner uid 0)" if other_user() >= 0 else
                           "Error: mine/model.json is read-only (mode 444)")
    assert theirs.read_text() == "precious" and os.listdir(place / "mine") == ["model.json"]
