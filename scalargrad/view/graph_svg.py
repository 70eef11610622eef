"""The built-in picture of a graph view as SVG: no Graphviz needed.

Drawn as micrograd draws it, left to right: a box per node (its label, value and gradient)
and an operation between each node and its arguments. Numbers that are arguments are
written in the operation (``div(·, 3)``: the dot is the node coming in). Inputs are blue,
the output yellow. Where the order of arguments matters (sub, div, pow, maximum, minimum)
the first enters at the top. The layout is layout.py.

Every element says what it shows, for the live page (live_page.py) and for tests: a node's
group carries ``data-node="%n"``, its value and grad texts the classes ``value`` and
``grad``; an operation's group ``data-op="%n"``; an edge into an operation
``data-from="%a" data-to="%n"``, and one from an operation to its node
``data-to="%n"``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional, Tuple

from . import svg
from .layout import COLUMN_GAP, Edge, Point, layout
from .numbers import short

if TYPE_CHECKING:  # graph.py draws its views with render()
    from .graph import GraphNode, GraphView

FONT = 13.0          # node text
TITLE_FONT = 15.0
CAPTION_FONT = 12.0
EDGE_FONT = 12.0     # the live page's labels on edges
LIVE_WIDE_GAPS = 20  # nodes: up to this many, the live page's edges have room for labels
LINE = 18.0          # a text row of a node box
PAD_X, PAD_Y = 9.0, 4.0
OPERATION_HEIGHT = 26.0
PORT_ROOM = 10.0     # an operation is this much taller for each argument (sum, dot)
ORDERED = ("sub", "div", "pow", "maximum", "minimum")  # first argument on top
MARGIN = 16.0
LEVEL = 2.0          # pixels: points of an edge this close in height are joined straight
MAX_TITLE = 110      # characters; longer titles are cut with "..."

INPUT_FILL, OUTPUT_FILL, NODE_FILL = "#e3eefa", "#fff1c4", "#ffffff"
OPERATION_FILL = "#eeeeee"
GRAD_COLOUR = "#a4235a"
TEXT_COLOUR = "#222222"
EDGE_COLOUR = "#707070"

_ARROW = (f'<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
          f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
          f'fill="{EDGE_COLOUR}"/></marker>')


class Live(NamedTuple):
    """What the live page shows in the boxes besides the final picture: a tangent row
    (forward mode, when seeded: room for it, which the page's player fills), and texts
    each box must have room for."""
    tangents: bool
    texts: Dict[int, List[str]]  # by node number
    edge_texts: List[str]         # written on edges, between columns


def _box_lines(view: GraphView, node: GraphNode, live: Optional[Live] = None) -> List[str]:
    label = node.label + ("  (output)" if node is view.output else "")
    lines = [label, f"value {short(node.value)}", f"grad {short(node.grad)}"]
    return lines + [""] if live is not None and live.tangents else lines


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

    def __init__(self, view: GraphView, live: Optional[Live]) -> None:
        self.sizes: List[Tuple[float, float]] = []
        self.kinds: List[Tuple[str, GraphNode]] = []
        self.edges: List[Edge] = []
        self.edge_data: List[str] = []  # the data- attributes of each edge
        box: Dict[int, int] = {}
        for node in view.nodes:
            lines = _box_lines(view, node, live)
            texts = lines + (live.texts.get(node.index, []) if live is not None else [])
            width = max(svg.text_width(line, FONT) for line in texts)
            box[node.index] = self._add("node", node, width + 2 * PAD_X,
                                        len(lines) * LINE + 2 * PAD_Y)
            if node.is_leaf:
                continue
            sources = [box[a.node] for a in node.arguments if a.node is not None]
            operation = self._add("operation", node,
                                  svg.text_width(operation_label(node), FONT) + 26,
                                  max(OPERATION_HEIGHT, PORT_ROOM * len(sources)))
            self.edges.append(Edge(operation, box[node.index]))
            self.edge_data.append(f'data-to="%{node.index}"')
            arguments = [a.node for a in node.arguments if a.node is not None]
            for port, argument in enumerate(arguments):
                self.edges.append(Edge(box[argument], operation, port, len(sources),
                                       node.operation in ORDERED))
                self.edge_data.append(f'data-from="%{argument}" data-to="%{node.index}"')

    def _add(self, kind: str, node: GraphNode, width: float, height: float) -> int:
        self.sizes.append((width, height))
        self.kinds.append((kind, node))
        return len(self.sizes) - 1


def caption_phrases(view: GraphView) -> List[str]:
    """What the caption under the picture explains: the colours, grad, and where the order
    of arguments matters, for the operations of this graph that have one."""
    ordered = [name for name in ORDERED if any(n.operation == name for n in view.nodes)]
    phrases = ["blue: inputs", "yellow: the output", "grad: d output / d node, by reverse mode"]
    if ordered:
        phrases.append(f"{', '.join(ordered)}: the first argument enters at the top")
    return phrases


def render(view: GraphView, live: Optional[Live] = None) -> str:
    """The SVG document of the view (the caller checks its size); for the live page, with
    the room its texts need."""
    picture = _Picture(view, live)
    gap = max([svg.text_width(text, EDGE_FONT) + 24 for text in live.edge_texts]
              if live is not None else [], default=0.0)
    if len(view.nodes) > LIVE_WIDE_GAPS:
        gap = min(gap, 2 * COLUMN_GAP)  # the labels find room above and below
    placed = layout(picture.sizes, picture.edges, max(gap, COLUMN_GAP))
    title = view.title if len(view.title) <= MAX_TITLE else view.title[:MAX_TITLE - 3] + "..."
    if live is not None:
        title = ""  # the page is headed by it
    caption_words = caption_phrases(view)
    width = max([placed.width, svg.text_width(title, TITLE_FONT)]
                + [svg.text_width(phrase, CAPTION_FONT) for phrase in caption_words]) \
        + 2 * MARGIN
    caption = svg.wrap(caption_words, CAPTION_FONT, width - 2 * MARGIN)
    top = MARGIN + (TITLE_FONT * 1.6 if title else 0.0)
    body: List[str] = []
    if title:
        body.append(svg.text(MARGIN, MARGIN + TITLE_FONT * svg.ASCENT, title, TITLE_FONT,
                             bold=True))
    body.append(f'<g transform="translate({svg.num(MARGIN)},{svg.num(top)})">')
    body.append(f'<g class="edges" fill="none" stroke="{EDGE_COLOUR}" stroke-width="1.3" '
                'marker-end="url(#arrow)">')
    body.extend(f'<path d="{_path(route)}" {data}/>'
                for route, data in zip(placed.routes, picture.edge_data))
    body.append("</g>")
    for (kind, node), (x, y), (w, h) in zip(picture.kinds, placed.centres, picture.sizes):
        if kind == "node":
            body.append(_node_box(view, node, x, y, w, h, live))
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
    """Curves with horizontal ends between the route's points; straight where level, and
    one straight line for a level run of points (a long edge passing many columns).
    Relative commands to a tenth of a pixel, each from the rounded point before (so that
    no error adds up): a long edge is written in few characters."""
    points = [(round(x, 1), round(y, 1)) for x, y in route]
    parts = [f"M{svg.num(points[0][0])},{svg.num(points[0][1])}"]
    run: Optional[Point] = None  # where the level run that the last part draws starts
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if abs(y1 - y0) < LEVEL:
            if run is not None and abs(y1 - run[1]) < LEVEL:
                parts.pop()  # the run goes on: one line to its new end
            else:
                run = (x0, y0)
            parts.append(f"l{_delta(x1 - run[0])},{_delta(y1 - run[1])}")
        else:
            dx, dy = _delta(x1 - x0), _delta(y1 - y0)
            parts.append(f"c{_delta((x1 - x0) / 2)},0 {_delta((x1 - x0) / 2)},{dy} {dx},{dy}")
            run = None
    return "".join(parts)


def _delta(d: float) -> str:
    text = f"{d:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _node_box(view: GraphView, node: GraphNode, x: float, y: float, w: float, h: float,
              live: Optional[Live]) -> str:
    """A node's box, drawn at (0, 0) and moved into place; the text takes the group's size."""
    fill = INPUT_FILL if node.is_leaf else OUTPUT_FILL if node is view.output else NODE_FILL
    left, top = x - w / 2, y - h / 2
    lines = _box_lines(view, node, live)
    stroke_width = ' stroke-width="2"' if node is view.output else ""
    parts = [f'<g class="node" data-node="%{node.index}" '
             f'transform="translate({svg.num(left)},{svg.num(top)})" font-size="{svg.num(FONT)}" '
             f'fill="{TEXT_COLOUR}">',
             f'<rect width="{svg.num(w)}" height="{svg.num(h)}" rx="4" fill="{fill}" '
             f'stroke="#444444"{stroke_width}/>',
             f'<line y1="{svg.num(PAD_Y + LINE)}" x2="{svg.num(w)}" y2="{svg.num(PAD_Y + LINE)}" '
             'stroke="#999999"/>']
    rows = zip(lines, ("#111111", None, GRAD_COLOUR), (True, False, False),
               ("label", "value", "grad"))
    for k, (line, colour, bold, role) in enumerate(rows):
        if not line:
            continue
        baseline = PAD_Y + LINE * k + (LINE + FONT * (svg.ASCENT - svg.DESCENT)) / 2
        parts.append(svg.text(PAD_X, baseline, line, None, fill=colour, bold=bold,
                              css_class=role))
    parts.append("</g>")
    return "".join(parts)


def _operation(node: GraphNode, x: float, y: float, w: float, h: float) -> str:
    baseline = FONT * (svg.ASCENT - svg.DESCENT) / 2
    return (f'<g class="operation" data-op="%{node.index}" '
            f'transform="translate({svg.num(x)},{svg.num(y)})" font-size="{svg.num(FONT)}" '
            f'fill="{TEXT_COLOUR}">'
            f'<rect x="{svg.num(-w / 2)}" y="{svg.num(-h / 2)}" width="{svg.num(w)}" '
            f'height="{svg.num(h)}" rx="{svg.num(OPERATION_HEIGHT / 2)}" '
            f'fill="{OPERATION_FILL}" stroke="#888888"/>'
            + svg.text(0, baseline, operation_label(node), None, fill=None, anchor="middle")
            + "</g>")
