"""`scalargrad trace EXPR`: the recorded graph as a flat listing, one line a node, like JAX's
make_jaxpr. The listing is scalargrad.view.graph's trace()."""
from __future__ import annotations

from typing import Sequence

import click

from .recorded_expression import ExpressionCommand, at_option, record

_HELP = """List the graph that evaluating EXPRESSION records, one line a node:
its number, operation and arguments, and its value.

\b
  scalargrad trace "sin(x)*y + exp(x*y)" --at x=0.5,y=2
  # sin(x) * y + exp(x * y) at x = 0.5, y = 2.0
  %0 = input x     # 0.5
  %1 = input y     # 2.0
  %2 = sin %0      # 0.479425538604203
  %3 = mul %2 %1   # 0.958851077208406
  ...

Variables without --at are given values where the expression is defined,
drawn at random (seed 0), and the first line says which.
"""


@click.command("trace", cls=ExpressionCommand, help=_HELP)
@click.argument("expression")
@at_option
def trace(expression: str, assignments: Sequence[str]) -> None:
    recorded = record(expression, assignments, draw_missing=True)
    drawn = recorded.drawn
    note = f"  ({', '.join(drawn)} drawn at random: give --at to choose)" if drawn else ""
    click.echo(f"# {recorded.title}{note}")
    click.echo(recorded.view().trace())
