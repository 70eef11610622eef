"""`scalargrad check-grad EXPR`: compare reverse mode, forward mode and finite differences.

The parsing and evaluation live in scalargrad.check.expression and the comparison in
scalargrad.check.gradcheck; this module reads the options, shows progress on stderr and renders
the results. Errors go through cli.errors: scalargrad's own errors (a refused expression,
no random point found) reach the command group as they are; input problems found here are
BadInput. Anything else is a bug and is not dressed up as bad input.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import click
from rich import box
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)
from rich.syntax import Syntax
from rich.table import Table

from scalargrad.core import rules
from scalargrad.compile import compile as compile_function
from scalargrad.errors import DomainError, InputError, NumericOverflow
from scalargrad.check.expression import (FUNCTIONS, MAX_DEPTH, MAX_DRAWS, MAX_LENGTH, MAX_NODES,
                                   RANDOM_HIGH, RANDOM_LOW, Expression, parse, random_points)
from scalargrad.check.gradcheck import (DEFAULT_ATOL, DEFAULT_RTOL, GradientReport, HessianReport,
                                  InputCheck, SecondDerivativeCheck, check_gradients,
                                  check_hessian)
from scalargrad.check.finite_differences import CENTRAL_STEP, RICHARDSON_STEP, ProgressCallback, check_step
from scalargrad.core.scalar import Scalar
from scalargrad.view.graph import graph
from scalargrad.view.numbers import json_number

from . import check_summary, shown_code
from .errors import EXIT_FAILED, BadInput
from .expression_input import ExpressionCommand, listed, parse_assignments
from .options import finite
from .plain_lines import print_trimmed

MAX_RANDOM_POINTS = 100
SLOW_POINT_SECONDS = 0.5  # a point running longer gets a bar for its Hessian's columns


@dataclass
class PointCheck:
    """Everything checked at one point: the gradient, and the Hessian with --order 2."""
    point: Dict[str, float]
    gradient: GradientReport
    hessian: Optional[HessianReport] = None

    @property
    def ok(self) -> bool:
        return self.gradient.ok and (self.hessian is None or self.hessian.ok)


def _functions(arity: int) -> str:
    return " ".join(sorted(name for name, (_, n) in FUNCTIONS.items() if n == arity))


_HELP = f"""Check the derivatives of EXPRESSION with respect to each of its variables.

\b
  scalargrad check-grad "2*x**2 + 4*x + 3" --at x=12
  scalargrad check-grad "sin(x)*y + exp(x*y)" --at x=0.5,y=2
  scalargrad check-grad "-x*y" --at x=1,y=2 --order 2
  scalargrad check-grad "log(x)/x" --random 5 --json

EXPRESSION uses numbers, variables, pi, e, + - * / **, parentheses and scalargrad's
functions: {_functions(1)} (one argument) and {_functions(2)} (two).
A derivative passes when reverse mode, forward mode and the finite difference are
within atol + rtol * |finite difference| of each other.
"""

_EPILOG = f"""\b
Exit status: 0 when every derivative that finite differences can check
agrees within tolerance, 1 when any disagrees (also at a point where the
function is not differentiable: a note then explains why), 2 for bad input
(a refused expression, missing or unknown variables, a bad option value, a
point outside the function's domain, an overflow).

\b
Finite differences step to both sides of the point. Where a step leaves the
function's domain or overflows (log next to 0, exp next to 709.78), a
smaller or one-sided step is used; where steps to both sides do (d(x**y)/dy
at x < 0), that derivative is not checkable, and a note says why. A
derivative that disagrees is estimated again at half and a quarter of the
step: where those estimates do not settle as a smooth function's do (a kink
inside the step, x**(10**10) at x = 1), finite differences cannot be trusted,
and it is shown as not checkable rather than as a failure.

\b
Limits: at most {MAX_LENGTH} characters, {MAX_NODES} numbers, names, operators and calls,
and {MAX_DEPTH} levels of nesting (terms in a row, a + b + c, count a level
each). An expression may start with '-' ("-x*y");
only one that reads as an option ("-h", "--x") goes after '--':
  scalargrad check-grad --at h=1 -- -h

