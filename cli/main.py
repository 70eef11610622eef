"""The `scalargrad` command group; each subcommand lives in its own module."""
import sys
from typing import Any, Optional, Sequence

import click

from scalargrad import __version__
from scalargrad.errors import ScalargradError

from .bench import bench
from .check_grad import check_grad
from .errors import ending, failure_for
from .explain import explain
from .fit_line import fit_line
from .graph import graph_command
from .trace import trace
from .train_mnist import train_mnist


class _Commands(click.Group):
    """A command group that reports errors the same way in every command (cli/errors.py)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScalargradError as error:
            raise failure_for(error) from None

    def main(self, args: Optional[Sequence[str]] = None, prog_name: Optional[str] = None,
             complete_var: Optional[str] = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        """As click's, but every ending is reported by cli.errors.ending (click's own
        handling prints usage lines before an option's error, "Aborted!" for Ctrl-C, and a
        traceback for a full disk)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
            sys.stdout.flush()  # here, where a failure can still be reported
            code = result if type(result) is int else 0
        except BaseException as error:  # every ending; ending() re-raises what is a bug
            code = ending(error)
        sys.exit(code)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scalargrad")
def cli() -> None:
    """Scalar-level automatic differentiation: check derivatives, fit a line, train on MNIST."""


cli.add_command(bench)
cli.add_command(fit_line)
cli.add_command(check_grad)
cli.add_command(train_mnist)
cli.add_command(graph_command)
cli.add_command(explain)
cli.add_command(trace)
