"""`scalargrad explain EXPR --at x=1`: the chain rule made visible, one row per node of a sweep.

The sweeps are replayed by scalargrad.view.explain; this module lays them out as tables (or JSON).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scalargrad.view.explain import ForwardStep, ReverseStep, forward_steps, reverse_steps
from scalargrad.view.graph import GraphNode, GraphView
from scalargrad.view.numbers import json_number, short

from .errors import BadInput
from .plain_lines import print_trimmed
from .recorded_expression import ExpressionCommand, Recorded, at_option, record

_HELP = """Show the chain rule at work: the sweep that differentiates EXPRESSION,
one row per node, in the order the sweep visits them.

\b
  scalargrad explain "x*y + sin(x)" --at x=2,y=3
  scalargrad explain "x*y + sin(x)" --at x=2,y=3 --mode forward --wrt x

\b
Reverse mode (the default) starts at the output with adjoint 1 and visits
the operations newest first: each one adds adjoint × its local partial
derivative to each argument's adjoint. A node's adjoint is complete when the
sweep reaches it, because every node that uses it comes later in the
recording. The inputs' adjoints at the end are the gradient.

\b
Forward mode seeds one input (--wrt) with tangent 1, the others with 0, and
visits the nodes oldest first: each one's tangent is the sum of its local
partials × its arguments' tangents.

