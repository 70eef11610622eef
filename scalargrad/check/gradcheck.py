"""check_gradients: reverse mode, forward mode and finite differences side by side.

Default tolerances: an input passes when |reverse - forward| and the larger of
|reverse - fd| and |forward - fd| are each within atol + rtol * |fd| (a nan anywhere fails),
with rtol = 1e-5 and atol = 1e-6. Central differences are accurate to about 1e-9 relative
on smooth functions of moderate scale (see finite_differences.py), so these leave room for curvature
and rounding, while a wrong derivative rule is off by far more.

Where every finite-difference step leaves the function's domain or overflows (d(x**y)/dy
at x < 0), a derivative cannot be checked: its finite difference, errors and ``ok`` are
None and its note says why, and a report is ok when every derivative that could be
checked passed. A derivative that disagrees is estimated again at half (and a quarter of)
the step: unless those estimates agree with the first within the tolerance or rounding, or
converge as a smooth function's do, or if they grow without bound, the finite difference
cannot be trusted there (the function is not smooth at the scale of the step, or overflows
near it, as x**(10**10) at x = 1, or has a pole within it, as x/y at y = 1e-300), and the
derivative is reported as not checkable rather than as failed.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..core.autodiff import ancestors, forward_autodiff, jacobian, release, reverse_autodiff
from ..errors import InputError
from .finite_differences import (CENTRAL_STEP, RICHARDSON_STEP, Partial, ProgressCallback,
                                 jacobian_partials, partials)
from ..core.codegen import kink_test
from ..core.rules import Rule
from ..core.scalar import Scalar, arguments, value_of

DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-6


@dataclass
class InputCheck:
    """The three derivatives for one input and how far apart they are.

    finite_difference, abs_error, rel_error and ok are None where finite differences cannot
    estimate the derivative. stencil is how they did ("central", "richardson", "forward",
    "backward"); note says why it is not the one asked for, or why there is none.
    """
    name: str
    at: float
    reverse: float
    forward: float
    finite_difference: Optional[float]
    abs_error: Optional[float]
    rel_error: Optional[float]
    ok: Optional[bool]
    stencil: Optional[str] = None
    note: str = ""


@dataclass
class GradientReport:
    """What check_gradients found. ``ok`` is True when no input that could be checked failed."""
    value: float
    inputs: List[InputCheck]
    kinks: List[str] = field(default_factory=list)  # non-differentiable points met

    @property
    def ok(self) -> bool:
        return all(check.ok is not False for check in self.inputs)

    @property
    def unchecked(self) -> List[str]:
        """The inputs whose derivative finite differences could not estimate."""
        return [check.name for check in self.inputs if check.ok is None]


def kinks(y: object) -> List[str]:
    """The operations in y's graph evaluated where their derivative does not exist.

    Each is described as, e.g., "abs(0.0)": there the rule's documented convention was used.
    """
    if not isinstance(y, Scalar):
        return []
    found = []
    nodes, leaves = ancestors([y])
    release(nodes, leaves)
    for node in nodes:
        rule = node._rule
        if isinstance(rule, Rule) and rule.kink:  # n-ary rules have none (kink "")
            values = [value_of(a) for a in arguments(node)]
            if kink_test(rule)(*values):
                found.append(f"{node.operation}({', '.join(repr(v) for v in values)})")
    return found


def _distance(a: float, b: float) -> float:
    """|a - b|, but 0 for equal infinities (where a - b is nan)."""
    return 0.0 if a == b else abs(a - b)


def _compare(a: float, b: float, estimate: Partial, rtol: float,
             atol: float) -> Tuple[Optional[float], Optional[float], Optional[float],
                                   Optional[bool], Optional[str], str]:
    """(finite difference, abs error, rel error, ok, stencil, note) for two exact derivatives
    and an estimate: ok when every pair is within atol + rtol * |fd|; None where there is
    no estimate."""
    if estimate.stencil is None:
        return None, None, None, None, None, estimate.note
    fd = estimate.value
    differences = (_distance(a, fd), _distance(b, fd), _distance(a, b))
    abs_error = math.nan if any(map(math.isnan, differences)) else max(differences)  # max skips nan
    scale = max(abs(fd), abs(a), abs(b))
    rel_error = abs_error / scale if scale > 0 else 0.0
    return (fd, abs_error, rel_error, abs_error <= atol + rtol * abs(fd), estimate.stencil,
            estimate.note)


def _scaled_step(richardson: bool, step: Optional[float], factor: float) -> float:
    """The step scale used, times factor: for estimating a derivative again."""
    return (step if step is not None else RICHARDSON_STEP if richardson else CENTRAL_STEP) * factor


def _trusted(first: Partial, half: Partial, quarter: Callable[[], Partial], magnitude: float,
             rtol: float, atol: float) -> bool:
    """Whether a finite difference that disagrees can be believed, from estimates at half
    and a quarter of its step: not if they grow without bound as the step shrinks (more
    than threefold each halving: a pole within the step, as 1/y at y = 1e-300 with a step
    of 6e-6); yes if they agree with it within the check's tolerance or within rounding
    (64 eps |f| / h), or converge as a smooth function's do (the error shrinking fourfold
    with each halving, which predicts the quarter step's estimate)."""
    if half.stencil is None:
        return False
    if abs(half.value) > 3 * abs(first.value):
        last = quarter()
        if last.stencil is None or abs(last.value) > 3 * abs(half.value):
            return False
    tolerance = atol + rtol * abs(first.value)
    rounding = 64 * sys.float_info.epsilon * magnitude / first.step
    change = _distance(first.value, half.value)
    if change <= max(tolerance, rounding):
        return True
    last = quarter()
    predicted = half.value - (first.value - half.value) / 4
    return (last.stencil is not None
            and _distance(last.value, predicted) <= max(change / 10, tolerance, 4 * rounding))


