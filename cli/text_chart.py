"""Chart panels (scalargrad.view.chart) in the terminal: lines in braille dots, dots as
● ■ ▲ ◆ by their shape, so that series differ without colour too (piped, NO_COLOR).

A braille character is a cell of 2 x 4 dots, so a chart of 48 x 9 characters plots lines
at 96 x 36 points. The y axis is laid out so that its ticks fall on rows evenly apart, each
on the middle of its row. The same panels are drawn as SVG by scalargrad.view.chart_svg.
"""
from __future__ import annotations

import colorsys
import math
from typing import Dict, List, Optional, Sequence, Tuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scalargrad.view.chart import Dots, Line, Panel, log_ticks, tick_label, ticks

WIDTH, HEIGHT = 48, 9  # characters
MAX_MARKS = 30  # Dots of more points are drawn as braille dots, not marks
MARKS = {"circle": "●", "square": "■", "triangle": "▲", "diamond": "◆"}
_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][column]


def terminal_colour(colour: str) -> str:
    """A chart's colour ("#rrggbb") as the nearest of the terminal's basic colours, by hue,
    so that series stay apart on terminals of 8 colours as on those of millions."""
    if not (colour.startswith("#") and len(colour) == 7):
        return colour
    r, g, b = (int(colour[k:k + 2], 16) / 255 for k in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation < 0.25 or lightness < 0.1:
        return "bright_black" if lightness < 0.6 else "white"
    names = ("red", "yellow", "green", "cyan", "blue", "magenta")
    return names[round(hue * 6) % 6]


class _Canvas:
    """Braille cells with a colour each; ● marks override them."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.bits: Dict[Tuple[int, int], int] = {}
        self.colour: Dict[Tuple[int, int], str] = {}
        self.marks: Dict[Tuple[int, int], Tuple[str, str]] = {}

    def dot(self, px: int, py: int, colour: str) -> None:
        if 0 <= px < 2 * self.width and 0 <= py < 4 * self.height:
            cell = (py // 4, px // 2)
            self.bits[cell] = self.bits.get(cell, 0) | _BRAILLE_BITS[py % 4][px % 2]
            self.colour[cell] = colour

    def segment(self, a: Tuple[float, float], b: Tuple[float, float], colour: str) -> None:
        steps = max(1, int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))))
        for k in range(steps + 1):
            t = k / steps
            self.dot(round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), colour)

    def mark(self, px: float, py: float, shape: str, colour: str) -> None:
        """A mark in the cell that holds the dot a line through (px, py) would light."""
        cell = (min(max(round(py) // 4, 0), self.height - 1),
                min(max(round(px) // 2, 0), self.width - 1))
        self.marks[cell] = (MARKS.get(shape, "●"), terminal_colour(colour))

    def row(self, r: int) -> Text:
        text = Text()
        for c in range(self.width):
            if (r, c) in self.marks:
                mark, style = self.marks[(r, c)]
                text.append(mark, style=style)
            elif (r, c) in self.bits:
                text.append(chr(0x2800 + self.bits[(r, c)]), style=self.colour[(r, c)])
            else:
                text.append(" ")
        return text


def panel_text(panel: Panel, width: int = WIDTH, height: int = HEIGHT) -> Text:
    """The panel as text: title, y labels on the left, the plot, x labels and legend.
    The plot is about ``height`` rows: as many as put the y ticks evenly apart."""
    x_low, x_high = panel.x_range()
    values, height, y_low, y_high = _y_axis(panel, height)

    def to_pixels(point: Tuple[float, float]) -> Tuple[float, float]:
        x, y = point
        v = math.log10(y) if panel.log_y else y
        return ((x - x_low) / (x_high - x_low) * (2 * width - 1),
                1.5 + (y_high - v) / (y_high - y_low) * (4 * (height - 1)))

    canvas = _Canvas(width, height)
    scattered = [s for s in panel.series if isinstance(s, Dots) and len(s.points) > MAX_MARKS]
    marked = [s for s in panel.series if isinstance(s, Dots) and len(s.points) <= MAX_MARKS]
    for dots in scattered:  # many points: dots of braille, under the lines
        for point in dots.points:
            if panel.usable(point):
                px, py = to_pixels(point)
                canvas.dot(round(px), round(py), terminal_colour(dots.colour))
    # faint lines (raw values under a smoothed one) would only blur a chart this coarse
    lines = [s for s in panel.series if isinstance(s, Line) and not s.faint]
    lines += [Line(s.points, "", s.colour) for s in marked if s.joined]
    for series in lines:
        colour = terminal_colour(series.colour)
        previous: Optional[Tuple[float, float]] = None
        for point in series.points:
            if not panel.usable(point):
                previous = None
                continue
            here = to_pixels(point)
            canvas.segment(previous or here, here, colour)
            previous = here
    for dots in marked:
        for point in dots.points:
            if panel.usable(point):
                canvas.mark(*to_pixels(point), dots.shape, dots.colour)
    shown = [10 ** v for v in values] if panel.log_y else values
    labels = {round(to_pixels((x_low, value))[1]) // 4: panel.y_label_of(value, shown)
              for value in shown}
    margin = max((len(label) for label in labels.values()), default=0)
    out = Text()
    out.append(panel.title + "\n", style="bold")
    for r in range(height):
        out.append(f"{labels.get(r, ''):>{margin}} " + ("┤" if r in labels else "│"), style="dim")
        out.append_text(canvas.row(r))
        out.rstrip()
        out.append("\n")
    out.append(" " * margin + " └" + "─" * width + "\n", style="dim")
    out.append_text(_x_axis(x_low, x_high, width, margin + 2))
    out.append(" " * (margin + 2) + f"{panel.x_label:^{width}}".rstrip() + "\n", style="dim")
    out.append_text(legend([s for s in panel.series if not (isinstance(s, Line) and s.faint)],
                           width + margin + 2))
    return out


def _y_axis(panel: Panel, height: int) -> Tuple[List[float], int, float, float]:
    """(tick values, rows, low, high): ticks (log10 values on a log axis) that cover the
    data, the first and last on the plot's bottom and top rows, all a whole number of rows
    apart, and as many rows as that takes (about height). On a log axis of less than two
    decades, whose ticks (1-2-5) are not evenly apart, they stay where they fall."""
    low, high = panel.data_y_range()
    values = (log_ticks if panel.log_y else ticks)(low, high, max(2, height // 2))
    if len(values) < 2 or (panel.log_y and values[1] - values[0] != round(values[1] - values[0])):
        return values, height, *panel.y_range()  # 1-2-5 in a decade: uneven on a log axis
    step = values[1] - values[0]
    while values[0] > low + 1e-9 * step:  # cover the data: a tick at or below it, and above
        values.insert(0, values[0] - step)
    while values[-1] < high - 1e-9 * step:
        values.append(values[-1] + step)
    apart = max(1, round((height - 1) / (len(values) - 1)))
    return values, apart * (len(values) - 1) + 1, values[0], values[-1]


def _x_axis(low: float, high: float, width: int, indent: int) -> Text:
    """Labels of the x ticks under their columns, with at least two spaces between."""
    values = ticks(low, high, max(2, width // 8))
    values = [v for v in values if low <= v <= high]
    line = [" "] * (width + 12)
    last_end = -2
    for value in values:
        label = tick_label(values, value)
        column = round((value - low) / (high - low) * (width - 1)) - len(label) // 2
        column = max(column, 0)
        if column > last_end + 1 and column + len(label) <= len(line):
            line[column:column + len(label)] = list(label)
            last_end = column + len(label)
    return Text(" " * indent + "".join(line).rstrip() + "\n", style="dim")


def legend(series: Sequence[object], width: int) -> Text:
    """Each labelled series, its mark in its colour then its label, in lines of width."""
    text, used = Text(), 0
    for s in series:
        if isinstance(s, (Line, Dots)) and s.label:
            entry = 3 + len(s.label)
            if used and used + 3 + entry > width:
                text.append("\n")
                used = 0
            elif used:
                text.append("   ")
                used += 3
            if isinstance(s, Dots):
                mark = MARKS.get(s.shape, "●")
                sample = f"─{mark}" if s.joined else f" {mark}"
            else:
                sample = "┄┄" if s.dashed else "━━"
            text.append(sample, style=terminal_colour(s.colour))
            text.append(f" {s.label}")
            used += entry
    return text


def print_panels(console: Console, panels: List[Panel]) -> None:
    """Panels side by side where the terminal is wide enough, else one under the other."""
    drawn = [panel_text(panel) for panel in panels]
    needed = sum(max(len(line) for line in text.plain.splitlines()) + 4 for text in drawn)
    if needed <= console.width:
        grid = Table.grid(padding=(0, 4))
        for _ in drawn:
            grid.add_column()
        grid.add_row(*drawn)
        console.print(grid)
    else:
        for text in drawn:
            console.print(text)
