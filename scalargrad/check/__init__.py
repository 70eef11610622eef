"""Checking derivatives and speed: finite differences, gradient checks against both modes,
the safe expression language of the command line, and the engine's benchmark.

May import ``scalargrad.core``, ``scalargrad.compile``, ``matrix``, ``optim`` and ``errors``;
never training, pictures or the command line.
"""
