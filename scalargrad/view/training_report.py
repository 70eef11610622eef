"""A training run as one self-contained HTML page (train-mnist --report run.html).

The page shows the loss of every step as one continuous line, raw and faint under a
smoothed one whose smoothing a slider sets (as TensorBoard's does), the train accuracy of
every step with the test accuracy after each epoch joined by a line (training_chart.py,
drawn by chart_svg.py), a table of the epochs, the confusion matrix as a heat map, the
misclassified test digits drawn, and the run's settings, timings and engine. Inline style
and script, images as data: URIs: no network, it opens from file://.

While the run goes on, the page is written again after each epoch (atomically: a reader
never sees half a page) and reloads itself every REFRESH seconds, so that a browser left
open on it follows the run; the confusion matrix and the digits come with the end.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..train.loop import EpochRecord, Settings
from ..train.model import confusion_matrix
from . import chart_svg, png, training_chart

REFRESH = 15  # seconds between reloads of a page of a run in progress


@dataclass
class Outcome:
    """What only the end of a run tells: the test set's predictions and a few digits."""
    test_accuracy: float
    labels: Sequence[int]
    predictions: Sequence[int]
    digits: Sequence[Tuple[int, Sequence[float]]] = ()  # (test index, pixels) misclassified
    side: int = 14                                      # the digits' width and height
    seconds: float = 0.0                                # the whole run, evaluation included
    examples_per_second: Optional[float] = None
    interrupted: bool = False


@dataclass
class RunSoFar:
    """A run as the report shows it; ``outcome`` is None while it trains."""
    settings: Settings
    engine: str                      # how the gradients are computed, and by how many processes
    last_epoch: int                  # the last epoch the run was asked to train
    history: Sequence[EpochRecord]
    steps: Sequence[Tuple[float, float, float]]  # (epoch, loss, accuracy), each step
    epoch_size: int
    outcome: Optional[Outcome] = None
    extra: Dict[str, str] = field(default_factory=dict)  # more lines for the settings table


def page(run: RunSoFar) -> str:
    """The report as an HTML document."""
    s = run.settings
    model = f"{s.hidden} hidden units ({s.activation})" if s.hidden else "softmax regression"
    title = f"train-mnist: {s.size}x{s.size} images, {model}"
    panels = training_chart.curves(run.history, run.steps, run.epoch_size)
    chart = chart_svg.render(panels, "")
    chart = chart[chart.index("<svg"):]
    weight = training_chart.smoothing(len(run.steps))
    data = json.dumps({"steps": [[round(x, 6), loss, accuracy] for x, loss, accuracy in run.steps]},
                      separators=(",", ":")).replace("</", "<\\/")
    refresh = (f'<meta http-equiv="refresh" content="{REFRESH}">' if run.outcome is None else "")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><link rel=\"icon\" href=\"data:,\">{refresh}"
        f"<style>{_asset('training_report.css')}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=\"status\">{_status(run)}</p>"
        "<h2>Loss and accuracy, step by step</h2>"
        f'<p><label>smoothing <input type="range" id="smoothing" min="0" max="0.99" '
        f'step="0.01" value="{weight:.2f}"> <output for="smoothing">{weight:.2f}</output>'
        "</label> (raw values faint, smoothed bold: an exponential moving average of the "
        "steps, as TensorBoard smooths)</p>"
        f'<div class="chart">{chart}</div>'
        f"{_epochs(run)}{_confusion(run.outcome)}{_digits(run.outcome)}{_settings(run)}"
        f'<script type="application/json" id="run-data">{data}</script>'
        f"<script>{_asset('training_report.js')}</script></body></html>\n")


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _status(run: RunSoFar) -> str:
    done = len([r for r in run.history if r.complete])
    outcome = run.outcome
    if outcome is None:
        return (f"In progress: {done} of {run.last_epoch} epoch{'s' if run.last_epoch != 1 else ''}"
                f" done; this page reloads every {REFRESH} s.")
    how = "stopped (interrupted)" if outcome.interrupted else "finished"
    return (f"Run {how}: test accuracy <strong>{outcome.test_accuracy:.2%}</strong> after "
            f"{done} epoch{'s' if done != 1 else ''}, in {outcome.seconds:,.1f} s.")


