"""Rich renderings for train-mnist: progress, the epoch table, the confusion matrix,
misclassified digits as text, and the closing summary.

Progress goes where people look: on a terminal, a live bar per epoch (with the time left)
under the table of epochs; when the output is not a terminal (``| tee log``), plain lines
on stderr every PLAIN_EVERY seconds (epoch, examples, loss, speed, time left), so that a
long run shows it is alive. Loading data (on a terminal) and evaluating are labelled.
"""
from __future__ import annotations

import contextlib
import sys
import time
from types import TracebackType
from typing import Callable, Iterator, List, Optional, Sequence, Type, cast

from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from scalargrad.train.loop import Callbacks, EpochRecord, Summary
from scalargrad.train.model import BatchReport, confusion_matrix

SHADES = " ░▒▓█"
MISCLASSIFIED_SHOWN = 6
PLAIN_EVERY = 5.0  # seconds between progress lines off a terminal


def duration(seconds: float) -> str:
    """``4 s``, ``2 min 5 s``, ``1 h 3 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@contextlib.contextmanager
def phase(console: Console, label: str) -> Iterator[None]:
    """A labelled phase (loading data): a spinner on a terminal. Off one, nothing: bad
    data found in it must stay the only line (and a log needs no spinner)."""
    if not console.is_terminal:
        yield
        return
    with console.status(label):
        yield


class TrainingDisplay(Callbacks):
    """Progress and a table row for each epoch that ends, while the run trains (use it as
    a context manager); see the module docstring. ``last_epoch`` is the number of the
    last epoch the run will train; ``note()``, if given, says how the steps are taken now
    (--workers auto's choice), shown in the progress lines off a terminal."""

    def __init__(self, console: Console, last_epoch: int,
                 note: Optional[Callable[[], str]] = None) -> None:
        self.console, self.last_epoch, self.note = console, last_epoch, note
        self.table = epoch_table()
        self.live: Optional[Live] = None
        # 68 columns and the bar: fits 80 columns, a wider bar on wider terminals
        self.bar = Progress(TextColumn("{task.description}"),
                            BarColumn(bar_width=max(8, min(40, console.width - 70))),
                            TextColumn("{task.completed:,}/{task.total:,}"),
                            TextColumn("{task.fields[speed]:,.0f}/s  loss {task.fields[loss]:.3f}"
                                       "  acc {task.fields[acc]:.1%}"),
                            TimeRemainingColumn(), TextColumn("left"), console=console)
        if console.is_terminal:
            self.live = Live(Group(self.table, self.bar), console=console, refresh_per_second=8)
        self.task: Optional[TaskID] = None
        self.started = (0.0, 0)  # clock and examples when this epoch's bar appeared
        self.epoch, self.total, self.said = 1, 1, 0.0  # said: the clock at the last line

    def __enter__(self) -> "TrainingDisplay":
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        if self.live is not None:
            self.live.__exit__(exc_type, exc, traceback)
        elif self.table.rows:
            self.console.print(self.table)

    def _line(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)
        self.said = time.perf_counter()

    def epoch_started(self, epoch: int, examples: int, total: int) -> None:
        self.epoch, self.total = epoch, total
        self.task = self.bar.add_task(f"epoch {epoch}/{self.last_epoch}", total=total,
                                      completed=examples, speed=0.0, loss=0.0, acc=0.0)
        self.started = (time.perf_counter(), examples)
        if self.live is None:
            self._line(f"epoch {epoch}/{self.last_epoch}: started"
                       + (f" at {examples:,}/{total:,} examples" if examples else ""))

    def batch_done(self, report: BatchReport) -> None:
        clock, examples = self.started
        now = time.perf_counter()
        speed = (report.examples - examples) / max(now - clock, 1e-9)
        # epoch_started added the task: a run starts an epoch before its batches and its end.
        task = cast(TaskID, self.task)
        self.bar.update(task, completed=report.examples, speed=speed, loss=report.loss,
                        acc=report.accuracy)
        finished = report.examples >= self.total
        if finished:  # the test set is evaluated next
            self.bar.update(task, description=f"epoch {self.epoch}/{self.last_epoch}: "
                                              "evaluating on the test set")
        if self.live is None and (finished or now - self.said >= PLAIN_EVERY):
            left = ((self.total - report.examples)
                    + (self.last_epoch - self.epoch) * self.total) / max(speed, 1e-9)
            self._line(f"epoch {self.epoch}/{self.last_epoch}: {report.examples:,}/"
                       f"{self.total:,} examples, loss {report.loss:.4f}, "
                       f"{speed:,.0f} examples/s, {duration(left)} left"
                       + (f", workers: {self.note()}" if self.note is not None else ""))
            if finished:
                self._line(f"epoch {self.epoch}/{self.last_epoch}: evaluating on the test set")

    def epoch_ended(self, record: EpochRecord) -> None:
        self.bar.remove_task(cast(TaskID, self.task))  # added by epoch_started, as above
        add_epoch_row(self.table, record)
        if self.live is None:
            self._line(f"epoch {record.epoch}/{self.last_epoch} "
                       f"{'done' if record.complete else 'stopped'}: loss {record.loss:.4f}, "
                       f"train {record.train_accuracy:.2%}, test {record.test_accuracy:.2%}, "
                       f"{duration(record.seconds)}")


def epoch_table() -> Table:
    table = Table(title="Training")
    for name in ("epoch", "examples", "loss", "train accuracy", "test accuracy", "time"):
        table.add_column(name, justify="right")
    return table


def add_epoch_row(table: Table, record: EpochRecord) -> None:
    epoch = str(record.epoch) if record.complete else f"{record.epoch} (stopped)"
    table.add_row(epoch, f"{record.examples:,}", f"{record.loss:.4f}",
                  f"{record.train_accuracy:.2%}", f"{record.test_accuracy:.2%}",
                  f"{record.seconds:.1f} s")


def confusion_table(counts: List[List[int]]) -> Table:
    """Rows are true labels, columns predictions; the diagonal (correct) in bold green."""
    table = Table(title="Confusion matrix (rows: true digit, columns: predicted)")
    table.add_column("", justify="right", style="bold")
    for predicted in range(len(counts)):
        table.add_column(str(predicted), justify="right")
    for true, row in enumerate(counts):
        cells = [f"[bold green]{n}[/]" if true == predicted else (str(n) if n else "[dim]·[/]")
                 for predicted, n in enumerate(row)]
        table.add_row(str(true), *cells)
    return table


def digit_art(pixels: Sequence[float], side: int) -> Text:
    """A digit's pixels (values in [0, 1], row-major) as shaded blocks, two characters a pixel."""
    lines = []
    for r in range(side):
        row = pixels[r * side:(r + 1) * side]
        lines.append("".join(SHADES[min(int(v * len(SHADES)), len(SHADES) - 1)] * 2 for v in row))
    return Text("\n".join(lines))


def misclassified_panels(images: Sequence[Sequence[float]], side: int, truths: Sequence[int],
                         predictions: Sequence[int]) -> Columns:
    panels = [Panel(digit_art(image, side), title=f"true {t} → predicted {p}", expand=False)
              for image, t, p in zip(images, truths, predictions)]
    return Columns(panels)


def misclassified(labels: Sequence[int], predictions: Sequence[int]) -> List[int]:
    """The indices of the first few test examples the model gets wrong."""
    wrong = [i for i, (t, p) in enumerate(zip(labels, predictions)) if t != p]
    return wrong[:MISCLASSIFIED_SHOWN]


def show_summary(console: Console, summary: Summary, labels: Sequence[int], wrong: Sequence[int],
                 digits: Sequence[Sequence[float]], side: int, saved_to: Optional[str],
                 workers: Optional[str] = None) -> None:
    """The confusion matrix, the misclassified digits (``digits`` are the pixels of the test
    examples ``wrong``, side x side) and a closing line; ``workers``, if given, says how
    --workers auto trained (Processes.described)."""
    predictions = summary.predictions
    console.print()
    console.print(confusion_table(confusion_matrix(labels, predictions)))
    if wrong:
        console.print("Some misclassified test digits:")
        console.print(misclassified_panels(digits, side, [labels[i] for i in wrong],
                                           [predictions[i] for i in wrong]))
    speed = summary.examples_per_second
    epochs = summary.epochs
    console.print(f"[bold]test accuracy {summary.test_accuracy:.2%}[/] after "
                  f"{epochs} epoch{'s' if epochs != 1 else ''}, {summary.examples:,} examples, "
                  f"{summary.seconds:.1f} s"
                  + (f" ({speed:,.0f} examples/s)" if speed else "")
                  + (" [yellow]interrupted[/]" if summary.interrupted else ""))
    if workers is not None:
        console.print(f"workers: {workers}", markup=False)
    if saved_to:
        console.print(f"model saved to {saved_to}"
                      + (f" (--resume {saved_to} to go on)" if summary.interrupted else ""))
