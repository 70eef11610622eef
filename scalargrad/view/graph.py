"""A view of a recorded graph: every node's operation, value and gradient, in several formats.

Examples:
    >>> from scalargrad import Scalar, graph
    >>> x, y = Scalar(2.0), Scalar(3.0)
    >>> print(graph(x * y + x, names={"x": x, "y": y}).trace())
    %0 = input x     # 2.0
    %1 = input y     # 3.0
    %2 = mul %0 %1   # 6.0
    %3 = add %2 %0   # 8.0
    return %3

``graph(y)`` takes a snapshot of y and everything it depends on (read through the node
view of scalar.py) with each node's gradient dy/dnode by one reverse sweep, then shows it as
``tree()`` (text; a subexpression used twice is shown once, then referred to as ``@n``),
``trace()`` (a flat listing, one line a node), ``dot()`` (Graphviz, in micrograd's style),
``svg()`` (drawn by graph_svg.py, no Graphviz needed), ``html()`` (a page that plays the
sweeps, live_page.py) or ``to_dict()`` (for JSON). In a Jupyter notebook the view shows
itself as that page's player.

Numbering, the same in every format: inputs (leaves) first, named ones in the order of
``names``, then the rest in order of first use; then operations oldest first, so each
node's arguments have smaller numbers than the node and the output is last.

Laid-out pictures of more than PICTURE_LIMIT nodes would be unreadable: svg() and html()
refuse them with GraphTooLarge, whose message is the summary (node counts by operation).
Text and DOT have no limit (Graphviz draws what it is given); a tree deeper than
TREE_DEPTH goes on below, from the node where it was cut (``@n``), so its lines stay short.
Nothing here recurses, so a chain of 100k operations gets its summary, trace and tree.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from ..core.autodiff import ancestors, release, reverse_autodiff
from ..errors import GraphTooLarge
from ..core.scalar import Scalar, arguments, edges, value_of
from . import graph_svg, live_page
from .graphviz import dot_to_svg
from .numbers import json_number, short

PICTURE_LIMIT = 150  # nodes: svg() and html() refuse larger graphs
TREE_DEPTH = 8       # tree levels shown under one another before the tree goes on below
TRACE_SHOWN = 400    # lines of the trace a notebook shows of a graph too large to draw


@dataclass(frozen=True)
class Argument:
    """One argument of an operation: another node (with the recorded partial derivative
    of the operation with respect to it) or a plain number (a constant)."""
    node: Optional[int]        # the argument's number, or None for a constant
    constant: Optional[float]  # the number, for a constant
    partial: Optional[float]   # d(this node) / d(argument); None for a constant


@dataclass(frozen=True)
class GraphNode:
    index: int
    operation: str   # the rule's name; "" for an input (a leaf)
    name: str        # the name given to graph(), or ""
    value: float
    grad: float      # d output / d this node
    arguments: Tuple[Argument, ...]

    @property
    def is_leaf(self) -> bool:
        return not self.operation

    @property
    def label(self) -> str:
        """The node's name, or its number as %n."""
        return self.name or f"%{self.index}"


class TreeRow(NamedTuple):
    """One line of the tree: what to draw before it, and what it shows."""
    prefix: str                  # box-drawing characters ("│   ├── ")
    node: Optional[GraphNode]    # None for a constant
    constant: Optional[float]
    tag: str                     # "@n" where a shared node is first shown
    repeated: bool               # a node shown above: only its name or tag
    continued: bool = False      # cut at TREE_DEPTH: its arguments follow below


