"""Fitting a straight line by gradient descent: the logic behind `scalargrad fit-line`.

The fit always runs in standardised coordinates, x' = (x - mean x) / std x and likewise
for y, and maps the line back at every step. There the mean squared error has Hessian
exactly 2·I whatever the data's units, so one learning rate suits x around 1e6 as well as
x around 1, and the gradient says how far the optimum is: a gradient of norm g means the
parameters are g/2 from the least-squares line (in standardised units).

Up to FULL_BATCH_LIMIT points every step's gradient is over all of them, and the fit stops
once the gradient norm is at most ``tolerance``. A step's cost grows with its points,
so beyond that each step uses a minibatch, and an epoch (every point once, in a shuffled
order) takes at most EPOCH_STEPS steps. Minibatch gradients are noisy: the parameters
jitter around the optimum instead of settling, but over an epoch the noise cancels, so the
result is the epoch's mean line, evaluated on all the points after each epoch. The fit
stops once that line is within ``tolerance`` or within CLOSE_ENOUGH standard errors of the
least-squares line (unless tolerance is 0: then it makes all its steps): closer than a
quarter of the uncertainty that line itself has from the scatter of the points. In the
data's units, with s the root mean squared residual of least squares:
(Δslope·std(x)·√n/s)² + (Δ(line at mean x)·√n/s)² <= CLOSE_ENOUGH².
"""
from __future__ import annotations

import csv
import math
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, List, NamedTuple, Optional, Sequence, Tuple, Union, cast

from ..core.autodiff import forward_autodiff, reverse_autodiff
from ..core.scalar import cycle_collector_paused
from ..errors import DataError, Diverged, InputError
from ..matrix import Matrix
from ..optim import DIVERGENCE_FACTOR, make_optimizer
from ..core.scalar import Scalar

Points = Tuple[List[float], List[float]]

MODES = ("reverse", "forward")
MAX_POINTS = 1_000_000  # the most points fit_line is meant for (and read_points_csv reads)
MAX_LINE_BYTES = 1_000  # the longest line read_points_csv reads (a row needs about 50)
FULL_BATCH_LIMIT = 10_000  # up to this many points, every step uses all of them
MIN_BATCH = 1_000  # beyond, a step uses a minibatch of at least this many points
EPOCH_STEPS = 250  # and minibatches grow so that an epoch takes at most this many steps
CLOSE_ENOUGH = 0.25  # minibatch fits stop this many standard errors from least squares


class Line(NamedTuple):
    slope: float
    intercept: float


class FitStep(NamedTuple):
    """What a fit's callback sees: the line after `step` updates and its mean squared error
    over the points the step uses (all of them, or its minibatch)."""
    step: int
    line: Line
    loss: float


@dataclass
class FitResult:
    line: Line
    loss: float            # mean squared error of the final line, in the data's units (or inf)
    steps: int             # optimizer updates made
    converged: bool        # True if the gradient norm reached the threshold
    gradient_norm: float   # of the final line, in standardised coordinates
    rmse: float            # root mean squared error, in y's units (finite where loss is not)
    least_squares: Line    # the closed-form line, for comparison
    batch_size: int        # points per step
    threshold: float       # the gradient norm that counted as converged (>= tolerance)


def synthetic_points(count: int, slope: float = 0.7, intercept: float = 4.0, noise: float = 0.5,
                     seed: Optional[int] = 0, x_range: Tuple[float, float] = (0.0, 10.0)) -> Points:
    """count points with x uniform in x_range and y = slope*x + intercept + gaussian noise."""
    rng = random.Random(seed)
    xs = [rng.uniform(*x_range) for _ in range(count)]
    ys = [slope * x + intercept + rng.gauss(0.0, noise) for x in xs]
    return xs, ys


# A number in a CSV cell: a decimal float as written by people and programs (1, -2.5, .5,
# 3e-7, inf, nan), not Python's wider float() syntax (1_000, non-ASCII digits).
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?|inf(inity)?|nan)",
                     re.IGNORECASE | re.ASCII)


