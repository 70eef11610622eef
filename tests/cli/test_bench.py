"""scalargrad bench: the measurements exist and are sane (speed targets live in its output)."""
import io
import json
import math

import pytest
from click.testing import CliRunner
from rich.console import Console

from scalargrad.check import benchmark
from scalargrad_cli import bench
from scalargrad_cli.main import cli


@pytest.mark.parametrize("name", benchmark.WORKLOADS)
def test_each_workload_computes_the_same_value_in_every_number_system(name):
    """The systems run the same code: same values, so the timings compare like with like."""
    systems = [benchmark.SYSTEMS[n]() for n in ("scalargrad", "floor", "floats")]
    data = benchmark._data(examples=2)
    values = []
    for system in systems:
        make = system.make
        if name == "poly":
            values.append(benchmark._value(benchmark.poly(system, make(3.0))))
        elif name == "chain":
            values.append(benchmark._value(benchmark.chain(system, make(0.5), 40)))
        elif name == "dense":
            w = [[make(v) for v in row] for row in data["dense"][0]]
            b = [make(v) for v in data["dense"][1]]
            values.append(benchmark._value(benchmark.softmax_regression(system, w, b, *data["examples"][0])))
        else:
            layers = [([[make(v) for v in row] for row in w], [make(v) for v in b]) for w, b in data["mlp"]]
            values.append(benchmark._value(benchmark.mlp(system, layers, *data["examples"][0])))
    assert values[:-1] == pytest.approx([values[-1]] * (len(values) - 1), rel=1e-12)


X, Y = 0.7, -1.3
_FLOOR = benchmark.floor_system()


# (operation on nodes x and y, its value and [(parent, partial)] by hand from floats a and b)
@pytest.mark.parametrize("operation, expected", [
    (lambda x, y: x + y, lambda a, b: (a + b, [("x", 1.0), ("y", 1.0)])),
    (lambda x, y: x + 2.5, lambda a, b: (a + 2.5, [("x", 1.0)])),
    (lambda x, y: 2 + x, lambda a, b: (2 + a, [("x", 1.0)])),
    (lambda x, y: x - y, lambda a, b: (a - b, [("x", 1.0), ("y", -1.0)])),
    (lambda x, y: x - 2.5, lambda a, b: (a - 2.5, [("x", 1.0)])),
    (lambda x, y: 2.5 - x, lambda a, b: (2.5 - a, [("x", -1.0)])),
    (lambda x, y: x * y, lambda a, b: (a * b, [("x", b), ("y", a)])),
    (lambda x, y: x * x, lambda a, b: (a * a, [("x", a), ("x", a)])),
    (lambda x, y: x * 2.5, lambda a, b: (a * 2.5, [("x", 2.5)])),
    (lambda x, y: 3 * x, lambda a, b: (3 * a, [("x", 3.0)])),
    (lambda x, y: x / y, lambda a, b: (a / b, [("x", 1 / b), ("y", -a / b ** 2)])),
    (lambda x, y: x / 2.5, lambda a, b: (a / 2.5, [("x", 1 / 2.5)])),
    (lambda x, y: 2.5 / x, lambda a, b: (2.5 / a, [("x", -2.5 / a ** 2)])),
    (lambda x, y: x ** 3, lambda a, b: (a ** 3, [("x", 3 * a ** 2)])),
    (lambda x, y: x ** 0.5, lambda a, b: (a ** 0.5, [("x", 0.5 / a ** 0.5)])),
    (lambda x, y: 2.5 ** x, lambda a, b: (2.5 ** a, [("x", 2.5 ** a * math.log(2.5))])),
    (lambda x, y: -x, lambda a, b: (-a, [("x", -1.0)])),
    (lambda x, y: _FLOOR.exp(x), lambda a, b: (math.exp(a), [("x", math.exp(a))])),
    (lambda x, y: _FLOOR.log(x), lambda a, b: (math.log(a), [("x", 1 / a)])),
    (lambda x, y: _FLOOR.tanh(x), lambda a, b: (math.tanh(a), [("x", 1 - math.tanh(a) ** 2)])),
    (lambda x, y: _FLOOR.sin(x), lambda a, b: (math.sin(a), [("x", math.cos(a))])),
], ids=["x+y", "x+2.5", "2+x", "x-y", "x-2.5", "2.5-x", "x*y", "x*x", "x*2.5", "3*x", "x/y", "x/2.5",
        "2.5/x", "x**3", "x**0.5", "2.5**x", "-x", "exp", "log", "tanh", "sin"])
