"""Output files: refused before any work when they cannot be written; written atomically."""
import os
import signal
import stat
import subprocess
import sys

import pytest

from scalargrad import output_file
from scalargrad.errors import InputError
from scalargrad.output_file import check_writable, write_atomically


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_a_writable_path_passes_and_leaves_nothing_behind(tmp_path):
    check_writable(str(tmp_path / "model.json"))
    (tmp_path / "old.json").write_text("old")
    check_writable(str(tmp_path / "old.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]
    assert (tmp_path / "old.json").read_text() == "old"


@pytest.mark.parametrize("name, problem", [
    ("", "empty"),
    ("missing/model.json", "does not exist"),
    ("a-file/model.json", "is not a folder"),
    ("folder", "is a folder"),
    ("folder-link", "is a folder"),
    ("new-folder/", "names a folder"),
])
def test_unusable_paths_are_refused_with_one_line(tmp_path, monkeypatch, name, problem):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder-link").symlink_to(tmp_path / "folder")
    with pytest.raises(InputError, match=problem) as raised:
        check_writable(name)
    assert "\n" not in str(raised.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to read-only folders")
def test_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(InputError, match="cannot write"):
        check_writable(str(locked / "model.json"))


@pytest.mark.skipif(not os.path.isdir("/sys/kernel"), reason="needs Linux sysfs")
def test_a_folder_even_root_cannot_write_to_is_refused():
    with pytest.raises(InputError, match="cannot write"):
        check_writable("/sys/kernel/scalargrad-model.json")


def test_a_new_file_gets_the_permissions_the_umask_allows(tmp_path, umask_027):
    target = tmp_path / "model.json"
    write_atomically(str(target), "{}")
    assert target.read_text() == "{}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_an_existing_file_keeps_its_permissions(tmp_path, umask_027):
    target = tmp_path / "model.json"
    target.write_text("old")
    target.chmod(0o604)
    write_atomically(str(target), "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o604


@pytest.mark.parametrize("existing", [True, False])
def test_writing_through_a_symlink_writes_its_target(tmp_path, existing):
    real = tmp_path / "elsewhere" / "model.json"
    real.parent.mkdir()
    if existing:
        real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    check_writable(str(link))
    write_atomically(str(link), "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert sorted(p.name for p in real.parent.iterdir()) == ["model.json"]


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_whole_and_no_temporary(tmp_path, monkeypatch, failure):
    target = tmp_path / "model.json"
    target.write_text("precious")

    def fail(fd):
        raise failure
    monkeypatch.setattr(output_file.os, "fsync", fail)
    with pytest.raises(type(failure)):
        write_atomically(str(target), "x" * 100_000)
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_something_other_than_a_regular_file_is_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        check_writable(str(fifo))
    with pytest.raises(OSError):
        write_atomically(str(fifo), "{}")
    assert stat.S_ISFIFO(fifo.stat().st_mode) and [p.name for p in tmp_path.iterdir()] == ["pipe"]


# ---------------------------------------------------------------- issue 17: items 8, 10, 13

ALIASES = ["same", "relative", "symlink", "hardlink", "symlinked folder"]


def alias(tmp_path, mode):
    """A path naming tmp_path/a/file.txt (which exists) another way."""
    (tmp_path / "a").mkdir(exist_ok=True)
    original = tmp_path / "a" / "file.txt"
    original.write_text("precious")
    other = {"same": lambda: str(original),
             "relative": lambda: os.path.relpath(original),
             "symlink": lambda: (tmp_path / "link.txt").symlink_to(original) or "link.txt",
             "hardlink": lambda: os.link(original, tmp_path / "hard.txt") or "hard.txt",
             "symlinked folder": lambda: (tmp_path / "b").symlink_to(tmp_path / "a")
             or os.path.join("b", ".", "..", "b", "file.txt")}[mode]()
    return str(original), other


@pytest.mark.parametrize("mode", ALIASES)
def test_two_options_naming_one_file_are_refused(tmp_path, monkeypatch, mode):
    monkeypatch.chdir(tmp_path)
    first, second = alias(tmp_path, mode)
    with pytest.raises(InputError, match="--save and --plot name the same file") as raised:
        output_file.check_distinct({"--save": first, "--metrics": None, "--plot": second})
    assert "\n" not in str(raised.value)
    output_file.check_distinct({"--save": first, "--load": second}, may_share=[("--load", "--save")])


def test_different_files_and_missing_ones_are_distinct(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one").write_text("1")
    (tmp_path / "two").write_text("1")
    output_file.check_distinct({"--a": "one", "--b": "two", "--c": "new", "--d": None,
                                "--e": "", "--f": "missing/new"})
    with pytest.raises(InputError, match="--c and --d name the same file"):
        output_file.check_distinct({"--c": "new", "--d": "./new"})  # neither exists yet


def test_a_read_only_file_is_refused_and_kept(tmp_path):
    """As cp and > refuse it; root, whom the mode does not stop, is held to it too (a
    non-root user is tested in test_permissions.py)."""
    target = tmp_path / "model.json"
    target.write_text("precious")
    target.chmod(0o444)
    with pytest.raises(InputError, match="model.json is read-only \\(mode 444\\)"):
        check_writable(str(target))
    with pytest.raises(PermissionError, match="read-only"):
        write_atomically(str(target), "new")
    assert target.read_text() == "precious" and os.listdir(tmp_path) == ["model.json"]
    target.chmod(0o644)
    write_atomically(str(target), "new")
    assert target.read_text() == "new"


def test_a_file_name_too_long_is_one_line(tmp_path):
    with pytest.raises(InputError, match="the file name is too long"):
        check_writable(str(tmp_path / ("x" * 300 + ".svg")))
    longest = "y" * 255  # a name the file system takes: its temporaries must fit too
    check_writable(str(tmp_path / longest))
    write_atomically(str(tmp_path / longest), "ok")
    assert (tmp_path / longest).read_text() == "ok" and os.listdir(tmp_path) == [longest]


def test_a_nul_in_a_path_is_one_line(tmp_path):
    with pytest.raises(InputError, match="NUL"):
        check_writable(str(tmp_path / "a\0b"))


def leftover(tmp_path, target, pid):
    """The temporary a save of target by process pid would have left if killed."""
    path = tmp_path / f".{target}.{pid}-0123abcd.tmp"
    path.write_text("half a model")
    return path


def dead_pid():
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_save_removes_leftovers_of_killed_saves_only(tmp_path):
    dead = leftover(tmp_path, "model.json", dead_pid())
    mine = leftover(tmp_path, "model.json", os.getpid())  # an earlier save, this same pid
    alive = leftover(tmp_path, "model.json", os.getppid())  # another save, still running
    other = leftover(tmp_path, "other.json", dead_pid())  # another target's
    stranger = tmp_path / ".model.json.notes.tmp"  # not a temporary of ours
    stranger.write_text("keep")
    write_atomically(str(tmp_path / "model.json"), "saved")
    assert not dead.exists() and not mine.exists()
    assert alive.exists() and other.exists() and stranger.exists()
    assert (tmp_path / "model.json").read_text() == "saved"


SAVE_THEN_HANG = """
import os, sys, time
from scalargrad import output_file
real_fsync = os.fsync
def fsync(fd):  # the new file is written: say so, then wait to be killed
    real_fsync(fd)
    print("written", flush=True)
    time.sleep(60)
os.fsync = fsync
output_file.write_atomically(sys.argv[1], "the new model")
"""


def test_a_save_killed_by_sigkill_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("the old model")
    saving = subprocess.Popen([sys.executable, "-c", SAVE_THEN_HANG, str(target)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert saving.stdout.readline() == "written\n"
    finally:
        saving.kill()
        saving.wait()
    assert saving.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "model.json"]
    assert leftovers == [f".model.json.{saving.pid}-{leftovers[0][-12:-4]}.tmp"]
    assert target.read_text() == "the old model"
    write_atomically(str(target), "saved again")
    assert os.listdir(tmp_path) == ["model.json"] and target.read_text() == "saved again"
