"""`scalargrad graph` through click's CliRunner."""
import json
import math
import os
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from scalargrad.view.graph import PICTURE_LIMIT
from scalargrad_cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, ["graph", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_error(result, status=2):
    """The one Error: line (a refused expression is shown under it, with carets, as
    check-grad shows it)."""
    lines = result.output.rstrip().splitlines()
    assert result.exit_code == status and lines[0].startswith("Error: "), result.output
    assert len(lines) == 1 or (len(lines) == 3 and lines[2].strip(" ^") == ""), result.output
    return lines[0]


def test_the_tree_by_default():
    result = run("sin(x)*y + exp(x*y)", "--at", "x=0.5,y=2")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "sin(x) * y + exp(x * y) at x = 0.5, y = 2.0"
    assert lines[1] == "add = 3.677   grad 1"
    dx = 2 * math.cos(0.5) + 2 * math.exp(1.0)
    assert f"│   │   └── x = 0.5   grad {dx:.4g}" in lines
    assert lines[-2:] == ["        ├── x", "        └── y"]  # shown above: by name


def test_json_is_nodes_and_edges_with_the_expression_and_point():
    result = run("x*y + x", "--at", "x=2", "--at", "y=3", "--json")
    document = json.loads(result.output)
    assert document["expression"] == "x * y + x" and document["point"] == {"x": 2.0, "y": 3.0}
    assert [(n["label"], n["value"], n["grad"]) for n in document["nodes"]] == [
        ("x", 2.0, 4.0), ("y", 3.0, 2.0), ("%2", 6.0, 1.0), ("%3", 8.0, 1.0)]
    assert {(e["from"], e["to"], e["partial"]) for e in document["edges"]} == {
        (0, 2, 3.0), (1, 2, 2.0), (2, 3, 1.0), (0, 3, 1.0)}
    assert json.loads(run("x*y + x", "--at", "x=2,y=3", "--format", "json").output) == document


def test_dot_and_svg_on_stdout():
    dot = run("x*y", "--at", "x=2,y=3", "--format", "dot").output
    assert dot.startswith("digraph scalargrad {") and "n2_op -> n2;" in dot
    svg = run("x*y", "--at", "x=2,y=3", "--format", "svg").output
    assert ET.fromstring(svg).tag.endswith("svg")


@pytest.mark.parametrize("name, check", [
    ("g.svg", lambda text: ET.fromstring(text.encode())),
    ("g.dot", lambda text: text.startswith("digraph")),
    ("g.gv", lambda text: text.startswith("digraph")),
    ("g.json", json.loads),
    ("g.txt", lambda text: text.startswith("mul = 6")),
])
def test_output_format_from_the_extension(tmp_path, name, check):
    path = tmp_path / name
    result = run("x*y", "--at", "x=2,y=3", "--output", str(path))
    assert result.exit_code == 0 and result.stdout == ""
    assert check(path.read_text()) is not False


def test_a_leading_minus_expression():
    result = run("-x*y", "--at", "x=2,y=3", "--format", "dot")
    assert result.exit_code == 0 and 'n2_op [label="neg"];' in result.output


@pytest.mark.parametrize("args, message", [
    (["x*", "--at", "x=1"], "cannot parse"),
    (["x*y", "--at", "x=1"], "no value for y: give --at y=VALUE"),
    (["x*y", "--at", "x=1,y=2", "--at", "z=3"], "--at names z"),
    (["log(x)", "--at", "x=-1"], "at x = -1.0: log(-1.0): outside the domain"),
    (["exp(x)", "--at", "x=1000"], "at x = 1000.0: exp(1000.0): the result is too large"),
    (["2*3"], "has no variables"),
    (["x", "--at", "x=1", "--format", "png"], "'png' is not one of"),
    (["x", "--at", "x=1", "--output", "g.png"], "cannot tell the format"),
    (["x", "--at", "x=1", "--output", "g.svg", "--format", "dot"], "conflicts"),
    (["x", "--at", "x=1", "--json", "--format", "dot"], "--json conflicts"),
    (["x", "--at", "x=1", "--engine", "dot"], "--engine chooses who draws SVG"),
    (["x", "--at", "x=1", "--output", "/no/such/folder/g.svg"], "does not exist"),
])
def test_bad_input_is_one_error_line(args, message):
    assert message in one_error(run(*args))


def test_an_unwritable_output_is_refused_before_any_work(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    recorded = []
    monkeypatch.setattr("scalargrad_cli.graph.record", lambda *a: recorded.append(a))
    error = one_error(run("x", "--at", "x=1", "--output", str(tmp_path / "file" / "g.svg")))
    assert "is not a folder" in error and recorded == []


def test_only_the_built_in_layout_refuses_a_graph_too_large():
    expression = "+".join(f"x*{k}" for k in range(1, PICTURE_LIMIT // 2 + 2))
    for picture in ("svg", "html"):
        error = one_error(run(expression, "--at", "x=1", "--format", picture))
        assert "too large to draw" in error and "mul" in error and "any size" in error
    for text in ("tree", "dot", "json"):
        result = run(expression, "--at", "x=1", "--format", text)
        assert result.exit_code == 0, result.output
    assert run(expression, "--at", "x=1", "--format", "dot").output.count("_op [") == \
        PICTURE_LIMIT + 1  # 76 mul, 75 add


def test_engine_dot_without_graphviz(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    error = one_error(run("x*y", "--at", "x=1,y=2", "--format", "svg", "--engine", "dot"))
    assert "Graphviz's dot program is not installed" in error


def test_engine_dot_uses_graphviz_when_there(monkeypatch, tmp_path):
    program = tmp_path / "dot"
    program.write_text("#!/bin/sh\necho '<svg>drawn by dot</svg>'\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    result = run("x*y", "--at", "x=1,y=2", "--format", "svg", "--engine", "dot")
    assert result.exit_code == 0 and result.output == "<svg>drawn by dot</svg>\n"


def test_the_tree_in_colour_dims_only_the_branches():
    from scalargrad import Scalar, graph
    from scalargrad_cli.graph import _styled_row
    x = Scalar(2.0)
    rows = graph(x * 3, names={"x": x}).tree_rows()
    text = _styled_row(rows[1])
    assert text.plain == "├── x = 2   grad 3"
    dimmed = "".join(text.plain[s.start:s.end] for s in text.spans if "dim" in str(s.style))
    assert dimmed == "├── " and text.style == ""


def test_an_output_that_cannot_be_written_after_all_is_a_failure(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "graph.svg"
    result = CliRunner().invoke(cli, ["graph", "x*y", "--at", "x=1,y=2", "--output", str(target)])
    assert result.exit_code == 1 and result.output == (
        f"Error: cannot write {target}: No space left on device\n")
    assert list(tmp_path.iterdir()) == []