\b
Progress bars on stderr (when it is a terminal) show long checks: many
--random points, or a large Hessian.
"""


@click.command("check-grad", cls=ExpressionCommand, help=_HELP, epilog=_EPILOG)
@click.argument("expression")
@click.option("--at", "assignments", multiple=True, metavar="NAME=VALUE[,NAME=VALUE...]",
              help="A variable's value: a number or a constant expression such as pi/4. "
                   "Repeat, or separate with commas.")
@click.option("--random", "random_count", type=click.IntRange(1, MAX_RANDOM_POINTS),
              metavar="N",
              help=f"Check at N random points instead: the variables not given with --at "
                   f"are drawn from [{RANDOM_LOW:g}, {RANDOM_HIGH:g}], redrawn (up to "
                   f"{MAX_DRAWS} times) where the expression is undefined. "
                   f"At most {MAX_RANDOM_POINTS}.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --random.")
@click.option("--rtol", type=click.FloatRange(min=0.0), default=DEFAULT_RTOL, callback=finite,
              show_default=True, help="Relative tolerance.")
@click.option("--atol", type=click.FloatRange(min=0.0), default=DEFAULT_ATOL, callback=finite,
              show_default=True, help="Absolute tolerance.")
@click.option("--eps", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              callback=finite, metavar="SCALE",
              help=f"Finite-difference step scale, between 0 and 1: h = SCALE * max(1, |x|); "
                   f"x + h must differ from x.  [default: {CENTRAL_STEP:.2g}, "
                   f"{RICHARDSON_STEP:.2g} with --richardson]")
@click.option("--richardson", is_flag=True,
              help="Finite differences with Richardson extrapolation (more accurate, "
                   "twice the evaluations) instead of plain central differences.")
@click.option("--order", type=click.IntRange(1, 2), default=1, show_default=True,
              help="2 also checks the second derivatives (the Hessian): forward-over-reverse "
                   "and reverse-over-reverse against finite differences of the gradient.")
@click.option("--json", "as_json", is_flag=True,
              help="Print only JSON: {expression, point, value, variables, "
                   "nondifferentiable, ok}, with hessian for --order 2; with --random, "
                   "{expression, seed, points: [{point, value, ...}, ...], ok}. Each "
                   "derivative has reverse, forward, finite_difference, abs_error, "
                   "rel_error, ok, stencil and note; finite_difference, the errors and ok "
                   "are null where it is not checkable. Infinities and NaN as \"inf\", "
                   "\"-inf\", \"nan\".")
@click.option("--show-code", is_flag=True,
              help="Also print the Python that scalargrad.compile generates for the "
                   "expression: its value, then the reverse sweep — the chain rule written "
                   "out, one line per partial derivative.")
def check_grad(expression: str, assignments: Sequence[str], random_count: Optional[int],
               seed: int, rtol: float, atol: float, eps: Optional[float], richardson: bool,
               order: int, as_json: bool, show_code: bool) -> None:
    parsed = parse(expression)
    points = _points(parsed, parse_assignments(assignments, parsed), random_count, seed)
    if eps is not None:
        _check_eps(points, eps, richardson)
    options = dict(rtol=rtol, atol=atol, richardson=richardson, step=eps)
    checks = _check_points(parsed, points, order, options)
    code = _generated_code(parsed, points[0]) if show_code else None
    if as_json:
        document = _json_document(parsed, checks, random_count, seed)
        if code is not None:
            document["code"] = code
        click.echo(json.dumps(document, indent=2))
    else:
        if code is not None:
            _print_code(parsed, code)
        _print_checks(parsed, checks, rtol, atol)
    if not all(check.ok for check in checks):
        click.get_current_context().exit(EXIT_FAILED)


def _generated_code(expression: Expression, point: Dict[str, float]) -> str:
    """The compiled value-and-gradient function of the expression, traced at point, with
    its names after the %n numbering of trace and graph where they can be (shown_code)."""
    names = list(point)
    program = compile_function(expression.as_function(names)).program(*point.values())
    if program is None:
        return "# no code: this expression runs on the recording engine at this point"
    inputs = {name: Scalar(value) for name, value in point.items()}
    output = expression.evaluate(inputs)
    view = graph(output, names=inputs) if isinstance(output, Scalar) else None
    renamed = None if view is None else shown_code.numbered_like_the_trace(program, view, names)
    if renamed is None:  # no variables, or not one line per node: the names as generated
        return shown_code.heading(names) + shown_code.tidy(program.grad_source(lambda var: None)) + "\n"
    return shown_code.heading(names, view) + renamed + "\n"


def _print_code(expression: Expression, code: str) -> None:
    console = Console(highlight=False, soft_wrap=True)
    console.print("generated code (scalargrad.compile): the value, then the reverse sweep")
    console.print(Syntax(code, "python", theme="ansi_dark", word_wrap=True))


def _points(expression: Expression, fixed: Dict[str, float], random_count: Optional[int],
            seed: int) -> List[Dict[str, float]]:
    """The points to check: the --at point, or random points keeping the --at values."""
    if random_count is not None:
        return random_points(expression, random_count, seed=seed, fixed=fixed)
    missing = [name for name in expression.variables if name not in fixed]
    if missing:
        raise BadInput(f"no value for {listed(missing)}: give "
                       f"{' '.join(f'--at {name}=VALUE' for name in missing)}, "
                       "or use --random N")
    return [{name: fixed[name] for name in expression.variables}]


def _check_eps(points: List[Dict[str, float]], eps: float, richardson: bool) -> None:
    """Refuse an --eps whose step rounds to zero at some point, before any work is done."""
    for point in points:
        for name, value in point.items():
            try:
                check_step(value, eps, richardson, name=name)
            except InputError as error:
                raise BadInput(f"--eps: {error}") from None


# ---------------------------------------------------------------------------------------
# Checking, with progress on stderr.
def _check_points(expression: Expression, points: List[Dict[str, float]], order: int,
                  options: dict) -> List[PointCheck]:
    """Every point's check, with transient progress bars on stderr when it is a terminal:
    one for the points (when there are several), and one for the Hessian's columns of a
    point that takes longer than SLOW_POINT_SECONDS."""
    console = Console(stderr=True)
    bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("elapsed,"), TimeRemainingColumn(),
                    TextColumn("left"),
                    console=console, transient=True, disable=not console.is_terminal)
    checks = []
    with bars:
        overall = bars.add_task("points", total=len(points), visible=len(points) > 1)
        for point in points:
            columns = _SlowPointBar(bars)
            checks.append(_check_point(expression, point, order, options, columns.update))
            columns.remove()
            bars.advance(overall)
    return checks


class _SlowPointBar:
    """The bar for one point's Hessian columns, added once the point has run for
    SLOW_POINT_SECONDS (a fast point would only flicker)."""

    task: Optional[TaskID]  # None until the point is slow enough to show the bar

    def __init__(self, bars: Progress) -> None:
        self.bars, self.started, self.task = bars, time.monotonic(), None

    def update(self, done: int, total: int) -> None:
        if self.task is None and time.monotonic() - self.started >= SLOW_POINT_SECONDS:
            self.task = self.bars.add_task("Hessian columns", total=total)
        if self.task is not None:
            self.bars.update(self.task, completed=done)

    def remove(self) -> None:
        if self.task is not None:
            self.bars.remove_task(self.task)


def _check_point(expression: Expression, point: Dict[str, float], order: int, options: dict,
                 progress: ProgressCallback) -> PointCheck:
    """check_gradients (and check_hessian) at point; a point where the expression is
    undefined or not finite is bad input."""
    names = list(point)
    function, values = expression.as_function(names), list(point.values())
    try:
        report = check_gradients(function, values, names=names, **options)
        if not math.isfinite(report.value):
            raise BadInput(f"{_at(point)}the value is {report.value} (overflow)")
        second = (check_hessian(function, values, names=names, progress=progress, **options)
                  if order == 2 else None)
    except (DomainError, NumericOverflow) as error:
        raise BadInput(f"{_at(point)}{error}") from None
    return PointCheck(point, report, second)


def _point_text(point: Dict[str, float]) -> str:
    return ", ".join(f"{name} = {value!r}" for name, value in point.items())


def _at(point: Dict[str, float]) -> str:
    """Where an error happened, as a prefix for its message."""
    return f"at {_point_text(point)}: " if point else ""


# ---------------------------------------------------------------------------------------
# Text output.
def _print_checks(expression: Expression, checks: List[PointCheck], rtol: float,
                  atol: float) -> None:
    console = Console(highlight=False, markup=False, soft_wrap=True)
    console.print(f"expression  {expression}")
    if len(checks) > check_summary.POINTS_IN_FULL:  # a summary, then what disagrees
        print_trimmed(console, check_summary.summary_table(
            [[(f"d/d{c.name}", c.ok, c.abs_error, c.rel_error) for c in check.gradient.inputs]
             + [(f"d2/d{e.row} d{e.column}", e.ok, e.abs_error, e.rel_error)
                for e in (check.hessian.entries if check.hessian is not None else [])]
             for check in checks], [_point_text(check.point) for check in checks]))
        failing = [(number, check) for number, check in enumerate(checks, 1) if not check.ok]
        for number, check in failing[:check_summary.FAILURES_IN_FULL]:
            _print_point(console, check, f"point {number}/{len(checks)}")
        if len(failing) > check_summary.FAILURES_IN_FULL:
            console.print(f"... and {len(failing) - check_summary.FAILURES_IN_FULL:,} more "
                          "points that disagree (--json lists every point)")
    else:
        for number, check in enumerate(checks, 1):
            label = f"point {number}/{len(checks)}" if len(checks) > 1 else "point"
            _print_point(console, check, label)
    console.print()
    console.print(_verdict(checks, rtol, atol))


def _print_point(console: Console, check: PointCheck, label: str) -> None:
    console.print(f"{label:<11} {_point_text(check.point) or '(no variables)'}")
    console.print(f"value       {check.gradient.value!r}")
    if check.gradient.inputs:
        print_trimmed(console, _gradient_table(check.gradient))
    if check.hessian is not None and check.hessian.entries:
        print_trimmed(console, _hessian_table(check.hessian))
    for note in _stencil_notes(check):
        console.print(note)
    for kink in dict.fromkeys(check.gradient.kinks):  # each once, in order
        console.print(_kink_note(kink))


# A row of a comparison table: (label, the three methods' values, abs error, rel error, ok).
_ComparisonRow = Tuple[str, Sequence[Optional[float]], Optional[float], Optional[float],
                       Optional[bool]]


def _comparison_table(title: str, label: str, methods: Sequence[str],
                      rows: Sequence[_ComparisonRow]) -> Table:
    """rows of (label, three values, abs error, rel error, ok); numbers too wide for the
    terminal fold rather than truncate. n/a where finite differences cannot check."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, collapse_padding=True)
    table.add_column(label, overflow="fold")
    for heading in (*methods, "abs err", "rel err"):
        table.add_column(heading, justify="right", overflow="fold")
    table.add_column("ok")
    for name, values, abs_error, rel_error, ok in rows:
        table.add_row(name, *map(_number, values), _error(abs_error), _error(rel_error),
                      "n/a" if ok is None else "pass" if ok else "FAIL")
    return table