def _cells(line: str) -> List[str]:
    """The comma-separated cells of a line (cells may be quoted), stripped of spaces."""
    try:
        cells = next(csv.reader([line])) if '"' in line else line.split(",")
    except csv.Error:
        cells = line.split(",")
    return [cell.strip() for cell in cells]


def _number(cell: str) -> Optional[float]:
    return float(cell) if _NUMBER.fullmatch(cell) else None


def _parse_row(cells: Sequence[str]) -> Optional[Tuple[float, float]]:
    """(x, y) from a line's cells, or None if they are not two numbers."""
    if len(cells) != 2:
        return None
    x, y = _number(cells[0]), _number(cells[1])
    return None if x is None or y is None else (x, y)


def _is_header(cells: Sequence[str]) -> bool:
    """A header names columns: none of its cells is a number (so '1,abc' is not one)."""
    return all(_number(cell) is None for cell in cells)


def _shown(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:57] + "...")


def read_points_csv(path: Union[str, Path], *, max_points: int = MAX_POINTS,
                    max_line_bytes: int = MAX_LINE_BYTES) -> Points:
    """x,y pairs from a UTF-8 CSV file, with an optional header.

    Every line must be two numbers (decimal floats, cells may be quoted) except blank lines,
    which are skipped, and a header: the first line that is not blank, if none of its
    cells is a number ("x,y"; "1,abc" is a malformed row, not a header). At most
    max_points + 1 lines (a header and max_points points; blank lines count) and
    max_line_bytes bytes per line are read, so any file, /dev/zero included, is read
    quickly in bounded memory. Raises DataError, naming the line, for
    anything that is not two finite numbers, a file over either limit, or one that cannot
    be read.
    """
    if not str(path).strip():
        raise DataError("the CSV path is empty")
    xs: List[float] = []
    ys: List[float] = []
    number = read = 0
    header_seen = False
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
                cells = _cells(line)
                point = _parse_row(cells)
                if point is None:
                    if not (xs or header_seen) and _is_header(cells):
                        header_seen = True
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


def _steps(count: int) -> str:
    return f"{count:,} step" if count == 1 else f"{count:,} steps"


