"""Fitting a line y = slope*x + intercept by gradient descent, and the story of a fit (the
moments worth drawing).

May import ``scalargrad.core``, ``matrix``, ``optim``, ``series`` and ``errors``.
"""
