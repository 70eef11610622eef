"""Fitting a straight line by gradient descent: the logic behind `scalargrad fit-line`.

The fit always runs in standardised coordinates, x' = (x - mean x) / std x and likewise
for y, and maps the line back at every step. There the mean squared error has Hessian
exactly 2·I whatever the data's units, so one learning rate suits x around 1e6 as well as
x around 1, and the gradient says how far the optimum is: a gradient of norm g means the
parameters are g/2 from the least-squares line (in standardised units). That is the early
stopping rule: stop once the gradient norm is at most ``tolerance``.
"""
from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

from .autodiff import forward_autodiff, reverse_autodiff
from .errors import DataError, Diverged
from .matrix import Matrix
from .optim import make_optimizer
from .scalar import Scalar

Points = Tuple[List[float], List[float]]

MODES = ("reverse", "forward")


class Line(NamedTuple):
    slope: float
    intercept: float


class FitStep(NamedTuple):
    """What a fit's callback sees: the line after `step` updates and its mean squared error."""
    step: int
    line: Line
    loss: float


@dataclass
class FitResult:
    line: Line
    loss: float            # mean squared error of the final line, in the data's units
    steps: int             # optimizer updates made
    converged: bool        # True if the gradient norm reached the tolerance
    gradient_norm: float   # of the final line, in standardised coordinates


def synthetic_points(count: int, slope: float = 0.7, intercept: float = 4.0, noise: float = 0.5,
                     seed: Optional[int] = 0, x_range: Tuple[float, float] = (0.0, 10.0)) -> Points:
    """count points with x uniform in x_range and y = slope*x + intercept + gaussian noise."""
    rng = random.Random(seed)
    xs = [rng.uniform(*x_range) for _ in range(count)]
    ys = [slope * x + intercept + rng.gauss(0.0, noise) for x in xs]
    return xs, ys


def _parse_row(line: str) -> Optional[Tuple[float, float]]:
    """(x, y) from a line "x,y", or None if it is not two numbers."""
    cells = next(csv.reader([line]))
    if len(cells) != 2:
        return None
    try:
        return float(cells[0]), float(cells[1])
    except ValueError:
        return None


def read_points_csv(path: Union[str, Path]) -> Points:
    """x,y pairs from a CSV file; a first line that is not two numbers is taken as a header.

    Blank lines are skipped. Raises DataError naming the line for anything else that is
    not two finite numbers, or if the file cannot be read.
    """
    xs: List[float] = []
    ys: List[float] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            for number, raw in enumerate(file, start=1):
                line = raw.strip()
                if not line:
                    continue
                point = _parse_row(line)
                if point is None and number == 1:
                    continue
                shown = line if len(line) <= 60 else line[:57] + "..."
                if point is None:
                    raise DataError(f"{path}, line {number}: expected two numbers 'x,y', "
                                    f"got {shown!r}")
                if not all(map(math.isfinite, point)):
                    raise DataError(f"{path}, line {number}: x and y must be finite, got {shown!r}")
                xs.append(point[0])
                ys.append(point[1])
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise DataError(f"cannot read {path}: it is not UTF-8 text") from None
    check_points(xs, ys)
    return xs, ys


def check_points(xs: Sequence[float], ys: Sequence[float]) -> None:
    """Raise DataError unless the points define a line: 2 or more, finite, not all at one x."""
    if len(xs) != len(ys):
        raise DataError(f"{len(xs)} x values but {len(ys)} y values")
    if len(xs) < 2:
        raise DataError(f"a line needs at least 2 points, got {len(xs)}")
    if not all(map(math.isfinite, xs)) or not all(map(math.isfinite, ys)):
        raise DataError("x and y values must be finite (no NaN or infinity)")
    if min(xs) == max(xs):
        raise DataError(f"all x values are equal ({xs[0]}): the slope is undefined")


