"""scalargrad bench: the measurements exist and are sane (speed targets live in its output)."""
import json

from click.testing import CliRunner

from scalargrad import benchmark
from scalargrad_cli.main import cli


def test_graph_costs_are_positive_and_memory_is_per_node():
    for kind in ("chain", "wide"):
        costs = benchmark.graph_costs(kind, 2_000, repeats=1)
        assert costs["build_ns"] > 0 and costs["backward_ns"] > 0
    assert 40 < benchmark.bytes_per_node(5_000) < 1_000


def test_an_engine_that_is_not_installed_gives_none(monkeypatch):
    monkeypatch.setitem(benchmark.ENGINES, "micrograd", lambda: None)
    assert benchmark.graph_costs("chain", 100, engine="micrograd") is None
    assert benchmark.bytes_per_node(100, engine="micrograd") is None


def test_mode_scaling_measures_both_modes_for_each_size():
    # the timings themselves are the benchmark's output, not something to assert on
    rows = benchmark.mode_scaling((1, 8), trunk=5)
    assert [row["n"] for row in rows] == [1, 8]
    for row in rows:
        assert all(row[key] > 0 for key in ("f_reverse_ms", "f_forward_ms", "g_reverse_ms", "g_forward_ms"))


def test_bench_command_json():
    result = CliRunner().invoke(cli, ["bench", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"graphs", "bytes_per_node", "softmax_regression_us_per_example", "deep_chain",
            "mode_scaling"} <= set(document)
    assert document["graphs"]["chain"]["build_ns"] > 0
    assert document["deep_chain"]["nodes"] == 100_000


def test_bench_command_table():
    result = CliRunner().invoke(cli, ["bench", "--quick"])
    assert result.exit_code == 0 and "ns per node" in result.output and "µs per example" in result.output
