"""Dots that skip the data's zeros give the full dots' sums, bit for bit."""
import functools
import math
import operator
import random

from scalargrad.compile.batch import column_sums, data_columns
from scalargrad.core.functions import nonzero, picker


def test_picker_gives_a_tuple_for_any_number_of_positions():
    items = [10.0, 11.0, 12.0]
    assert picker([])(items) == ()
    assert picker([2])(items) == (12.0,)
    assert picker([0, 2])(items) == (10.0, 12.0)


def test_nonzero_keeps_every_entry_that_is_not_zero_including_nan_and_inf():
    pick, entries = nonzero([0.0, 2.0, -0.0, math.inf, 0.0, -1.5])
    assert pick(["a", "b", "c", "d", "e", "f"]) == ("b", "d", "f")
    assert entries == (2.0, math.inf, -1.5)
    pick, entries = nonzero([0.0, 0.0])
    assert pick([1.0, 2.0]) == () and entries == ()
    pick, entries = nonzero([0.0, math.nan])
    assert pick(["a", "b"]) == ("b",) and len(entries) == 1 and math.isnan(entries[0])


def _sparse(k, rng):
    return [0.0 if rng.random() < 0.7 else rng.uniform(-3, 3) for _ in range(k)]


def test_sparse_dots_are_the_full_dots_bit_for_bit():
    rng = random.Random(3)
    for _ in range(200):
        data = _sparse(rng.randint(0, 12), rng)
        weights = [rng.uniform(-1e3, 1e3) for _ in data]
        pick, entries = nonzero(data)
        assert sum(map(operator.mul, pick(weights), entries), 0.0) == sum(map(operator.mul, weights, data))


def test_column_sums_are_the_full_column_dots_bit_for_bit():
    rng = random.Random(4)
    for _ in range(50):
        width, count = rng.randint(1, 9), rng.randint(1, 8)
        rows = [_sparse(width, rng) for _ in range(count)]
        rows[0][0] = 0.0  # a column that may be all zero
        adjoints = [0.0 if rng.random() < 0.3 else rng.gauss(0, 10) for _ in range(count)]
        kept = [(adjoint, row) for adjoint, row in zip(adjoints, rows) if adjoint]
        if not kept:
            continue
        # what the examples that pass an adjoint on would add, column by column, in order
        # (left to right: from Python 3.12, sum() of floats compensates)
        full = [functools.reduce(operator.add, map(operator.mul, [a for a, _ in kept], column), 0.0)
                for column in zip(*[row for _, row in kept])]
        got = list(column_sums(adjoints, data_columns(rows)))
        assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in full]
        assert got == full


def test_columns_are_kept_whole_when_dense_picked_when_sparse_and_dropped_when_zero():
    rows = [[1.0, 0.0, 0.0, 2.0], [3.0, 0.0, -0.0, 0.0], [5.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 7.0]]
    columns = data_columns(rows)
    assert columns.dense == [(1.0, 3.0, 5.0, 0.0)]  # 3 of 4 nonzero: whole, zeros and all
    assert [entries for _, entries in columns.sparse] == [(4.0,), (2.0, 7.0)]  # 2 of 4: picked
    adjoints = [0.5, -1.0, 2.0, 4.0]
    assert column_sums(adjoints, columns) == (0.5 - 3.0 + 10.0, 8.0, 0.0, 1.0 + 28.0)


def test_data_that_are_not_finite_are_refused():
    assert data_columns([[0.0, 1.0], [math.inf, 0.0]]) is None
    assert data_columns([[0.0, math.nan]]) is None
    assert data_columns([[0.0, 1.0]]) is not None
