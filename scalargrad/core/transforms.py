"""Derivatives as functions: grad, value_and_grad, jvp, vjp, and the Hessian.

``grad(f)`` is a function computing f's derivative with respect to fresh variables made for
the arguments it differentiates (a new leaf for a number, a new node for a Scalar), so each
call differentiates with respect to its own variables only: no perturbation confusion.

What it returns depends on what the result depends on, not on how deeply calls are nested
(this is what JAX and autograd use trace levels for): a derivative that depends only on the
call's own variables is returned as a float; one that depends on any other Scalar (one the
function closes over, a parameter, an argument that was itself a Scalar) is returned as a
recorded Scalar, so that it can be differentiated with respect to that Scalar. Hence
``grad(grad(f))(x)`` is the second derivative, and d/dx [x * d/dy (x*y)] = 2x.

The variables of a call that has returned are constants from then on: an outer call whose
result depends on them (d/dx of d/dz x*z*z at z = 2 is 2z, recorded with the inner call's
z in it) still returns a float when nothing else is involved. Each thread keeps its own
record of the calls in progress.

``jvp`` and ``vjp`` follow JAX's signatures and the same rule: their results are floats
where they depend on the call's own variables only, recorded Scalars otherwise, so that they
compose with grad (a jvp of a grad is a Hessian-vector product).

A position may be named once in ``argnums``: a repeated one (``(0, 0)``, or ``(0, -2)`` for
two arguments) is a ValueError, as in torch.func. (JAX silently gives the derivative to the
last repetition and 0 to the others, which is a wrong answer for the first.)
"""
from __future__ import annotations

import numbers
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Sequence, Tuple, Union

from .autodiff import ancestors, directional, jacobian, release, reverse_autodiff
from .functions import dot
from .scalar import Scalar


class _Calls(threading.local):
    """This thread's grad calls in progress, and the variables of nested calls that have
    returned while an outer one is still running (kept alive, so their ids stay theirs;
    forgotten when the outermost call returns)."""

    def __init__(self) -> None:
        self.depth = 0
        self.finished: List[Scalar] = []


_calls = _Calls()


def _fresh(arg: Any) -> Scalar:
    """A new variable with arg's value, still depending on arg when arg is a Scalar."""
    return arg + 0.0 if arg.__class__ is Scalar else Scalar(arg)


def _only_on(result: Any, variables: List[Scalar]) -> bool:
    """True if result is a number, or a Scalar whose leaves are all among variables or the
    variables of calls that have returned (constants now)."""
    if result.__class__ is not Scalar:
        return True
    own = {id(v) for v in variables} | {id(v) for v in _calls.finished}
    nodes, leaves = ancestors([result])
    release(nodes, leaves)
    return all(id(leaf) in own for leaf in leaves)


@contextmanager
def _own_call(variables: List[Scalar]) -> Iterator[None]:
    """A call in progress, with its own variables: constants once it has returned, while an
    outer call still runs."""
    _calls.depth += 1
    try:
        yield
    finally:
        _calls.depth -= 1
        if _calls.depth:
            _calls.finished.extend(v for v in variables if v.is_leaf)
        else:
            _calls.finished.clear()


def _plain(result: Any, variables: List[Scalar]) -> Any:
    """result as a float where it depends on variables only, else the recorded Scalar."""
    if result.__class__ is not Scalar:
        return float(result)
    return result.value if result.is_leaf or _only_on(result, variables) else result


def _positions(argnums: Union[int, Sequence[int]], count: int) -> Tuple[int, ...]:
    """argnums as a tuple of positions among count arguments; ValueError if one is out of
    range or named twice."""
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for position in positions:
        if not isinstance(position, int) or not -count <= position < count:
            raise ValueError(f"argnums {argnums!r} out of range for {count} arguments")
    resolved = [position % count for position in positions]
    if len(set(resolved)) < len(resolved):
        repeated = next(p for p in resolved if resolved.count(p) > 1)
        raise ValueError(f"argnums {argnums!r} names argument {repeated} more than once; "
                         "name each argument once")
    return positions


def _evaluate(func: Callable, args: tuple, argnums: Union[int, Sequence[int]]) -> Tuple[Any, Any]:
    """(value, derivatives) of func at args with respect to the arguments in argnums."""
    positions = _positions(argnums, len(args))
    call_args = list(args)
    variables = []
    for position in positions:
        call_args[position] = _fresh(args[position])
        variables.append(call_args[position])
    with _own_call(variables):
        y = func(*call_args)
        derivatives: List[Any]  # floats, and recorded Scalars where they depend on other Scalars
        if _only_on(y, variables):  # nothing outside: plain floats
            derivatives = reverse_autodiff(y, variables)
            y = y.value if y.__class__ is Scalar else float(y)
        else:
            derivatives = [_plain(d, variables)  # a leaf: a constant
                           for d in reverse_autodiff(y, variables, create_graph=True)]
    result = derivatives[0] if isinstance(argnums, int) else tuple(derivatives)
    return y, result


