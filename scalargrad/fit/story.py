"""The story of a line fit, for pictures: the loss step by step, and the line at a few moments.

fit-line starts from a line far from the points (y = -2x) and walks to the least-squares
line. ``FitHistory`` is a fit's callback (linefit.fit_line) that keeps each step's loss and
line (thinned, series.py); ``moments`` picks the steps worth drawing: the start, an early
step (the first whose loss is halfway down on a log scale, the geometric mean of the first
and the last), and the end. scalargrad.view.fit_chart draws them.
"""
from __future__ import annotations

import math
from typing import List, NamedTuple, Sequence, Tuple

from .linefit import FitStep
from ..series import Thinned



class Moment(NamedTuple):
    name: str  # "start", "early" or "final"
    step: FitStep


class FitHistory:
    """A fit's callback: keeps what the fit's story needs."""

    def __init__(self, capacity: int = 4000) -> None:
        self.steps: Thinned[FitStep] = Thinned(capacity)

    def __call__(self, step: FitStep) -> None:
        self.steps.add(step)

    def moments(self) -> List[Moment]:
        """start, early (if a step lies between) and final; see the module docstring."""
        steps = [s for s in self.steps.items() if math.isfinite(s.loss)]
        if not steps:
            return []
        first, last = steps[0], steps[-1]
        chosen = [Moment("start", first)]
        if first.loss > 0 and last.loss > 0:
            halfway = math.sqrt(first.loss * last.loss)
            early = next((s for s in steps if s.loss <= halfway), last)
            if early.step not in (first.step, last.step):
                chosen.append(Moment("early", early))
        if last.step != first.step:
            chosen.append(Moment("final", last))
        return chosen


def equation(step: FitStep, scale: Tuple[float, float] = (0.0, 0.0), digits: int = 3) -> str:
    """``y = 0.7x + 4``; an intercept below 1e-12 of what it is computed from (the slope
    times the data's x, and its y; ``scale``, from scale_of) is rounding left from the
    standardised coordinates the fit runs in, and shown as 0."""
    slope, intercept = step.line
    x_size, y_size = scale
    if abs(intercept) <= 1e-12 * (abs(slope) * x_size + y_size):
        intercept = 0.0
    sign = "-" if intercept < 0 else "+"
    return f"y = {slope:.{digits}g}x {sign} {abs(intercept):.{digits}g}"


def scale_of(xs: Sequence[float], ys: Sequence[float]) -> Tuple[float, float]:
    """The size of the data, for equation(): its largest |x| and |y|."""
    return max(map(abs, xs)), max(map(abs, ys))
