"""scalargrad.view.graph: the snapshot of a graph and its text formats."""
import json
import math
import xml.etree.ElementTree as ET

import pytest

from scalargrad import Scalar, graph, reverse_autodiff, sin, sqrt, tanh
from scalargrad.errors import GraphTooLarge, InputError
from scalargrad.view.graph import PICTURE_LIMIT, TREE_DEPTH, GraphView
from scalargrad.view.numbers import short


def small():
    """f = x*y + x at x = 2, y = 3: df/dx = y + 1 = 4, df/dy = x = 2."""
    x, y = Scalar(2.0), Scalar(3.0)
    return x, y, graph(x * y + x, names={"x": x, "y": y})


def test_numbering_inputs_first_in_the_order_of_names_then_operations_oldest_first():
    x, y, view = small()
    assert [n.label for n in view.nodes] == ["x", "y", "%2", "%3"]
    assert [n.operation for n in view.nodes] == ["", "", "mul", "add"]
    assert view.output is view.nodes[-1]
    y2 = Scalar(1.0)
    reordered = graph(x * y2, names={"y": y2, "x": x})
    assert [n.name for n in reordered.nodes[:2]] == ["y", "x"]


def test_unnamed_inputs_come_in_order_of_first_use_and_every_argument_is_older():
    a, b, c = Scalar(1.0), Scalar(2.0), Scalar(3.0)
    view = graph(sin(c) * (b + a) + c)
    assert [n.value for n in view.nodes[:3]] == [3.0, 2.0, 1.0]
    for node in view.nodes:
        assert all(arg.node is None or arg.node < node.index for arg in node.arguments)


def test_values_and_gradients_by_hand():
    _, _, view = small()
    assert [n.value for n in view.nodes] == [2.0, 3.0, 6.0, 8.0]
    assert [n.grad for n in view.nodes] == [4.0, 2.0, 1.0, 1.0]


def test_interior_gradients_are_adjoints_of_the_output():
    x, y = Scalar(0.5), Scalar(2.0)
    s = sin(x)
    view = graph(s * y, names={"x": x, "y": y})
    by_label = {n.label: n for n in view.nodes}
    assert by_label["%2"].operation == "sin" and by_label["%2"].grad == 2.0   # = y
    assert by_label["x"].grad == pytest.approx(2.0 * math.cos(0.5), rel=1e-15)
    assert by_label["y"].grad == pytest.approx(math.sin(0.5), rel=1e-15)


def test_gradients_match_reverse_autodiff_and_do_not_accumulate():
    x, y = Scalar(0.3), Scalar(-1.2)
    out = tanh(x * y + sin(x)) * x
    first, second = graph(out), graph(out)
    expected = reverse_autodiff(out, [x, y])
    assert [first.nodes[0].grad, first.nodes[1].grad] == expected
    assert [n.grad for n in first.nodes] == [n.grad for n in second.nodes]


def test_arguments_keep_constants_in_place_with_their_partials():
    x = Scalar(3.0)
    view = graph(2.0 - x * 4, names={"x": x})
    mul, sub = view.nodes[1], view.nodes[2]
    assert [(a.node, a.constant, a.partial) for a in mul.arguments] == [(0, None, 4.0),
                                                                        (None, 4.0, None)]
    assert [(a.node, a.constant, a.partial) for a in sub.arguments] == [(None, 2.0, None),
                                                                        (1, None, -1.0)]


def test_an_argument_used_twice_is_two_arguments():
    x = Scalar(3.0)
    view = graph(x * x, names={"x": x})
    assert [(a.node, a.partial) for a in view.output.arguments] == [(0, 3.0), (0, 3.0)]
    assert view.nodes[0].grad == 6.0


def test_trace_is_one_line_a_node():
    _, _, view = small()
    assert view.trace() == ("%0 = input x     # 2.0\n"
                            "%1 = input y     # 3.0\n"
                            "%2 = mul %0 %1   # 6.0\n"
                            "%3 = add %2 %0   # 8.0\n"
                            "return %3")


def test_trace_writes_constants_and_names_of_operations():
    x = Scalar(1.5)
    loss = x * 2.0
    view = graph(loss - 1, names={"x": x, "loss": loss})
    assert view.trace().splitlines()[1:3] == ["%1 = mul %0 2.0  (loss)   # 3.0",
                                              "%2 = sub %1 1.0           # 2.0"]


