"""How every command reports an error: one "Error: ..." line on stderr and an exit status.

Exit statuses, the same in every command: 2 for bad input (a usage error, an unusable file,
an expression or point that cannot be evaluated), 1 when the work itself failed (a fit or
training run diverged, check-grad found disagreeing derivatives, a result could not be
written, to a file or to standard output), 130 when interrupted (Ctrl-C: quietly).
Commands raise scalargrad's own errors (scalargrad.errors) or ``Failure``/``BadInput``;
the command group turns the former into the latter, so no command formats errors itself,
and ``ending`` turns whatever ends a command into its last words and exit status: click's
usage errors are one line too (no "Usage:" and "Try --help" lines before it), a reader of
standard output that went away (a pipe into head) ends the command quietly.
"""
from __future__ import annotations

import errno
import os
import sys
from typing import IO, Any, Optional

import click

from scalargrad.errors import DomainError, InputError, ScalargradError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class Failure(click.ClickException):
    """An error shown as "Error: message" starting a line of its own; exit status 1."""

    exit_code = EXIT_FAILED

    def show(self, file: Optional[IO[Any]] = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True)


class BadInput(Failure):
    """Input that cannot be used; exit status 2, like click's usage errors."""

    exit_code = EXIT_BAD_INPUT


def failure_for(error: ScalargradError) -> Failure:
    """The command-line report of one of scalargrad's errors."""
    bad_input = isinstance(error, (InputError, DomainError))
    message = error.format() if hasattr(error, "format") else str(error)
    return (BadInput if bad_input else Failure)(message)


# Errors writing to standard output or error (a full disk, /dev/full, a closed pipe...).
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EBADF}


def _silence_output() -> None:
    """Send what is left in standard output's buffer (and anything later) to /dev/null,
    so that the interpreter's own flush at exit does not fail again, with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _say(line: str) -> None:
    try:
        click.echo(line, err=True)
    except OSError:
        pass  # standard error cannot be written either: the status says it


def ending(error: BaseException) -> int:
    """Report what ended a command (one line on stderr, or nothing) and give its status."""
    if isinstance(error, click.exceptions.Exit):
        return error.exit_code
    if isinstance(error, click.UsageError) and type(error).__name__ == "NoArgsIsHelpError":
        error.show()  # the help for a bare command: not an error line
        return error.exit_code
    if isinstance(error, click.UsageError):
        _say(f"Error: {error.format_message()}")
        return error.exit_code
    if isinstance(error, click.ClickException):
        error.show()
        return error.exit_code
    if isinstance(error, (KeyboardInterrupt, click.Abort)):
        return EXIT_INTERRUPTED
    if isinstance(error, BrokenPipeError):  # the reader went away: nothing more to say
        _silence_output()
        return EXIT_FAILED
    if isinstance(error, OSError) and error.filename is None and error.errno in _OUTPUT_ERRNOS:
        _silence_output()
        _say(f"Error: cannot write the output: {error.strerror or error}")
        return EXIT_FAILED
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        _say(f"Error: {where}{error.strerror or error}")
        return EXIT_FAILED
    raise error  # anything else is a bug, and its traceback is shown