def _gradient_table(report: GradientReport) -> Table:
    """One row per variable."""
    return _comparison_table(
        "first derivatives", "variable", ("reverse", "forward", "finite diff"),
        [(c.name, (c.reverse, c.forward, c.finite_difference), c.abs_error, c.rel_error, c.ok)
         for c in report.inputs])


def _hessian_table(report: HessianReport) -> Table:
    """One row per pair of variables."""
    return _comparison_table(
        "second derivatives", "variables", ("fwd-over-rev", "rev-over-rev", "finite diff"),
        [(f"{e.row}, {e.column}", (e.forward_over_reverse, e.reverse_over_reverse,
                                   e.finite_difference), e.abs_error, e.rel_error, e.ok)
         for e in report.entries])


def _number(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.10g}"


def _error(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.1e}"


def _stencil_notes(check: PointCheck) -> List[str]:
    """Where finite differences used a smaller or one-sided step, or none fits: each note
    once, with the derivatives it concerns."""
    derivatives: Dict[str, List[str]] = {}
    for c in check.gradient.inputs:
        if c.note:
            derivatives.setdefault(c.note, []).append(f"d/d{c.name}")
    for e in check.hessian.entries if check.hessian is not None else []:
        if e.note:
            derivatives.setdefault(e.note, []).append(f"d2/d{e.row} d{e.column}")
    return [f"note: {listed(names)}: {note}" for note, names in derivatives.items()]


