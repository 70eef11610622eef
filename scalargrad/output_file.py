"""Files a run writes: checked before the work starts, written atomically when it ends.

A long run should not find out at the end that it cannot save its result, so
``check_writable`` refuses up front a path that is empty, names a folder, lies in a missing
folder or in one this process cannot create files in. ``write_atomically`` writes a
temporary file beside the target and renames it into place: a reader, a crash or a second
Ctrl-C finds the old file or the new one, never half of one. The new file gets the
permissions a plain write would give it (an existing file's own, else 0666 less the umask),
and a symlink stays a symlink: the file it points to is what gets replaced.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Tuple

from .errors import InputError


def _target(path: str) -> Path:
    """The file that writing ``path`` replaces: symlinks followed, even dangling ones."""
    return Path(os.path.realpath(path))


def _create_temporary(target: Path) -> Tuple[int, Path]:
    """A new, empty file beside target, opened for writing.

    Created with mode 0666 so that the kernel applies the umask (tempfile.mkstemp would
    make it 0600, and the rename would carry that mode to the target).
    """
    while True:
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temporary
        except FileExistsError:
            continue


def check_writable(path: str) -> None:
    """InputError (one line) unless a file can be written at ``path``.

    Proves it by creating and removing a temporary file in the folder, the same operation
    write_atomically starts with, so read-only file systems and permissions are caught.
    """
    if not path.strip():
        raise InputError("the output path is empty")
    if path.endswith(("/", os.sep)):
        raise InputError(f"{path} names a folder, not a file")
    target = _target(path)
    if target.is_dir():
        raise InputError(f"{path} is a folder, not a file")
    if target.exists() and not target.is_file():
        raise InputError(f"{path} is not a regular file (a device or a pipe is not replaced)")
    folder = target.parent
    if not folder.exists():
        raise InputError(f"{path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise InputError(f"{path}: {folder} is not a folder")
    try:
        handle, temporary = _create_temporary(target)
    except OSError as error:
        raise InputError(f"{path}: cannot write in {folder}: "
                         f"{error.strerror or error}") from None
    os.close(handle)
    temporary.unlink()


def write_atomically(path: str, text: str) -> None:
    """Replace the file at ``path`` (or create it) with ``text``, atomically.

    OSError if it cannot be written, or if path is a folder, device or pipe (which a rename
    would replace); the previous file is then left untouched and no temporary file
    remains (also when interrupted by KeyboardInterrupt).
    """
    target = _target(path)
    if target.exists() and not target.is_file():
        raise OSError(f"{path} is not a regular file")
    handle, temporary = _create_temporary(target)
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
