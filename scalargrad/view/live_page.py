"""The sweeps, live: one self-contained HTML page that plays a graph's computation.

The page holds the picture of graph_svg.py, the steps replayed by explain.py as data, and a
small player (live_page.js, live_page.css; inline: no network, it opens from file://).
It plays the forward pass (each node's value appears, in creation order; with a seed, its
tangent too: forward mode), then the reverse sweep (the node processed is highlighted,
each edge into its operation shows local partial × adjoint = what it adds, and a node used
twice shows its adjoint growing). Below it, the same steps as a text table (made by the
player from the data, which keeps the page small: 150 nodes in under 200 KB).

The contract tests rely on (keep it stable):

- every node's element carries ``data-node="%n"``, its number in every view;
- once the page has reached a node in the forward pass it carries ``data-value`` (and,
  seeded, ``data-tangent``); once the reverse sweep has reached it, ``data-grad``: each
  Python's ``repr`` of the float;
- steps are numbered from 0 (nothing computed): 1 to N the forward pass over the N nodes,
  N + 1 to 2N the reverse sweep; the URL fragment ``#step=K`` opens the page at step K,
  ``#step=end`` at the end of the reverse sweep; the page keeps the fragment up to date;
- the page's root element has ``data-step`` (the step shown) and ``data-steps`` (2N).
"""
from __future__ import annotations

import json
from html import escape
from importlib import resources
from itertools import count
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..core.rules import RULES, NaryRule
from . import graph_svg
from .explain import ForwardStep, ReverseStep, forward_steps, reverse_steps
from .numbers import short

if TYPE_CHECKING:
    from .graph import GraphView

_PLAYERS = count(1)  # tells apart the players of one notebook


def page(view: GraphView, seed: Optional[int]) -> str:
    """The whole page: the player, its keys on the page, the step in the URL."""
    title = escape(view.title or "graph")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{title}</title><link rel=\"icon\" href=\"data:,\">"
            "<meta name=\"viewport\" content=\"width=device-width\">"
            f"</head><body>\n{_player(view, seed, whole_page=True)}\n</body></html>\n")


def fragment(view: GraphView, seed: Optional[int]) -> str:
    """The player alone, for a notebook: its keys work when it has the focus."""
    return _player(view, seed, whole_page=False)


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _player(view: GraphView, seed: Optional[int], whole_page: bool) -> str:
    reverse = reverse_steps(view)
    forward = forward_steps(view, seed) if seed is not None else None
    edge_texts = [f"{short(c.partial)} × {short(step.adjoint)} = {short(c.added)}"
                  for step in reverse for c in step.contributions]
    texts = _transient_texts(view, reverse)
    for step in forward or ():
        texts.setdefault(step.node.index, []).append(f"tangent {short(step.tangent)}")
    live = graph_svg.Live(seed is not None, texts, edge_texts)
    picture = graph_svg.render(view, live)
    picture = picture[picture.index("<svg"):]
    name = f"sg-live-{next(_PLAYERS)}"
    data = json.dumps(_data(view, seed, forward, reverse), separators=(",", ":"))
    heading = escape(view.title) if view.title else "The computation, step by step"
    seeded = (f"; with it, forward mode's tangents d node / d {escape(view.nodes[seed].label)}"
              if seed is not None else "")
    return (
        f'<div class="sg-live" id="{name}" tabindex="-1" data-step="0" '
        f'data-steps="{2 * len(view.nodes)}">'
        f"<style>{_asset('live_page.css')}</style>"
        f"<h1>{heading}</h1>"
        f"<p class=\"sg-about\">The forward pass computes each node's value, oldest first"
        f"{seeded}. Then the reverse sweep starts at the output with adjoint 1 and visits the "
        "operations newest first: each edge passes local partial × adjoint to its argument, "
        "whose adjoint adds up what all its uses pass. Click a node for its rule. "
        "Keys: → step, ← back, space play/pause.</p>"
        '<div class="sg-controls" role="toolbar" aria-label="player">'
        '<button type="button" data-action="reset" title="reset (Home)">reset</button>'
        '<button type="button" data-action="back" title="step back (←)">◀ back</button>'
        '<button type="button" data-action="play" title="play or pause (space)">▶ play</button>'
        '<button type="button" data-action="step" title="step forward (→)">step ▶</button>'
        '<label>speed <select data-action="speed">'
        '<option value="0.5">0.5×</option><option value="1" selected>1×</option>'
        '<option value="2">2×</option><option value="4">4×</option></select></label>'
        '<span class="sg-status" aria-live="polite"></span></div>'
        f'<div class="sg-picture">{picture}</div>'
        '<div class="sg-rule" aria-live="polite" hidden></div>'
        '<div class="sg-steps"><table><caption>The steps (as <code>scalargrad explain</code> '
        'prints them); click a row to go there</caption><thead><tr><th scope="col">step</th>'
        '<th scope="col">sweep</th><th scope="col">node</th><th scope="col">what happens</th>'
        "</tr></thead><tbody></tbody></table></div>"
        f'<script type="application/json" class="sg-data">{_script_safe(data)}</script>'
        f"<script>{_asset('live_page.js')}\n"
        f'scalargradLive(document.getElementById("{name}"), {str(whole_page).lower()});'
        "</script></div>")


