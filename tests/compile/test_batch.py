"""vjp_batch's loop, and the dots that skip the data's zeros: the full dots' sums, bit for bit."""
import functools
import math
import operator
import random

import scalargrad as sg
from scalargrad.compile.batch import column_sums, data_columns
from scalargrad.core.functions import nonzero, picker
from tests.compile import compile_oracle as oracle
from tests.compile.test_paths import compiled_only


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
    assert columns.entries == [(4.0,), (2.0, 7.0)]  # 2 of 4: picked
    adjoints = [0.5, -1.0, 2.0, 4.0]
    assert column_sums(adjoints, columns) == (0.5 - 3.0 + 10.0, 8.0, 0.0, 1.0 + 28.0)


def test_data_that_are_not_finite_are_refused():
    assert data_columns([[0.0, 1.0], [math.inf, 0.0]]) is None
    assert data_columns([[0.0, math.nan]]) is None
    assert data_columns([[0.0, 1.0]]) is not None


# vjp_batch's loop ----------------------------------------------------------------------------

def _net(w, x, t):
    """A relu layer over the data's first two entries and over all three, a dot with the
    data's last two, and a softmax loss: every kind of partner a dot's weights can have."""
    hidden = [sg.relu(sg.dot(w[j:6:2], x) + w[6 + j]) for j in range(2)]
    logits = [sg.dot(w[8 + 2 * k:10 + 2 * k], hidden) + sg.dot(w[12 + 2 * k:14 + 2 * k], x[1:3])
              for k in range(2)]
    return [sg.logsumexp(logits) - sg.dot(t, logits), *logits]


def test_the_loop_reads_what_the_examples_share_once_and_keeps_a_dots_adjoints_by_partner():
    rng = random.Random(7)
    cf = sg.compile(_net, argnums=[0])
    w = [rng.uniform(-1, 1) for _ in range(16)]
    examples = [([rng.choice([0.0, rng.uniform(-2, 2)]) for _ in range(3)], [1.0, 0.0]) for _ in range(5)]
    cf.vjp_batch([[0.0] * 16], (1.0, 0.0, 0.0), [w], examples)  # traced
    with compiled_only(cf):
        for seed in ((1.0, 0.0, 0.0), (0.5, 2.0, -1.0)):
            buffers = [[0.25] * 16]
            want = oracle.vjp_batch(_net, [[0.25] * 16], seed, [w], examples, [0])
            assert oracle.same(cf.vjp_batch(buffers, seed, [w], examples), want[0])
            assert oracle.close(buffers, want[1], want[2])
    source = cf.source.split("def vjp_batch(X0, EXAMPLES, seed):")[1]
    head, loop = source.split("    for e, (X1, X2, ) in enumerate(EXAMPLES):")
    body, finish = loop.split("        outputs.append(")
    assert "S0 = X0[0:6:2]" in head and "X0[" not in body  # slices of the weights: taken once
    assert "N1, Z1 = _nonzero(X1)" in body and "_sum(_map(_mul, N1(S0), Z1), 0.0)" in body
    assert "R0.append(t0)" in body and "P" in body and ".append(X1[1:3])" in body  # rows; pairs
    assert "CX1 = _data_columns(" in finish and "CR0 = _data_columns(R0)" in finish
    assert "if not _isfinite(_sum(X0)): raise _Retrace" in head


def _overlapping(w, x):
    """Dots over overlapping slices of the weights, one of whose cells is also used alone,
    beside a dot over a slice nothing else touches (with the whole data: its zeros skipped)."""
    return [sg.dot(w[0:3], x[0:3]) * sg.dot(w[1:4], x[1:4]) + w[2] * x[0] + sg.dot(w[4:8], x)]


def test_a_slices_sums_are_stored_where_nothing_else_writes_its_cells_and_added_elsewhere():
    rng = random.Random(11)
    cf = sg.compile(_overlapping, argnums=[0])
    w = [rng.uniform(-1, 1) for _ in range(8)]
    examples = [([rng.choice([0.0, rng.uniform(-2, 2)]) for _ in range(4)],) for _ in range(6)]
    cf.vjp_batch([[0.0] * 8], (1.0,), [w], examples)  # traced
    with compiled_only(cf):
        for start in (0.0, 0.25):
            buffers = [[start] * 8]
            want = oracle.vjp_batch(_overlapping, [[start] * 8], (1.0,), [w], examples, [0])
            assert oracle.same(cf.vjp_batch(buffers, (1.0,), [w], examples), want[0])
            assert oracle.close(buffers, want[1], want[2])
    finish = cf.source.split("def vjp_batch(X0, EXAMPLES, seed):")[1].split("outputs.append(")[1]
    assert "L0[4:8] = _column_sums(" in finish  # its cells are its own: stored
    assert "L0[0:3] = _list(_map(_add, L0[0:3], [_in_order(" in finish  # shares cells: added
    assert "L0[1:4] = _list(_map(_add, L0[1:4], [_in_order(" in finish