class _Centred(NamedTuple):
    """Values split as mean + deviation, with the mean carried in two parts.

    The float nearest the mean can be a whole rounding step away from it (x = 1e15, 1e15,
    1e15 + 0.125 has mean 1e15 + 0.0417, rounded to 1e15), and deviations measured from
    that float are then all shifted. So the mean is ``centre + offset``: centre the rounded
    mean, offset the mean of the deviations from it (computed after subtracting centre,
    which is exact for values near the centre), and ``deviations`` are measured from both.
    """
    centre: float
    offset: float
    deviations: List[float]
    sum_of_squares: float  # of the deviations

    @property
    def mean(self) -> float:
        return self.centre + self.offset


def _centred(values: Sequence[float]) -> _Centred:
    count = len(values)
    centre = math.fsum(values) / count
    first = [v - centre for v in values]
    offset = math.fsum(first) / count
    deviations = [d - offset for d in first]
    return _Centred(centre, offset, deviations, math.fsum(d * d for d in deviations))


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> Line:
    """The closed-form least-squares line, from exactly centred sums.

    slope = sum(dx*dy) / sum(dx*dx) over deviations from the means; the sums are
    correctly rounded (math.fsum) and the deviations are taken from the means to within
    rounding (see _Centred), so data far from the origin lose no more than their spread.
    """
    check_points(xs, ys)
    x, y = _centred(xs), _centred(ys)
    slope = math.fsum(dx * dy for dx, dy in zip(x.deviations, y.deviations)) / x.sum_of_squares
    return Line(slope, math.fsum([y.centre, y.offset, -slope * x.centre, -slope * x.offset]))


def fit_line(xs: Sequence[float], ys: Sequence[float], *, optimizer: str = "sgd", lr: float = 0.1,
             steps: int = 1000, mode: str = "reverse", tolerance: float = 1e-6,
             start: Optional[Line] = None,
             callback: Optional[Callable[[FitStep], None]] = None) -> FitResult:
    """Minimise the mean squared error of y = slope*x + intercept by gradient descent.

    optimizer: "sgd", "momentum" (SGD with momentum 0.9) or "adam"; mode: gradients by
    "reverse" or "forward" autodiff (same trajectory, to rounding). Starts from `start`
    (default: the horizontal line through the mean of y) and makes at most `steps` updates,
    stopping early once the gradient norm in standardised coordinates is <= tolerance.
    callback gets a FitStep for the start and after every update. Raises DataError for
    unusable points and Diverged if the loss stops being finite.
    """
    check_points(xs, ys)
    if mode not in MODES:
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    differentiate = reverse_autodiff if mode == "reverse" else forward_autodiff
    x, y = _centred(xs), _centred(ys)
    mx, my = x.mean, y.mean
    sx = math.sqrt(x.sum_of_squares / len(xs))
    sy = math.sqrt(y.sum_of_squares / len(ys)) or 1.0  # all y equal: any scale will do

    def to_line(a: float, c: float) -> Line:
        slope = a * sy / sx
        return Line(slope, math.fsum([y.centre, y.offset, sy * c, -slope * x.centre,
                                      -slope * x.offset]))

    start = start or Line(0.0, my)
    a = Scalar(start.slope * sx / sy)
    c = Scalar((start.intercept + start.slope * mx - my) / sy)
    parameters = [a, c]
    features = Matrix([[dx / sx, 1.0] for dx in x.deviations])
    targets = Matrix([[dy / sy] for dy in y.deviations])
    weights = Matrix([[a], [c]])
    updater = make_optimizer(optimizer, parameters, lr)

    loss_scale = sy * sy  # the standardised loss times this is the loss in the data's units
    done = 0
    while True:
        loss = (features @ weights).mse(targets)
        grads = differentiate(loss, parameters)
        if not math.isfinite(loss.value) or not all(map(math.isfinite, grads)):
            raise Diverged(f"the loss diverged after {done} steps "
                                  f"(loss {loss.value * loss_scale})")
        gradient_norm = math.hypot(*grads)
        if callback is not None:
            callback(FitStep(done, to_line(a.value, c.value), loss.value * loss_scale))
        if gradient_norm <= tolerance or done == steps:
            break
        updater.step(grads)
        done += 1
    return FitResult(to_line(a.value, c.value), loss.value * loss_scale, done,
                     gradient_norm <= tolerance, gradient_norm)
