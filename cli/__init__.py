"""The scalargrad command line: a thin click layer over the library (installed as scalargrad_cli).

``main`` is the ``scalargrad`` command. It imports the command line (click, rich, numpy and
scalargrad: most of a second) only once it runs, inside a guard: a Ctrl-C while that
happens ends the command quietly with status 130, like a Ctrl-C at any later moment,
instead of showing where the import was (cli/interrupt.py sees that no Ctrl-C is lost
meanwhile). This module imports nothing else.
"""
import sys

EXIT_INTERRUPTED = 130


def main() -> None:
    """Run the scalargrad command line (the console script's entry point)."""
    try:
        from . import interrupt
        interrupt.install()
        from .main import cli
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
    cli(prog_name="scalargrad")
