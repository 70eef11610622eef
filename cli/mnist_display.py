"""Rich renderings for train-mnist: the epoch table, the confusion matrix, digits as text."""
from __future__ import annotations

from typing import List, Sequence

from rich.columns import Columns
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

SHADES = " ░▒▓█"


def epoch_table() -> Table:
    table = Table(title="Training")
    for name in ("epoch", "loss", "train accuracy", "test accuracy", "time"):
        table.add_column(name, justify="right")
    return table


def add_epoch_row(table: Table, epoch: int, loss: float, train_accuracy: float,
                  test_accuracy: float, seconds: float) -> None:
    table.add_row(str(epoch), f"{loss:.4f}", f"{train_accuracy:.2%}", f"{test_accuracy:.2%}",
                  f"{seconds:.1f} s")


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
