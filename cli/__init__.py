"""The scalargrad command line: a thin click layer over the library (installed as scalargrad_cli)."""
