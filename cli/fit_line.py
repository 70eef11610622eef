"""`scalargrad fit-line`: fit y = slope*x + intercept by gradient descent, live, in the terminal.

The fitting is scalargrad.fit.linefit; this module reads options, shows progress (on stderr),
and prints the results: a table and a text plot, or a JSON document with --json.

Exit status: 0 on success; 2 for bad options or unusable data (one "Error:" line); 1 if the
fit diverges (the loss stops being finite; a smaller --lr helps). Errors are reported as
cli/errors.py describes: scalargrad's DataError propagates to the command group, and only
a divergence is caught here, to add the hint about --lr.
"""
from __future__ import annotations

import json
import math
import time
from typing import List, Optional, Sequence, Tuple

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from scalargrad import errors
from scalargrad.view import chart_svg, fit_chart
from scalargrad.fit import story as fit_story
from scalargrad.fit import linefit
from scalargrad.fit.story import FitHistory
from scalargrad.fit.linefit import Line
from scalargrad.optim import OPTIMIZERS
from scalargrad.output_file import check_distinct, check_writable, write_atomically

from . import text_chart
from .errors import Failure
from .options import finite

TRUE_LINE = Line(0.7, 4.0)
START_LINE = Line(-2.0, 0.0)
PLOT_WIDTH, PLOT_HEIGHT = 60, 20
MOMENT_MARKS = {"start": "·", "early": "-"}  # the final line is ─
MOMENT_STYLES = {"start": "red", "early": "yellow", "final": "green"}
# random.gauss never returns more than 8.6 in magnitude, so y stays a float up to this noise
MAX_NOISE = 1e307


def _labels(values: Sequence[float]) -> List[str]:
    """The values with as few significant digits (4 or more) as keep distinct values distinct."""
    for digits in range(4, 17):
        texts = [f"{v:.{digits}g}" for v in values]
        if len(set(texts)) == len(set(values)):
            return texts
    return list(map(repr, values))


def _equation(line: Line, digits: int = 6) -> str:
    sign = "-" if line.intercept < 0 else "+"
    return f"y = {line.slope:.{digits}g}x {sign} {abs(line.intercept):.{digits}g}"


def _fraction(value: float, low: float, high: float) -> float:
    """Where value lies from low (0) to high (1), without overflowing when high - low would."""
    if math.isinf(high - low):
        value, low, high = value / 2, low / 2, high / 2
    return (value - low) / (high - low)


