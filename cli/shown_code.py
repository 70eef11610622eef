"""The code `check-grad --show-code` prints: what scalargrad.compile generates for the
expression, its names changed to the numbering every other view uses.

scalargrad.compile names arguments ``x0, x1, ...`` and operations ``v0, v1, ...`` in the
order they were recorded; `scalargrad trace` and `graph` number the same nodes ``%0, %1,
...``, inputs first. Here node %K is called ``nK`` (and its adjoint ``g_nK``), so that a line
of the code can be found in the trace. The renaming is made only when the code has one
line per operation of the graph, in order; otherwise the code is shown as generated.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional

from scalargrad.view.graph import GraphView

_NAME = re.compile(r"\b(g_)?([xv])(\d+)\b")
_ASSIGNED = re.compile(r"^\s+v(\d+) = ", re.MULTILINE)


def numbered_like_the_trace(code: str, view: GraphView, inputs: List[str]) -> Optional[str]:
    """code with x_i and v_j renamed nK after the view's %K; None where the code's
    operations are not the view's, one for one and in order."""
    operations = [node.index for node in view.nodes if not node.is_leaf]
    leaves = {node.name: node.index for node in view.nodes if node.is_leaf}
    assigned = [int(k) for k in _ASSIGNED.findall(code)]
    if assigned != list(range(len(operations))) or set(inputs) != set(leaves):
        return None
    number: Dict[str, int] = {f"x{i}": leaves[name] for i, name in enumerate(inputs)}
    number.update({f"v{j}": k for j, k in enumerate(operations)})
    return _NAME.sub(lambda m: f"{m.group(1) or ''}n{number[m.group(2) + m.group(3)]}"
                     if m.group(2) + m.group(3) in number else m.group(0), tidy(code))


def tidy(code: str) -> str:
    """Without the generator's trailing commas: ``def grad(a, b):``, ``(g_a, g_b)``; a
    one-element tuple keeps its comma, ``(g_a,)``."""
    def bracket(match: "re.Match[str]") -> str:
        inside = match.group(1)
        return f"({inside},)" if "," not in inside else f"({inside})"
    lines = [re.sub(r", \)", ")", line) if line.startswith("def ") else
             re.sub(r"\(([^()]*?), \)", bracket, line) for line in code.split("\n")]
    return "\n".join(lines)


def heading(view: GraphView, inputs: List[str], renamed: bool) -> str:
    """The comment above the code: which name is which input."""
    if not renamed:
        return "# " + ", ".join(f"x{i} = {name}" for i, name in enumerate(inputs))
    leaves = {node.name: node.index for node in view.nodes if node.is_leaf}
    return ("# " + ", ".join(f"n{leaves[name]} = {name}" for name in inputs)
            + "; nK is %K of `scalargrad trace` and `scalargrad graph`")
