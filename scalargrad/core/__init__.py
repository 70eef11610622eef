"""The engine: the Scalar node, the table of differentiation rules, recording, the tape, the
reverse and forward sweeps, the functional transforms (grad, hessian, ...) and pickling.

Everything else in scalargrad is built on this package; it imports nothing of scalargrad's
but ``scalargrad.errors``. Importing it registers, through ``copyreg``, how a Scalar pickles
and copies (pickling.py).
"""
from . import pickling  # noqa: F401  (registers pickling and copying of Scalars)
