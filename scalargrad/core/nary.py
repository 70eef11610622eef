"""N-ary nodes: a rule over a sequence of arguments (sum, dot, logsumexp) recorded as one
node, however many arguments it has.

The node keeps only its Scalar arguments (``_a``) and their partials (``_da``): the numbers
among the arguments fold into its value. For a rule over pairs, ``_b`` keeps each parent's
partner when some partner is a Scalar (the partial then changes with it); for a rule with a
shift (logsumexp, computed on its arguments shifted by their largest so that no exp
overflows), ``_db`` keeps the numbers among the arguments.
"""
from __future__ import annotations

from typing import Any, Sequence, Tuple, Union

from . import codegen, scalar
from .rules import NaryRule
from .scalar import Scalar, as_float, make_node


def record_nary(rule: NaryRule, args: Sequence[Any]) -> Union["Scalar", float]:
    """rule over args (Scalars and numbers) as one node; a float when no argument is a Scalar.

    The node's parents are the Scalar arguments and its partials their rule partials; for a
    rule over pairs, ``_b`` keeps each parent's partner when some partner is a Scalar (then
    the partial changes with it, and differentiating again needs it); for a rule with a
    shift, ``_db`` keeps the numbers among the arguments, if any (differentiating again
    shifts them too: see shifted_partials).
    """
    return record_shifted(rule, args)[0]


def record_shifted(rule: NaryRule, args: Sequence[Any]) -> Tuple[Union["Scalar", float], float, float]:
    """(record_nary(rule, args), the shift taken off the arguments, the value of the formula
    on the shifted arguments): for a rule without a shift, the shift is 0.0."""
    values = [a._value if a.__class__ is Scalar else as_float(a) for a in args]
    top = codegen.nary_shift(rule)(values) if rule.shift else 0.0
    shifted = [v - top for v in values] if top else values
    inner = codegen.nary_function(rule)(shifted)  # sums and logsumexp give inf or nan, never raise
    out = top + inner if top else inner
    positions = [i for i, a in enumerate(args) if a.__class__ is Scalar]
    if not positions:
        return out, top, inner
    parents = tuple(args) if len(positions) == len(args) else tuple([args[i] for i in positions])
    constant = codegen.constant(rule.partial)
    if constant is not None:
        return _told(make_node(out, rule, parents, (constant,) * len(parents)), args), top, inner
    scalar_partners = numbers = None
    if rule.pairs:
        partners, partner_values = _partners(rule, args), _partners(rule, shifted)
        partials = tuple(codegen.nary_partials(rule)([shifted[i] for i in positions],
                                               [partner_values[i] for i in positions], inner))
        if any(partners[i].__class__ is Scalar for i in positions):
            scalar_partners = tuple([partners[i] for i in positions])
    else:
        if len(positions) < len(args):
            shifted = [shifted[i] for i in positions]
        partials = tuple(codegen.nary_partials(rule)(shifted, inner))
    if rule.shift and len(positions) < len(args):
        numbers = tuple([values[i] for i in range(len(args)) if args[i].__class__ is not Scalar])
    node = make_node(out, rule, parents, partials, scalar_partners, numbers)
    return _told(node, args), top, inner


def _told(node: "Scalar", args: Sequence[Any]) -> "Scalar":
    """node, after telling a compiler tracing the call (if any) all of node's arguments: the
    node keeps only its Scalars, the numbers among them fold into its value."""
    observer = scalar._observer
    if observer is not None:
        observer("nary", node, tuple(args), None)
    return node


def _partners(rule: NaryRule, items: Sequence[Any]) -> Sequence[Any]:
    """Each item's partner: for a rule over pairs, ai <-> bi; else none (None)."""
    if not rule.pairs:
        return [None] * len(items)
    half = len(items) // 2
    return [*items[half:], *items[:half]]
