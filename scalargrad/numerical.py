"""Finite differences: derivatives from function values alone, as an independent check.

Central differences (f(x+h) - f(x-h)) / 2h have truncation error ~h^2 |f'''| / 6 and
rounding error ~eps |f| / h; both are balanced at h ~ eps^(1/3) ~ 6e-6, scaled by the
argument's magnitude (h = 6e-6 * max(1, |x|)) so that 1e-8 and 1e8 are both stepped
sensibly. Richardson extrapolation combines steps h and h/2 to cancel the h^2 term
(error ~h^4), with h ~ eps^(1/5) ~ 7e-4 the balance point there.
"""
from __future__ import annotations

import math
import sys
from typing import Callable, List, Optional, Sequence, Union

from .errors import InputError
from .scalar import Scalar

_EPS = sys.float_info.epsilon
CENTRAL_STEP = _EPS ** (1 / 3)
RICHARDSON_STEP = _EPS ** (1 / 5)

Number = Union[int, float]
_OUTSIDE_DOMAIN = (ValueError, ZeroDivisionError)  # DomainError and DivisionByZero included
_SHRINKS = 6


def _call(func: Callable, args: List[float]) -> float:
    result = func(*args)
    return result.value if isinstance(result, Scalar) else float(result)


def _partial(func: Callable, args: List[float], i: int, richardson: bool,
             step: Optional[float]) -> float:
    x = args[i]

    def at(offset: float) -> float:
        shifted = list(args)
        shifted[i] = x + offset
        return _call(func, shifted)

    def central(h: float) -> float:
        h = (x + h) - x  # a step that is exactly representable at x
        return (at(h) - at(-h)) / (2 * h)

    def one_sided(h: float) -> float:
        """Second-order one-sided difference, for points next to a domain boundary."""
        try:
            h = (x + h) - x
            return (-3 * at(0.0) + 4 * at(h) - at(2 * h)) / (2 * h)
        except _OUTSIDE_DOMAIN:
            h = x - (x - h)
            return (3 * at(0.0) - 4 * at(-h) + at(-2 * h)) / (2 * h)

    if step is None:
        step = RICHARDSON_STEP if richardson else CENTRAL_STEP
    h = step * max(1.0, abs(x))
    try:
        if richardson:
            return (4 * central(h / 2) - central(h)) / 3
        return central(h)
    except _OUTSIDE_DOMAIN:
        pass
    # Next to a domain boundary (log near 0): smaller steps, extrapolated since they are
    # large relative to the distance to the boundary; one-sided only if none fits.
    for _ in range(_SHRINKS):
        h /= 10
        try:
            return (4 * central(h / 2) - central(h)) / 3
        except _OUTSIDE_DOMAIN:
            continue
    return one_sided(CENTRAL_STEP * max(1.0, abs(x)))


def check_step(x: float, step: float, richardson: bool = False, name: str = "x") -> None:
    """Raise InputError unless step is a usable step scale at x: a positive finite number
    large enough that x + h differs from x (h = step * max(1, |x|), halved with richardson)."""
    if not (math.isfinite(step) and step > 0):
        raise InputError(f"the step scale must be a positive finite number, not {step!r}")
    if not math.isfinite(x):
        raise InputError(f"{name} = {x!r} is not a finite number")
    h = step * max(1.0, abs(x)) / (2 if richardson else 1)
    if x + h == x:
        raise InputError(f"the step scale {step:g} is too small at {name} = {x!r}: "
                         f"{name} + {h:.2g} rounds to {name}")


def finite_difference(func: Callable, x: Union[Number, Sequence[Number]],
                      richardson: bool = False,
                      step: Optional[float] = None) -> Union[float, List[float]]:
    """The derivative of func at x by central differences.

    With a list [a, b, ...], calls func(a, b, ...) and returns the list of partials. Where
    a central step would leave func's domain (log near 0), a one-sided difference is used.
    step sets the step scale, h = step * max(1, |x|), instead of CENTRAL_STEP (or
    RICHARDSON_STEP with richardson); a step that rounds to zero is an InputError.
    """
    single = not isinstance(x, (list, tuple))
    args = [float(x)] if single else [float(a) for a in x]
    if step is not None:
        for a in args:
            check_step(a, step, richardson)
    partials = [_partial(func, args, i, richardson, step) for i in range(len(args))]
    return partials[0] if single else partials


def is_finite(x: float) -> bool:
    return not (math.isnan(x) or math.isinf(x))
