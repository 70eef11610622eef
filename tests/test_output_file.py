"""Output files: refused before any work when they cannot be written; written atomically."""
import os
import stat

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
