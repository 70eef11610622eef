"""scalargrad.compile: trace a function once, then run it as straight-line Python on floats.

The package, in the order a call goes through it (it imports scalargrad's engine, never the
other way round):

- trace.py: run the function on Scalars once and write what it recorded as a Form;
- form.py: the intermediate form (equations, guards, outputs, the reverse sweep), printable;
- passes.py: Form -> Form: dead code, fused sums of products, slices, the reverse sweep,
  tuples made once;
- emit.py: the Python source, written once from the form, and run;
- batch.py: vjp_batch over a batch of examples, skipping data's zeros;
- watch.py: where the function finds the Scalars it reads from outside its arguments, so
  that a call after one is rebound traces again;
- compiled.py: the Compiled object: calls, variants, the recording engine's answers.

``scalargrad.compile`` is the function ``compile`` below (scalargrad's ``__init__`` binds
it); this package is reached by its submodules' names, ``from scalargrad.compile.form import
Form``.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from .compiled import MAX_VARIANTS, Compiled
from .emit import Retrace

__all__ = ["compile", "Compiled", "Retrace", "MAX_VARIANTS"]


def compile(function: Callable, argnums: Optional[Sequence[int]] = None) -> Compiled:  # noqa: A001
    """f compiled: traced on its first call, then run as generated straight-line Python.

    The first call of each argument structure runs f on Scalars (tracing) and writes what it
    recorded as Python: one local per operation, each rule's formula, then the reverse
    sweep's statements in the recording engine's order. Later calls run that code on floats:
    ``cf(*args)`` gives f's value, ``cf.value_and_grad(*args)`` the value and gradient,
    ``cf.jacobian``, ``cf.vjp_into`` and ``cf.vjp_batch`` the rest; ``cf.source`` shows the
    code and ``cf.ir`` the intermediate form it is written from.

    - Arguments are numbers or flat lists of numbers (ints are taken as floats, results are
      floats; bools and anything else are refused with a TypeError). A list of another
      length is another structure: traced again. ``argnums`` chooses the arguments that
      derivatives are taken with respect to (all by default; negative positions count from
      the end, as Python's indexes do; one out of range is a ValueError).
    - Guards. A decision f takes on a value while traced -- a comparison (``if x > 0``),
      ``bool``, ``int``, ``float`` or ``round`` of a Scalar, a read of its ``.value``,
      ``value_of``, ``format`` or ``repr`` -- becomes a guard: a test in the code, on values
      computed on every call, that the decision comes out the same. A call whose guards fail
      is traced again and the new variant kept, up to MAX_VARIANTS per structure; after
      that f runs on the recording engine (with a warning, once). Kinks that are primitives
      (relu, abs, maximum, minimum) are conditional expressions in their rules, not guards.
    - Plain numbers f reads from outside its arguments (a global float, a closed-over list
      of floats) are constants of the code, as in any tracing compiler: pass what changes
      as an argument, or as a Scalar. Scalars f reads from outside its arguments
      (parameters) are read at each call, so an optimizer updating them in place is seen;
      one that is rebound (a new Scalar in the closed-over name, the global, or the list
      item where f found it) makes the next call trace again.
    - Same answers as the recording engine: the same formulas on the same floats in the
      same order. Where the code meets an error, the call runs again on the recording
      engine, which raises it with its message; an operation whose result f drops is still
      computed, so its error is not lost. ``value_and_grad`` and the other derivatives take
      numbers: given Scalars they refuse with a TypeError (``cf(*scalars)`` records f, to
      be differentiated as part of a larger graph).
    - A compiled function holds generated code and cannot be pickled or copied (TypeError).
    """
    return Compiled(function, argnums)