def _epochs(run: RunSoFar) -> str:
    rows = "".join(
        f"<tr><td>{r.epoch}{'' if r.complete else ' (stopped)'}</td><td>{r.examples:,}</td>"
        f"<td>{r.loss:.4f}</td><td>{r.train_accuracy:.2%}</td><td>{r.test_accuracy:.2%}</td>"
        f"<td>{r.seconds:,.1f} s</td></tr>" for r in run.history)
    return ("<h2>Epochs</h2><table class=\"numbers\"><thead><tr><th>epoch</th>"
            "<th>examples</th><th>loss</th><th>train accuracy</th><th>test accuracy</th>"
            f"<th>time</th></tr></thead><tbody>{rows}</tbody></table>")


def _confusion(outcome: Optional[Outcome]) -> str:
    """The confusion matrix as a heat map: each cell shaded by its share of its row (the
    true digit), the diagonal in green, the mistakes in red."""
    if outcome is None:
        return "<h2>Confusion matrix</h2><p>When the run ends.</p>"
    counts = confusion_matrix(outcome.labels, outcome.predictions)
    head = "".join(f"<th scope=\"col\">{k}</th>" for k in range(len(counts)))
    body = []
    for true, row in enumerate(counts):
        total = sum(row) or 1
        cells = []
        for predicted, n in enumerate(row):
            share = n / total
            colour = (f"rgba(42,157,58,{share:.3f})" if predicted == true
                      else f"rgba(200,40,40,{min(1.0, 4 * share):.3f})")
            cells.append(f'<td style="background:{colour}" title="true {true}, predicted '
                         f'{predicted}: {n:,} ({share:.1%})">{n:,}</td>')
        body.append(f"<tr><th scope=\"row\">{true}</th>{''.join(cells)}</tr>")
    return ("<h2>Confusion matrix</h2><p>Rows: the true digit; columns: the prediction; "
            "shaded by the share of the row.</p><table class=\"confusion\"><thead><tr><th></th>"
            f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _digits(outcome: Optional[Outcome]) -> str:
    if outcome is None or not outcome.digits:
        return ""
    figures = "".join(
        f'<figure><img src="{png.data_uri(png.greyscale_png(pixels, outcome.side))}" '
        f'width="{4 * outcome.side}" height="{4 * outcome.side}" alt="test digit {index}: '
        f'a {outcome.labels[index]} taken for a {outcome.predictions[index]}">'
        f"<figcaption>{outcome.labels[index]} → {outcome.predictions[index]}</figcaption>"
        "</figure>" for index, pixels in outcome.digits)
    return (f"<h2>Misclassified test digits</h2><p>The first {len(outcome.digits)} the "
            f"model gets wrong: true → predicted.</p><div class=\"digits\">{figures}</div>")


def _settings(run: RunSoFar) -> str:
    s = run.settings
    rows: List[Tuple[str, Any]] = [
        ("images", f"{s.size}x{s.size}"), ("hidden units", s.hidden or "none (softmax regression)"),
        ("activation", s.activation if s.hidden else "-"), ("optimizer", s.optimizer),
        ("learning rate", f"{s.lr:g}"), ("batch size", s.batch_size), ("seed", s.seed),
        ("training examples", f"{run.epoch_size:,}" + (" (--limit)" if s.limit else "")),
        ("gradients", f"{s.mode} mode"), ("engine", run.engine)]
    rows += list(run.extra.items())
    training = sum(r.seconds for r in run.history)
    examples = sum(r.examples for r in run.history)
    timings: List[Tuple[str, Any]] = [("training", f"{training:,.1f} s"),
                                      ("examples per second", f"{examples / training:,.0f}"
                                       if training else "-")]
    if run.outcome is not None:
        timings.append(("the whole run, evaluation included", f"{run.outcome.seconds:,.1f} s"))

    def table(items: List[Tuple[str, Any]]) -> str:
        return "<table class=\"settings\">" + "".join(
            f"<tr><th scope=\"row\">{escape(name)}</th><td>{escape(str(value))}</td></tr>"
            for name, value in items) + "</table>"
    return f"<h2>Settings</h2>{table(rows)}<h2>Timings</h2>{table(timings)}"
