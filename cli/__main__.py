"""python -m scalargrad_cli: the same as the scalargrad command."""
from . import main

main()
