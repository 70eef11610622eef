"""scalargrad.view.graph_svg: the built-in picture, parsed as XML and checked geometrically."""
import random
import re
import xml.etree.ElementTree as ET

import pytest

from scalargrad import Scalar, graph, sigmoid, sin, sum as total, tanh
from scalargrad.view.numbers import short
from tests.view.svg_geometry import NS, assert_readable, inside, intersect, path_points


def random_graph(seed, operations):
    """A connected graph of about `operations` operations over 1-4 named inputs, with
    shared subexpressions, constants and an n-ary sum."""
    rng = random.Random(seed)
    names = {f"x{i}": Scalar(round(rng.uniform(-2, 2), 3)) for i in range(rng.randint(1, 4))}
    pool = list(names.values())
    last = pool[0]
    for _ in range(operations):
        other = rng.choice(pool)
        kind = rng.randrange(8)
        if kind == 0:
            last = last + other
        elif kind == 1:
            last = last * tanh(other) if other is not last else last * last
        elif kind == 2:
            last = 0.5 - last
        elif kind == 3:
            last = sin(last) * 1.25
        elif kind == 4:
            last = sigmoid(last - other)
        elif kind == 5:
            last = total([last, other, rng.choice(pool)])
        elif kind == 6:
            last = tanh(last)
        else:
            last = last / 3.0
        pool.append(last)
    return graph(last, names=names, title=f"random graph {seed}")


@pytest.mark.parametrize("seed", range(10))
def test_random_graphs_up_to_40_nodes_have_no_overlapping_labels(seed):
    view = random_graph(seed, 6 + 2 * seed)
    assert len(view.nodes) <= 45
    root, texts, rects = assert_readable(view.svg())
    # node boxes and operations (outer rects of each group) never intersect each other
    outer = [r for r in rects if not any(inside(r, s) and r != s for s in rects)]
    for k, a in enumerate(outer):
        for b in outer[k + 1:]:
            assert not intersect(a, b)


def test_every_node_shows_its_label_value_and_gradient_in_its_box():
    x, y = Scalar(0.5), Scalar(2.0)
    view = graph(sin(x) * y + x * 2, names={"x": x, "y": y}, title="demo")
    root, texts, _ = assert_readable(view.svg())
    strings = [t for t, _ in texts]
    for node in view.nodes:
        label = node.label + ("  (output)" if node is view.output else "")
        assert label in strings
        assert f"value {short(node.value)}" in strings and f"grad {short(node.grad)}" in strings
    for operation in ("sin", "mul", "add"):
        assert operation in strings
    assert "mul(·, 2)" in strings  # a constant argument, in its place
    assert strings.count("mul") == 1
    assert root.find(NS + "title").text == "demo"
    groups = root.iter(NS + "g")
    assert sum(g.get("class") == "node" for g in groups) == len(view.nodes)
    edges = next(g for g in root.iter(NS + "g") if g.get("class") == "edges")
    assert edges.get("marker-end") == "url(#arrow)"  # each path an arrow
    arrows = list(edges.iter(NS + "path"))
    arguments = sum(a.node is not None for n in view.nodes for a in n.arguments)
    assert len(arrows) == arguments + sum(not n.is_leaf for n in view.nodes)


def arguments_entering_the_last_operation(svg_text):
    """The labels of the boxes whose arrows enter the output's operation, top to bottom."""
    root = ET.fromstring(svg_text)
    boxes = {}  # (right side, middle) of each node box: its label
    for group in root.iter(NS + "g"):
        if group.get("class") == "node":
            rect = group.find(NS + "rect")
            x, y = map(float, re.search(r"translate\(([-\d.]+),([-\d.]+)\)",
                                        group.get("transform")).groups())
            w, h = float(rect.get("width")), float(rect.get("height"))
            boxes[(round(x + w), round(y + h / 2))] = group.find(NS + "text").text
    arrows = []
    for path in root.iter(NS + "path"):
        if path.get("data-to"):
            points = path_points(path.get("d"))
            (x0, y0), (x1, y1) = points[0], points[-1]
            source = boxes.get((round(x0), round(y0)))
            if source is not None:
                arrows.append((x1, y1, source))
    last = max(x for x, _, _ in arrows)
    return [source for x, _, source in sorted(arrows, key=lambda a: a[1]) if abs(x - last) < 0.5]


def test_the_first_argument_of_sub_div_and_pow_enters_at_the_top():
    a, b = Scalar(1.5), Scalar(2.0)
    cases = [(lambda: b - a, ["b", "a"]), (lambda: b / a, ["b", "a"]),
             (lambda: a ** b, ["a", "b"]), (lambda: (a * 3) - (b * 5), ["%2", "%3"]),
             (lambda: (b * 5) - (a * 3), ["%2", "%3"])]
    for make, expected in cases:
        view = graph(make(), names={"a": a, "b": b})
        assert arguments_entering_the_last_operation(view.svg()) == expected
    x = Scalar(0.5)
    y = tanh(x) - sin(x)   # both from x: the tanh box must sit above the sin box
    assert arguments_entering_the_last_operation(graph(y, names={"x": x}).svg()) == ["%1", "%2"]


def test_operation_labels_show_where_constants_go():
    from scalargrad.view.graph_svg import operation_label
    x = Scalar(1.0)
    assert operation_label(graph(2.0 - x).output) == "sub(2, ·)"
    assert operation_label(graph(x / 4).output) == "div(·, 4)"
    assert operation_label(graph(x * x).output) == "mul"


def test_text_is_legible_at_the_default_size():
    root = ET.fromstring(random_graph(1, 10).svg())
    sizes = [float(t.get("font-size")) for t in root.iter(NS + "text") if t.get("font-size")]
    sizes += [float(g.get("font-size")) for g in root.iter(NS + "g") if g.get("font-size")]
    assert sizes and min(sizes) >= 12


def test_long_titles_are_cut():
    x = Scalar(1.0)
    view = graph(x * 2, names={"x": x}, title="x" * 500)
    root, texts, _ = assert_readable(view.svg())
    assert any(t.endswith("...") and len(t) == 110 for t, _ in texts)


def test_a_wide_sum_gets_a_tall_operation_with_room_for_every_argument():
    xs = [Scalar(float(i)) for i in range(20)]
    view = graph(total(xs), names={f"x{i}": x for i, x in enumerate(xs)})
    assert_readable(view.svg())
