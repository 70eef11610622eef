"""python -m scalargrad: the scalargrad command line (the library itself never imports it)."""
from scalargrad_cli.main import cli

cli(prog_name="scalargrad")