def _distrusted(failed: List[int], estimates: Sequence[Partial],
                again: Callable[[float], Sequence[Partial]], magnitudes: Sequence[float],
                rtol: float, atol: float) -> Dict[int, str]:
    """For the estimates at positions failed, why they cannot be trusted (where they
    cannot); again(factor) estimates every derivative again at factor times the step."""
    if not failed:
        return {}
    later: Dict[float, Sequence[Partial]] = {}

    def at(factor: float) -> Sequence[Partial]:
        if factor not in later:
            later[factor] = again(factor)
        return later[factor]
    def quarter(k: int) -> Callable[[], Partial]:
        return lambda: at(0.25)[k]
    notes = {}
    for k in failed:
        first = estimates[k]
        try:
            if _trusted(first, at(0.5)[k], quarter(k), magnitudes[k], rtol, atol):
                continue
        except InputError:  # a smaller step rounds to nothing: the estimate stands
            continue
        notes[k] = (f"not checkable by finite differences: they cannot be trusted here, as "
                    f"they do not settle when the step shrinks ({first.value:.6g} with a step "
                    f"of {first.step:.2g}, {_shown(at(0.5)[k])} with half of it): the function "
                    f"is not smooth at the scale of the step, or overflows near it")
    return notes


def _shown(estimate: Partial) -> str:
    return "none" if estimate.stencil is None else f"{estimate.value:.6g}"