_CONVENTIONS = rules.conventions()


def _kink_note(kink: str) -> str:
    """Explain a point where a derivative does not exist, such as "abs(0.0)"."""
    convention = _CONVENTIONS[kink.partition("(")[0]]
    return (f"note: {kink} is not differentiable there; scalargrad's convention: "
            f"{convention} Finite differences may disagree there.")


def _verdict(checks: List[PointCheck], rtol: float, atol: float) -> str:
    """One line: which derivatives disagree, if any, and which could not be checked."""
    tolerance = f"rtol={rtol:g}, atol={atol:g}"
    outcomes = [outcome for check in checks for outcome in _outcomes(check)]
    failed = dict.fromkeys(name for name, ok in outcomes if ok is False)
    unchecked = dict.fromkeys(name for name, ok in outcomes if ok is None)
    skipped = (f"; not checkable by finite differences: {listed(list(unchecked))}"
               if unchecked else "")
    if failed:
        failing_points = sum(not check.ok for check in checks)
        where = f" at {failing_points} of {len(checks)} points" if len(checks) > 1 else ""
        return (f"FAIL: the derivatives disagree for {listed(list(failed))}{where} "
                f"({tolerance}){skipped}")
    if unchecked and not any(ok for _, ok in outcomes):
        return f"nothing checked: finite differences cannot check {listed(list(unchecked))}"
    return f"ok: reverse mode, forward mode and finite differences agree ({tolerance}){skipped}"


