"""What the recording engine answers to each question a compiled function is asked.

The truth that tests of ``scalargrad.compile`` compare against, computed without the
compiler: the function runs on fresh Scalars and ``reverse_autodiff`` sweeps its graph.

- ``value``, ``value_and_grad``, ``jacobian``: one sweep per output, as ``jacobian(...,
  mode="reverse")`` does; the compiler promises the same floats in the same order, so these
  are compared bit for bit (``same``).
- ``vjp_into``: the gradient of ``dot(seed, outputs)`` added to the buffers, swept once. The
  sweep is made to meet each buffer's old value first (a dot node with the buffers as its
  partials, recorded last, so swept first) and each output's seeds in output order: the
  order in which the compiled code adds into the buffers, so this too is exact.
- ``vjp_batch``: vjp_into example by example, the buffers touched only if every example
  succeeds. The compiled batch adds a dot's contributions for the whole batch at the end,
  a documented change of order, so its gradients are compared to within a bound on
  rounding (``rounding_bound``), its outputs exactly.

An error is the exception's type and message (``Raised``); anything the function raises
is the answer, as the recording engine gives it.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

import scalargrad as sg
from scalargrad import Scalar, reverse_autodiff
from scalargrad.core.autodiff import ancestors, release
from scalargrad.core.scalar import edges

# Before Python 3.12 sum() of floats adds left to right, as the recording engine's chains of
# additions do; from 3.12 on it compensates, so a compiled sum of products may round
# differently (tests/test_compiler.py::_same says the same).
EXACT_SUM = sys.version_info < (3, 12)


class Raised:
    """An exception as an answer: its type and message."""

    def __init__(self, error: BaseException) -> None:
        self.type = type(error)
        self.message = str(error)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Raised) and (self.type, self.message) == (other.type, other.message)

    def __repr__(self) -> str:
        return f"{self.type.__name__}({self.message!r})"


def attempt(thunk: Callable[[], Any]) -> Any:
    """thunk's result, or Raised for the exception it raises (never BaseExceptions such as
    KeyboardInterrupt)."""
    try:
        return thunk()
    except Exception as error:  # noqa: BLE001 - any exception is an answer to compare
        return Raised(error)


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def positions(argnums: Optional[Sequence[int]], count: int) -> List[int]:
    """The differentiated positions, in argnums' order; negative ones counted from the end,
    as Python indexes (and scalargrad.value_and_grad) do."""
    if argnums is None:
        return list(range(count))
    return [p + count if p < 0 else p for p in argnums]


def leaves(args: Sequence[Any]) -> List[Any]:
    """Fresh Scalars for the arguments: one per number, a list of them per list."""
    return [[Scalar(v) for v in a] if isinstance(a, (list, tuple)) else Scalar(a) for a in args]


def _outputs(result: Any) -> Tuple[List[Any], bool]:
    single = not isinstance(result, (list, tuple))
    return ([result] if single else list(result)), single


def _value(out: Any) -> float:
    return out.value if out.__class__ is Scalar else float(out)


def _flat(inputs: List[Any], wanted: List[int]) -> List[Scalar]:
    return [x for i in wanted for x in (inputs[i] if isinstance(inputs[i], list) else [inputs[i]])]


def _shaped(row: Sequence[float], inputs: List[Any], wanted: List[int]) -> List[Any]:
    """A flat row of derivatives as one entry per differentiated argument (a list for a list)."""
    shaped: List[Any] = []
    start = 0
    for i in wanted:
        size = len(inputs[i]) if isinstance(inputs[i], list) else 1
        shaped.append(list(row[start:start + size]) if isinstance(inputs[i], list) else row[start])
        start += size
    return shaped


def value(f: Callable, args: Sequence[Any]) -> Any:
    """f's value: a float, or a list of floats for a function returning a list."""
    def run() -> Any:
        outs, single = _outputs(f(*leaves(args)))
        values = [_value(out) for out in outs]
        return values[0] if single else values
    return attempt(run)


def value_and_grad(f: Callable, args: Sequence[Any], argnums: Optional[Sequence[int]] = None) -> Any:
    """(value, [derivative per differentiated argument]) of a function of one output."""
    def run() -> Any:
        inputs = leaves(args)
        outs, _ = _outputs(f(*inputs))
        if len(outs) != 1:
            raise TypeError("value_and_grad: the function returns several values; use jacobian")
        wanted = positions(argnums, len(args))
        row = reverse_autodiff(outs[0], _flat(inputs, wanted))
        return _value(outs[0]), _shaped(row, inputs, wanted)
    return attempt(run)


def jacobian(f: Callable, args: Sequence[Any], argnums: Optional[Sequence[int]] = None) -> Any:
    """One row per output: the derivative per differentiated argument."""
    def run() -> Any:
        inputs = leaves(args)
        outs, _ = _outputs(f(*inputs))
        wanted = positions(argnums, len(args))
        flat = _flat(inputs, wanted)
        return [_shaped(reverse_autodiff(out, flat), inputs, wanted) for out in outs]
    return attempt(run)