def test_the_floor_records_each_operations_value_parents_and_partials(operation, expected):
    """The floor keeps what a backward would need, right: else it would time too little work."""
    x, y = _FLOOR.make(X), _FLOOR.make(Y)
    node = operation(x, y)
    value, edges = expected(X, Y)
    recorded = [(getattr(node, parent), getattr(node, partial))
                for parent, partial in (("a", "da"), ("b", "db")) if hasattr(node, parent)]
    names = {id(x): "x", id(y): "y"}
    assert node.__class__ is benchmark.FloorNode and node.value == pytest.approx(value, rel=1e-12)
    assert [names[id(parent)] for parent, _ in recorded] == [parent for parent, _ in edges]
    assert [partial for _, partial in recorded] == pytest.approx([partial for _, partial in edges], rel=1e-12)
    assert _FLOOR.backward is None


def test_a_system_that_is_not_installed_gives_none(monkeypatch):
    monkeypatch.setitem(benchmark.SYSTEMS, "micrograd", lambda: None)
    assert benchmark.workload("poly", "micrograd", quick=True) is None


def test_memory_is_per_node_and_mode_scaling_measures_both_modes():
    assert 40 < benchmark.bytes_per_node(5_000) < 1_000
    rows = benchmark.mode_scaling((1, 8), trunk=5)
    assert [row["n"] for row in rows] == [1, 8]
    for row in rows:
        assert all(row[key] > 0 for key in ("f_reverse_ms", "f_forward_ms", "g_reverse_ms", "g_forward_ms"))


def test_bench_command_json_and_table(monkeypatch):
    monkeypatch.setattr(benchmark, "WORKLOADS", ("poly", "dense"))
    result = CliRunner().invoke(cli, ["bench", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document["workloads"]) == {"poly", "dense"}
    dense = document["workloads"]["dense"]
    assert dense["scalargrad"]["total_us"] > dense["floats"]["total_us"] > 0
    assert 0 < dense["backward_share"] < 1 and document["deep_chain"]["nodes"] == 100_000
    assert dense["floor"]["build_us"] > 0
    if dense["micrograd"] is not None:  # the best ×micrograd one object per operation allows
        assert dense["floor_vs_micrograd"] == pytest.approx(
            dense["micrograd"]["total_us"] / dense["floor"]["build_us"])
    else:
        assert "floor_vs_micrograd" not in dense
    table = CliRunner().invoke(cli, ["bench", "--quick"])
    assert (table.exit_code == 0 and "µs per unit" in table.output
            and "bytes per recorded node" in table.output and "floor* (build only)" in table.output
            and "on a 10k chain" in table.output)  # --quick's size, not the full run's
    for row in document["workloads"].values():  # and without micrograd: no ratios to it
        row["micrograd"] = None
        row.pop("vs_micrograd", None)
        row.pop("floor_vs_micrograd", None)
    output = io.StringIO()
    bench._render(Console(file=output, width=80), document)
    assert "not installed" in output.getvalue() and "floor* × micrograd" not in output.getvalue()


@pytest.mark.parametrize("name", ["dense", "mlp"])
def test_the_compiled_workloads_compute_the_recorded_workloads_values(name):
    """The flat-list versions compiled are the same computations as the workloads."""
    data = benchmark._data(examples=1)
    pixels, label = data["examples"][0]
    target = [1.0 if k == label else 0.0 for k in range(benchmark.CLASSES)]
    system = benchmark.float_system()
    if name == "dense":
        weights, biases = data["dense"]
        params = [w for row in weights for w in row] + list(biases)
        expected = benchmark.softmax_regression(system, weights, biases, pixels, label)
        flat = benchmark._flat_softmax_regression
    else:
        (w1, b1), (w2, b2) = data["mlp"]
        params = [w for row in w1 for w in row] + [w for row in w2 for w in row] + list(b1) + list(b2)
        expected = benchmark.mlp(system, data["mlp"], pixels, label)
        flat = benchmark._flat_mlp
    import scalargrad as sg
    compiled = sg.compile(flat, argnums=[0])
    assert compiled(params, pixels, target) == pytest.approx(expected, rel=1e-12)
    assert benchmark.compiled_workload(name, repeats=1, quick=True)["total_us"] > 0


def test_bench_shows_its_progress_and_no_internal_targets(monkeypatch):
    monkeypatch.setattr(benchmark, "WORKLOADS", ("poly",))
    result = CliRunner().invoke(cli, ["bench", "--quick"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    count = len(benchmark.SYSTEMS) + 1 + 4  # poly on each system, compiled, then four more
    assert lines == [line for line in lines if line.startswith("bench: measuring ")]
    assert [line.rsplit("(", 1)[1] for line in lines] == [f"{k} of {count})"
                                                          for k in range(1, count + 1)]
    assert "poly on scalargrad" in lines[0] and "forward against reverse" in lines[-1]
    assert "target" not in result.stdout and "✗" not in result.stdout
