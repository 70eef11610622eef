"""A line fit's story as chart panels: the points with the line at each moment of the fit
(scalargrad.fit.story), and the loss against the steps, the moments marked on it."""
from __future__ import annotations

import math
from typing import List, Sequence

from ..fit.story import FitHistory, Moment, equation, scale_of
from .chart import Dots, Line, Panel

POINT_COLOUR = "#7a8fa6"
MOMENT_COLOURS = ("#c0392b", "#e08a00", "#1e8449")  # start, early, final
MOMENT_SHAPES = {"start": "triangle", "early": "diamond", "final": "square"}
MAX_POINTS_DRAWN = 2000  # a scatter of more points shows an evenly spaced sample


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
        loss.series.append(Dots([(step.step, step.loss)], f"{name}, step {step.step}", colour,
                                shape=MOMENT_SHAPES[name]))
    return [fit, loss]


def _colours(moments: Sequence[Moment]) -> List[str]:
    by_name = dict(zip(("start", "early", "final"), MOMENT_COLOURS))
    return [by_name[m.name] for m in moments]
