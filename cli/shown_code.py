"""The code `check-grad --show-code` prints: what scalargrad.compile generates for the
expression, its names changed to the numbering every other view uses.

scalargrad.compile names arguments ``x0, x1, ...`` and operations ``v0, v1, ...`` in the
order they were recorded; `scalargrad trace` and `graph` number the same nodes ``%0, %1,
...``, inputs first. Here the emitter names node %K ``nK`` (and its adjoint ``g_nK``), so
that a line of the code can be found in the trace. It does so only when the compiled form
has one equation per operation of the graph, in order; otherwise the code is shown as
generated.
"""
from __future__ import annotations

import re
from typing import List, Optional

from scalargrad.compile.emit import Program
from scalargrad.compile.form import ARGUMENT, NODE, Var
from scalargrad.view.graph import GraphView


def numbered_like_the_trace(program: Program, view: GraphView, inputs: List[str]) -> Optional[str]:
    """The program's grad function with its values named nK after the view's %K; None where
    the program's operations are not the view's, one for one and in order."""
    operations = [node.index for node in view.nodes if not node.is_leaf]
    leaves = {node.name: node.index for node in view.nodes if node.is_leaf}
    outs = [getattr(e, "out", None) for e in program.form.equations]  # a Guard has none
    computed = [out.position for out in outs if isinstance(out, Var) and out.kind == NODE]
    if computed != list(range(len(operations))) or set(inputs) != set(leaves):
        return None

    def label(var: Var) -> Optional[str]:
        if var.kind == ARGUMENT:
            return f"n{leaves[inputs[var.position]]}"
        return f"n{operations[var.position]}" if var.kind == NODE else None
    return tidy(program.grad_source(label))


def tidy(code: str) -> str:
    """Without the generator's trailing commas: ``def grad(a, b):``, ``(g_a, g_b)``; a
    one-element tuple keeps its comma, ``(g_a,)``."""
    def bracket(match: "re.Match[str]") -> str:
        inside = match.group(1)
        return f"({inside},)" if "," not in inside else f"({inside})"
    lines = [re.sub(r", \)", ")", line) if line.startswith("def ") else
             re.sub(r"\(([^()]*?), \)", bracket, line) for line in code.split("\n")]
    return "\n".join(lines)


def heading(inputs: List[str], view: Optional[GraphView] = None) -> str:
    """The comment above the code: which name is which input (none without inputs)."""
    if not inputs:
        return ""
    if view is None:
        return "# " + ", ".join(f"x{i} = {name}" for i, name in enumerate(inputs)) + "\n"
    leaves = {node.name: node.index for node in view.nodes if node.is_leaf}
    return ("# " + ", ".join(f"n{leaves[name]} = {name}" for name in inputs)
            + "; nK is %K of `scalargrad trace` and `scalargrad graph`\n")
