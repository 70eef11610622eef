"""Line charts as data: panels of lines and dots, their ranges and ticks.

One description, two drawings: chart_svg.py draws panels as SVG, and the command line draws
the same panels in the terminal. A line's point with a NaN y breaks the line there. Series
are told apart by more than colour (piped output and NO_COLOR have none): dots by their
shape, lines by their pattern (solid, dashed, faint) and by the shapes on them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple, Union

Point = Tuple[float, float]


SHAPES = ("circle", "square", "triangle", "diamond")


@dataclass
class Line:
    points: Sequence[Point]
    label: str
    colour: str
    dashed: bool = False
    faint: bool = False  # thin and light: raw values under their smoothed line


@dataclass
class Dots:
    points: Sequence[Point]
    label: str
    colour: str
    shape: str = "circle"  # one of SHAPES
    joined: bool = False   # a line from each dot to the next


Series = Union[Line, Dots]


@dataclass
class Panel:
    title: str
    x_label: str
    y_label: str
    series: List[Series] = field(default_factory=list)
    log_y: bool = False      # a logarithmic y axis (points with y <= 0 are left out)
    percent_y: bool = False  # y values are fractions, labelled as percentages

    def usable(self, point: Point) -> bool:
        x, y = point
        return math.isfinite(x) and math.isfinite(y) and (y > 0 or not self.log_y)

    def x_range(self) -> Tuple[float, float]:
        xs = [p[0] for s in self.series for p in s.points if self.usable(p)]
        return _spread(min(xs, default=0.0), max(xs, default=1.0))

    def data_y_range(self) -> Tuple[float, float]:
        """The y values' range (in log10 units for a log axis), of some width."""
        ys = [p[1] for s in self.series for p in s.points if self.usable(p)]
        if self.log_y:
            ys = [math.log10(y) for y in ys]
        return _spread(min(ys, default=0.0), max(ys, default=1.0))

    def y_range(self) -> Tuple[float, float]:
        """The y values' range, a little wider (in log10 units for a log axis, from a tick
        of 1, 2 or 5 times a power of ten at or below the data to one at or above it, so
        that the smallest value, a loss at its end, has a tick near it)."""
        low, high = self.data_y_range()
        if self.log_y:
            low, high = math.log10(_nice(10 ** low, -1)), math.log10(_nice(10 ** high, 1))
            pad = (high - low) * 0.02
        else:
            pad = (high - low) * 0.05
        return low - pad, high + pad

    def ticks_y(self, count: int) -> List[float]:
        """Tick values in data units (for a log axis: powers of ten, or 1-2-5 steps)."""
        low, high = self.y_range()
        if self.log_y:
            return [10.0 ** t for t in log_ticks(low, high, count)]
        return ticks(low, high, count)

    def y_label_of(self, value: float, values: Sequence[float]) -> str:
        if self.percent_y:
            return tick_label([v * 100 for v in values], value * 100) + "%"
        return tick_label(values, value)


def smoothed(points: Sequence[Point], weight: float) -> List[Point]:
    """An exponential moving average of the y values, as TensorBoard smooths a curve:
    weight 0 keeps them, towards 1 smooths more; debiased, so the start is not pulled
    towards zero."""
    out: List[Point] = []
    average, total = 0.0, 0.0
    for x, y in points:
        if not math.isfinite(y):
            continue
        average = weight * average + (1 - weight) * y
        total = weight * total + (1 - weight)
        out.append((x, average / total))
    return out


def _spread(low: float, high: float) -> Tuple[float, float]:
    """A range of some width even for one value."""
    if high > low:
        return low, high
    width = abs(low) * 0.1 or 1.0
    return low - width, high + width


def ticks(low: float, high: float, count: int) -> List[float]:
    """About count round values (1, 2 or 5 times a power of ten apart) from low to high."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    values = []
    k = first
    while k * step <= high + step * 1e-9:
        values.append(0.0 if abs(k * step) < step * 1e-9 else k * step)
        k += 1
    return values


def log_ticks(low: float, high: float, count: int) -> List[float]:
    """Ticks (as log10 values) for a log axis from 10**low to 10**high: whole powers of ten,
    every few if there are many; 1, 2 and 5 times them if there are fewer than three."""
    first, last = math.ceil(low - 1e-9), math.floor(high + 1e-9)
    if last - first + 1 >= 3:
        every = max(1, math.ceil((last - first + 1) / count))
        return [float(t) for t in range(first, last + 1, every)]
    return [math.log10(m) + p for p in range(first - 1, last + 1) for m in (1, 2, 5)
            if low - 1e-9 <= math.log10(m) + p <= high + 1e-9]


def _nice(value: float, direction: int) -> float:
    """The nearest of 1, 2 or 5 times a power of ten at or below value (direction -1) or
    at or above it (+1)."""
    power = 10.0 ** math.floor(math.log10(value))
    steps = [m * power for m in (1, 2, 5, 10)]
    if direction < 0:
        return max(v for v in steps if v <= value * (1 + 1e-12))
    return min(v for v in steps if v >= value * (1 - 1e-12))


def tick_label(values: Sequence[float], value: float) -> str:
    """value with the decimals that write all the values exactly (up to six; scientific
    when they are large or small, with the significant digits that tell them apart), the
    same for all of them."""
    largest = max((abs(v) for v in values), default=0.0)
    if largest and (largest >= 1e6 or largest < 1e-3):
        for digits in range(3, 18):  # as many as tell the ticks apart (x near 1e15)
            if len({f"{v:.{digits}g}" for v in values}) == len(set(values)):
                break
        return f"{value:.{digits}g}"
    for decimals in range(0, 6):
        if all(abs(round(v, decimals) - v) <= 1e-9 * max(largest, 1e-300) for v in values):
            return f"{value:.{decimals}f}"
    return f"{value:.6f}"
