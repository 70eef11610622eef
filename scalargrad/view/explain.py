"""The chain rule step by step: a sweep over a graph view, replayed with every intermediate.

Reverse mode (``reverse_steps``): the output starts with adjoint 1 and every other node
with 0; each operation, newest first, adds adjoint × its local partial to each argument's
adjoint. When the sweep reaches a node, every node that uses it has already passed its
share, so its adjoint is complete: that is why the order is the reverse of the recording
(a topological order), and why nothing has to be zeroed between two sweeps (scalargrad
starts each sweep from zero; micrograd's backward() adds to the grads already there).

Forward mode (``forward_steps``): the seed input starts with tangent 1 and every other input
with 0; each operation, oldest first, sums its local partials × its arguments' tangents.

The replay does the same arithmetic in the same order as autodiff.py's sweeps, so the final
numbers are exactly what reverse_autodiff and forward_autodiff give; and it follows the same
rule for zeros: a node whose adjoint is exactly zero passes nothing on (reverse), an
argument whose tangent is exactly zero adds nothing (forward), even through an infinite
partial.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Tuple

if TYPE_CHECKING:  # graph.py's live page replays the sweeps with this module
    from .graph import GraphNode, GraphView


@dataclass(frozen=True)
class Contribution:
    """What one node passes to one argument in the reverse sweep."""
    argument: int   # the argument's position among the node's arguments
    parent: int     # the argument's node number
    partial: float  # d node / d argument, recorded when the node was made
    added: float    # adjoint × partial
    before: float   # the argument's adjoint before, and after the addition
    after: float


@dataclass(frozen=True)
class ReverseStep:
    node: GraphNode
    adjoint: float  # d output / d node: complete when the sweep reaches the node
    contributions: Tuple[Contribution, ...]  # none for an input, or when skipped
    skipped: bool   # the adjoint is exactly zero: the node passes nothing on


@dataclass(frozen=True)
class Term:
    """One argument's share of a node's tangent in the forward sweep."""
    argument: int
    parent: int
    partial: float
    tangent: float  # the argument's tangent
    product: float  # partial × tangent


@dataclass(frozen=True)
class ForwardStep:
    node: GraphNode
    terms: Tuple[Term, ...]  # arguments whose tangent is not zero
    tangent: float           # d node / d seed


def reverse_steps(view: GraphView) -> List[ReverseStep]:
    """The reverse sweep from the view's output: operations newest first, then the inputs
    (their adjoints are the gradient)."""
    nodes = view.nodes
    adjoints = [0.0] * len(nodes)
    adjoints[-1] = 1.0
    steps: List[ReverseStep] = []
    for node in reversed(nodes):
        if node.is_leaf:
            continue
        adjoint = adjoints[node.index]
        if adjoint == 0.0:
            steps.append(ReverseStep(node, adjoint, (), True))
            continue
        contributions = []
        for k, argument in enumerate(node.arguments):
            if argument.node is None or argument.partial is None:
                continue
            before = adjoints[argument.node]
            added = adjoint * argument.partial
            adjoints[argument.node] = before + added
            contributions.append(Contribution(k, argument.node, argument.partial, added,
                                              before, adjoints[argument.node]))
        steps.append(ReverseStep(node, adjoint, tuple(contributions), False))
    steps.extend(ReverseStep(node, adjoints[node.index], (), False)
                 for node in nodes if node.is_leaf)
    return steps


def forward_steps(view: GraphView, seed: int) -> List[ForwardStep]:
    """The forward sweep seeded at node number ``seed`` (usually an input): every node
    in order, inputs first."""
    if not 0 <= seed < len(view.nodes):
        raise ValueError(f"no node %{seed} in a graph of {len(view.nodes)} nodes")
    tangents = [0.0] * len(view.nodes)
    tangents[seed] = 1.0
    steps: List[ForwardStep] = []
    for node in view.nodes:
        if node.is_leaf or node.index == seed:
            steps.append(ForwardStep(node, (), tangents[node.index]))
            continue
        terms, tangent = [], 0.0
        for k, argument in enumerate(node.arguments):
            if argument.node is None or argument.partial is None:
                continue
            incoming = tangents[argument.node]
            if incoming != 0.0:
                product = argument.partial * incoming
                tangent += product
                terms.append(Term(k, argument.node, argument.partial, incoming, product))
        tangents[node.index] = tangent
        steps.append(ForwardStep(node, tuple(terms), tangent))
    return steps
