"""MkDocs hook: the line <!-- rule-table --> on a page becomes the table of rules as it is in
scalargrad/core/rules.py, so the manual shows the rules the code runs, never a copy."""
from __future__ import annotations

from typing import Any

from scalargrad.core.rules import RULES, NaryRule, Rule

PLACEHOLDER = "<!-- rule-table -->"


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _row(rule: Rule | NaryRule) -> str:
    if isinstance(rule, NaryRule):
        arguments = "a1..an, b1..bn" if rule.pairs else "xs"
        partials = f"d/dx: {_code(rule.partial)}"
    else:
        arguments = ", ".join(rule.arguments)
        partials = "<br>".join(f"d/d{name}: {_code(partial)}"
                               for name, partial in zip(rule.arguments, rule.partials))
    cells = [f"`{rule.name}`", arguments, _code(rule.formula), partials, rule.domain,
             rule.convention]
    return "| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |"


def table() -> str:
    """Every rule, one row each, in the table's order."""
    head = ["| rule | arguments | value | partial derivatives | domain | where there is none |",
            "|---|---|---|---|---|---|"]
    return "\n".join(head + [_row(rule) for rule in RULES.values()])


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return markdown.replace(PLACEHOLDER, table())
