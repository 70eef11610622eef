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
from decimal import Decimal
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

from .autodiff import forward_autodiff, reverse_autodiff
from .errors import DataError, Diverged, InputError
from .matrix import Matrix
from .optim import make_optimizer
from .scalar import Scalar

Points = Tuple[List[float], List[float]]

MODES = ("reverse", "forward")
MAX_POINTS = 1_000_000  # the most points fit_line is meant for (and read_points_csv reads)
MAX_LINE_BYTES = 1_000  # the longest line read_points_csv reads (a row needs about 50)


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
    loss: float            # mean squared error of the final line, in the data's units (or inf)
    steps: int             # optimizer updates made
    converged: bool        # True if the gradient norm reached the tolerance
    gradient_norm: float   # of the final line, in standardised coordinates
    rmse: float            # root mean squared error, in y's units (finite where loss is not)
    least_squares: Line    # the closed-form line, for comparison


def synthetic_points(count: int, slope: float = 0.7, intercept: float = 4.0, noise: float = 0.5,
                     seed: Optional[int] = 0, x_range: Tuple[float, float] = (0.0, 10.0)) -> Points:
    """count points with x uniform in x_range and y = slope*x + intercept + gaussian noise."""
    rng = random.Random(seed)
    xs = [rng.uniform(*x_range) for _ in range(count)]
    ys = [slope * x + intercept + rng.gauss(0.0, noise) for x in xs]
    return xs, ys


def _parse_row(line: str) -> Optional[Tuple[float, float]]:
    """(x, y) from a line "x,y" (cells may be quoted), or None if it is not two numbers."""
    try:
        cells = next(csv.reader([line])) if '"' in line else line.split(",")
        if len(cells) == 2:
            return float(cells[0]), float(cells[1])
    except (ValueError, csv.Error):
        pass
    return None


