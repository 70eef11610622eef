"""python -m scalargrad_cli: the same as the scalargrad command."""
from .main import cli

cli(prog_name="scalargrad")
