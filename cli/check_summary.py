"""check-grad at many points (--random N): a summary instead of a table per point.

Up to POINTS_IN_FULL points, each is shown in full. Beyond, one row per derivative over all
the points: how many agree, the worst absolute and relative errors and the point where the
worst relative error is; then the first few points that disagree, in full.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

from rich import box
from rich.table import Table

POINTS_IN_FULL = 5    # more points than this are summarised
FAILURES_IN_FULL = 3  # points that disagree shown in full under the summary

# (derivative, ok, abs error, rel error) of one point: ok None where not checkable
Outcome = Tuple[str, Optional[bool], Optional[float], Optional[float]]


def summary_table(outcomes: Sequence[List[Outcome]],
                  points: Sequence[str]) -> Table:
    """One row per derivative over all points (``outcomes[k]`` are point k's, ``points[k]``
    that point as text)."""
    rows: Dict[str, List[Tuple[Optional[bool], Optional[float], Optional[float], int]]] = {}
    for k, outcome in enumerate(outcomes):
        for name, ok, abs_error, rel_error in outcome:
            rows.setdefault(name, []).append((ok, abs_error, rel_error, k))
    table = Table(title=f"over all {len(points):,} points", title_justify="left",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for heading, justify in (("derivative", "left"), ("agree", "right"),
                             ("worst abs err", "right"), ("worst rel err", "right"),
                             ("at", "left")):
        table.add_column(heading, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for name, results in rows.items():
        checked = [r for r in results if r[0] is not None]
        agree = sum(1 for r in checked if r[0])
        worst_abs = _worst(checked, lambda r: r[1])
        worst_rel = _worst(checked, lambda r: r[2])
        table.add_row(name, f"{agree:,}/{len(checked):,}" + (
                          f" ({len(results) - len(checked):,} n/a)" if len(checked) < len(results)
                          else ""),
                      _error(worst_abs[1] if worst_abs else None),
                      _error(worst_rel[2] if worst_rel else None),
                      points[worst_rel[3]] if worst_rel else "")
    return table


def _worst(results, key: Callable) -> Optional[tuple]:
    known = [r for r in results if key(r) is not None]
    return max(known, key=key) if known else None


def _error(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{x:.1e}"
