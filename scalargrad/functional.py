"""Derivatives as functions: grad, value_and_grad, and the Hessian.

``grad(f)`` is a function computing f's derivative. At the top level it takes and returns
floats. Called while another ``grad`` is being evaluated (``grad(grad(f))``, or a grad
inside a function being differentiated), it keeps the graph of its derivative
(create_graph) and returns Scalars, so the outer level can differentiate through it.

Each call differentiates with respect to fresh variables (a new node even when it is
handed a Scalar), so a function that closes over an outer variable treats it as a constant
inside and as a variable outside: no perturbation confusion.
"""
from __future__ import annotations

import threading
from typing import Callable, List, Sequence, Tuple, Union

from .autodiff import jacobian, reverse_autodiff
from .scalar import Scalar

_nesting = threading.local()


def _depth() -> int:
    return getattr(_nesting, "depth", 0)


def _fresh(arg) -> Scalar:
    """A new variable with arg's value, still depending on arg when arg is a Scalar."""
    return arg + 0.0 if isinstance(arg, Scalar) else Scalar(arg)


def _evaluate(func: Callable, args: tuple, argnums: Union[int, Sequence[int]]):
    """(value, derivatives) of func at args with respect to the arguments in argnums."""
    positions = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for position in positions:
        if not -len(args) <= position < len(args):
            raise ValueError(f"argnums {argnums!r} out of range for {len(args)} arguments")
    nested = _depth() > 0
    call_args = list(args)
    variables = []
    for position in positions:
        call_args[position] = _fresh(args[position])
        variables.append(call_args[position])
    _nesting.depth = _depth() + 1
    try:
        y = func(*call_args)
    finally:
        _nesting.depth -= 1
    derivatives = reverse_autodiff(y, variables, create_graph=nested)
    if not nested:
        y = y.value if isinstance(y, Scalar) else float(y)
    result = derivatives[0] if isinstance(argnums, int) else tuple(derivatives)
    return y, result


def value_and_grad(func: Callable, argnums: Union[int, Sequence[int]] = 0) -> Callable:
    """A function returning (func(*args), the derivative(s) of func with respect to argnums)."""
    def value_and_derivative(*args):
        return _evaluate(func, args, argnums)
    value_and_derivative.__name__ = f"value_and_grad({getattr(func, '__name__', 'f')})"
    return value_and_derivative


def grad(func: Callable, argnums: Union[int, Sequence[int]] = 0) -> Callable:
    """A function returning the derivative of func with respect to the argument argnums.

    With a tuple of argnums it returns a tuple of derivatives. Composes: grad(grad(f))(x)
    is the second derivative of f at x.
    """
    def derivative(*args):
        return _evaluate(func, args, argnums)[1]
    derivative.__name__ = f"grad({getattr(func, '__name__', 'f')})"
    return derivative


def hessian(y: Union[Scalar, float], xs: Sequence[Scalar]) -> List[List[float]]:
    """The matrix of second derivatives of y with respect to xs, as rows of floats.

    Forward-over-reverse: one reverse sweep records the gradient as a graph, and the
    Hessian is that gradient's Jacobian in forward mode: the gradient graph is gathered
    once and each forward sweep yields a whole column. Reverse-over-reverse needs as many
    sweeps, but gathers and sorts the gradient graph again for each of them.
    """
    xs = list(xs)
    return jacobian(reverse_autodiff(y, xs, create_graph=True), xs, mode="forward")


def hessian_of(func: Callable, args: Sequence[float]) -> Tuple[float, List[List[float]]]:
    """(func(*args), Hessian of func at args) for a function of floats."""
    xs = [Scalar(a) for a in args]
    y = func(*xs)
    return (y.value if isinstance(y, Scalar) else float(y)), hessian(y, xs)
