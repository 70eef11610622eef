"""`scalargrad trace` through click's CliRunner."""
import math

from click.testing import CliRunner

from scalargrad.check.expression import parse, random_points
from scalargrad_cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, ["trace", *args])
    assert "Traceback" not in result.output
    return result


def test_one_line_a_node():
    result = run("sin(x)*y + exp(x*y)", "--at", "x=0.5,y=2")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "# sin(x) * y + exp(x * y) at x = 0.5, y = 2.0",
        "%0 = input x     # 0.5",
        "%1 = input y     # 2.0",
        f"%2 = sin %0      # {math.sin(0.5)!r}",
        f"%3 = mul %2 %1   # {math.sin(0.5) * 2!r}",
        "%4 = mul %0 %1   # 1.0",
        f"%5 = exp %4      # {math.exp(1.0)!r}",
        f"%6 = add %3 %5   # {math.sin(0.5) * 2 + math.exp(1.0)!r}",
        "return %6",
    ]


def test_constants_are_written_in_place():
    lines = run("2 - x/4", "--at", "x=1").output.splitlines()
    assert lines[2:4] == ["%1 = div %0 4.0   # 0.25", "%2 = sub 2.0 %1   # 1.75"]


def test_values_not_given_are_drawn_where_the_expression_is_defined():
    result = run("log(x - 1) * y", "--at", "y=3")
    assert result.exit_code == 0
    point = random_points(parse("log(x - 1) * y"), 1, seed=0, fixed={"y": 3.0})[0]
    assert result.output.splitlines()[0] == (f"# log(x - 1) * y at x = {point['x']!r}, y = 3.0"
                                             "  (x drawn at random: give --at to choose)")
    assert point["x"] > 1


def test_a_long_expression_lists_every_node():
    expression = "+".join(f"x*{k}" for k in range(1, 91))  # too large to draw
    lines = run(expression, "--at", "x=1").output.splitlines()
    assert len(lines) == 1 + 1 + 90 + 89 + 1
    assert lines[-1] == "return %179"


def test_bad_input():
    result = run("x +* 2")
    assert result.exit_code == 2 and result.output.startswith("Error: cannot parse")
    result = run("x", "--at", "x=abc")
    assert result.exit_code == 2 and result.output.startswith("Error: --at x:")
