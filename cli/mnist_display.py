"""Rich renderings for train-mnist: live progress, the epoch table, the confusion matrix,
misclassified digits as text, and the closing summary."""
from __future__ import annotations

import time
from types import TracebackType
from typing import List, Optional, Sequence, Type, cast

from rich.columns import Columns
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from scalargrad.train.loop import Callbacks, EpochRecord, Summary
from scalargrad.train.model import BatchReport, confusion_matrix

SHADES = " ░▒▓█"
MISCLASSIFIED_SHOWN = 6


class TrainingDisplay(Callbacks):
    """A progress bar for the epoch running and a table row for each epoch that ends,
    live on the console while the run trains (use it as a context manager)."""

    def __init__(self, console: Console) -> None:
        self.table = epoch_table()
        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                            TextColumn("{task.completed}/{task.total}"),
                            TextColumn("{task.fields[speed]:.0f} ex/s  loss {task.fields[loss]:.4f}"
                                       "  acc {task.fields[acc]:.2%}"), TimeElapsedColumn())
        self.live = Live(Group(self.table, self.bar), console=console, refresh_per_second=8)
        self.task: Optional[TaskID] = None
        self.started = (0.0, 0)  # clock and examples when this epoch's bar appeared

    def __enter__(self) -> "TrainingDisplay":
        self.live.__enter__()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> None:
        self.live.__exit__(exc_type, exc, traceback)
        if not self.live.console.is_terminal:  # rich ends the last line only on terminals
            self.live.console.line()

    def epoch_started(self, epoch: int, examples: int, total: int) -> None:
        self.task = self.bar.add_task("", total=total, completed=examples, epoch=epoch,
                                      speed=0.0, loss=0.0, acc=0.0)
        self.started = (time.perf_counter(), examples)

    def batch_done(self, report: BatchReport) -> None:
        clock, examples = self.started
        speed = (report.examples - examples) / max(time.perf_counter() - clock, 1e-9)
        # epoch_started added the task: a run starts an epoch before its batches and its end.
        self.bar.update(cast(TaskID, self.task), completed=report.examples, speed=speed,
                        loss=report.loss, acc=report.accuracy)

    def epoch_ended(self, record: EpochRecord) -> None:
        self.bar.remove_task(cast(TaskID, self.task))  # added by epoch_started, as above
        add_epoch_row(self.table, record)


def epoch_table() -> Table:
    table = Table(title="Training")
    for name in ("epoch", "examples", "loss", "train accuracy", "test accuracy", "time"):
        table.add_column(name, justify="right")
    return table


def add_epoch_row(table: Table, record: EpochRecord) -> None:
    epoch = str(record.epoch) if record.complete else f"{record.epoch} (stopped)"
    table.add_row(epoch, str(record.examples), f"{record.loss:.4f}",
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
                 digits: Sequence[Sequence[float]], side: int, saved_to: Optional[str]) -> None:
    """The confusion matrix, the misclassified digits (``digits`` are the pixels of the test
    examples ``wrong``, side x side) and a closing line."""
    predictions = summary.predictions
    console.print()
    console.print(confusion_table(confusion_matrix(labels, predictions)))
    if wrong:
        console.print("Some misclassified test digits:")
        console.print(misclassified_panels(digits, side, [labels[i] for i in wrong],
                                           [predictions[i] for i in wrong]))
    speed = summary.examples_per_second
    console.print(f"[bold]test accuracy {summary.test_accuracy:.2%}[/] after "
                  f"{summary.epochs} epoch(s), {summary.examples} examples, "
                  f"{summary.seconds:.1f} s"
                  + (f" ({speed:.0f} examples/s)" if speed else "")
                  + (" [yellow]interrupted[/]" if summary.interrupted else ""))
    if saved_to:
        console.print(f"model saved to {saved_to}"
                      + (f" (--resume {saved_to} to go on)" if summary.interrupted else ""))
