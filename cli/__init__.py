"""The scalargrad command line: a thin click layer over the library (installed as scalargrad_cli).

``main`` is the ``scalargrad`` command. It imports the command line (click, rich and
scalargrad; a command's own module, numpy among them, when click looks the command up) only
once it runs, inside a guard that lasts until the command line's own handling of endings
begins: a Ctrl-C meanwhile ends the command quietly with status 130, like a Ctrl-C at any
later moment, instead of showing where the import was (cli/interrupt.py sees that no
Ctrl-C is lost meanwhile). This module imports nothing else.
"""
import sys

EXIT_INTERRUPTED = 130


def main() -> None:
    """Run the scalargrad command line (the console script's entry point)."""
    try:
        from . import interrupt
        interrupt.install()
        from .main import cli
        cli(prog_name="scalargrad")  # (a Ctrl-C before its own handling begins: here)
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
