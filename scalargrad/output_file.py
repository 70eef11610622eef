"""Files a run writes: checked before the work starts, written atomically when it ends.

A long run should not find out at the end that it cannot save its result, so
``check_writable`` refuses up front a path that is empty, names a folder, lies in a missing
folder or in one this process cannot reach or create files in, or names a file whose
permissions forbid writing it (mode 0444: refused as ``cp`` and ``>`` refuse it, and by
root too, who could override them). ``check_distinct`` refuses two options that name the
same file (through symlinks, relative paths or hard links), which would make one file
hold two things.

``write_atomically`` writes a temporary file beside the target and renames it into place:
a reader, a crash or a second Ctrl-C finds the old file or the new one, never half of one.
The new file gets the permissions a plain write would give it (an existing file's own, else
0666 less the umask), and a symlink stays a symlink: the file it points to is what gets
replaced. A temporary is named ``.NAME.PID-XXXXXXXX.tmp`` after its target and the
process writing it: a save killed before it could clean up (SIGKILL, a power cut) leaves
one behind, and the next save to the same target removes those whose process is gone.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Collection, Dict, List, Mapping, Optional, Tuple

from .errors import InputError

NAME_MAX = 255  # bytes in a file name, on the file systems Linux uses


def _target(path: str) -> Path:
    """The file that writing ``path`` replaces: symlinks followed, even dangling ones."""
    return Path(os.path.realpath(path))


def _stem(target: Path) -> str:
    """The part of the target's name its temporaries carry: all of it, or as much as
    leaves room for the rest of a temporary's name within NAME_MAX bytes."""
    name = target.name
    while len(os.fsencode(name)) > NAME_MAX - 40:
        name = name[:-1]
    return name