def test_tree_shows_a_shared_node_once_then_refers_to_it():
    x, y = Scalar(2.0), Scalar(3.0)
    t = x * y
    view = graph(t + sin(t) * 2, names={"x": x, "y": y})
    # t = 6, sin(6) = -0.2794, out = 6 + 2 sin(6) = 5.441; dout/dt = 1 + 2 cos(6) = 2.920
    assert view.tree() == "\n".join([
        "add = 5.441   grad 1",
        "├── @2: mul = 6   grad 2.92",
        "│   ├── x = 2   grad 8.761",
        "│   └── y = 3   grad 5.841",
        "└── mul = -0.5588   grad 1",
        "    ├── sin = -0.2794   grad 2",
        "    │   └── @2 (above)",
        "    └── 2 (constant)",
    ])


def test_tree_shows_a_repeated_named_input_by_name():
    x = Scalar(1.0)
    lines = graph(x * x, names={"x": x}).tree().splitlines()
    assert lines == ["mul = 1   grad 1", "├── x = 1   grad 2", "└── x"]


def test_dot_has_micrographs_structure():
    _, _, view = small()
    assert view.dot() == "\n".join([
        "digraph scalargrad {",
        "  graph [rankdir=LR];",
        '  node [fontname="Helvetica"];',
        '  n0 [shape=record, label="{ x | value 2 | grad 4 }", style=filled, fillcolor="#e3eefa"];',
        '  n1 [shape=record, label="{ y | value 3 | grad 2 }", style=filled, fillcolor="#e3eefa"];',
        '  n2 [shape=record, label="{ %2 | value 6 | grad 1 }"];',
        '  n2_op [label="mul"];',
        "  n2_op -> n2;",
        "  n0 -> n2_op;",
        "  n1 -> n2_op;",
        '  n3 [shape=record, label="{ %3 | value 8 | grad 1 }", penwidth=2];',
        '  n3_op [label="add"];',
        "  n3_op -> n3;",
        "  n2 -> n3_op;",
        "  n0 -> n3_op;",
        "}",
    ]) + "\n"


def test_dot_escapes_labels_and_titles():
    x = Scalar(1.0)
    view = graph(x * 3, names={'a|b {"c"}': x}, title='say "hi"')
    text = view.dot()
    assert 'label="{ a\\|b \\{\\"c\\"\\} | value 1 | grad 3 }"' in text
    assert 'label="say \\"hi\\""' in text
    assert 'c1_1 [shape=plaintext, label="3"];' in text and "c1_1 -> n1_op;" in text


def test_to_dict_is_nodes_and_edges_with_partials_and_survives_json():
    x = Scalar(0.0)
    view = graph(sqrt(x) + x * 2, names={"x": x})
    document = json.loads(json.dumps(view.to_dict()))
    assert document["output"] == 3
    assert [n["operation"] for n in document["nodes"]] == [None, "sqrt", "mul", "add"]
    assert document["nodes"][1]["grad"] == 1.0
    assert document["nodes"][0]["grad"] == "inf"  # sqrt'(0) = inf
    assert document["nodes"][2]["constants"] == [{"argument": 1, "value": 2.0}]
    edges = {(e["from"], e["to"], e["argument"]): e["partial"] for e in document["edges"]}
    assert edges == {(0, 1, 0): "inf", (0, 2, 0): 2.0, (1, 3, 0): 1.0, (2, 3, 1): 1.0}


def test_summary_counts_by_operation():
    _, _, view = small()
    assert view.summary() == "4 nodes: 2 inputs, 2 operations (1 add, 1 mul), 2 deep"
    assert repr(view) == f"<graph of {view.summary()}>"
    assert graph(Scalar(1.0)).summary() == "1 node: 1 input, 0 deep"


def test_only_laid_out_pictures_refuse_large_graphs_with_the_summary():
    x = Scalar(1.0)
    y = x
    for _ in range(PICTURE_LIMIT):
        y = y + 1
    view = graph(y)
    for draw in (view.svg, view.html):
        with pytest.raises(GraphTooLarge, match=f"{PICTURE_LIMIT + 1} nodes: 1 input, "
                                                f"{PICTURE_LIMIT} operations"):
            draw()
    assert isinstance(GraphTooLarge("m"), InputError)
    assert view._repr_svg_() is None
    assert view.dot().count("_op [") == PICTURE_LIMIT  # Graphviz draws any size
    # each add: its node and the 1; and each time the tree goes on below, its root again
    assert len(view.tree_rows()) == 2 * PICTURE_LIMIT + 1 + (PICTURE_LIMIT - 1) // TREE_DEPTH
    shown = view._repr_html_()  # what a notebook shows instead of the picture
    assert view.summary() in shown and "%150 = add %149 1.0" in shown


