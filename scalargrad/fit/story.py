"""The story of a line fit, for pictures: the loss step by step, and the line at a few moments.

fit-line starts from a line far from the points (y = -2x) and walks to the least-squares
line. ``FitHistory`` is a fit's callback (linefit.fit_line) that keeps each step's loss and
line (thinned, series.py); ``moments`` picks the steps worth drawing: the start, an early
step (the first whose loss is halfway down on a log scale, the geometric mean of the first
and the last), and the end; ``panels`` makes the two charts: the points with those lines,
and the loss against the steps, the moments marked on it.
"""
from __future__ import annotations

import math
from typing import List, NamedTuple, Sequence

from ..view.chart import Dots, Line, Panel
from .linefit import FitStep
from ..view.series import Thinned

POINT_COLOUR = "#7a8fa6"
MOMENT_COLOURS = ("#c0392b", "#e08a00", "#1e8449")  # start, early, final
MAX_POINTS_DRAWN = 2000  # a scatter of more points shows an evenly spaced sample


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


def equation(step: FitStep, scale: float = 0.0, digits: int = 3) -> str:
    """``y = 0.7x + 4``; an intercept below 1e-12 of scale (the data's size) is rounding
    left from the standardised coordinates the fit runs in, and shown as 0."""
    slope, intercept = step.line
    if abs(intercept) <= 1e-12 * scale:
        intercept = 0.0
    sign = "-" if intercept < 0 else "+"
    return f"y = {slope:.{digits}g}x {sign} {abs(intercept):.{digits}g}"


def scale_of(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The size of the data, for equation()."""
    return max(map(abs, ys)) + max(map(abs, xs))


def panels(xs: Sequence[float], ys: Sequence[float], history: FitHistory) -> List[Panel]:
    """The points with the line at each moment, and the loss against the steps."""
    stride = max(1, math.ceil(len(xs) / MAX_POINTS_DRAWN))
    low, high = min(xs), max(xs)
    scale = scale_of(xs, ys)
    moments = history.moments()
    fit = Panel("The line, step by step", "x", "y",
                [Dots(list(zip(xs[::stride], ys[::stride])), "points", POINT_COLOUR)])
    loss = Panel("Loss", "step", "mean squared error (log scale)", log_y=True)
    loss.series.append(Line([(s.step, s.loss) for s in history.steps.items()], "loss",
                            "#555555"))
    for (name, step), colour in zip(moments, _colours(moments)):
        slope, intercept = step.line
        label = f"step {step.step}: {equation(step, scale)}"
        fit.series.append(Line([(low, slope * low + intercept), (high, slope * high + intercept)],
                               label, colour, dashed=name != "final"))
        loss.series.append(Dots([(step.step, step.loss)], f"{name}, step {step.step}", colour))
    return [fit, loss]


def _colours(moments: Sequence[Moment]) -> List[str]:
    by_name = dict(zip(("start", "early", "final"), MOMENT_COLOURS))
    return [by_name[m.name] for m in moments]
