"""The built-in picture of a graph view as SVG: no Graphviz needed.

Drawn as micrograd draws it, left to right: a box per node (its label, value and gradient)
and an operation between each node and its arguments. Numbers that are arguments are
written in the operation (``div(·, 3)``: the dot is the node coming in). Inputs are blue,
the output yellow. Where the order of arguments matters (sub, div, pow, maximum, minimum)
the first enters at the top. The layout is layout.py.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Tuple

from . import svg
from .layout import Edge, Point, layout
from .numbers import short

if TYPE_CHECKING:  # graph.py draws its views with render()
    from .graph import GraphNode, GraphView

FONT = 13.0          # node text
TITLE_FONT = 15.0
CAPTION_FONT = 12.0
LINE = 18.0          # a text row of a node box
PAD_X, PAD_Y = 9.0, 4.0
OPERATION_HEIGHT = 26.0
PORT_ROOM = 10.0     # an operation is this much taller for each argument (sum, dot)
ORDERED = ("sub", "div", "pow", "maximum", "minimum")  # first argument on top
MARGIN = 16.0
MAX_TITLE = 110      # characters; longer titles are cut with "..."

INPUT_FILL, OUTPUT_FILL, NODE_FILL = "#e3eefa", "#fff1c4", "#ffffff"
OPERATION_FILL = "#eeeeee"
GRAD_COLOUR = "#a4235a"
EDGE_COLOUR = "#707070"

_ARROW = (f'<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
          f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
          f'fill="{EDGE_COLOUR}"/></marker>')


def _box_lines(view: GraphView, node: GraphNode) -> List[str]:
    label = node.label + ("  (output)" if node is view.output else "")
    return [label, f"value {short(node.value)}", f"grad {short(node.grad)}"]


def operation_label(node: GraphNode) -> str:
    """The operation's name; with constant arguments, also where they go: ``div(·, 3)``."""
    if all(argument.node is not None for argument in node.arguments):
        return node.operation
    return node.operation + "(" + ", ".join(
        "·" if argument.node is not None else short(argument.constant or 0.0)
        for argument in node.arguments) + ")"


class _Picture:
    """The shapes to lay out, a box per node and one per operation, and the edges between
    them: into each operation, one per argument that is a node (a port each, which must stay
    in order for the operations in ORDERED)."""

    def __init__(self, view: GraphView) -> None:
        self.sizes: List[Tuple[float, float]] = []
        self.kinds: List[Tuple[str, GraphNode]] = []
        self.edges: List[Edge] = []
        box: Dict[int, int] = {}
        for node in view.nodes:
            width = max(svg.text_width(line, FONT) for line in _box_lines(view, node))
            box[node.index] = self._add("node", node, width + 2 * PAD_X, 3 * LINE + 2 * PAD_Y)
            if node.is_leaf:
                continue
            sources = [box[a.node] for a in node.arguments if a.node is not None]
            operation = self._add("operation", node,
                                  svg.text_width(operation_label(node), FONT) + 26,
                                  max(OPERATION_HEIGHT, PORT_ROOM * len(sources)))
            self.edges.append(Edge(operation, box[node.index]))
            self.edges.extend(Edge(source, operation, k, len(sources),
                                   node.operation in ORDERED)
                              for k, source in enumerate(sources))

    def _add(self, kind: str, node: GraphNode, width: float, height: float) -> int:
        self.sizes.append((width, height))
        self.kinds.append((kind, node))
        return len(self.sizes) - 1