def _temporaries(target: Path) -> "re.Pattern[str]":
    """The names of temporaries for target: the stem, the writer's process id, a token."""
    return re.compile(re.escape(f".{_stem(target)}.") + r"(\d+)-[0-9a-f]{8}\.tmp")


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (another user's counts)."""
    if pid == os.getpid():
        return False  # this process writes one temporary at a time: an old one is a leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid > 0
    return True


def remove_leftovers(target: Path) -> List[Path]:
    """Remove the temporaries that saves to target killed before they finished left
    beside it (their process is gone); the paths removed."""
    pattern = _temporaries(target)
    removed: List[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        found = pattern.fullmatch(entry.name)
        if found and not _alive(int(found.group(1))):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def open_temporary(target: Path) -> Tuple[int, Path]:
    """A new, empty file beside target, opened for writing, named as the module docstring
    says (after removing the leftovers of earlier saves to target).

    Created with mode 0666 so that the kernel applies the umask (tempfile.mkstemp would
    make it 0600, and the rename would carry that mode to the target).
    """
    remove_leftovers(target)
    while True:
        name = f".{_stem(target)}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        temporary = target.with_name(name)
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue


def _status(path: Path, shown: str) -> Optional[os.stat_result]:
    """os.stat of path (None if there is nothing there); InputError, one line, if it
    cannot be looked at: a name too long, a folder on the way that cannot be entered."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise InputError(f"{shown}: the file name is too long (at most {NAME_MAX} bytes "
                             "a name)") from None
        if error.errno == errno.EACCES:
            raise InputError(f"{shown}: cannot reach {path}: permission denied (a folder on "
                             "the way cannot be entered)") from None
        raise InputError(f"{shown}: {error.strerror or error}") from None


def may_write(path: Path, status: os.stat_result) -> bool:
    """Whether the file at path (with this status) may be written by this process, as cp
    and > decide; root, whom permissions do not stop, is held to the mode's write bits."""
    if os.geteuid() == 0:
        return bool(status.st_mode & 0o222)
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _read_only(path: str, status: os.stat_result) -> str:
    mode = stat.S_IMODE(status.st_mode)
    what = (f"is read-only (mode {mode:o})" if not mode & 0o222 else
            f"may not be written by this user (mode {mode:o}, owner uid {status.st_uid})")
    return (f"{path} {what}: it is not replaced, as cp and > would not write it; make it "
            "writable or choose another file")


def check_writable(path: str) -> None:
    """InputError (one line) unless a file can be written at ``path``.

    Proves it by creating and removing a temporary file in the folder, the same operation
    write_atomically starts with, so read-only file systems and permissions are caught.
    """
    if not path.strip():
        raise InputError("the output path is empty")
    if "\0" in path:
        raise InputError(f"{path!r}: a path cannot hold a NUL character")
    if path.endswith(("/", os.sep)):
        raise InputError(f"{path} names a folder, not a file")
    target = _target(path)
    if len(os.fsencode(target.name)) > NAME_MAX:
        raise InputError(f"{path}: the file name is too long ({len(os.fsencode(target.name))} "
                         f"bytes; at most {NAME_MAX} bytes a name)")
    status = _status(target, path)
    if status is not None:
        if stat.S_ISDIR(status.st_mode):
            raise InputError(f"{path} is a folder, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise InputError(f"{path} is not a regular file (a device or a pipe is not "
                             "replaced)")
        if not may_write(target, status):
            raise InputError(_read_only(path, status))
    folder = target.parent
    folder_status = _status(folder, path)
    if folder_status is None:
        raise InputError(f"{path}: the folder {folder} does not exist")
    if not stat.S_ISDIR(folder_status.st_mode):
        raise InputError(f"{path}: {folder} is not a folder")
    try:
        handle, temporary = open_temporary(target)
    except OSError as error:
        raise InputError(f"{path}: cannot write in {folder}: "
                         f"{error.strerror or error}") from None
    os.close(handle)
    temporary.unlink()


def write_atomically(path: str, text: str) -> None:
    """Replace the file at ``path`` (or create it) with ``text``, atomically.

    OSError if it cannot be written, if path is a folder, device or pipe (which a rename
    would replace), or a file whose permissions forbid writing it; the previous file is
    then left untouched and no temporary file remains (also when interrupted by
    KeyboardInterrupt).
    """
    target = _target(path)
    if target.exists() and not target.is_file():
        raise OSError(f"{path} is not a regular file")
    if target.exists() and not may_write(target, target.stat()):
        raise PermissionError(errno.EACCES, "the file is read-only", path)
    handle, temporary = open_temporary(target)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            if target.exists():
                os.fchmod(out.fileno(), stat.S_IMODE(target.stat().st_mode))
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _identity(path: str) -> Tuple[str, Optional[Tuple[int, int]]]:
    """What makes a path the file it is: its resolved path, and (device, inode) if the
    file exists."""
    resolved = os.path.realpath(path)
    try:
        status = os.stat(resolved)
    except (OSError, ValueError):
        return resolved, None
    return resolved, (status.st_dev, status.st_ino)


def check_distinct(paths: Mapping[str, Optional[str]],
                   may_share: Collection[Collection[str]] = ()) -> None:
    """InputError unless the paths (by the option that gives each; None for an option not
    given) name different files: compared after resolving symlinks and relative parts,
    and by inode for files that exist (hard links). Pairs in may_share may name one file
    (a model read at the start and saved, atomically, at the end)."""
    allowed = {frozenset(pair) for pair in may_share}
    seen: Dict[str, Tuple[str, Tuple[str, Optional[Tuple[int, int]]]]] = {}
    for option, path in paths.items():
        if path is None or not path.strip() or "\0" in path:
            continue  # an empty or impossible path is reported by whoever opens it
        identity = _identity(path)
        for other, (other_path, other_identity) in seen.items():
            same_path = identity[0] == other_identity[0]
            same_inode = identity[1] is not None and identity[1] == other_identity[1]
            if (same_path or same_inode) and frozenset((option, other)) not in allowed:
                how = (f"{path}" if path == other_path else
                       f"{other_path} and {path} are one file" if same_path else
                       f"{other_path} and {path} are hard links to one file")
                raise InputError(f"{other} and {option} name the same file ({how}): give "
                                 "each its own file")
        seen[option] = (path, identity)