def test_a_deep_tree_goes_on_below_with_short_lines():
    x = Scalar(0.5)
    y = x
    for _ in range(1000):
        y = sin(y)
    view = graph(y, names={"x": x})
    rows = view.tree_rows()
    assert len(rows) == 1001 + (1000 - 1) // TREE_DEPTH  # every node once, plus each restart
    lines = view.tree().splitlines()
    assert max(map(len, lines)) <= 4 * TREE_DEPTH + 70
    # each cut node is continued as the root of the next tree, in order, down to x
    cut = [row.node.index for row in rows if row.continued]
    roots = [row.node.index for row in rows if row.prefix == ""]
    assert roots == [1000] + cut and lines[-1].endswith("x = 0.5   grad " + short(view.nodes[0].grad))
    for k, row in enumerate(rows):
        assert lines[k].endswith("(continued below)") == row.continued
        if row.continued:
            assert f"@{row.node.index}: sin" in lines[k]


def test_a_chain_of_100k_operations_has_a_summary_and_a_trace():
    x = Scalar(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    view = graph(y, names={"x": x})
    assert view.summary() == ("100,001 nodes: 1 input, 100,000 operations (100,000 mul), "
                              "100,000 deep")
    lines = view.trace().splitlines()
    assert len(lines) == 100_002 and lines[-2].startswith("%100000 = mul %99999 1.0")
    with pytest.raises(GraphTooLarge):
        view.svg()
    assert len(view.tree_rows()) == 2 * 100_000 + 1 + (100_000 - 1) // TREE_DEPTH  # 1.0s too


def test_a_view_is_a_snapshot():
    x = Scalar(2.0)
    view = graph(x * x, names={"x": x})
    x.value = 5.0
    assert view.nodes[0].value == 2.0 and view.output.grad == 1.0


def test_graph_of_derivatives_recorded_with_create_graph():
    x = Scalar(0.7)
    dy = reverse_autodiff(sin(x) * x, x, create_graph=True)
    view = graph(dy, names={"x": x})
    assert view.output.value == pytest.approx(math.cos(0.7) * 0.7 + math.sin(0.7))
    assert view.nodes[0].grad == pytest.approx(-math.sin(0.7) * 0.7 + 2 * math.cos(0.7))


def test_bad_arguments():
    with pytest.raises(TypeError, match="draws a Scalar"):
        graph(3.0)
    with pytest.raises(TypeError, match="names"):
        graph(Scalar(1.0) * 2, names={"x": 1.0})
    with pytest.raises(ValueError, match="engine"):
        graph(Scalar(1.0) * 2).svg(engine="cairo")


def test_jupyter_shows_the_svg():
    _, _, view = small()
    shown = view._repr_svg_()
    assert isinstance(view, GraphView) and shown.startswith("<svg ") and shown in view.svg()
    ET.fromstring(shown)


def test_a_users_primitive_is_shown_by_its_name_and_a_stopped_argument_as_a_constant():
    from scalargrad import stop_gradient
    from tests.core.test_primitives import erf, hypot
    x = Scalar(0.5)
    view = graph(hypot(erf(x), 3.0) + stop_gradient(x * x), names={"x": x})
    partial = 2 / math.sqrt(math.pi) * math.exp(-0.25)
    assert [line.split() for line in view.trace().splitlines()[:5]] == [
        ["%0", "=", "input", "x", "#", "0.5"],
        ["%1", "=", "erf", "%0", "#", repr(math.erf(0.5))],
        ["%2", "=", "hypot", "%1", "3.0", "#", repr(math.hypot(math.erf(0.5), 3.0))],
        ["%3", "=", "stop_gradient", "0.25", "#", "0.25"],
        ["%4", "=", "add", "%2", "%3", "#", repr(math.hypot(math.erf(0.5), 3.0) + 0.25)]]
    erf_node, hypot_node, stopped = view.nodes[1:4]
    assert erf_node.arguments[0].partial == partial
    assert [a.constant for a in hypot_node.arguments] == [None, 3.0]
    assert stopped.arguments[0].node is None and stopped.arguments[0].partial is None
    assert view.nodes[0].grad == pytest.approx(math.erf(0.5) / math.hypot(math.erf(0.5), 3.0) * partial)
    assert "erf" in view.tree() and "stop_gradient" in view.dot()
