"""What graph, explain and trace share: an EXPRESSION evaluated on Scalars at a point given
with --at, recording its graph.

The expression and --at are read as check-grad reads them (expression_input.py: an
expression may start with '-'; --at takes numbers or constant expressions).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence


from scalargrad.errors import DomainError, NumericOverflow
from scalargrad.check.expression import Expression, parse, random_points
from scalargrad.view.graph import GraphView, graph
from scalargrad.core.scalar import Scalar

from .errors import BadInput
from .expression_input import ExpressionCommand, at_option, listed, parse_assignments

__all__ = ["ExpressionCommand", "Recorded", "at_option", "record"]


@dataclass
class Recorded:
    """An expression evaluated at a point on Scalars: the inputs and the output."""
    expression: Expression
    point: Dict[str, float]
    inputs: Dict[str, Scalar]
    output: Scalar
    drawn: List[str]  # variables given values at random (no --at)

    @property
    def title(self) -> str:
        """The expression and the point, as pictures and listings are headed."""
        at = ", ".join(f"{name} = {value!r}" for name, value in self.point.items())
        return f"{self.expression} at {at}" if at else str(self.expression)

    def view(self) -> GraphView:
        """The graph, inputs named after the variables."""
        return graph(self.output, names=self.inputs, title=self.title)


def record(text: str, assignments: Sequence[str], draw_missing: bool = False) -> Recorded:
    """Parse text and evaluate it on Scalars at the --at point.

    Variables without a value are bad input, unless draw_missing: then they are drawn
    at random (seed 0) where the expression is defined, as check-grad --random draws them.
    """
    expression = parse(text)
    given = parse_assignments(assignments, expression)
    missing = [name for name in expression.variables if name not in given]
    if missing and not draw_missing:
        raise BadInput(f"no value for {listed(missing)}: give "
                       f"{' '.join(f'--at {name}=VALUE' for name in missing)}")
    point = (random_points(expression, 1, seed=0, fixed=given)[0] if missing
             else {name: given[name] for name in expression.variables})
    inputs = {name: Scalar(value) for name, value in point.items()}
    try:
        output = expression.evaluate(inputs)
    except (DomainError, NumericOverflow) as error:
        at = ", ".join(f"{name} = {value!r}" for name, value in point.items())
        raise BadInput(f"at {at}: {error}" if at else str(error)) from None
    if not isinstance(output, Scalar):
        raise BadInput(f"{expression} has no variables: it is the number {output!r}, "
                       "which records no graph")
    return Recorded(expression, point, inputs, output, missing)
