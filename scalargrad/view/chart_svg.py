"""Panels of line charts (chart.py) drawn as one SVG document, side by side.

Each panel: a title, a plot area with light grid lines at the ticks, tick labels spaced so
that they never overlap (fewer ticks on a narrow axis), axis labels, and a legend under
the plot, wrapped to its width, so that it never covers the data. The series of a panel are
in a group whose ``data-plot`` says where the plot is (left, top, width, height in pixels,
then x low, x high, y low, y high in data units, y in log10 units if the last is 1), each
series in panel order, so that a page (training_report.py) can redraw one.
"""
from __future__ import annotations

import math
from typing import List, Sequence, Tuple

from . import svg
from .chart import Dots, Panel, Series, tick_label, ticks

FONT = 13.0
TITLE_FONT = 15.0
PLOT_WIDTH, PLOT_HEIGHT = 420.0, 260.0
MARGIN = 16.0
PANEL_GAP = 40.0
TICK = 5.0
LEGEND_SAMPLE = 26.0   # the length of a line's sample in the legend


def render(panels: Sequence[Panel], title: str = "") -> str:
    """The SVG document of the panels, left to right, under an optional title."""
    top = MARGIN + (TITLE_FONT * 1.8 if title else 0.0)
    body: List[str] = []
    if title:
        body.append(svg.text(MARGIN, MARGIN + TITLE_FONT * svg.ASCENT, title, TITLE_FONT,
                             bold=True))
    left, bottom = MARGIN, top
    for panel in panels:
        width, height, parts = _panel(panel, left, top)
        body.extend(parts)
        left += width + PANEL_GAP
        bottom = max(bottom, top + height)
    width = max(left - PANEL_GAP + MARGIN, svg.text_width(title, TITLE_FONT) + 2 * MARGIN)
    return svg.document(width, bottom + MARGIN, body, title=title or "chart")


class _Scale:
    """From data to the plot area's pixels (y upwards; log10 of y for a log axis)."""

    def __init__(self, panel: Panel, left: float, top: float) -> None:
        self.panel, self.left, self.top = panel, left, top
        self.x_low, self.x_high = panel.x_range()
        self.y_low, self.y_high = panel.y_range()

    def x(self, value: float) -> float:
        return self.left + (value - self.x_low) / (self.x_high - self.x_low) * PLOT_WIDTH

    def y(self, value: float) -> float:
        v = math.log10(value) if self.panel.log_y else value
        return self.top + (self.y_high - v) / (self.y_high - self.y_low) * PLOT_HEIGHT


def _panel(panel: Panel, left: float, top: float) -> Tuple[float, float, List[str]]:
    """(width, height, SVG elements) of a panel with its top left corner at (left, top)."""
    y_values = panel.ticks_y(6)
    y_labels = [panel.y_label_of(v, y_values) for v in y_values]
    label_room = max((svg.text_width(t, FONT) for t in y_labels), default=0.0) + TICK + 6
    plot_left = left + FONT * 1.6 + label_room
    plot_top = top + TITLE_FONT * 1.6
    scale = _Scale(panel, plot_left, plot_top)
    parts = [svg.text(plot_left, top + TITLE_FONT * svg.ASCENT, panel.title, TITLE_FONT,
                      bold=True),
             f'<rect x="{svg.num(plot_left)}" y="{svg.num(plot_top)}" '
             f'width="{svg.num(PLOT_WIDTH)}" height="{svg.num(PLOT_HEIGHT)}" fill="#fafafa" '
             f'stroke="#bbbbbb"/>']
    for value, label in zip(y_values, y_labels):
        y = scale.y(value)
        if plot_top - 0.5 <= y <= plot_top + PLOT_HEIGHT + 0.5:
            parts.append(_grid(plot_left, y, plot_left + PLOT_WIDTH, y))
            parts.append(svg.text(plot_left - TICK - 3, y + FONT * 0.3, label, FONT,
                                  anchor="end", fill="#444444"))
    x_values = _x_ticks(scale)
    for value in x_values:
        label = tick_label(x_values, value)
        x = scale.x(value)
        parts.append(_grid(x, plot_top, x, plot_top + PLOT_HEIGHT))
        parts.append(svg.text(x, plot_top + PLOT_HEIGHT + TICK + FONT, label, FONT,
                              anchor="middle", fill="#444444"))
    axis_y = plot_top + PLOT_HEIGHT + TICK + FONT * 2.4
    parts.append(svg.text(plot_left + PLOT_WIDTH / 2, axis_y, panel.x_label, FONT,
                          anchor="middle"))
    middle = plot_top + PLOT_HEIGHT / 2
    parts.append(svg.text(0, 0, panel.y_label, FONT, anchor="middle",
                          transform=f"translate({svg.num(left + FONT)},{svg.num(middle)}) "
                                    "rotate(-90)"))
    # where the plot is, in data and in pixels: a page's script can draw on it again
    parts.append(f'<g class="series" data-plot="{svg.num(plot_left)},{svg.num(plot_top)},'
                 f'{svg.num(PLOT_WIDTH)},{svg.num(PLOT_HEIGHT)},{scale.x_low!r},'
                 f'{scale.x_high!r},{scale.y_low!r},{scale.y_high!r},{int(panel.log_y)}">')
    parts.extend(_series(panel, scale, series) for series in panel.series)
    parts.append("</g>")
    legend_top = axis_y + FONT * 1.2
    legend, legend_height = _legend(panel, plot_left, legend_top)
    parts.extend(legend)
    width = plot_left - left + PLOT_WIDTH
    return width, legend_top + legend_height - top, parts


