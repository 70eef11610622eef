"""`scalargrad bench`: the engine's speed and memory, measured on this machine."""
from __future__ import annotations

import json
from typing import Any, Dict

import click
from rich.console import Console
from rich.table import Table

from scalargrad import benchmark

# The engine issue's targets, for the shared 2-core machine (ratios within one run).
TARGETS: Dict[str, Dict[str, float]] = {"poly": {"vs_micrograd": 6}, "chain": {"vs_micrograd": 15},
           "dense": {"vs_micrograd": 15, "vs_floats": 20, "backward_share": 1 / 3},
           "mlp": {"vs_micrograd": 15, "vs_floats": 20, "backward_share": 1 / 3}}
TARGET_BYTES = 150
COMPILED_VS_RECORDING, COMPILED_VS_FLOATS = 10, 3


def _measure(quick: bool, console: Console) -> Dict[str, Any]:
    with console.status("measuring...") as status:
        results: Dict[str, Any] = {
            "workloads": benchmark.workloads(quick, lambda name: status.update(f"measuring {name}...")),
        }
        status.update("measuring the cycle collector's share...")
        results["collector"] = benchmark.collector_share("chain", quick)
        status.update("measuring memory...")
        results["bytes_per_node"] = benchmark.bytes_per_node(20_000 if quick else 100_000)
        status.update("measuring a deep chain...")
        results["deep_chain"] = benchmark.deep_chain(100_000 if quick else 1_000_000)
        status.update("measuring forward against reverse mode...")
        results["mode_scaling"] = benchmark.mode_scaling((1, 4, 16) if quick else (1, 4, 16, 64, 256))
    return results


def _verdict(name: str, key: str, value: float) -> str:
    target = TARGETS[name].get(key)
    if target is None:
        return ""
    met = value <= target if key in ("vs_floats", "backward_share") else value >= target
    return "" if met else " ✗"


def _render(console: Console, results: Dict[str, Any]) -> None:
    table = Table(title="Op-by-op workloads, µs per unit (collector on; best of repeats)")
    for column in ("workload", "scalargrad", "of it backward", "micrograd", "floats",
                   "× faster than micrograd", "× slower than floats"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    units = {"poly": "poly (per call)", "chain": "chain (100k ops)", "dense": "49→10 softmax (per example)",
             "mlp": "49-32-10 MLP (per example)"}
    for name, row in results["workloads"].items():
        ours, micro, floats = row["scalargrad"], row["micrograd"], row["floats"]
        table.add_row(
            units.get(name, name), f"{ours['total_us']:,.1f}",
            f"{row['backward_share']:.0%}{_verdict(name, 'backward_share', row['backward_share'])}",
            f"{micro['total_us']:,.1f}" if micro else "not installed", f"{floats['total_us']:,.2f}",
            f"{row['vs_micrograd']:.1f}{_verdict(name, 'vs_micrograd', row['vs_micrograd'])}"
            if micro else "", f"{row['vs_floats']:.1f}{_verdict(name, 'vs_floats', row['vs_floats'])}")
    console.print(table)
    console.print("targets: ≥ 15× micrograd on chain, dense and MLP, ≥ 6× on poly; within 20× of "
                  "floats and backward ≤ 1/3 on dense and MLP; ✗ marks a target missed")
    compiled = Table(title="The same workloads compiled (scalargrad.compile), value and gradient, µs")
    for column in ("workload", "compiled", "× faster than recording", "× slower than floats"):
        compiled.add_column(column, justify="left" if column == "workload" else "right")
    for name, row in results["workloads"].items():
        if "compiled" in row:
            faster, slower = row["compiled_vs_recording"], row["compiled_vs_floats"]
            compiled.add_row(units.get(name, name), f"{row['compiled']['total_us']:,.1f}",
                             f"{faster:.1f}{'' if faster >= COMPILED_VS_RECORDING else ' ✗'}",
                             f"{slower:.1f}{'' if slower <= COMPILED_VS_FLOATS else ' ✗'}")
    console.print(compiled)
    console.print(f"targets: ≥ {COMPILED_VS_RECORDING}× faster than recording, within "
                  f"{COMPILED_VS_FLOATS}× of floats")
    collector = results["collector"]
    console.print(f"cycle collector on a 100k chain: {collector['on_us'] / 1e3:,.1f} ms on, "
                  f"{collector['paused_us'] / 1e3:,.1f} ms paused ({collector['share']:.0%} of the time)")
    console.print(f"memory: {results['bytes_per_node']:.0f} bytes per recorded node "
                  f"(target ≤ {TARGET_BYTES})")
    deep = results["deep_chain"]
    console.print(f"{deep['nodes']:,}-node chain: build {deep['build_s']:.2f} s, reverse "
                  f"{deep['reverse_s']:.2f} s, forward {deep['forward_s']:.2f} s")
    modes = Table(title="Forward vs reverse mode (ms for the full derivative)")
    for column in ("n", "f: R^n→R reverse", "f forward", "g: R→R^n reverse", "g forward"):
        modes.add_column(column, justify="right")
    for row in results["mode_scaling"]:
        modes.add_row(str(row["n"]), *(f"{row[k]:.3f}" for k in
                                       ("f_reverse_ms", "f_forward_ms", "g_reverse_ms", "g_forward_ms")))
    console.print(modes)


@click.command()
@click.option("--quick", is_flag=True, help="Smaller sizes: a rough picture in a few seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print only a JSON document.")
def bench(quick: bool, as_json: bool) -> None:
    """Measure the engine on op-by-op workloads beside micrograd (if installed) and plain
    floats, its memory per node, a deep chain, and forward against reverse mode."""
    results = _measure(quick, Console(stderr=True, quiet=as_json))
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        _render(Console(), results)
