"""Finite differences: derivatives from function values alone, as an independent check.

Central differences (f(x+h) - f(x-h)) / 2h have truncation error ~h^2 |f'''| / 6 and
rounding error ~eps |f| / h; both are balanced at h ~ eps^(1/3) ~ 6e-6, scaled by the
argument's magnitude (h = 6e-6 * max(1, |x|)) so that 1e-8 and 1e8 are both stepped
sensibly. Richardson extrapolation combines steps h and h/2 to cancel the h^2 term
(error ~h^4 |f^(5)| / 480), with h ~ eps^(1/5) ~ 7e-4 the balance point there.

A stencil point may be outside func's domain or overflow (log next to 0, exp next to
709.78) although func is defined at x. Then smaller central steps are tried, extrapolated,
and the one used is ten times smaller than the first that fits: that one may be almost as
large as the distance to the boundary, near which log and sqrt curve sharply. If none fits
(x is at the boundary), a one-sided difference (error ~h^2 |f'''| / 3) on a side where func
is defined; if neither side is, there is no estimate, and Partial says why.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..errors import DomainError, InputError
from ..core.scalar import Scalar

_EPS = sys.float_info.epsilon
CENTRAL_STEP = _EPS ** (1 / 3)
RICHARDSON_STEP = _EPS ** (1 / 5)

Number = Union[int, float]
ProgressCallback = Callable[[int, int], None]  # (inputs done, inputs in all)
_UNDEFINED = (ArithmeticError, ValueError)  # how functions say a point is outside their domain
_SHRINKS = 6   # tenfold smaller central steps tried next to a domain boundary
_MARGIN = 10   # the smaller step used is this much smaller than the first that fits


@dataclass(frozen=True)
class Partial:
    """A finite-difference estimate of one partial derivative, and how it was made.

    stencil is "central", "richardson" (central, extrapolated), "forward" or "backward"
    (one-sided), or None when no stencil fits: value and step are then nan. note says why
    the requested stencil or step was not used ("" when it was).
    """
    value: float
    stencil: Optional[str]
    step: float
    note: str = ""


class _Undefined(Exception):
    """A stencil point where func is undefined or not finite; the message says why."""


class _Line:
    """func along input i through args: its outputs at offsets from the point, each offset
    evaluated once and shared by every output and stencil."""

    def __init__(self, func: Callable[..., List[float]], args: List[float], i: int,
                 at_point: Optional[List[float]] = None) -> None:
        self.func, self.args, self.i, self.x = func, args, i, args[i]
        self._samples: Dict[float, Union[List[float], str]] = {}
        if at_point is not None:
            self._samples[0.0] = at_point

    def step(self, h: float) -> float:
        """h adjusted so that x + h is exact, so the difference divides by the true step."""
        exact = (self.x + h) - self.x
        if not math.isfinite(exact):  # x + h overflows; that sample fails on its own
            exact = self.x - (self.x - h)
        if exact == 0.0:
            raise _Undefined(f"a step of {h:.2g} rounds to zero at {self.x!r}")
        return exact

    def value(self, k: int, offset: float) -> float:
        """Output k at x + offset; raises _Undefined where func is undefined or not finite."""
        if offset not in self._samples:
            shifted = list(self.args)
            shifted[self.i] = self.x + offset
            try:
                self._samples[offset] = self.func(*shifted)
            except _UNDEFINED as error:
                self._samples[offset] = str(error) or type(error).__name__
        sample = self._samples[offset]
        if isinstance(sample, str):
            raise _Undefined(sample)
        if not math.isfinite(sample[k]):
            where = "the point" if offset == 0.0 else f"offset {offset:+.2g}"
            raise _Undefined(f"the result is {sample[k]} at {where}")
        return sample[k]


def _central(line: _Line, k: int, h: float) -> float:
    h = line.step(h)
    return (line.value(k, h) - line.value(k, -h)) / (2 * h)


def _richardson(line: _Line, k: int, h: float) -> float:
    """(4 D(h/2) - D(h)) / 3, written so that 4 D(h/2) cannot overflow."""
    half = _central(line, k, h / 2)
    return half + (half - _central(line, k, h)) / 3


def _one_sided(line: _Line, k: int, h: float) -> float:
    """Second order, from x, x + h and x + 2h; backward for a negative h."""
    h = line.step(h)
    return (-3 * line.value(k, 0.0) + 4 * line.value(k, h) - line.value(k, 2 * h)) / (2 * h)


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise _Undefined(f"the difference is {value}")
    return value


def _estimate(line: _Line, k: int, h: float, one_sided_h: float, richardson: bool) -> Partial:
    """Output k's partial along line: central (or Richardson) at h if it fits, else
    Richardson at a smaller step, else one-sided, else none."""
    requested, name = (_richardson, "richardson") if richardson else (_central, "central")
    try:
        return Partial(_finite(requested(line, k, h)), name, line.step(h))
    except _Undefined as error:
        reason = str(error)
    smaller = h
    for _ in range(_SHRINKS):
        smaller /= 10
        try:
            value = _finite(_richardson(line, k, smaller))
        except _Undefined:
            continue
        try:
            value, smaller = _finite(_richardson(line, k, smaller / _MARGIN)), smaller / _MARGIN
        except _Undefined:
            pass
        return Partial(value, "richardson", line.step(smaller),
                       f"a smaller step, {smaller:.2g}: a central step of {h:.2g} leaves the "
                       f"function's domain or overflows ({reason})")
    reasons = [reason]
    for stencil, step in (("forward", one_sided_h), ("backward", -one_sided_h)):
        try:
            return Partial(_finite(_one_sided(line, k, step)), stencil, abs(line.step(step)),
                           f"a {stencil} difference: a central step leaves the function's "
                           f"domain or overflows ({reason})")
        except _Undefined as error:
            reasons.append(str(error))
    return Partial(math.nan, None, math.nan, "not checkable by finite differences, no step "
                                             f"fits: {'; '.join(dict.fromkeys(reasons))}")


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


def _columns(func: Callable[..., List[float]], args: List[float], outputs: int,
             at_point: Optional[List[float]], richardson: bool, step: Optional[float],
             progress: Optional[ProgressCallback]) -> List[List[Partial]]:
    """For each input, the partials of func's outputs along it."""
    scale = step if step is not None else RICHARDSON_STEP if richardson else CENTRAL_STEP
    one_sided = step if step is not None else CENTRAL_STEP
    for x in args:
        check_step(x, scale, richardson)
    columns = []
    for i, x in enumerate(args):
        line = _Line(func, args, i, at_point)
        size = max(1.0, abs(x))
        columns.append([_estimate(line, k, scale * size, one_sided * size, richardson)
                        for k in range(outputs)])
        if progress is not None:
            progress(i + 1, len(args))
    return columns