def _script_safe(text: str) -> str:
    """JSON that cannot end the <script> element it sits in."""
    return text.replace("</", "<\\/")


def _transient_texts(view: GraphView, reverse: List[ReverseStep]) -> Dict[int, List[str]]:
    """The adjoints shown growing in each box (``grad -0.416 → 2.584``), by node."""
    texts: Dict[int, List[str]] = {}
    for step in reverse:
        for c in step.contributions:
            texts.setdefault(c.parent, []).append(
                f"grad {short(c.before)} → {short(c.after)}")
    return texts


def _data(view: GraphView, seed: Optional[int], forward: Optional[List[ForwardStep]],
          reverse: List[ReverseStep]) -> Dict[str, Any]:
    """What the player needs: per node its label, value and arguments; the rules used;
    the steps, every number both as repr (for data- attributes) and short (to show)."""
    used = {node.operation for node in view.nodes if not node.is_leaf}
    return {
        "output": view.output.index,
        "seed": seed,
        "nodes": [{"label": node.label, "op": node.operation,
                   "value": repr(node.value), "v": short(node.value),
                   "args": [[a.node, None if a.constant is None else short(a.constant),
                             None if a.partial is None else short(a.partial)]
                            for a in node.arguments]}
                  for node in view.nodes],
        "rules": {name: _rule(name) for name in sorted(used) if name in RULES},
        "tangents": None if forward is None else [
            {"t": repr(step.tangent), "ts": short(step.tangent),
             "terms": [t.argument for t in step.terms]} for step in forward],
        "reverse": [{"n": step.node.index, "a": repr(step.adjoint), "as": short(step.adjoint),
                     "skip": step.skipped,
                     "c": [[c.parent, short(c.partial), short(c.added), short(c.before),
                            short(c.after)] for c in step.contributions]}
                    for step in reverse],
    }


def _rule(name: str) -> Dict[str, Any]:
    """A rule of the table as the page shows it: formula and partials."""
    rule = RULES[name]
    if isinstance(rule, NaryRule):
        partner = " (x's partner in the other list)" if rule.pairs else ""
        return {"formula": rule.formula.replace("xs", "x1, ..., xn"),
                "partials": [f"∂out/∂x = {rule.partial} for each argument x{partner}"],
                "convention": ""}
    return {"formula": rule.formula,
            "partials": [f"∂out/∂{a} = {p}" for a, p in zip(rule.arguments, rule.partials)],
            "convention": rule.convention}