class _Descent:
    """A fit's moving parts: the standardised points, the parameters and the optimizer."""

    def __init__(self, frame: _Frame, start: Tuple[float, float], optimizer: str, lr: float,
                 mode: str) -> None:
        self.frame = frame
        self.xs, self.ys = frame.standardised()
        self.a, self.c = Scalar(start[0]), Scalar(start[1])
        self.one = Scalar(1.0)  # a constant: the weight of the -y' column
        self.updater = make_optimizer(optimizer, [self.a, self.c], lr)
        self.differentiate = reverse_autodiff if mode == "reverse" else forward_autodiff
        self.done = 0  # optimizer updates made
        self.first_loss: Optional[float] = None

    def rows(self, indices: Iterable[int]) -> Matrix:
        """The points at indices as rows (x', 1, -y')."""
        xs, ys = self.xs, self.ys
        return Matrix([[xs[i], 1.0, -ys[i]] for i in indices])

    def evaluate(self, rows: Matrix, a: Scalar, c: Scalar) -> Tuple[float, List[float]]:
        """The mean squared error of y' = a x' + c over rows, and its gradient in (a, c).

        Each residual a x' + c - y' is a single dot node, (a, c, 1)·(x', 1, -y'), and one
        more dot node sums their squares: about one node per point. Raises Diverged if the
        loss or the gradient is not finite.
        """
        residuals = rows @ Matrix([[a], [c], [self.one]])
        # Recorded, never a float: the residuals depend on a and c, which are Scalars.
        loss = cast(Scalar, (residuals.T @ residuals)[0, 0] * (1.0 / rows.shape[0]))
        grads = self.differentiate(loss, [a, c])
        if not math.isfinite(loss.value) or not all(map(math.isfinite, grads)):
            raise Diverged(f"the loss diverged after {_steps(self.done)}")
        return loss.value, grads

    def evaluate_all(self, a: float, c: float, chunk: int) -> Tuple[float, List[float]]:
        """evaluate() over all the points at (a, c), chunk points at a time."""
        count = len(self.xs)
        losses: List[float] = []
        slopes: List[float] = []
        intercepts: List[float] = []
        for first in range(0, count, chunk):
            rows = self.rows(range(first, min(first + chunk, count)))
            loss, (da, dc) = self.evaluate(rows, Scalar(a), Scalar(c))
            share = rows.shape[0] / count
            losses.append(loss * share)
            slopes.append(da * share)
            intercepts.append(dc * share)
        return math.fsum(losses), [math.fsum(slopes), math.fsum(intercepts)]

    def step(self, rows: Matrix, report: Callable[[FitStep], None]) -> Tuple[float, List[float]]:
        """Evaluate the current line on rows, report it, and return the loss and gradient;
        Diverged if the loss has grown to more than DIVERGENCE_FACTOR times the first (or
        times 1, the standardised loss of the horizontal line through the mean)."""
        loss, grads = self.evaluate(rows, self.a, self.c)
        if self.first_loss is None:
            self.first_loss = loss
        elif loss > DIVERGENCE_FACTOR * max(self.first_loss, 1.0):
            raise Diverged(f"the loss diverged after {_steps(self.done)}: it grew more than "
                           f"{DIVERGENCE_FACTOR:g}-fold from its first value")
        report(FitStep(self.done, self.frame.line(self.a.value, self.c.value),
                       self.frame.mean_squared_error(loss)))
        return loss, grads

    def update(self, grads: List[float]) -> None:
        self.updater.step(grads)
        self.done += 1


class _Outcome(NamedTuple):
    line: Tuple[float, float]  # (a, c), standardised
    loss: float                # standardised, over all the points
    gradient: List[float]
    threshold: float           # the gradient norm that counts as converged


def batch_size(count: int) -> int:
    """Points per step when fitting count points: all of them up to FULL_BATCH_LIMIT, else
    minibatches of at least MIN_BATCH, large enough for an epoch of EPOCH_STEPS steps."""
    if count <= FULL_BATCH_LIMIT:
        return count
    return max(MIN_BATCH, math.ceil(count / EPOCH_STEPS))


def fit_line(xs: Sequence[float], ys: Sequence[float], *, optimizer: str = "sgd", lr: float = 0.1,
             steps: int = 1000, mode: str = "reverse", tolerance: float = 1e-6,
             start: Optional[Line] = None, seed: int = 0,
             callback: Optional[Callable[[FitStep], None]] = None) -> FitResult:
    """Minimise the mean squared error of y = slope*x + intercept by gradient descent.

    optimizer: "sgd", "momentum" (SGD with momentum 0.9) or "adam"; mode: gradients by
    "reverse" or "forward" autodiff (same trajectory, to rounding). Starts from `start`
    (default: the horizontal line through the mean of y) and makes at most `steps` updates;
    how it steps and stops depends on the number of points (see the module docstring).
    seed orders the minibatches. callback gets a FitStep for each line evaluated (the start,
    then after every update with all points, before every update with minibatches), and
    one for the result last. Raises DataError for unusable points (or a least-squares line
    that is not a float) and Diverged if the loss stops being finite or grows more than
    DIVERGENCE_FACTOR-fold.
    """
    check_points(xs, ys)
    if mode not in MODES:
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    frame = _Frame(xs, ys)
    best = frame.least_squares()
    try:
        a, c = (0.0, 0.0) if start is None else frame.standardise(start)
    except OverflowError:
        raise InputError(f"the start line {start} is beyond the range of floats in "
                         f"these points' coordinates") from None
    descent = _Descent(frame, (a, c), optimizer, lr, mode)
    batch = batch_size(len(xs))
    report = callback or (lambda step: None)
    with cycle_collector_paused():
        if batch == len(xs):
            outcome = _full_batches(descent, steps, tolerance, report)
        else:
            outcome = _minibatches(descent, batch, steps, tolerance, seed, report)
    line = frame.line(*outcome.line)
    if not all(map(math.isfinite, line)):
        raise Diverged(f"the fitted line left the range of floats after {_steps(descent.done)}")
    gradient_norm = math.hypot(*outcome.gradient)
    return FitResult(line, frame.mean_squared_error(outcome.loss), descent.done,
                     gradient_norm <= outcome.threshold, gradient_norm,
                     frame.root_mean_squared_error(outcome.loss), best, batch, outcome.threshold)


