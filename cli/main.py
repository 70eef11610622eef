"""The `scalargrad` command group; each subcommand lives in its own module."""
import importlib
import sys
from typing import Any, List, Optional, Sequence

import click

from scalargrad import __version__
from scalargrad.errors import ScalargradError

from .errors import ending, failure_for

# Each command's module (and the command in it), imported when that command is looked up:
# importing every command at every start took 50 ms.
COMMANDS = {"bench": ("bench", "bench"), "check-grad": ("check_grad", "check_grad"),
            "explain": ("explain", "explain"), "fit-line": ("fit_line", "fit_line"),
            "graph": ("graph", "graph_command"), "trace": ("trace", "trace"),
            "train-mnist": ("train_mnist", "train_mnist")}


class _Commands(click.Group):
    """A command group that reports errors the same way in every command (cli/errors.py),
    and imports a command's module only when that command is wanted (COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name not in COMMANDS:
            return None
        module, command = COMMANDS[name]
        return getattr(importlib.import_module(f".{module}", __package__), command)

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