def _shown(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


def read_points_csv(path: Union[str, Path], *, max_points: int = MAX_POINTS,
                    max_line_bytes: int = MAX_LINE_BYTES) -> Points:
    """x,y pairs from a UTF-8 CSV file; a first line that is not two numbers is a header.

    Blank lines are skipped. At most max_points + 1 lines (a header and max_points points;
    blank lines count) and max_line_bytes bytes per line are read, so any file, /dev/zero
    included, is read quickly in bounded memory. Raises DataError, naming the line, for anything that is not two finite numbers,
    a file over either limit, or one that cannot be read.
    """
    xs: List[float] = []
    ys: List[float] = []
    number = read = 0
    try:
        with open(path, "rb") as file:
            while True:
                raw = file.readline(max_line_bytes + 1)
                if not raw:
                    break
                number += 1
                read += len(raw)
                if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                    raise DataError(f"{path}, line {number:,}: longer than {max_line_bytes:,} "
                                    f"bytes, the limit for one line (read {len(raw):,} bytes "
                                    f"of it)")
                if number > max_points + 1:
                    raise DataError(f"{path}: more than {max_points + 1:,} lines, the limit "
                                    f"(a header and {max_points:,} points); stopped at line "
                                    f"{number:,}, after {read:,} bytes")
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
                except UnicodeDecodeError:
                    raise DataError(f"{path}, line {number:,}: not UTF-8 text") from None
                if not line:
                    continue
                point = _parse_row(line)
                if point is None:
                    if number == 1:
                        continue
                    raise DataError(f"{path}, line {number:,}: expected two numbers 'x,y', "
                                    f"got {_shown(line)}")
                if not (math.isfinite(point[0]) and math.isfinite(point[1])):
                    raise DataError(f"{path}, line {number:,}: x and y must be finite, "
                                    f"got {_shown(line)}")
                xs.append(point[0])
                ys.append(point[1])
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
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


class _Axis(NamedTuple):
    """One coordinate of the points, as value = 2**exponent * (centre + offset + deviation).

    Scaling by a power of two is exact and puts the largest magnitude in [0.5, 1), so the
    squares and sums below neither overflow (x near 1e200) nor underflow (x near 1e-300).
    centre is the rounded mean of the scaled values. It can be a whole rounding step from
    the mean (x = 1e15, 1e15, 1e15 + 0.125 has mean 1e15 + 0.0417, which rounds to 1e15),
    so offset carries the mean of the deviations from centre (those are exact for values
    near it), and the deviations are measured from both.
    """
    exponent: int
    centre: float
    offset: float
    deviations: List[float]
    spread: float  # the population standard deviation of the scaled values


def _axis(values: Sequence[float]) -> _Axis:
    count = len(values)
    exponent = math.frexp(max(map(abs, values)))[1]
    scaled = [math.ldexp(v, -exponent) for v in values]
    centre = math.fsum(scaled) / count
    deviations = [u - centre for u in scaled]
    offset = math.fsum(deviations) / count
    deviations = [d - offset for d in deviations]
    spread = math.sqrt(math.fsum(d * d for d in deviations) / count)
    return _Axis(exponent, centre, offset, deviations, spread)


def _ldexp(mantissa: float, exponent: int) -> float:
    """mantissa * 2**exponent, or an infinity where that is beyond the largest float."""
    try:
        return math.ldexp(mantissa, exponent)
    except OverflowError:
        return math.copysign(math.inf, mantissa)


def _magnitude(mantissa: float, exponent: int) -> str:
    """mantissa * 2**exponent in decimal, however large (for messages)."""
    return f"{Decimal(mantissa) * Decimal(2) ** exponent:.2g}"


class _Frame:
    """The points in standardised coordinates, and lines mapped to and from data units.

    Each axis is scaled as in _Axis; a line there has a scaled slope and intercept, and in
    standardised coordinates (x' = deviation / spread, likewise y') it is y' = a x' + c.
    """

    def __init__(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        self.x, self.y = _axis(xs), _axis(ys)
        self.y_spread = self.y.spread or 1.0  # all y equal: any scale will do

    def standardised(self) -> Points:
        return ([d / self.x.spread for d in self.x.deviations],
                [d / self.y_spread for d in self.y.deviations])

    def least_squares(self) -> Line:
        """The closed-form line: slope = sum(dx*dy) / sum(dx*dx), each sum correctly rounded.

        Raises DataError if its slope or intercept is beyond the range of floats.
        """
        x, y = self.x, self.y
        slope = (math.fsum(dx * dy for dx, dy in zip(x.deviations, y.deviations))
                 / math.fsum(d * d for d in x.deviations))
        intercept = math.fsum([y.centre, y.offset, -slope * x.centre, -slope * x.offset])
        line = self._to_data_units(slope, intercept)
        for name, value, mantissa, exponent in (
                ("slope", line.slope, slope, y.exponent - x.exponent),
                ("intercept", line.intercept, intercept, y.exponent)):
            if not math.isfinite(value):
                raise DataError(f"the least-squares {name} is about "
                                f"{_magnitude(mantissa, exponent)}, beyond the range of "
                                f"floats (about 1.8e+308)")
        return line

    def line(self, a: float, c: float) -> Line:
        """The line y' = a x' + c in the data's units (infinite parts where out of range)."""
        x, y = self.x, self.y
        slope = a * self.y_spread / x.spread
        intercept = math.fsum([y.centre, y.offset, self.y_spread * c,
                               -slope * x.centre, -slope * x.offset])
        return self._to_data_units(slope, intercept)

    def _to_data_units(self, slope: float, intercept: float) -> Line:
        return Line(_ldexp(slope, self.y.exponent - self.x.exponent),
                    _ldexp(intercept, self.y.exponent))

    def standardise(self, line: Line) -> Tuple[float, float]:
        """(a, c) of a line given in the data's units; OverflowError if out of range."""
        x, y = self.x, self.y
        slope = math.ldexp(line.slope, x.exponent - y.exponent)
        intercept = math.ldexp(line.intercept, -y.exponent)
        c = math.fsum([intercept, -y.centre, -y.offset, slope * x.centre, slope * x.offset])
        return slope * x.spread / self.y_spread, c / self.y_spread

    def mean_squared_error(self, loss: float) -> float:
        """A standardised mean squared error in the data's units (inf if out of range)."""
        return _ldexp(loss * self.y_spread ** 2, 2 * self.y.exponent)

    def root_mean_squared_error(self, loss: float) -> float:
        return _ldexp(math.sqrt(loss) * self.y_spread, self.y.exponent)


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> Line:
    """The closed-form least-squares line, accurate for any scale and offset of the data.

    Raises DataError for unusable points or where the line is beyond the range of floats.
    """
    check_points(xs, ys)
    return _Frame(xs, ys).least_squares()


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
    frame = _Frame(xs, ys)
    best = frame.least_squares()
    try:
        a0, c0 = (0.0, 0.0) if start is None else frame.standardise(start)
    except OverflowError:
        raise InputError(f"the start line {start} is too steep for these points") from None
    a, c = Scalar(a0), Scalar(c0)
    parameters = [a, c]
    standard_xs, standard_ys = frame.standardised()
    features = Matrix([[x, 1.0] for x in standard_xs])
    targets = Matrix([[y] for y in standard_ys])
    weights = Matrix([[a], [c]])
    updater = make_optimizer(optimizer, parameters, lr)

    done = 0
    while True:
        loss = (features @ weights).mse(targets)
        grads = differentiate(loss, parameters)
        if not math.isfinite(loss.value) or not all(map(math.isfinite, grads)):
            raise Diverged(f"the loss diverged after {done} steps "
                           f"(loss {frame.mean_squared_error(loss.value):.3g})")
        gradient_norm = math.hypot(*grads)
        if callback is not None:
            callback(FitStep(done, frame.line(a.value, c.value),
                             frame.mean_squared_error(loss.value)))
        if gradient_norm <= tolerance or done == steps:
            break
        updater.step(grads)
        done += 1
    line = frame.line(a.value, c.value)
    if not all(map(math.isfinite, line)):
        raise Diverged(f"the fitted line left the range of floats after {done} steps")
    return FitResult(line, frame.mean_squared_error(loss.value), done, gradient_norm <= tolerance,
                     gradient_norm, frame.root_mean_squared_error(loss.value), best)