def _plot(xs: Sequence[float], ys: Sequence[float],
          lines: Sequence[Tuple[Line, str, str]]) -> Text:
    """The points (●) and lines, each (line, character, style), on a character grid, with
    axis labels; later lines are drawn over earlier ones, and the points over them all."""
    x_low, x_high = min(xs), max(xs)
    ends = [y for line, _, _ in lines for x in (x_low, x_high)
            for y in [line.slope * x + line.intercept] if math.isfinite(y)]
    y_low, y_high = min(min(ys), *ends), max(max(ys), *ends)

    def column(x: float) -> int:
        return round(_fraction(x, x_low, x_high) * (PLOT_WIDTH - 1))

    def row(y: float) -> int:
        if y_low == y_high:  # a flat line through flat data: the middle row
            return PLOT_HEIGHT // 2
        return round(_fraction(y, y_high, y_low) * (PLOT_HEIGHT - 1))

    grid: List[List[str]] = [[" "] * PLOT_WIDTH for _ in range(PLOT_HEIGHT)]
    styles = {"●": "cyan"}
    for line, mark, style in lines:
        styles[mark] = style
        for j in range(PLOT_WIDTH):
            t = j / (PLOT_WIDTH - 1)
            y = line.slope * ((1 - t) * x_low + t * x_high) + line.intercept
            if math.isfinite(y):
                grid[min(max(row(y), 0), PLOT_HEIGHT - 1)][j] = mark
    for x, y in zip(xs, ys):
        grid[row(y)][column(x)] = "●"

    rows = [0, PLOT_HEIGHT // 2, PLOT_HEIGHT - 1]
    if y_low == y_high:
        labels = {PLOT_HEIGHT // 2: _labels([y_low])[0]}
    else:
        labels = dict(zip(rows, _labels([y_high, y_low / 2 + y_high / 2, y_low])))
    margin = max(map(len, labels.values()))
    plot = Text()
    plot.append(" " * margin + " y\n", style="dim")
    for i, cells in enumerate(grid):
        plot.append(f"{labels.get(i, ''):>{margin}} ┤" if i in rows else " " * margin + " │")
        for cell in cells:
            plot.append(cell, style=styles.get(cell, ""))
        plot.append("\n")
    plot.append(" " * margin + " └" + "─" * PLOT_WIDTH + "\n")
    left, middle, right = _labels([x_low, x_low / 2 + x_high / 2, x_high])
    gap = PLOT_WIDTH - len(left) - len(middle) - len(right)
    plot.append(" " * (margin + 2) + left + " " * (gap // 2) + middle
                + " " * (gap - gap // 2) + right)
    plot.append("\n" + " " * (margin + 2) + "x", style="dim")
    return plot


def _report(console: Console, summary: dict, xs: Sequence[float], ys: Sequence[float],
            history: FitHistory) -> None:
    lines = Table(title="Line fit", title_justify="left")
    lines.add_column("line")
    lines.add_column("slope", justify="right")
    lines.add_column("intercept", justify="right")
    named = [("true", summary.get("true")), ("least squares", summary["least_squares"]),
             ("fitted", {"slope": summary["slope"], "intercept": summary["intercept"]})]
    for name, values in named:
        if values is not None:
            lines.add_row(name, f"{values['slope']:.6g}", f"{values['intercept']:.6g}")
    console.print(lines)
    if not summary["converged"]:
        stopped = "not converged: try more --steps or another --lr"
    elif summary["threshold"] > summary["tolerance"]:
        stopped = f"converged within {linefit.CLOSE_ENOUGH:g} standard errors of least squares"
    else:
        stopped = f"converged: gradient norm {summary['gradient_norm']:.2g}"
    run = Table.grid(padding=(0, 2))
    loss = (f"{summary['loss']:.6g} (mean squared error)" if summary["loss"] is not None
            else f"{summary['rmse']:.6g}² (mean squared error, too large for a float)")
    run.add_row("final loss", loss)
    run.add_row("steps", f"{summary['steps']} ({stopped})")
    run.add_row("time", f"{summary['seconds']:.3f} s")
    batches = (f", minibatches of {summary['batch_size']:,} points"
               if summary["batch_size"] < summary["points"] else "")
    run.add_row("gradients", f"{summary['mode']} mode, {summary['optimizer']} with lr "
                             f"{summary['lr']:g}{batches}")
    console.print(run)
    fitted = Line(summary["slope"], summary["intercept"])
    moments = [m for m in history.moments() if m.name != "final"]
    drawn = [(m.step.line, MOMENT_MARKS[m.name], MOMENT_STYLES[m.name]) for m in moments]
    console.print(_plot(xs, ys, drawn + [(fitted, "─", MOMENT_STYLES["final"])]))
    scale = fit_story.scale_of(xs, ys)
    entries = [("● points", "cyan")] + [
        (f"{MOMENT_MARKS[m.name]} step {m.step.step} ({m.name}): "
         f"{fit_story.equation(m.step, scale)}", MOMENT_STYLES[m.name]) for m in moments]
    entries.append((f"─ fit {_equation(fitted)}", MOMENT_STYLES["final"]))
    legend, used = Text(), 0
    for entry, style in entries:  # lines of whole entries: an equation is never split
        if used and used + 3 + len(entry) > console.width:
            legend.append("\n")
            used = 0
        elif used:
            legend.append("   ")
            used += 3
        legend.append(entry, style=style)
        used += len(entry)
    console.print(legend)
    console.print()
    text_chart.print_panels(console, fit_chart.panels(xs, ys, history)[1:])


class _Progress:
    """A fit's progress on stderr (with --json too): a live bar on a terminal; elsewhere (a
    pipe, a log file) a whole line at the start and after every tenth of the steps."""

    def __init__(self, steps: int, loss_name: str) -> None:
        self.steps, self.loss_name = steps, loss_name
        self.every = max(1, steps // 10)
        console = Console(stderr=True)
        self.bar = (Progress(TextColumn("fit"), BarColumn(bar_width=16), MofNCompleteColumn(),
                             TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                             console=console, transient=True)
                    if console.is_terminal else None)

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.task = self.bar.add_task("fit", total=self.steps, status="")
            self.bar.start()
        return self

    def __exit__(self, *exception: object) -> None:
        if self.bar is not None:
            self.bar.stop()  # transient: erases itself, so what follows starts a line

    def __call__(self, step: linefit.FitStep) -> None:
        status = f"{self.loss_name} {step.loss:.4g}  {_equation(step.line, digits=4)}"
        if self.bar is not None:
            self.bar.update(self.task, completed=step.step, status=status)
        elif step.step % self.every == 0:
            click.echo(f"fit: step {step.step:,}/{self.steps:,}  {status}", err=True)


@click.command("fit-line")
@click.option("--points", type=click.IntRange(2, linefit.MAX_POINTS), default=100,
              show_default=True,
              help="Number of generated points, x uniform in [0, 10] (ignored with --csv).")
@click.option("--noise", type=click.FloatRange(0, MAX_NOISE), default=0.5, show_default=True,
              callback=finite, help="Standard deviation of the gaussian noise added to y.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the generated points and of the order of minibatches.")
@click.option("--csv", "csv_path", metavar="FILE.csv", default=None,
              help=f"Fit x,y rows from this UTF-8 CSV file instead (a header line is optional; "
                   f"at most {linefit.MAX_POINTS:,} points and {linefit.MAX_LINE_BYTES:,} bytes "
                   f"a line).")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Maximum number of optimizer steps.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.1, show_default=True,
              callback=finite, help="Learning rate (the fit runs in standardised units).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="sgd",
              show_default=True,
              help="momentum is SGD with momentum 0.9.")
@click.option("--mode", type=click.Choice(linefit.MODES), default="reverse", show_default=True,
              help="Gradients by reverse or forward autodiff (same result).")
@click.option("--tolerance", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              callback=finite,
              help="Stop once the gradient norm in standardised units is at most this "
                   "(the line is then within tolerance/2 of least squares there); "
                   f"0 runs all steps. Beyond {linefit.FULL_BATCH_LIMIT:,} points, steps use "
                   f"minibatches and the fit also stops within {linefit.CLOSE_ENOUGH:g} "
                   "standard errors of least squares.")
@click.option("--json", "as_json", is_flag=True,
              help="Print only a JSON document of the results (progress still goes to stderr).")
@click.option("--plot", "plot_path", metavar="FILE.svg", default=None,
              help="Also draw the fit's story as SVG: the line at its start, early and at the "
                   "end over the points, and the loss step by step (checked before the fit).")
def fit_line(points: int, noise: float, seed: int, csv_path: Optional[str], steps: int, lr: float,
             optimizer: str, mode: str, tolerance: float, as_json: bool,
             plot_path: Optional[str]) -> None:
    """Fit a line to noisy points on y = 0.7x + 4 (or to --csv data) by gradient descent.

    Generated points start the fit from y = -2x; CSV data from the horizontal line through
    the mean of y. Exit status 2 for bad options or data, 1 if the fit diverges.
    """
    check_distinct({"--csv": csv_path, "--plot": plot_path})
    if plot_path is not None:
        check_writable(plot_path)
    if csv_path is None:
        xs, ys = linefit.synthetic_points(points, *TRUE_LINE, noise=noise, seed=seed)
        start: Optional[Line] = START_LINE
    else:
        xs, ys = linefit.read_points_csv(csv_path)
        start = None

    batch = linefit.batch_size(len(xs))
    history = FitHistory()
    began = time.perf_counter()
    try:
        with _Progress(steps, "loss" if batch == len(xs) else "batch loss") as show:
            def both(step: linefit.FitStep) -> None:
                show(step)
                history(step)
            result = linefit.fit_line(xs, ys, optimizer=optimizer, lr=lr, steps=steps, mode=mode,
                                      tolerance=tolerance, start=start, seed=seed, callback=both)
    except errors.Diverged as error:
        raise Failure(f"{error}; try a smaller --lr than {lr:g}") from None
    seconds = time.perf_counter() - began

    summary = {
        "slope": result.line.slope, "intercept": result.line.intercept,
        "least_squares": {"slope": result.least_squares.slope,
                          "intercept": result.least_squares.intercept},
        "loss": result.loss if math.isfinite(result.loss) else None, "rmse": result.rmse,
        "steps": result.steps, "converged": result.converged,
        "gradient_norm": result.gradient_norm, "tolerance": tolerance, "mode": mode,
        "optimizer": optimizer, "lr": lr,
        "points": len(xs), "batch_size": result.batch_size, "threshold": result.threshold,
        "seconds": seconds,
    }
    if csv_path is None:
        summary["true"] = {"slope": TRUE_LINE.slope, "intercept": TRUE_LINE.intercept}
    summary["moments"] = [{"name": m.name, "step": m.step.step, "slope": m.step.line.slope,
                           "intercept": m.step.line.intercept, "loss": m.step.loss}
                          for m in history.moments()]
    if plot_path is not None:
        _write_plot(plot_path, xs, ys, history, csv_path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _report(Console(highlight=False), summary, xs, ys, history)


def _write_plot(path: str, xs: Sequence[float], ys: Sequence[float], history: FitHistory,
                csv_path: Optional[str]) -> None:
    data = f"{csv_path}" if csv_path is not None else (
        f"{len(xs)} points on {_equation(TRUE_LINE)} with noise")
    try:
        write_atomically(path, chart_svg.render(fit_chart.panels(xs, ys, history),
                                                title=f"fit-line: {data}"))
    except OSError as error:
        raise Failure(f"cannot write {path}: {error.strerror or error}") from None