def graph(y: Scalar, names: Optional[Mapping[str, Scalar]] = None, title: str = "") -> GraphView:
    """The graph of y and everything it depends on, with every node's gradient dy/dnode.

    ``names`` labels nodes (inputs, and operations too if wished): {"x": x}. ``title``
    heads the pictures (the CLI gives the expression and the point).
    """
    if y.__class__ is not Scalar:
        raise TypeError(f"graph() draws a Scalar, got {type(y).__name__}")
    named: Dict[int, str] = {}
    for name, node in (names or {}).items():
        if node.__class__ is not Scalar or not isinstance(name, str):
            raise TypeError("names must map strings to Scalars")
        named.setdefault(id(node), name)
    order = _numbered_nodes(y, list((names or {}).values()))
    grads = reverse_autodiff(y, order)
    number = {id(node): i for i, node in enumerate(order)}
    nodes = [GraphNode(i, node.operation, named.get(id(node), ""), node.value, grad,
                       _arguments(node, number))
             for i, (node, grad) in enumerate(zip(order, grads))]
    return GraphView(nodes, title)


def _numbered_nodes(y: Scalar, named: List[Scalar]) -> List[Scalar]:
    """y's nodes in the numbering of the module docstring."""
    interior, leaves = ancestors([y])
    try:
        found = {id(leaf) for leaf in leaves}
        listed = set()
        first: List[Scalar] = []
        for node in named:
            if id(node) in found and id(node) not in listed:
                listed.add(id(node))
                first.append(node)
        used: List[Scalar] = []
        for node in interior:
            for parent in edges(node)[0]:
                if parent.is_leaf and id(parent) not in listed:
                    listed.add(id(parent))
                    used.append(parent)
        if y.is_leaf and id(y) not in listed:
            used.append(y)
        return first + used + interior
    finally:
        release(interior, leaves)


def _arguments(node: Scalar, number: Dict[int, int]) -> Tuple[Argument, ...]:
    """node's arguments in order, with the recorded partial for each Scalar among them. A
    Scalar that is not among its parents (stop_gradient's argument: no derivative passes)
    is shown as the constant it is to derivatives."""
    if node.is_leaf:
        return ()
    parents, partials = edges(node)
    shown = []
    k = 0
    for arg in arguments(node):
        if arg.__class__ is Scalar and k < len(parents) and parents[k] is arg:
            shown.append(Argument(number[id(arg)], None, value_of(partials[k])))
            k += 1
        else:
            shown.append(Argument(None, value_of(arg), None))
    return tuple(shown)