def _number(result: Union[Number, Scalar]) -> float:
    return result.value if isinstance(result, Scalar) else float(result)


def partials(func: Callable, args: Sequence[Number], richardson: bool = False,
             step: Optional[float] = None) -> List[Partial]:
    """Estimates of func's partial derivatives at args, one per argument, each saying which
    stencil made it (or why none could). func returns a number or a Scalar."""
    args = [float(a) for a in args]
    columns = _columns(lambda *xs: [_number(func(*xs))], args, 1, None, richardson, step, None)
    return [column[0] for column in columns]


def jacobian_partials(func: Callable, args: Sequence[Number], richardson: bool = False,
                      step: Optional[float] = None,
                      progress: Optional[ProgressCallback] = None) -> List[List[Partial]]:
    """Estimates of the Jacobian of func (which returns a sequence of numbers or Scalars)
    at args: ``rows[k][i]`` = d func_k / d args_i. Each argument's stencil points are evaluated
    once for all outputs, so this costs about two calls of func per argument. func must be
    defined at args (its errors there propagate). progress, if given, is called after each
    argument with (arguments done, arguments in all)."""
    args = [float(a) for a in args]

    def vector(*xs: float) -> List[float]:
        return [_number(v) for v in func(*xs)]

    at_point = vector(*args)
    columns = _columns(vector, args, len(at_point), at_point, richardson, step, progress)
    return [[column[k] for column in columns] for k in range(len(at_point))]


def finite_difference(func: Callable, x: Union[Number, List[Number], List[int], Tuple[Number, ...]],
                      richardson: bool = False,
                      step: Optional[float] = None) -> Union[float, List[float]]:
    """The derivative of func at x by central differences.

    With a list [a, b, ...], calls func(a, b, ...) and returns the list of partials. Where
    a central step would leave func's domain (log near 0), a smaller or one-sided one is
    used; where every step does, raises DomainError. step sets the step scale,
    h = step * max(1, |x|), instead of CENTRAL_STEP (or RICHARDSON_STEP with richardson).
    """
    if isinstance(x, (list, tuple)):  # several arguments; anything else is one number, to float()
        single, args = False, [float(a) for a in x]
    else:
        single, args = True, [float(x)]
    estimates = partials(func, args, richardson=richardson, step=step)
    for i, estimate in enumerate(estimates):
        if estimate.stencil is None:
            raise DomainError(f"no finite difference at {args[i]!r}"
                              f"{'' if single else f' (argument {i})'}: {estimate.note}")
    values = [estimate.value for estimate in estimates]
    return values[0] if single else values
