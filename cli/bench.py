"""`scalargrad bench`: the engine's speed and memory, measured on this machine."""
from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from scalargrad import benchmark

# Targets from the engine issue, for the shared 2-core machine.
TARGET_BUILD_NS, TARGET_BACKWARD_NS, TARGET_BYTES = 250, 150, 200
MICROGRAD_CHAIN = 900  # micrograd's recursive backward fails past ~1000 nodes deep


def _measure(nodes: int, quick: bool, progress) -> dict:
    results: dict = {"graphs": {}}
    steps = [
        ("chain", lambda: benchmark.graph_costs("chain", nodes)),
        ("wide", lambda: benchmark.graph_costs("wide", nodes)),
        ("chain, collector paused", lambda: benchmark.graph_costs("chain", nodes, pause_collector=True)),
        ("wide, collector paused", lambda: benchmark.graph_costs("wide", nodes, pause_collector=True)),
        (f"chain of {MICROGRAD_CHAIN}", lambda: benchmark.graph_costs("chain", MICROGRAD_CHAIN, repeats=20)),
        (f"micrograd chain of {MICROGRAD_CHAIN}",
         lambda: benchmark.graph_costs("chain", MICROGRAD_CHAIN, engine="micrograd", repeats=20)),
        ("micrograd wide", lambda: benchmark.graph_costs("wide", nodes, engine="micrograd")),
    ]
    for name, run in progress(steps, "graphs"):
        measured = run()
        if measured is not None:
            results["graphs"][name] = measured
    results["bytes_per_node"] = benchmark.bytes_per_node(min(nodes, 100_000))
    micro_bytes = benchmark.bytes_per_node(min(nodes, 100_000), engine="micrograd")
    if micro_bytes is not None:
        results["micrograd_bytes_per_node"] = micro_bytes
    results["softmax_regression_us_per_example"] = benchmark.softmax_regression_example(
        repeats=50 if quick else 300)
    results["deep_chain"] = benchmark.deep_chain(100_000 if quick else 1_000_000)
    results["mode_scaling"] = benchmark.mode_scaling((1, 4, 16) if quick else (1, 4, 16, 64, 256))
    return results


def _render(console: Console, results: dict) -> None:
    graphs = Table(title="Recording and reverse sweep (ns per node; best of repeats)")
    for column in ("graph", "build", "backward"):
        graphs.add_column(column, justify="right" if column != "graph" else "left")
    for name, row in results["graphs"].items():
        graphs.add_row(name, f"{row['build_ns']:.0f}", f"{row['backward_ns']:.0f}")
    console.print(graphs)
    console.print(f"targets: build <= {TARGET_BUILD_NS} ns, backward <= {TARGET_BACKWARD_NS} ns, "
                  f"<= {TARGET_BYTES} bytes per node")
    line = f"memory: {results['bytes_per_node']:.0f} bytes per recorded node"
    if "micrograd_bytes_per_node" in results:
        line += f" (micrograd: {results['micrograd_bytes_per_node']:.0f})"
    console.print(line)
    deep = results["deep_chain"]
    console.print(f"{deep['nodes']:,}-node chain: build {deep['build_s']:.2f} s, reverse "
                  f"{deep['reverse_s']:.2f} s, forward {deep['forward_s']:.2f} s")
    console.print("softmax regression (49 inputs, 490 weights, cross-entropy), forward + backward: "
                  f"{results['softmax_regression_us_per_example']:.0f} µs per example")
    modes = Table(title="Forward vs reverse mode (ms for the full derivative)")
    for column in ("n", "f: R^n→R reverse", "f forward", "g: R→R^n reverse", "g forward"):
        modes.add_column(column, justify="right")
    for row in results["mode_scaling"]:
        modes.add_row(str(row["n"]), *(f"{row[k]:.3f}" for k in
                                       ("f_reverse_ms", "f_forward_ms", "g_reverse_ms", "g_forward_ms")))
    console.print(modes)


@click.command()
@click.option("--nodes", type=click.IntRange(1_000, 10_000_000), default=200_000, show_default=True,
              help="Size of the chain and wide graphs.")
@click.option("--quick", is_flag=True, help="Smaller sizes: a rough picture in a few seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON document.")
def bench(nodes: int, quick: bool, as_json: bool) -> None:
    """Measure build and sweep costs, memory, and forward vs reverse scaling."""
    console = Console(stderr=True, quiet=as_json)
    if quick:
        nodes = min(nodes, 20_000)

    def progress(steps, label):
        with console.status(f"measuring {label}...") as status:
            for name, run in steps:
                status.update(f"measuring {name}...")
                yield name, run

    results = _measure(nodes, quick, progress)
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        _render(Console(), results)