Nodes are numbered %n as in `scalargrad trace` and `scalargrad graph`.
"""


def _n(x: float) -> str:
    return short(x)


def _console() -> Console:
    """A console as wide as the terminal; off one, $COLUMNS or 80 (rich's default)."""
    return Console(highlight=False)


@click.command("explain", cls=ExpressionCommand, help=_HELP)
@click.argument("expression")
@at_option
@click.option("--mode", type=click.Choice(["reverse", "forward"]), default="reverse",
              show_default=True)
@click.option("--wrt", metavar="NAME", default=None,
              help="Forward mode: the input to seed (needed when there are several).")
@click.option("--json", "as_json", is_flag=True, help="The steps as JSON.")
def explain(expression: str, assignments: Sequence[str], mode: str, wrt: Optional[str],
            as_json: bool) -> None:
    recorded = record(expression, assignments)
    if wrt is not None and mode != "forward":
        raise BadInput("--wrt names the input forward mode is seeded at: add --mode forward")
    view = recorded.view()
    if mode == "reverse":
        steps = reverse_steps(view)
        if as_json:
            click.echo(json.dumps(_reverse_document(recorded, view, steps), indent=2))
        else:
            _print_reverse(recorded, view, steps)
        return
    seed = _seed(recorded, view, wrt)
    forward = forward_steps(view, seed.index)
    if as_json:
        click.echo(json.dumps(_forward_document(recorded, view, seed, forward), indent=2))
    else:
        _print_forward(recorded, view, seed, forward)


def _seed(recorded: Recorded, view: GraphView, wrt: Optional[str]) -> GraphNode:
    names = list(recorded.inputs)
    if wrt is None:
        if len(names) != 1:
            raise BadInput(f"forward mode needs the input to seed: give --wrt with one of "
                           f"{', '.join(names)}")
        wrt = names[0]
    if wrt not in recorded.inputs:
        raise BadInput(f"--wrt {wrt}: not a variable of the expression (its variables: "
                       f"{', '.join(names)})")
    return next(node for node in view.nodes if node.name == wrt)


def _described(view: GraphView, node: GraphNode) -> str:
    """A node as an assignment of its operation to its arguments: ``%4 = mul x %3``."""
    if node.is_leaf:
        return f"{node.label} (input)"
    operands = " ".join(view.nodes[a.node].label if a.node is not None
                        else short(a.constant or 0.0) for a in node.arguments)
    return f"{node.label} = {node.operation} {operands}"


def _table(columns: List[str]) -> Table:
    """The steps' table: the formulas (node, arg, the adjoint growing or the term) never
    wrap; the other numbers wrap (whole) only when the terminal is too narrow for them."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for k, name in enumerate(columns):
        table.add_column(name, justify="right" if k == 0 else "left", overflow="fold",
                         no_wrap=k in (1, 4, len(columns) - 1))
    return table


def _rows(table: Table, first: List[Any], more: List[List[Any]], blank: int) -> None:
    """A node's rows: the first with its own cells, then one per further argument with
    the node's cells (the first ``blank``) left empty; a rule under the last."""
    rows = [first] + [[""] * blank + cells for cells in more]
    for k, row in enumerate(rows):
        table.add_row(*row, end_section=k == len(rows) - 1)


# ---------------------------------------------------------------------------------------
# Reverse mode.
def _print_reverse(recorded: Recorded, view: GraphView, steps: List[ReverseStep]) -> None:
    console = _console()
    out = view.output.label
    print_trimmed(console, Text(f"reverse sweep of {recorded.title}", style="bold"),
                  f"The output {out} starts with adjoint 1 (d{out}/d{out}), every other node "
                  "with 0. Each operation, newest first, passes to each argument (arg) its "
                  "adjoint × its local partial (adds), which the argument's adjoint adds up; "
                  "an input's adjoint, when the sweep reaches it (done), is d"
                  f"{out}/d input.")
    table = _table(["step", "node", "value", "adjoint", "arg", "partial", "adds",
                    "arg's adjoint"])
    for number, step in enumerate(steps, 1):
        node = step.node
        head = [str(number), _described(view, node), _n(node.value),
                Text(_n(step.adjoint), style="magenta")]
        if node.is_leaf:
            _rows(table, head + ["done", "", "", ""], [], 4)
            continue
        if step.skipped:
            _rows(table, head + ["none", "", "", "adjoint 0"], [], 4)
            continue
        cells = []
        for c in step.contributions:
            argument = view.nodes[c.parent].label
            cells.append([argument, _n(c.partial), _n(c.added),
                          f"{_n(c.before)} → {_n(c.after)}"])
        _rows(table, head + cells[0], cells[1:], 4)
    print_trimmed(console, table)
    gradient = ", ".join(f"d{out}/d{name} = {_n(view.nodes[k].grad)}"
                         for k, name in enumerate(recorded.inputs))
    print_trimmed(console, f"gradient: {gradient}")


def _reverse_document(recorded: Recorded, view: GraphView,
                      steps: List[ReverseStep]) -> Dict[str, Any]:
    return {
        "expression": str(recorded.expression), "point": recorded.point, "mode": "reverse",
        "output": view.output.index,
        "steps": [{"node": step.node.index, "label": step.node.label,
                   "operation": step.node.operation or None,
                   "value": json_number(step.node.value),
                   "adjoint": json_number(step.adjoint), "skipped": step.skipped,
                   "contributions": [{"argument": c.argument, "to": c.parent,
                                      "partial": json_number(c.partial),
                                      "added": json_number(c.added),
                                      "before": json_number(c.before),
                                      "after": json_number(c.after)}
                                     for c in step.contributions]}
                  for step in steps],
        "gradient": {name: json_number(view.nodes[k].grad)
                     for k, name in enumerate(recorded.inputs)},
    }


# ---------------------------------------------------------------------------------------
# Forward mode.
def _print_forward(recorded: Recorded, view: GraphView, seed: GraphNode,
                   steps: List[ForwardStep]) -> None:
    console = _console()
    print_trimmed(console, Text(f"forward sweep of {recorded.title}, seeded at {seed.label}",
                                style="bold"),
                  f"{seed.label} starts with tangent 1 (d{seed.label}/d{seed.label}), the "
                  "other inputs with 0. Each operation, oldest first, sums its local partials "
                  "× its arguments' tangents (terms).")
    table = _table(["step", "node", "value", "tangent", "arg", "partial", "× tangent",
                    "= term"])
    for number, step in enumerate(steps, 1):
        node = step.node
        head = [str(number), _described(view, node), _n(node.value),
                Text(_n(step.tangent), style="magenta")]
        if node.index == seed.index:
            _rows(table, head + ["", "", "", "the seed"], [], 4)
        elif node.is_leaf:
            _rows(table, head + ["", "", "", "an input"], [], 4)
        elif not step.terms:
            _rows(table, head + ["none", "", "", f"no arg depends on {seed.label}"], [], 4)
        else:
            cells = [[view.nodes[t.parent].label, _n(t.partial), f"× {_n(t.tangent)}",
                      f"= {_n(t.product)}"] for t in step.terms]
            _rows(table, head + cells[0], cells[1:], 4)
    print_trimmed(console, table)
    out = view.output.label
    print_trimmed(console, f"derivative: d{out}/d{seed.label} = {_n(steps[-1].tangent)}")


def _forward_document(recorded: Recorded, view: GraphView, seed: GraphNode,
                      steps: List[ForwardStep]) -> Dict[str, Any]:
    return {
        "expression": str(recorded.expression), "point": recorded.point, "mode": "forward",
        "wrt": seed.label, "output": view.output.index,
        "steps": [{"node": step.node.index, "label": step.node.label,
                   "operation": step.node.operation or None,
                   "value": json_number(step.node.value),
                   "tangent": json_number(step.tangent),
                   "terms": [{"argument": t.argument, "from": t.parent,
                              "partial": json_number(t.partial),
                              "tangent": json_number(t.tangent),
                              "product": json_number(t.product)} for t in step.terms]}
                  for step in steps],
        "derivative": json_number(steps[-1].tangent),
    }