def _full_batches(descent: _Descent, steps: int, tolerance: float,
                  report: Callable[[FitStep], None]) -> _Outcome:
    """Steps on all the points until the gradient norm is <= tolerance or steps are done."""
    rows = descent.rows(range(len(descent.xs)))
    while True:
        loss, grads = descent.step(rows, report)
        if math.hypot(*grads) <= tolerance or descent.done == steps:
            return _Outcome((descent.a.value, descent.c.value), loss, grads, tolerance)
        descent.update(grads)


def _minibatches(descent: _Descent, batch: int, steps: int, tolerance: float, seed: int,
                 report: Callable[[FitStep], None]) -> _Outcome:
    """Epochs of minibatch steps, each epoch's mean line checked on all the points.

    Every point is used once an epoch, so the noise of the minibatch gradients largely
    cancels in the mean of the epoch's parameters: that mean, not the last step, is the
    result. Stops at the first epoch whose mean is close enough (see _checked), or
    when the steps run out: then the result is the last whole epoch's mean, or the last
    step's line if no epoch was completed.
    """
    count = len(descent.xs)
    epoch_steps = math.ceil(count / batch)
    order = list(range(count))
    shuffle = random.Random(seed).shuffle
    outcome: Optional[_Outcome] = None
    while descent.done < steps:
        shuffle(order)
        sums, taken = [0.0, 0.0], 0
        for first in range(0, count, batch):
            if descent.done == steps:
                break
            _, grads = descent.step(descent.rows(order[first:first + batch]), report)
            descent.update(grads)
            sums[0] += descent.a.value
            sums[1] += descent.c.value
            taken += 1
        if taken == epoch_steps:
            outcome = _checked(descent, (sums[0] / taken, sums[1] / taken), batch, tolerance)
            if math.hypot(*outcome.gradient) <= outcome.threshold:
                break
    if outcome is None:
        outcome = _checked(descent, (descent.a.value, descent.c.value), batch, tolerance)
    report(FitStep(descent.done, descent.frame.line(*outcome.line),
                   descent.frame.mean_squared_error(outcome.loss)))
    return outcome


def _checked(descent: _Descent, line: Tuple[float, float], chunk: int,
             tolerance: float) -> _Outcome:
    """The line evaluated on all the points, with the gradient norm that is close enough.

    That is tolerance, or if larger 2·CLOSE_ENOUGH standard errors of the least-squares
    line: the Hessian is 2I, so the mean squared error there is loss - |gradient|²/4, and
    its standard errors (of slope and intercept, standardised) are sqrt(that / count).
    A tolerance of 0 asks for every step, so then there is no such threshold.
    """
    loss, grads = descent.evaluate_all(*line, chunk=chunk)
    if tolerance == 0:
        return _Outcome(line, loss, grads, 0.0)
    least = max(loss - (grads[0] ** 2 + grads[1] ** 2) / 4, 0.0)
    standard_error = math.sqrt(least / len(descent.xs))
    return _Outcome(line, loss, grads, max(tolerance, 2 * CLOSE_ENOUGH * standard_error))