def _seeded(f: Callable, args: Sequence[Any], argnums: Optional[Sequence[int]], seed: Sequence[float],
            buffers: Sequence[Sequence[float]]) -> Tuple[List[float], List[List[float]], Scalar,
                                                        List[Scalar]]:
    """Run f and record dot(buffers, list leaves) + dot(seed, outputs) as one node; returns
    (output values, the new buffers, that node, the differentiated list leaves flat)."""
    inputs = leaves(args)
    outs, _ = _outputs(f(*inputs))
    lists = [i for i in positions(argnums, len(args)) if isinstance(inputs[i], list)]
    if len(buffers) != len(lists):
        raise ValueError(f"{len(lists)} buffers wanted, {len(buffers)} given")
    flat = [x for i in lists for x in inputs[i]]
    old = [b for buffer in buffers for b in buffer]
    pairs = [(float(b), x) for b, x in zip(old, flat)]
    pairs += [(float(s), out) for s, out in zip(seed, outs) if out.__class__ is Scalar]
    total = sg.dot([p[0] for p in pairs], [p[1] for p in pairs]) if pairs else 0.0
    row = reverse_autodiff(total, flat) if flat else []
    new, start = [], 0
    for i in lists:
        new.append(row[start:start + len(inputs[i])])
        start += len(inputs[i])
    return [_value(out) for out in outs], new, total, flat


def vjp_into(f: Callable, buffers: Sequence[Sequence[float]], seed: Sequence[float], args: Sequence[Any],
             argnums: Optional[Sequence[int]] = None) -> Any:
    """(f's outputs as a list, the buffers after adding the seeded gradient)."""
    return attempt(lambda: _seeded(f, args, argnums, seed, buffers)[:2])


def vjp_batch(f: Callable, buffers: Sequence[Sequence[float]], seed: Sequence[float],
              shared: Sequence[Any], examples: Sequence[Sequence[Any]],
              argnums: Optional[Sequence[int]] = None) -> Any:
    """(each example's outputs, the buffers after every example's seeded gradient, each
    cell's rounding_bound); Raised, and the buffers as they were, if any example fails."""
    def run() -> Any:
        outputs, current = [], [list(b) for b in buffers]
        sizes = [[abs(float(v)) for v in b] for b in buffers]
        operations = 0
        for example in examples:
            outs, current, total, flat = _seeded(f, [*shared, *example], argnums, seed, current)
            outputs.append(outs)
            more, count = _absolute_adjoints(total, flat)
            operations += count
            cells = iter(more)
            sizes = [[s + next(cells) for s in cell] for cell in sizes]
        return outputs, current, [[rounding_bound(s, operations) for s in cell] for cell in sizes]
    return attempt(run)


def _absolute_adjoints(total: Any, flat: List[Scalar]) -> Tuple[List[float], int]:
    """For each leaf in flat, the sum over the graph's paths from total of the product of the
    partials' absolute values (what any order of the sweep's additions rounds against), and
    the number of nodes swept."""
    if total.__class__ is not Scalar:
        return [0.0] * len(flat), 0
    nodes, found = ancestors([total])
    release(nodes, found)
    size = {id(total): 1.0}
    for node in reversed(nodes):
        g = size.get(id(node), 0.0)
        if g:
            for parent, d in zip(*edges(node)):
                size[id(parent)] = size.get(id(parent), 0.0) + g * abs(d)
    return [size.get(id(x), 0.0) for x in flat], len(nodes)


def rounding_bound(sizes: float, operations: int) -> float:
    """How far two orders of the same additions can be apart: operations roundings of at most
    half an ulp of the largest size each, and a little for subnormals."""
    return 4.0 * (operations + 8) * sys.float_info.epsilon * sizes + 1e-300


def same(got: Any, want: Any) -> bool:
    """Equal as the compiler promises: the same float (NaN equal to NaN, 0.0 to -0.0), a
    float where the recording engine gives one (never an int or a Scalar), the same
    structure, the same exception type and message."""
    if isinstance(want, Raised) or isinstance(got, Raised):
        return isinstance(got, Raised) and got == want
    if isinstance(want, float):
        if type(got) is not float:
            return False
        return got == want or (math.isnan(got) and math.isnan(want)) or (
            not EXACT_SUM and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-300))
    if isinstance(want, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    return bool(got == want)


def close(got: Any, want: Any, bound: Any) -> bool:
    """Equal to within bound (a like-shaped structure of rounding_bound sizes): for
    gradients whose additions the compiler may do in another order."""
    if isinstance(want, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(want)
                and all(close(g, w, b) for g, w, b in zip(got, want, bound)))
    if type(got) is not float:
        return False
    if got == want or (math.isnan(got) and math.isnan(want)):
        return True
    if not math.isfinite(bound):  # an infinite size: any order may overflow or not
        return True
    return abs(got - want) <= bound
