"""The `scalargrad` command group; each subcommand lives in its own module."""
from typing import Any

import click

from scalargrad import __version__
from scalargrad.errors import ScalargradError

from .bench import bench
from .check_grad import check_grad
from .errors import failure_for
from .explain import explain
from .fit_line import fit_line
from .graph import graph_command
from .trace import trace
from .train_mnist import train_mnist


class _Commands(click.Group):
    """A command group that reports scalargrad's errors the same way in every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScalargradError as error:
            raise failure_for(error) from None


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
