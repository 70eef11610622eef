"""`scalargrad explain` through click's CliRunner."""
import json
import math

import pytest
from click.testing import CliRunner

from scalargrad.view.numbers import short
from scalargrad_cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, ["explain", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def document(*args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_reverse_json_steps_by_hand():
    # f = x*y + sin(x) at (2, 3): %2 = mul x y, %3 = sin x, %4 = add %2 %3
    doc = document("x*y + sin(x)", "--at", "x=2,y=3")
    assert doc["mode"] == "reverse" and doc["output"] == 4
    steps = doc["steps"]
    assert [(s["label"], s["adjoint"]) for s in steps] == [
        ("%4", 1.0), ("%3", 1.0), ("%2", 1.0), ("x", 3 + math.cos(2)), ("y", 2.0)]
    assert [(c["to"], c["partial"], c["added"], c["before"], c["after"])
            for c in steps[2]["contributions"]] == [(0, 3.0, 3.0, math.cos(2), 3 + math.cos(2)),
                                                     (1, 2.0, 2.0, 0.0, 2.0)]
    assert doc["gradient"] == {"x": 3 + math.cos(2), "y": 2.0}


def test_reverse_table():
    result = run("x*y + sin(x)", "--at", "x=2,y=3")
    assert result.exit_code == 0
    text = result.output
    assert text.startswith("reverse sweep of x * y + sin(x) at x = 2.0, y = 3.0")
    rows = [line.split() for line in text.splitlines()]
    assert ["1", "%4", "=", "add", "%2", "%3", short(6 + math.sin(2)), "1", "%2", "1", "1",
            "0", "→", "1"] in rows
    assert ["y", "2", "2", "0", "→", "2"] in rows
    # x receives twice: sin's share first, then mul's on top of it
    assert ["x", "3", "3", short(math.cos(2)), "→", short(3 + math.cos(2))] == rows[
        [r[:3] for r in rows].index(["3", "%2", "="])][-6:]
    assert ["4", "x", "(input)", "2", short(3 + math.cos(2)), "done"] in rows
    assert text.rstrip().endswith(f"gradient: d%4/dx = {short(3 + math.cos(2))}, d%4/dy = 2")


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("args", [
    ["exp(x*y)/(x + y*1e-7) + sin(x)*x - relu(x - 5)", "--at", "x=2.123456,y=-3e-5"],
    ["exp(x*y)/(x + y*1e-7) + sin(x)*x", "--at", "x=2.123456,y=-3e-5", "--mode", "forward",
     "--wrt", "y"]])
def test_the_tables_fit_the_width_without_splitting_a_formula(width, args):
    result = CliRunner().invoke(cli, ["explain", *args], env={"COLUMNS": str(width)})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert all(len(line) <= width and line == line.rstrip() for line in lines)
    # every node's formula is on one line, and so is each growing adjoint or term
    for formula in ("%3 = exp %2", "%4 = mul y 1e-07", "%6 = div %3 %5", "%8 = mul %7 x"):
        assert any(formula in line for line in lines), formula
    header = next(line for line in lines if line.lstrip().startswith("step"))
    assert len(header.split()) >= 8  # the headers on one line
    if "forward" not in args:
        assert any(line.endswith("0.8511 → -0.2636") for line in lines)


def test_skipped_nodes_say_so():
    text = run("relu(x - 5)*x", "--at", "x=2").output
    rows = [line.split() for line in text.splitlines()]
    assert ["3", "%1", "=", "sub", "x", "5", "-3", "0", "none", "adjoint", "0"] in rows


def test_forward_mode():
    doc = document("x*y + sin(x)", "--at", "x=2,y=3", "--mode", "forward", "--wrt", "x")
    assert doc["wrt"] == "x"
    assert [s["tangent"] for s in doc["steps"]] == [1.0, 0.0, 3.0, math.cos(2), 3 + math.cos(2)]
    assert [(t["from"], t["product"]) for t in doc["steps"][4]["terms"]] == [(2, 3.0),
                                                                             (3, math.cos(2))]
    assert doc["derivative"] == 3 + math.cos(2)
    table = run("x*y + sin(x)", "--at", "x=2,y=3", "--mode", "forward", "--wrt", "y").output
    assert "seeded at y" in table and table.rstrip().endswith("derivative: d%4/dy = 2")
    one_variable = document("sin(x)", "--at", "x=0", "--mode", "forward")
    assert one_variable["wrt"] == "x" and one_variable["derivative"] == 1.0


@pytest.mark.parametrize("args, message", [
    (["x*y", "--at", "x=1,y=2", "--mode", "forward"], "give --wrt with one of x, y"),
    (["x*y", "--at", "x=1,y=2", "--mode", "forward", "--wrt", "z"], "--wrt z: not a variable"),
    (["x*y", "--at", "x=1,y=2", "--wrt", "x"], "add --mode forward"),
    (["x*y", "--at", "x=1"], "no value for y"),
    (["sqrt(x)", "--at", "x=-4"], "outside the domain of sqrt"),
    (["x", "--at", "x=1", "--mode", "sideways"], "'sideways' is not one of"),
])
def test_bad_input(args, message):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0]