def render(view: GraphView) -> str:
    """The SVG document of the view (the caller checks its size)."""
    picture = _Picture(view)
    placed = layout(picture.sizes, picture.edges)
    title = view.title if len(view.title) <= MAX_TITLE else view.title[:MAX_TITLE - 3] + "..."
    caption_words = ["blue: inputs", "yellow: the output",
                     "grad: d output / d node, by reverse mode",
                     "sub, div, pow: the first argument enters at the top"]
    width = max(placed.width, svg.text_width(title, TITLE_FONT),
                svg.text_width("grad: d output / d node, by reverse mode", CAPTION_FONT)) \
        + 2 * MARGIN
    caption = svg.wrap(caption_words, CAPTION_FONT, width - 2 * MARGIN)
    top = MARGIN + (TITLE_FONT * 1.6 if title else 0.0)
    body: List[str] = []
    if title:
        body.append(svg.text(MARGIN, MARGIN + TITLE_FONT * svg.ASCENT, title, TITLE_FONT,
                             bold=True))
    body.append(f'<g transform="translate({svg.num(MARGIN)},{svg.num(top)})">')
    body.append(f'<g fill="none" stroke="{EDGE_COLOUR}" stroke-width="1.3">')
    body.extend(f'<path d="{_path(route)}" marker-end="url(#arrow)"/>' for route in placed.routes)
    body.append("</g>")
    for (kind, node), (x, y), (w, h) in zip(picture.kinds, placed.centres, picture.sizes):
        if kind == "node":
            body.append(_node_box(view, node, x, y, w, h))
        else:
            body.append(_operation(node, x, y, w, h))
    body.append("</g>")
    caption_top = top + placed.height + MARGIN
    for k, line in enumerate(caption):
        body.append(svg.text(MARGIN, caption_top + CAPTION_FONT * (svg.ASCENT + 1.4 * k), line,
                             CAPTION_FONT, fill="#555555"))
    height = caption_top + CAPTION_FONT * 1.4 * len(caption) + MARGIN / 2
    return svg.document(width, height, body, title=title or "graph", defs=_ARROW)


def _path(route: List[Point]) -> str:
    """Curves with horizontal ends between the route's points (straight where level)."""
    (x0, y0), parts = route[0], []
    parts.append(f"M{svg.num(x0)},{svg.num(y0)}")
    for x1, y1 in route[1:]:
        if abs(y1 - y0) < 0.5:
            parts.append(f"L{svg.num(x1)},{svg.num(y1)}")
        else:
            middle = (x0 + x1) / 2
            parts.append(f"C{svg.num(middle)},{svg.num(y0)} {svg.num(middle)},{svg.num(y1)} "
                         f"{svg.num(x1)},{svg.num(y1)}")
        x0, y0 = x1, y1
    return " ".join(parts)


def _node_box(view: GraphView, node: GraphNode, x: float, y: float, w: float, h: float) -> str:
    fill = INPUT_FILL if node.is_leaf else OUTPUT_FILL if node is view.output else NODE_FILL
    left, top = x - w / 2, y - h / 2
    label, value, grad = _box_lines(view, node)
    stroke_width = "2" if node is view.output else "1"
    parts = [f'<g class="node" id="n{node.index}">',
             f'<rect x="{svg.num(left)}" y="{svg.num(top)}" width="{svg.num(w)}" '
             f'height="{svg.num(h)}" rx="4" fill="{fill}" stroke="#444444" '
             f'stroke-width="{stroke_width}"/>',
             f'<line x1="{svg.num(left)}" y1="{svg.num(top + PAD_Y + LINE)}" '
             f'x2="{svg.num(left + w)}" y2="{svg.num(top + PAD_Y + LINE)}" stroke="#999999"/>']
    for k, (line, colour, bold) in enumerate(((label, "#111111", True), (value, "#222222", False),
                                              (grad, GRAD_COLOUR, False))):
        baseline = top + PAD_Y + LINE * k + (LINE + FONT * (svg.ASCENT - svg.DESCENT)) / 2
        parts.append(svg.text(left + PAD_X, baseline, line, FONT, fill=colour, bold=bold))
    parts.append("</g>")
    return "".join(parts)


def _operation(node: GraphNode, x: float, y: float, w: float, h: float) -> str:
    baseline = y + FONT * (svg.ASCENT - svg.DESCENT) / 2
    return (f'<g class="operation"><rect x="{svg.num(x - w / 2)}" y="{svg.num(y - h / 2)}" '
            f'width="{svg.num(w)}" height="{svg.num(h)}" rx="{svg.num(OPERATION_HEIGHT / 2)}" '
            f'fill="{OPERATION_FILL}" stroke="#888888"/>'
            + svg.text(x, baseline, operation_label(node), FONT, anchor="middle") + "</g>")