class GraphView:
    """A snapshot of a graph (see the module docstring); make one with graph()."""

    def __init__(self, nodes: List[GraphNode], title: str = "") -> None:
        self.nodes = nodes
        self.title = title

    @property
    def output(self) -> GraphNode:
        return self.nodes[-1]

    # Size --------------------------------------------------------------------------------
    def counts(self) -> Dict[str, int]:
        """How many nodes of each operation ("input" for leaves), most common first."""
        counted = Counter(node.operation or "input" for node in self.nodes)
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))

    def depth(self) -> int:
        """Operations on the longest path from an input to the output."""
        depths = [0] * len(self.nodes)
        for node in self.nodes:
            if not node.is_leaf:
                depths[node.index] = 1 + max((depths[a.node] for a in node.arguments
                                              if a.node is not None), default=0)
        return depths[-1]

    def summary(self) -> str:
        """One line: the number of nodes, by operation, and the depth."""
        counts = self.counts()
        inputs = counts.pop("input", 0)
        operations = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        total = len(self.nodes)
        return (f"{total:,} node{'s' if total != 1 else ''}: {inputs:,} input"
                f"{'s' if inputs != 1 else ''}"
                + (f", {total - inputs:,} operations ({operations})" if counts else "")
                + f", {self.depth():,} deep")

    def check_size(self, limit: int = PICTURE_LIMIT) -> None:
        """GraphTooLarge (its message the summary) if a picture would show too many nodes."""
        if len(self.nodes) > limit:
            raise GraphTooLarge(f"the graph is too large to draw: {self.summary()}; a "
                                f"picture shows at most {limit} nodes")

    # Formats -----------------------------------------------------------------------------
    def trace(self) -> str:
        """One line a node, like JAX's make_jaxpr: ``%4 = mul %2 %3   # 6.0``."""
        statements = [self._statement(node) for node in self.nodes]
        width = min(max(map(len, statements)), 48) + 3
        lines = [f"{statement:<{width}}# {node.value!r}"
                 for statement, node in zip(statements, self.nodes)]
        return "\n".join(lines + [f"return %{self.output.index}"])

    @staticmethod
    def _statement(node: GraphNode) -> str:
        if node.is_leaf:
            return f"%{node.index} = input" + (f" {node.name}" if node.name else "")
        operands = " ".join(f"%{a.node}" if a.node is not None else repr(a.constant)
                            for a in node.arguments)
        named = f"  ({node.name})" if node.name else ""
        return f"%{node.index} = {node.operation} {operands}{named}"

    def tree_rows(self) -> List[TreeRow]:
        """The tree from the output down, arguments in order; a node used more than once
        is shown in full the first time (tagged @n unless named) and by name or tag after.
        A node TREE_DEPTH levels down is tagged and marked continued: its own tree follows
        the first one's, unindented (and so on, for deeper graphs)."""
        uses = Counter(a.node for node in self.nodes for a in node.arguments)
        shown = set()
        rows: List[TreeRow] = []
        below: List[int] = [self.output.index]  # roots of the trees still to show
        while below:
            # (argument, prefix of its children's lines, its connector, its depth)
            stack: List[Tuple[Argument, str, str, int]] = [
                (Argument(below.pop(0), None, None), "", "", 0)]
            while stack:
                argument, lead, connector, depth = stack.pop()
                if argument.node is None:
                    rows.append(TreeRow(lead + connector, None, argument.constant, "", False))
                    continue
                node = self.nodes[argument.node]
                repeated = node.index in shown and depth > 0
                shown.add(node.index)
                cut = depth >= TREE_DEPTH and not repeated and not node.is_leaf
                shared = (uses[node.index] > 1 or cut or (depth == 0 and rows)) and not node.name
                rows.append(TreeRow(lead + connector, node, None,
                                    f"@{node.index}" if shared else "", repeated, cut))
                if cut:
                    below.append(node.index)
                if repeated or node.is_leaf or cut:
                    continue
                inner = lead + {"": "", "└── ": "    "}.get(connector, "│   ")
                last = len(node.arguments) - 1
                for k in range(last, -1, -1):
                    stack.append((node.arguments[k], inner, "└── " if k == last else "├── ",
                                  depth + 1))
        return rows

    def tree(self) -> str:
        """tree_rows() as plain text."""
        return "\n".join(row.prefix + tree_text(row) for row in self.tree_rows())

    def dot(self) -> str:
        """Graphviz DOT in micrograd's style: a record box { label | value | grad } per
        node and an operation node per operation, left to right. Any size: Graphviz
        draws what it is given."""
        lines = ["digraph scalargrad {", "  graph [rankdir=LR];",
                 '  node [fontname="Helvetica"];']
        if self.title:
            lines[1] = f'  graph [rankdir=LR, label="{_dot_string(self.title)}", labelloc=t];'
        for node in self.nodes:
            fields = " | ".join(_record_field(text) for text in
                                (node.label, f"value {short(node.value)}", f"grad {short(node.grad)}"))
            style = (', style=filled, fillcolor="#e3eefa"' if node.is_leaf else
                     ", penwidth=2" if node is self.output else "")
            lines.append(f'  n{node.index} [shape=record, label="{{ {fields} }}"{style}];')
            if node.is_leaf:
                continue
            lines.append(f'  n{node.index}_op [label="{node.operation}"];')
            lines.append(f"  n{node.index}_op -> n{node.index};")
            for k, argument in enumerate(node.arguments):
                if argument.node is None:
                    lines.append(f'  c{node.index}_{k} [shape=plaintext, '
                                 f'label="{short(argument.constant or 0.0)}"];')
                    lines.append(f"  c{node.index}_{k} -> n{node.index}_op;")
                else:
                    lines.append(f"  n{argument.node} -> n{node.index}_op;")
        return "\n".join(lines + ["}"]) + "\n"

    def svg(self, engine: str = "builtin", limit: int = PICTURE_LIMIT) -> str:
        """The picture as SVG: laid out here ("builtin", up to ``limit`` nodes), or by
        Graphviz's dot program ("dot", any size) from dot(), if it is installed
        (GraphvizError if not)."""
        if engine == "builtin":
            self.check_size(limit)
            return graph_svg.render(self)
        if engine == "dot":
            return dot_to_svg(self.dot())
        raise ValueError(f"engine must be 'builtin' or 'dot', not {engine!r}")

    def html(self, wrt: Optional[str] = None, limit: int = PICTURE_LIMIT) -> str:
        """A self-contained page that plays the forward pass and the reverse sweep on the
        picture (live_page.py); with ``wrt`` (an input's name or ``%n``), forward mode's
        tangents with respect to it too."""
        self.check_size(limit)
        return live_page.page(self, self._seed(wrt))

    def _seed(self, wrt: Optional[str]) -> Optional[int]:
        """The number of the node named wrt (or numbered, "%n"); ValueError if none is."""
        if wrt is None:
            return None
        for node in self.nodes:
            if wrt in (node.name, f"%{node.index}"):
                return node.index
        names = ", ".join(node.label for node in self.nodes if node.is_leaf)
        raise ValueError(f"no node {wrt!r} in the graph (its inputs: {names})")

    def to_dict(self) -> Dict[str, Any]:
        """Nodes and edges, for JSON (infinities and NaN as the strings "inf", "nan")."""
        return {
            "output": self.output.index,
            "nodes": [{"id": node.index, "label": node.label, "name": node.name or None,
                       "operation": node.operation or None, "value": json_number(node.value),
                       "grad": json_number(node.grad),
                       "constants": [{"argument": k, "value": json_number(a.constant)}
                                     for k, a in enumerate(node.arguments) if a.node is None]}
                      for node in self.nodes],
            "edges": [{"from": a.node, "to": node.index, "argument": k,
                       "partial": json_number(a.partial)}
                      for node in self.nodes for k, a in enumerate(node.arguments)
                      if a.node is not None],
        }

    # Display -----------------------------------------------------------------------------
    def _repr_svg_(self) -> Optional[str]:
        """The picture (the <svg> element alone, as it goes into a page); for a graph too
        large to lay out, None (Jupyter then shows _repr_html_)."""
        if len(self.nodes) > PICTURE_LIMIT:
            return None
        picture = self.svg()
        return picture[picture.index("<svg"):]

    def _repr_html_(self) -> str:
        """Jupyter shows the player of the live page (a fragment of it, which works beside
        others in one notebook); for a graph too large to lay out, its summary and the
        start of its trace."""
        if len(self.nodes) <= PICTURE_LIMIT:
            return live_page.fragment(self, None)
        lines = self.trace().splitlines()
        more = len(lines) - TRACE_SHOWN
        shown = "\n".join(lines[:TRACE_SHOWN]) + (
            f"\n... {more:,} more line{'s' if more != 1 else ''} (trace() has them all)"
            if more > 0 else "")
        return (f"<p>{escape(self.summary())}: too large to lay out; .dot() for Graphviz</p>"
                f"<pre>{escape(shown)}</pre>")

    def __repr__(self) -> str:
        return f"<graph of {self.summary()}>"


def tree_text(row: TreeRow) -> str:
    """What a tree row says, without its prefix: ``mul = 6   grad 1``."""
    if row.node is None:
        return f"{short(row.constant or 0.0)} (constant)"
    node = row.node
    if row.repeated:
        return node.name or f"{row.tag} (above)"
    head = node.name or ("input" if node.is_leaf else node.operation)
    if node.name and not node.is_leaf:
        head = f"{node.name}: {node.operation}"
    if row.tag:
        head = f"{row.tag}: {head}"
    return f"{head} = {short(node.value)}   grad {short(node.grad)}" + (
        "   (continued below)" if row.continued
        else "")


def _dot_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _record_field(text: str) -> str:
    """text escaped for a field of a Graphviz record label."""
    escaped = "".join("\\" + c if c in '{}|<>"\\' else c for c in text)
    return escaped.strip() or "\\ "
