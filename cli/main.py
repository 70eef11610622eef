"""The `scalargrad` command group; each subcommand lives in its own module."""
import click

from scalargrad import __version__

from .bench import bench
from .check_grad import check_grad
from .fit_line import fit_line
from .train_mnist import train_mnist


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scalargrad")
def cli() -> None:
    """Scalar-level automatic differentiation: check derivatives, fit a line, train on MNIST."""


cli.add_command(bench)
cli.add_command(fit_line)
cli.add_command(check_grad)
cli.add_command(train_mnist)
