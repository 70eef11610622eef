"""The tape (core/scalar.py): sweeps that walk it are right, and its links keep nothing
finished alive, with no hook in the garbage collector."""
import gc
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scalargrad as sg
from scalargrad import Scalar, finite_difference, forward_autodiff, reverse_autodiff
from scalargrad.core import codegen, scalar
from scalargrad.core.scalar import cycle_collector_paused, end_tape


def live_scalars():
    """The Scalars alive, once the tape has let go of what nothing else holds."""
    end_tape()
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Scalar)


def test_a_graph_is_freed_when_dropped_after_differentiation():
    before = live_scalars()
    x = Scalar(0.3)
    y = x
    for _ in range(2000):
        y = sg.tanh(y * 1.1 + 0.2)
    reverse_autodiff(y, x)
    del y
    assert live_scalars() == before + 1  # x


def test_a_graph_dropped_without_differentiation_is_freed_when_the_tape_ends():
    before = live_scalars()
    x = Scalar(0.3)
    y = sum(sg.sin(x * k) for k in range(500))
    del y
    assert live_scalars() == before + 1  # it ends the tape


def test_a_graph_dropped_without_differentiation_is_freed_as_recording_goes_on():
    """No call of the user's: the tape is compacted now and then as nodes are recorded, at
    least once by the time as many nodes were recorded as it held (a doubling schedule)."""
    x = Scalar(0.3)
    before = live_scalars()
    y = sum(sg.sin(x * k) for k in range(10_000))  # 30,000 nodes
    del y
    for _ in range(256 * codegen.TICK):  # more than twice that: a compaction came
        x * 2.0
    assert live_scalars() < before + 30_000 / 3


def test_no_hook_is_left_in_the_garbage_collector():
    import gc
    assert not [hook for hook in gc.callbacks if "scalargrad" in getattr(hook, "__module__", "")]


def test_the_tape_is_not_compacted_while_the_collector_is_paused():
    """scalargrad.compile reads every node a traced call made off the tape: nothing may be
    taken off it then."""
    x = Scalar(0.3)
    with cycle_collector_paused():
        end_tape()
        for _ in range(40 * codegen.TICK):
            x * 2.0
        count = 0
        node = scalar.newest()
        while node is not None:
            count += 1
            node = node._previous
    assert count == 40 * codegen.TICK


def test_a_loop_that_never_differentiates_keeps_a_bounded_number_of_nodes():
    """Each output links to the previous one's graph through the tape; the tape is cut now
    and then, so the finished graphs are not all kept."""
    x = Scalar(0.3)
    out = None
    counts = []
    for step in range(400):
        out = sum(sg.sin(x * k) for k in range(1000))  # 3000 nodes; out is kept
        if step % 100 == 99:
            counts.append(live_scalars())
    assert out is not None
    assert max(counts) < 150 * 3000  # all 400 graphs would be 1.2 million


def test_a_sweep_does_not_keep_unrelated_older_nodes_alive():
    x = Scalar(0.3)
    before = live_scalars()
    unrelated = sum(sg.sin(x * k) for k in range(300))
    y = sg.exp(x) * 2
    del unrelated
    reverse_autodiff(y, x)
    assert live_scalars() == before + 2  # y and its exp node


def test_ending_the_tape_mid_graph_keeps_derivatives_right():
    x, z = Scalar(0.4), Scalar(-1.3)
    h = sg.sin(x * z) + x
    end_tape()
    y = h * sg.exp(z) + sg.tanh(h)
    dh = math.cos(0.4 * -1.3)
    hv = math.sin(0.4 * -1.3) + 0.4
    dy_dh = math.exp(-1.3) + 1 / math.cosh(hv) ** 2
    expected = [dy_dh * (dh * -1.3 + 1), dy_dh * dh * 0.4 + hv * math.exp(-1.3)]
    assert reverse_autodiff(y, [x, z]) == pytest.approx(expected, rel=1e-12)
    assert forward_autodiff(y, [x, z]) == pytest.approx(expected, rel=1e-12)


OPERATIONS = ["add", "mul", "sin", "tanh", "sub", "dot", "end_tape", "unrelated", "reuse"]


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 1000)),
                min_size=1, max_size=40),
       st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_random_graphs_with_cut_tapes_and_unrelated_nodes(program, a, b):
    """Graphs recorded across tape ends, interleaved with nodes they do not use, and
    reusing old nodes: reverse and forward mode agree with finite differences."""
    def run(u, v, record_breaks):
        values = [u, v]
        for op, k in program:
            p, q = values[k % len(values)], values[(k // 7) % len(values)]
            if op == "end_tape":
                if record_breaks:
                    end_tape()
                continue
            if op == "unrelated":
                sg.sin(p) * 3.0  # recorded, then dropped
                continue
            if op == "reuse":
                values.append(values[k % 2])
                continue
            values.append({"add": lambda: p + q, "mul": lambda: p * q * 0.5,
                           "sin": lambda: sg.sin(p), "tanh": lambda: sg.tanh(p),
                           "sub": lambda: p - 0.3 * q,
                           "dot": lambda: sg.dot([p, q, 1.0], [q, 0.2, p])}[op]())
        return values[-1] + values[-2] * 0.1

    x, y = Scalar(a), Scalar(b)
    out = run(x, y, record_breaks=True)
    if not isinstance(out, Scalar) or not math.isfinite(out.value) or abs(out.value) > 1e6:
        return
    reverse = reverse_autodiff(out, [x, y])
    forward = forward_autodiff(out, [x, y])
    numeric = finite_difference(lambda u, v: run(u, v, record_breaks=False), [a, b],
                                richardson=True)
    assert reverse == pytest.approx(forward, rel=1e-9, abs=1e-9)
    assert reverse == pytest.approx(numeric, rel=1e-5, abs=1e-6)
    assert reverse_autodiff(out, [x, y]) == reverse  # asking twice


def test_a_graph_recorded_in_one_go_is_swept_by_the_tape_alone(monkeypatch):
    from scalargrad.core import autodiff

    def refuse(*args):
        raise AssertionError("the walk left nodes waiting: some node was not on the tape")

    monkeypatch.setattr(autodiff, "_sweep_off_tape", refuse)
    ws = [Scalar(0.1 * i) for i in range(6)]
    hidden = [sg.tanh(sg.dot(ws[:3], [1.0, 2.0, 3.0])), sg.sum(ws[3:]) * ws[0]]
    y = sg.logsumexp(hidden + [sg.dot(hidden, ws[4:])]) ** 2
    assert reverse_autodiff(y, ws) == pytest.approx(forward_autodiff(y, ws), rel=1e-12)


def test_higher_order_across_a_tape_end_matches_one_recorded_in_one_go():
    def f(x, z, break_tape):
        h = sg.sin(x * z) * sg.logsumexp([x, z])
        if break_tape:
            end_tape()
        return sg.tanh(h) * z + h * h

    values = (0.7, -0.4)
    at_once = [Scalar(v) for v in values]
    split = [Scalar(v) for v in values]
    expected = sg.hessian(f(*at_once, False), at_once)
    for row, expected_row in zip(sg.hessian(f(*split, True), split), expected):
        assert row == pytest.approx(expected_row, rel=1e-12)
    first = reverse_autodiff(f(*split, True), split, create_graph=True)
    assert [g.value for g in first] == pytest.approx(reverse_autodiff(f(*at_once, False), at_once),
                                                     rel=1e-12)


def test_cycle_collector_paused_pauses_and_restores_the_collector():
    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restores_even_when_the_block_raises():
    try:
        with cycle_collector_paused():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()


def test_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with cycle_collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
