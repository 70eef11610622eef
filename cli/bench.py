"""`scalargrad bench`: the engine's speed and memory, measured on this machine."""
from __future__ import annotations

import contextlib
import json
from typing import Any, Dict, List

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scalargrad.check import benchmark

def _steps(quick: bool) -> int:
    """How many measurements _measure makes (for its progress)."""
    compiled = sum(name in benchmark.COMPILED_WORKLOADS for name in benchmark.WORKLOADS)
    return len(benchmark.WORKLOADS) * len(benchmark.SYSTEMS) + compiled + 4


def _measure(quick: bool, console: Console) -> Dict[str, Any]:
    """The measurements, with progress on console (stderr): a bar with the time elapsed on a
    terminal, else a line per measurement."""
    bar = Progress(TextColumn("bench: {task.description}"), BarColumn(bar_width=20),
                   MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)
    task = bar.add_task("starting", total=_steps(quick))
    done = [0]

    def measuring(what: str) -> None:
        if done[0]:
            bar.advance(task)
        done[0] += 1
        bar.update(task, description=f"measuring {what}")
        if not console.is_terminal and not console.quiet:
            click.echo(f"bench: measuring {what} ({done[0]} of {_steps(quick)})", err=True)

    with bar if console.is_terminal else contextlib.nullcontext():
        results: Dict[str, Any] = {"quick": quick,
                                   "workloads": benchmark.workloads(quick, measuring)}
        measuring("the cycle collector's share")
        results["collector"] = benchmark.collector_share("chain", quick)
        measuring("memory per node")
        results["bytes_per_node"] = benchmark.bytes_per_node(20_000 if quick else 100_000)
        measuring("a deep chain")
        results["deep_chain"] = benchmark.deep_chain(100_000 if quick else 1_000_000)
        measuring("forward against reverse mode")
        results["mode_scaling"] = benchmark.mode_scaling((1, 4, 16) if quick else (1, 4, 16, 64, 256))
    return results


def _us(value: float) -> str:
    """µs to about three figures: the machine's noise is larger than the rest."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _render(console: Console, results: Dict[str, Any]) -> None:
    workloads = results["workloads"]
    # Workloads as columns, systems and ratios as rows: nine figures per workload fit 80 columns.
    table = Table(title="Op-by-op workloads, µs per unit (collector on; best of repeats)")
    table.add_column("", no_wrap=True)
    chain = "10k" if results.get("quick") else "100k"
    units = {"poly": "poly (per call)", "chain": f"chain ({chain} ops)",
             "dense": "49→10 softmax (per example)", "mlp": "49-32-10 MLP (per example)"}
    for name in workloads:
        table.add_column(units.get(name, name), justify="right")
    rows = workloads.values()
    micrograd = all(row["micrograd"] is not None for row in rows)

    def ratio(key: str) -> List[str]:
        return [f"{row[key]:.1f}" for row in rows]

    table.add_row("scalargrad", *(_us(row["scalargrad"]["total_us"]) for row in rows))
    table.add_row("  of it backward", *(f"{row['backward_share']:.0%}" for row in rows))
    table.add_row("micrograd", *(_us(row["micrograd"]["total_us"]) if row["micrograd"] else "not installed"
                                 for row in rows))
    table.add_row("floor* (build only)", *(_us(row["floor"]["build_us"]) for row in rows))
    table.add_row("floats", *(_us(row["floats"]["total_us"]) for row in rows), end_section=True)
    if micrograd:
        table.add_row("× faster than micrograd", *ratio("vs_micrograd"))
        table.add_row("floor* × micrograd", *ratio("floor_vs_micrograd"))
    table.add_row("× slower than floats", *ratio("vs_floats"))
    console.print(table)
    console.print("* floor: one slotted object per operation holding its value, parents and partials, "
                  "made as cheaply as we could and never differentiated. Its build bounds from below "
                  "the build of any engine that records one object per operation, so micrograd's total "
                  "over it is the most × micrograd such an engine could show in this run, even with a "
                  "free backward.")
    compiled = Table(title="The same workloads compiled (scalargrad.compile), value and gradient, µs")
    for column in ("workload", "compiled", "× faster than recording", "× slower than floats"):
        compiled.add_column(column, justify="left" if column == "workload" else "right")
    for name, row in results["workloads"].items():
        if "compiled" in row:
            faster, slower = row["compiled_vs_recording"], row["compiled_vs_floats"]
            compiled.add_row(units.get(name, name), f"{row['compiled']['total_us']:,.1f}",
                             f"{faster:.1f}", f"{slower:.1f}")
    console.print(compiled)
    collector = results["collector"]
    console.print(f"cycle collector on a {chain} chain: {collector['on_us'] / 1e3:,.1f} ms on, "
                  f"{collector['paused_us'] / 1e3:,.1f} ms paused ({collector['share']:.0%} of the time)")
    console.print(f"memory: {results['bytes_per_node']:.0f} bytes per recorded node")
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
