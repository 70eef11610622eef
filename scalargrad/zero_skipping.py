"""Dots over data that skip the data's zero entries, for compiled training (vjp_batch).

MNIST's pixels are mostly zero (the share at each size is on the docs' benchmarks page),
and a first layer's dots are most of a training step, so skipping the zeros saves most of
their time, more the larger the images. A hidden layer's outputs are the data of the next
layer's weights: relu's zeros are skipped the same way when a batch's gradients of those
weights are added up.

The sums are bitwise those of the full dots, because a finite weight times zero adds
nothing to a float sum; only a non-finite weight (or adjoint) times zero would have made a
difference (a nan), so the generated code checks for those first and runs the full dots
when it finds one.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Optional, Sequence, Tuple

from .core.functions import nonzero, picker

class DataColumns:
    """The columns of a batch's data (one list per example) that hold a nonzero entry, and
    how to spread one number per such column back over all the columns, zeros elsewhere (a
    border pixel of MNIST is zero in every example). A column nonzero in at most half the
    examples is kept as a picker of those examples and their entries (``sparse``); a denser
    one whole (``dense``), as picking most of a column costs more than multiplying its
    zeros."""

    def __init__(self, rows: Sequence[Sequence[float]]) -> None:
        columns = list(zip(*rows))
        half = len(rows) // 2
        lit = [len(column) - column.count(0.0) for column in columns]
        self.sparse = [nonzero(column) for column, count in zip(columns, lit) if 0 < count <= half]
        self.dense = [column for column, count in zip(columns, lit) if count > half]
        places, sparse, dense = [], 0, len(self.sparse)
        for count in lit:  # each column's place among the sums: sparse ones, dense ones, 0.0
            if 0 < count <= half:
                places.append(sparse)
                sparse += 1
            elif count > half:
                places.append(dense)
                dense += 1
            else:
                places.append(len(self.sparse) + len(self.dense))
        self.spread = picker(places)


def data_columns(rows: Sequence[Sequence[float]]) -> Optional[DataColumns]:
    """The batch's DataColumns, or None if an entry is not finite (zero times it would
    not be zero)."""
    if not math.isfinite(sum(map(sum, rows))):  # (a sum that overflows says None too: harmless)
        return None
    return DataColumns(rows)


def column_sums(weights: Sequence[float], columns: DataColumns) -> Tuple[float, ...]:
    """[sum(map(mul, weights, column)) for column in zip(*rows)], skipping the zero
    entries: a dot's weight gradients for a batch (weights: one adjoint per example, zero
    where that example passed none; columns: data_columns of the examples' data, or of the
    values each example computed, such as a hidden layer's outputs)."""
    mul: Any = operator.mul
    sums = [sum(map(mul, pick(weights), entries), 0.0) for pick, entries in columns.sparse]
    sums += [sum(map(mul, weights, column), 0.0) for column in columns.dense]
    sums.append(0.0)
    return columns.spread(sums)
