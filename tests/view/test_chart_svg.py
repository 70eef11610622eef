"""scalargrad.view.chart_svg: panels drawn as SVG, parsed back and checked geometrically."""
import math
import random
import re

import pytest

from scalargrad.view.chart import Dots, Line, Panel
from scalargrad.view.chart_svg import render
from tests.view.svg_geometry import NS, assert_readable


def panels(seed):
    rng = random.Random(seed)
    scale = 10 ** rng.randint(-4, 6)
    xs = [i * scale for i in range(rng.randint(2, 300))]
    curve = Line([(x, rng.uniform(1, 2) * scale) for x in xs], "a curve with a long label",
                 "#1f6fb4")
    dots = Dots([(x, rng.uniform(0, 3) * scale) for x in xs[::7]], "dots", "#e07b00")
    extra = [Line([(xs[0], scale), (xs[-1], 2 * scale)], f"line {k}", "#2a9d3a", dashed=True)
             for k in range(rng.randint(0, 4))]
    return [Panel("Left", "steps", "value", [curve, dots] + extra),
            Panel("Right, log scale", "x", "y", [curve], log_y=True),
            Panel("Fractions", "epoch", "accuracy",
                  [Dots([(1, 0.8), (2, 0.9)], "test", "red")], percent_y=True)]


@pytest.mark.parametrize("seed", range(12))
def test_charts_are_well_formed_and_no_labels_overlap(seed):
    assert_readable(render(panels(seed), title="A chart"))


def test_a_line_breaks_at_nan_and_dots_are_circles():
    panel = Panel("p", "x", "y", [Line([(0, 1), (1, 2), (2, math.nan), (3, 1), (4, 2)],
                                       "broken", "red"),
                                  Dots([(0, 1), (4, 2)], "ends", "blue")])
    root, texts, _ = assert_readable(render([panel]))
    path = next(p for p in root.iter(NS + "path"))
    assert re.findall(r"[ML]", path.get("d")) == ["M", "L", "M", "L"]
    assert len([c for c in root.iter(NS + "circle") if c.get("fill") == "blue"]) == 3  # + legend
    strings = [t for t, _ in texts]
    assert {"p", "x", "y", "broken", "ends"} <= set(strings)


def test_legends_wrap_under_the_plot():
    lines = [Line([(0, k), (1, k + 1)], f"a long legend entry number {k}", "red")
             for k in range(6)]
    root, texts, _ = assert_readable(render([Panel("p", "x", "y", lines)]))
    legend = [box for text, box in texts if text.startswith("a long legend")]
    assert len({round(box[1]) for box in legend}) >= 3  # on several rows


def test_panels_side_by_side_and_the_title_above():
    root, texts, _ = assert_readable(render(panels(1), title="Title"))
    boxes = {text: box for text, box in texts}
    assert boxes["Title"][3] < boxes["Left"][1]
    assert boxes["Left"][0] < boxes["Right, log scale"][0] < boxes["Fractions"][0]
    assert root.find(NS + "title").text == "Title"