def check_gradients(func: Callable, args: Sequence[float], names: Optional[Sequence[str]] = None,
                    rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
                    richardson: bool = False, step: Optional[float] = None) -> GradientReport:
    """Differentiate func at args three ways and compare.

    func takes one argument per input and is evaluated twice: on Scalars (for reverse and
    forward mode) and on floats (for finite differences), so it must work on both, as
    functions written with scalargrad's operations do. Errors of func at args itself
    propagate (the point is outside its domain).
    """
    args = [float(a) for a in args]
    names = list(names) if names is not None else [f"x{i}" for i in range(len(args))]
    xs = [Scalar(a) for a in args]
    y = func(*xs)
    value = y.value if isinstance(y, Scalar) else float(y)
    reverse = reverse_autodiff(y, xs)
    forward = forward_autodiff(y, xs)
    estimates = partials(func, args, richardson=richardson, step=step)
    checks = [InputCheck(name, at, r, f, *_compare(r, f, d, rtol, atol))
              for name, at, r, f, d in zip(names, args, reverse, forward, estimates)]
    distrusted = _distrusted(
        [k for k, check in enumerate(checks) if check.ok is False], estimates,
        lambda factor: partials(func, args, richardson=richardson,
                                step=_scaled_step(richardson, step, factor)),
        [abs(value)] * len(args), rtol, atol)
    for k, note in distrusted.items():
        check = checks[k]
        checks[k] = InputCheck(check.name, check.at, check.reverse, check.forward, None, None,
                               None, None, None, note)
    return GradientReport(value, checks, kinks(y))


@dataclass
class SecondDerivativeCheck:
    """One Hessian entry, d2y / d(row) d(column), computed three ways; the finite-difference
    fields are None where there is no estimate, as in InputCheck."""
    row: str
    column: str
    forward_over_reverse: float
    reverse_over_reverse: float
    finite_difference: Optional[float]  # of the reverse-mode gradient
    abs_error: Optional[float]
    rel_error: Optional[float]
    ok: Optional[bool]
    stencil: Optional[str] = None
    note: str = ""


@dataclass
class HessianReport:
    entries: List[SecondDerivativeCheck]

    @property
    def ok(self) -> bool:
        return all(entry.ok is not False for entry in self.entries)


def check_hessian(func: Callable, args: Sequence[float], names: Optional[Sequence[str]] = None,
                  rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
                  richardson: bool = False, step: Optional[float] = None,
                  progress: Optional[ProgressCallback] = None) -> HessianReport:
    """Second derivatives: forward-over-reverse, reverse-over-reverse, and finite differences
    of the (exact, reverse-mode) gradient, compared with the same tolerances as
    check_gradients. The gradient is exact, so its finite differences are as accurate as a
    first-order check's.

    Each column of the finite-difference Hessian comes from the whole gradient at two
    points, so the check costs about 2n gradients for n inputs; progress, if given, is
    called with (columns done, columns in all).
    """
    args = [float(a) for a in args]
    names = list(names) if names is not None else [f"x{i}" for i in range(len(args))]
    xs = [Scalar(a) for a in args]
    gradient = reverse_autodiff(func(*xs), xs, create_graph=True)
    forward_over_reverse = jacobian(gradient, xs, mode="forward")
    reverse_over_reverse = jacobian(gradient, xs, mode="reverse")

    def gradient_at(*values: float) -> List[float]:
        variables = [Scalar(v) for v in values]
        return reverse_autodiff(func(*variables), variables)

    numeric = jacobian_partials(gradient_at, args, richardson=richardson, step=step,
                                progress=progress)
    entries = []
    for i, row in enumerate(names):
        for j, column in enumerate(names):
            a, b = forward_over_reverse[i][j], reverse_over_reverse[i][j]
            entries.append(SecondDerivativeCheck(row, column, a, b,
                                                 *_compare(a, b, numeric[i][j], rtol, atol)))
    count = len(names)
    distrusted = _distrusted(
        [k for k, entry in enumerate(entries) if entry.ok is False],
        [estimate for estimates in numeric for estimate in estimates],
        lambda factor: [estimate for estimates in jacobian_partials(
            gradient_at, args, richardson=richardson,
            step=_scaled_step(richardson, step, factor)) for estimate in estimates],
        [abs(g.value if isinstance(g, Scalar) else g) for g in gradient for _ in names],
        rtol, atol)
    for k, note in distrusted.items():
        entry = entries[k]
        entries[k] = SecondDerivativeCheck(entry.row, entry.column, entry.forward_over_reverse,
                                           entry.reverse_over_reverse, None, None, None, None,
                                           None, note)
    assert len(entries) == count * count
    return HessianReport(entries)
