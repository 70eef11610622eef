"""scalargrad.view.layout: layered layout of boxes, checked geometrically."""
import random
import time

import pytest

from scalargrad.view.layout import (PORT_CROSSING_COST, Edge, _Item, _Link,
                                     _segment_crossings, layout)


def overlap(a, b):
    """Whether two boxes (centre, size) intersect."""
    (ax, ay), (aw, ah) = a
    (bx, by), (bw, bh) = b
    return abs(ax - bx) * 2 < aw + bw and abs(ay - by) * 2 < ah + bh


def random_dag(seed, count):
    """count boxes of random sizes, each with 1-3 edges from older boxes (ports in order)."""
    rng = random.Random(seed)
    sizes = [(rng.uniform(20, 140), rng.uniform(16, 60)) for _ in range(count)]
    edges = []
    for target in range(3, count):
        sources = rng.sample(range(target), min(target, rng.randint(1, 3)))
        edges.extend(Edge(s, target, k, len(sources)) for k, s in enumerate(sources))
    return sizes, edges


@pytest.mark.parametrize("seed", range(12))
def test_no_two_boxes_overlap_and_every_edge_runs_left_to_right(seed):
    sizes, edges = random_dag(seed, 40)
    placed = layout(sizes, edges)
    boxes = list(zip(placed.centres, sizes))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not overlap(a, b)
        (x, y), (w, h) = a
        assert x - w / 2 >= -1e-9 and y - h / 2 >= -1e-9
        assert x + w / 2 <= placed.width + 1e-9 and y + h / 2 <= placed.height + 1e-9
    for edge, route in zip(edges, placed.routes):
        assert placed.columns[edge.source] < placed.columns[edge.target]
        (sx, sy), (sw, _) = placed.centres[edge.source], sizes[edge.source]
        (tx, ty), (tw, th) = placed.centres[edge.target], sizes[edge.target]
        assert route[0] == pytest.approx((sx + sw / 2, sy))
        assert route[-1][0] == pytest.approx(tx - tw / 2)
        assert abs(route[-1][1] - ty) < th / 2
        assert all(a[0] <= b[0] for a, b in zip(route, route[1:]))
        # one passage (two points) per column the edge crosses
        assert len(route) == 2 + 2 * (placed.columns[edge.target] - placed.columns[edge.source] - 1)


def test_long_edges_pass_between_the_boxes_of_the_columns_they_cross():
    sizes, edges = random_dag(3, 40)
    placed = layout(sizes, edges)
    for route in placed.routes:
        for (x1, y), (x2, _) in zip(route[1:-1:2], route[2:-1:2]):
            for (cx, cy), (_, h) in zip(placed.centres, sizes):
                if x1 <= cx <= x2:
                    assert not cy - h / 2 < y < cy + h / 2


def test_inputs_are_pulled_next_to_their_first_user():
    # 0 -> 1 -> 2 -> 3, and 4 (an input) used only by 3
    sizes = [(30, 20)] * 5
    edges = [Edge(0, 1), Edge(1, 2), Edge(2, 3, 0, 2), Edge(4, 3, 1, 2)]
    assert layout(sizes, edges).columns == [0, 1, 2, 3, 2]


def test_a_tree_is_drawn_without_crossings_and_arguments_in_order():
    # a binary tree of operations: each target's port 0 source ends above its port 1 source
    sizes = [(40, 30)] * 15
    edges = [Edge(child, parent, k, 2) for parent in range(7)
             for k, child in enumerate((2 * parent + 1, 2 * parent + 2))]
    edges = [Edge(14 - e.source, 14 - e.target, e.port, 2) for e in edges]  # sources first
    placed = layout(sizes, edges)
    for parent in range(8, 15):
        upper, lower = [e.source for e in edges if e.target == parent]
        assert placed.centres[upper][1] < placed.centres[lower][1]


def test_crossings_are_counted_by_port_and_ordered_ports_cost_more():
    items = [_Item(0, 0, 0, True, order=0), _Item(0, 0, 0, True, order=1),
             _Item(0, 0, 1, True, order=0), _Item(0, 0, 1, True, order=1)]
    # two sources above and below entering one target: port 0 from the top does not cross
    assert _segment_crossings(items, [_Link(0, 2, -6.0, True), _Link(1, 2, 6.0, True)]) == 0
    assert _segment_crossings(items, [_Link(0, 2, 6.0, True), _Link(1, 2, -6.0, True)]) == \
        PORT_CROSSING_COST
    assert _segment_crossings(items, [_Link(0, 3), _Link(1, 2)]) == 1


def test_unordered_ports_are_handed_out_in_the_order_edges_arrive():
    # 0 above 1 in the first column; the edges ask for the ports the other way round
    sizes = [(30, 20), (30, 20), (30, 40)]
    for ordered in (False, True):
        edges = [Edge(1, 2, 0, 2, ordered), Edge(0, 2, 1, 2, ordered)]
        placed = layout(sizes, edges)
        above = min((0, 1), key=lambda i: placed.centres[i][1])
        ports = {e.source: route[-1][1] for e, route in zip(edges, placed.routes)}
        if ordered:  # port 0 is on top, and its source is put above to meet it
            assert ports[1] < ports[0] and above == 1
        else:        # the top source gets the top port
            assert ports[above] < ports[1 - above]


def test_a_cycle_is_refused():
    with pytest.raises(ValueError, match="cycle"):
        layout([(10, 10)] * 2, [Edge(0, 1), Edge(1, 0)])


def test_a_long_chain_lays_out_without_recursion_in_reasonable_time():
    count = 3000
    started = time.perf_counter()
    placed = layout([(50, 30)] * count, [Edge(i, i + 1) for i in range(count - 1)])
    assert time.perf_counter() - started < 20
    assert placed.columns == list(range(count))
    assert len({y for _, y in placed.centres}) == 1  # a straight line


def test_empty_and_single():
    assert layout([], []).centres == []
    single = layout([(30, 20)], [])
    assert single.centres == [(15.0, 10.0)] and single.width == 30 and single.height == 20