def value_and_grad(func: Callable, argnums: Union[int, Sequence[int]] = 0) -> Callable:
    """A function returning (func(*args), the derivative(s) of func with respect to argnums)."""
    def value_and_derivative(*args: Any) -> Tuple[Any, Any]:
        return _evaluate(func, args, argnums)
    value_and_derivative.__name__ = f"value_and_grad({getattr(func, '__name__', 'f')})"
    return value_and_derivative


def grad(func: Callable, argnums: Union[int, Sequence[int]] = 0) -> Callable:
    """A function returning the derivative of func with respect to the argument argnums.

    With a tuple of argnums it returns a tuple of derivatives. Composes: grad(grad(f))(x)
    is the second derivative of f at x.
    """
    def derivative(*args: Any) -> Any:
        return _evaluate(func, args, argnums)[1]
    derivative.__name__ = f"grad({getattr(func, '__name__', 'f')})"
    return derivative


def hessian(y: Union[Scalar, float], xs: Sequence[Scalar]) -> List[List[float]]:
    """The matrix of second derivatives of y with respect to xs, as rows of floats.

    Forward-over-reverse: one reverse sweep records the gradient as a graph, and the
    Hessian is that gradient's Jacobian in forward mode, a whole column per sweep.
    """
    xs = list(xs)
    return jacobian(reverse_autodiff(y, xs, create_graph=True), xs, mode="forward")


def hessian_of(func: Callable, args: Sequence[float]) -> Tuple[float, List[List[float]]]:
    """(func(*args), Hessian of func at args) for a function of floats."""
    xs = [Scalar(a) for a in args]
    y = func(*xs)
    return (y.value if y.__class__ is Scalar else float(y)), hessian(y, xs)


def _outputs(result: Any, where: str) -> Tuple[List[Any], bool]:
    """(the outputs, whether func returned one): a number or Scalar, or a list of them."""
    single = not isinstance(result, (list, tuple))
    outputs = [result] if single else list(result)
    for out in outputs:
        if out.__class__ is not Scalar and (not isinstance(out, numbers.Real) or isinstance(out, bool)):
            raise TypeError(f"{where}: the function must return a number or a list of numbers, "
                            f"got {type(out).__name__}")
    return outputs, single


def _sequence(items: Any, what: str, where: str) -> Tuple[Any, ...]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        raise TypeError(f"{where}: the {what} must be a tuple or list, got {type(items).__name__}")
    return tuple(items)


def jvp(func: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> Tuple[Any, Any]:
    """(func(*primals), the derivative of func at primals along tangents): a Jacobian-vector
    product by one forward sweep, as JAX's ``jax.jvp``. ``primals`` and ``tangents`` are
    tuples with one number (or Scalar) per argument of func; func returns a number, or a list
    of numbers (then both results are lists).

    ``jvp(grad(f), (x,), (v,))`` is the Hessian of f at x times v.
    """
    primals = _sequence(primals, "primals", "jvp")
    tangents = _sequence(tangents, "tangents", "jvp")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; one "
                         "tangent per primal")
    for tangent in tangents:
        if tangent.__class__ is not Scalar and (not isinstance(tangent, numbers.Real)
                                                or isinstance(tangent, bool)):
            raise TypeError(f"jvp: a tangent must be a number, got {type(tangent).__name__}")
    variables = [_fresh(p) for p in primals]
    with _own_call(variables):
        outputs, single = _outputs(func(*variables), "jvp")
        own = (all(_only_on(out, variables) for out in outputs)
               and not any(t.__class__ is Scalar for t in tangents))
        derivatives = directional(outputs, variables, tangents, recorded=not own)
        values = [_plain(out, variables) for out in outputs]
        derivatives = [_plain(d, variables) for d in derivatives]
    return (values[0], derivatives[0]) if single else (values, derivatives)


def vjp(func: Callable, *primals: Any) -> Tuple[Any, Callable[[Any], Tuple[Any, ...]]]:
    """(func(*primals), vjp_fn), as JAX's ``jax.vjp``: ``vjp_fn(cotangent)`` returns a tuple
    with, for each primal, the derivative of sum(cotangent * output) with respect to it (a
    vector-Jacobian product, one reverse sweep). For func returning a list of numbers, the
    cotangent is a list as long; for a number, a number. vjp_fn may be called many times.
    """
    variables = [_fresh(p) for p in primals]
    with _own_call(variables):
        outputs, single = _outputs(func(*variables), "vjp")
        values = [_plain(out, variables) for out in outputs]

    def vjp_fn(cotangent: Any) -> Tuple[Any, ...]:
        cotangents = [cotangent] if single else list(_sequence(cotangent, "cotangent", "vjp"))
        if len(cotangents) != len(outputs):
            raise ValueError(f"vjp: a cotangent of {len(cotangents)} for {len(outputs)} outputs")
        total = dot(cotangents, outputs)
        if _only_on(total, variables):
            return tuple(reverse_autodiff(total, variables))
        return tuple(_plain(d, variables)
                     for d in reverse_autodiff(total, variables, create_graph=True))
    return (values[0] if single else values), vjp_fn
