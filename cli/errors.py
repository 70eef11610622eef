"""How every command reports an error: one "Error: ..." line on stderr and an exit status.

Exit statuses, the same in every command: 2 for bad input (a usage error, an unusable file,
an expression or point that cannot be evaluated), 1 when the work itself failed (a fit or
training run diverged, check-grad found disagreeing derivatives), 130 when interrupted.
Commands raise scalargrad's own errors (scalargrad.errors) or ``Failure``/``BadInput``;
the command group turns the former into the latter, so no command formats errors itself.
"""
from __future__ import annotations

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