def _outcomes(check: PointCheck) -> List[Tuple[str, Optional[bool]]]:
    """(name, ok) for every derivative checked at a point: ok is None where not checkable."""
    outcomes = [(c.name, c.ok) for c in check.gradient.inputs]
    if check.hessian is not None:
        outcomes += [(f"d2/d{e.row} d{e.column}", e.ok) for e in check.hessian.entries]
    return outcomes


# ---------------------------------------------------------------------------------------
# JSON output.
def _json_document(expression: Expression, checks: List[PointCheck],
                   random_count: Optional[int], seed: int) -> dict:
    """One point: {"expression", "point", ...}; with --random: {"expression", "seed",
    "points": [{"point", ...}, ...], "ok"}."""
    if random_count is None:
        return {"expression": str(expression), **_point_document(checks[0])}
    return {"expression": str(expression), "seed": seed,
            "points": [_point_document(check) for check in checks],
            "ok": all(check.ok for check in checks)}


def _point_document(check: PointCheck) -> dict:
    report = check.gradient
    return {
        "point": check.point,
        "value": json_number(report.value),
        "variables": {c.name: {"reverse": json_number(c.reverse),
                               "forward": json_number(c.forward),
                               **_comparison_document(c)}
                      for c in report.inputs},
        "nondifferentiable": list(dict.fromkeys(report.kinks)),
        **({} if check.hessian is None else {"hessian": [
            {"row": e.row, "column": e.column,
             "forward_over_reverse": json_number(e.forward_over_reverse),
             "reverse_over_reverse": json_number(e.reverse_over_reverse),
             **_comparison_document(e)} for e in check.hessian.entries]}),
        "ok": check.ok,
    }


def _comparison_document(check: Union[InputCheck, SecondDerivativeCheck]) -> dict:
    """The finite-difference side of an InputCheck or SecondDerivativeCheck."""
    return {"finite_difference": json_number(check.finite_difference),
            "abs_error": json_number(check.abs_error),
            "rel_error": json_number(check.rel_error),
            "ok": check.ok, "stencil": check.stencil, "note": check.note or None}