def _grid(x1: float, y1: float, x2: float, y2: float) -> str:
    return (f'<line x1="{svg.num(x1)}" y1="{svg.num(y1)}" x2="{svg.num(x2)}" '
            f'y2="{svg.num(y2)}" stroke="#e4e4e4"/>')


def _x_ticks(scale: _Scale) -> List[float]:
    """As many x ticks as fit with their labels apart (at least a label's width between)."""
    for count in (8, 6, 5, 4, 3, 2):
        values = [v for v in ticks(scale.x_low, scale.x_high, count)
                  if scale.x_low <= v <= scale.x_high]
        labels = [tick_label(values, v) for v in values]
        widths = [svg.text_width(t, FONT) for t in labels]
        xs = [scale.x(v) for v in values]
        if all(b - a > (wa + wb) / 2 + FONT for a, b, wa, wb in
               zip(xs, xs[1:], widths, widths[1:])):
            return values
    return values[:1]


def marker(shape: str, x: float, y: float, colour: str, outline: str = "white") -> str:
    """A dot of the given shape (chart.SHAPES) centred at (x, y)."""
    r = 3.6
    style = f'fill="{colour}" stroke="{outline}" stroke-width="0.8"'
    if shape == "square":
        return (f'<rect x="{svg.num(x - r * 0.85)}" y="{svg.num(y - r * 0.85)}" '
                f'width="{svg.num(1.7 * r)}" height="{svg.num(1.7 * r)}" {style}/>')
    if shape in ("triangle", "diamond"):
        corners = ([(x, y - 1.25 * r), (x + 1.15 * r, y + 0.85 * r), (x - 1.15 * r, y + 0.85 * r)]
                   if shape == "triangle" else
                   [(x, y - 1.3 * r), (x + 1.1 * r, y), (x, y + 1.3 * r), (x - 1.1 * r, y)])
        points = " ".join(f"{svg.num(a)},{svg.num(b)}" for a, b in corners)
        return f'<polygon points="{points}" {style}/>'
    return f'<circle cx="{svg.num(x)}" cy="{svg.num(y)}" r="{svg.num(r * 0.9)}" {style}/>'


def _polyline(panel: Panel, scale: _Scale, points, colour: str, width: float,
              extra: str = "") -> str:
    commands, pen_down = [], False
    for x, y in points:
        if not panel.usable((x, y)):
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{svg.num(scale.x(x))},"
                        f"{svg.num(scale.y(y))}")
        pen_down = True
    return (f'<path d="{" ".join(commands)}" fill="none" stroke="{colour}" '
            f'stroke-width="{svg.num(width)}" stroke-linejoin="round"{extra}/>')


def _series(panel: Panel, scale: _Scale, series: Series) -> str:
    if isinstance(series, Dots):
        joined = _polyline(panel, scale, series.points, series.colour, 1.5) \
            if series.joined else ""
        return joined + "".join(marker(series.shape, scale.x(x), scale.y(y), series.colour)
                                for x, y in series.points if panel.usable((x, y)))
    dash = ' stroke-dasharray="6,4"' if series.dashed else ""
    if series.faint:
        return _polyline(panel, scale, series.points, series.colour, 1.0,
                         dash + ' stroke-opacity="0.3"')
    return _polyline(panel, scale, series.points, series.colour, 2.0, dash)


def _legend(panel: Panel, left: float, top: float) -> Tuple[List[str], float]:
    """The legend's elements, wrapped to the plot's width, and its height."""
    parts: List[str] = []
    x, row = left, 0
    line_height = FONT * 1.5
    for series in panel.series:
        if not series.label:
            continue
        width = LEGEND_SAMPLE + 6 + svg.text_width(series.label, FONT)
        if x > left and x + width > left + PLOT_WIDTH:
            x, row = left, row + 1
        middle = top + row * line_height + FONT * 0.5
        line = (f'<line x1="{svg.num(x)}" y1="{svg.num(middle)}" '
                f'x2="{svg.num(x + LEGEND_SAMPLE)}" y2="{svg.num(middle)}" '
                f'stroke="{series.colour}" ')
        if isinstance(series, Dots):
            if series.joined:
                parts.append(line + 'stroke-width="1.5"/>')
            parts.append(marker(series.shape, x + LEGEND_SAMPLE / 2, middle, series.colour))
        else:
            dash = ' stroke-dasharray="6,4"' if series.dashed else ""
            stroke = ('stroke-width="1" stroke-opacity="0.3"' if series.faint else
                      'stroke-width="2"')
            parts.append(line + f'{stroke}{dash}/>')
        parts.append(svg.text(x + LEGEND_SAMPLE + 6, middle + FONT * 0.3, series.label, FONT))
        x += width + 18
    return parts, (row + 1) * line_height if parts else 0.0
