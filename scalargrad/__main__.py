"""python -m scalargrad: the scalargrad command line (the library itself never imports it)."""
# scalargrad_cli is the cli/ folder, installed under that name (setup.cfg's package_dir)
# through an import hook mypy does not follow; mypy checks the same files as cli.
from scalargrad_cli import main  # type: ignore[import-not-found]

main()
