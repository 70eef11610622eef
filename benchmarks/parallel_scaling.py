"""Data-parallel train-mnist, measured: examples per second at --workers 1, 2, 4, ... up to
the cores here, and a scaling model fitted to this machine's per-step costs.

1. Runs the real command (`scalargrad train-mnist --workers N ... --json`) ``--repeats``
   times per worker count, in turns, and prints the examples per second of the training
   steps (median, min and max) and the speedup over one process.
2. Trains in this process and its workers (random data of the same shape, no display)
   and reads each process's CPU seconds: one process's CPU time over that of the busiest
   process with N workers is the speedup a machine with a free core per process would
   show, whatever else runs here (``--cpu``; the wall clock is printed beside it).
3. Measures the costs the model adds up (see ``predicted_step``) with the library's own
   pieces and prints the model's prediction for 1 to 32 workers, so that a bigger machine
   can check the prediction against the command.

    python benchmarks/parallel_scaling.py [--size 7 --hidden 32 --limit 6400] [--repeats 3]
        [--data-dir ../shared/mnist] [--workers 1,2] [--model-only] [--cpu] [--no-compile]

Every part runs the engine train-mnist runs: compiled code, or with ``--no-compile`` the
recording engine; the model and the CPU comparison train on the first real MNIST images
(zeros matter: compiled code skips them).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import time
from array import array
from pathlib import Path
from typing import Callable, Dict, List

from scalargrad.optim import make_optimizer
from scalargrad.train.parallel import SharedMemoryTraining, cores
from scalargrad.train.slices import OptimizerSlice
from scalargrad.train.gradient import factory
from scalargrad.train.loop import train_epoch
from scalargrad.train.mnist import load_mnist
from scalargrad.train.model import Classifier
from scalargrad.train.step import step_with

ROOT = Path(__file__).resolve().parents[1]
PREDICTED = (1, 2, 4, 8, 16, 32)  # the worker counts the model predicts (and measures shards for)


def worker_counts(most: int) -> List[int]:
    counts, n = [], 1
    while n < most:
        counts.append(n)
        n *= 2
    return counts + [most]


def command_speed(args: argparse.Namespace, workers: int) -> float:
    """Examples per second of the training steps of one run of the real command."""
    completed = subprocess.run(
        [sys.executable, "-m", "scalargrad_cli", "train-mnist", "--json", "--data-dir",
         args.data_dir, "--size", str(args.size), "--hidden", str(args.hidden), "--limit",
         str(args.limit), "--batch-size", str(args.batch_size), "--workers", str(workers),
         *(["--no-compile"] if args.no_compile else [])],
        capture_output=True, text=True, check=True)
    return json.loads(completed.stdout)["examples_per_second"]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_critical_path(rows: List[List[float]], labels: List[int], hidden: int,
                      batch_size: int, workers: int, make_gradient: Callable) -> Dict[str, float]:
    """Wall seconds, and the CPU seconds of the busiest process, to train on these
    examples with ``workers`` processes."""
    model = Classifier(len(rows[0]), 10, hidden, seed=0)
    optimizer = make_optimizer("adam", model.parameters(), 0.001)
    start_cpu, start = time.process_time(), time.perf_counter()
    if workers == 1:
        step = step_with(make_gradient(model, "reverse"), optimizer, rows, labels)
        train_epoch(model, optimizer, rows, labels, batch_size, random.Random(0), step=step)
        return {"wall": time.perf_counter() - start, "cpu": time.process_time() - start_cpu}
    with SharedMemoryTraining(model, optimizer, rows, labels, workers,
                              make_gradient=make_gradient) as training:
        start_cpu, start = time.process_time(), time.perf_counter()
        before = [_cpu_seconds(process.pid) for process in training.processes]
        train_epoch(model, optimizer, rows, labels, batch_size, random.Random(0),
                    step=training.step)
        wall, own = time.perf_counter() - start, time.process_time() - start_cpu
        theirs = [_cpu_seconds(process.pid) - cpu
                  for process, cpu in zip(training.processes, before)]
    return {"wall": wall, "cpu": max([own, *theirs])}


def best_seconds(work: Callable[[], object], repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _echo(connection) -> None:
    while connection.recv() is not None:
        connection.send(("done", 0.0, 0))


def measured_costs(rows: List[List[float]], labels: List[int], hidden: int, batch_size: int,
                   make_gradient: Callable) -> Dict[str, float]:
    """Seconds for each cost of the model, on a batch of these examples."""
    rows, labels = rows[:batch_size], labels[:batch_size]
    model = Classifier(len(rows[0]), 10, hidden, seed=0)
    parameters = model.parameters()
    count = len(parameters)
    optimizer = make_optimizer("adam", parameters, 0.001)
    gradient = make_gradient(model, "reverse")
    values = array("d", [p.value for p in parameters])
    result = gradient(rows, labels)
    table = [memoryview(array("d", result.gradient)) for _ in range(2)]
    whole = OptimizerSlice(parameters, 0, count, type(optimizer), optimizer.state_dict())
    plain = step_with(gradient, optimizer, rows, labels)
    indices = list(range(batch_size))
    one_row = OptimizerSlice(parameters, 0, count, type(optimizer), optimizer.state_dict())
    costs = {
        "parameters": count,
        "one_process_step": best_seconds(lambda: plain(indices)),
        # a shard of k examples (compiled code has a cost per shard besides its examples')
        **{f"shard {k}": best_seconds(lambda k=k: gradient(rows[:k], labels[:k]))
           for k in sorted({-(-batch_size // n) for n in PREDICTED})},
        "load": best_seconds(lambda: gradient.load(values.tolist())) / count,
        "write": best_seconds(lambda: array("d", result.gradient)) / count,
        # an update of every parameter with 2 gradient rows, less one with 1: one addition
        "add": (best_seconds(lambda: whole.update(table, memoryview(values), batch_size))
                - best_seconds(lambda: one_row.update(table[:1], memoryview(values),
                                                      batch_size))) / count,
        "update": best_seconds(lambda: one_row.update(table[:1], memoryview(values),
                                                      batch_size)) / count,
    }
    costs["add"] = max(costs["add"], 0.0)
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    echo = context.Process(target=_echo, args=(theirs,), daemon=True)
    echo.start()

    def round_trips() -> None:
        for _ in range(200):
            ours.send(("gradient", indices))
            ours.recv()
    costs["message"] = best_seconds(round_trips) / 200
    ours.send(None)
    echo.join()
    return costs


def predicted_step(costs: Dict[str, float], workers: int, batch_size: int) -> float:
    """Seconds per step with ``workers`` processes (see the README's scaling model):

    2 (N-1) message  + 2 P load          (each worker loads before its shard; this
                                          process again after the update)
    + shard(ceil(B/N)) + P write         (the shard, and its gradient into shared memory)
    + P (N-1)/N add + (P/N) update       (the slice: sum over N rows, step, share)
    """
    count, n = costs["parameters"], workers
    if n == 1:
        return costs["one_process_step"]
    return (2 * (n - 1) * costs["message"] + 2 * count * costs["load"]
            + costs[f"shard {-(-batch_size // n)}"] + count * costs["write"]
            + count * (n - 1) / n * costs["add"] + count / n * costs["update"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--size", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--limit", type=int, default=6400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", help="comma-separated counts [default: 1, 2, 4, ... cores]")
    parser.add_argument("--model-only", action="store_true", help="skip the command runs")
    parser.add_argument("--cpu", action="store_true",
                        help="also compare CPU seconds of the busiest process")
    parser.add_argument("--no-compile", action="store_true",
                        help="the recording engine, as train-mnist --no-compile")
    args = parser.parse_args()
    make_gradient = factory("recording" if args.no_compile else "compiled")
    (train_rows, train_labels), _ = load_mnist(args.data_dir, size=args.size, download=False)
    rows, labels = train_rows[:args.limit].tolist(), train_labels[:args.limit].tolist()
    counts = ([int(n) for n in args.workers.split(",")] if args.workers
              else worker_counts(cores()))
    print(f"# {cores()} cores; load average {os.getloadavg()}", flush=True)
    if not args.model_only:
        speeds: Dict[int, List[float]] = {n: [] for n in counts}
        for _ in range(args.repeats):
            for n in counts:  # in turns, so that a change of load hits every count alike
                speeds[n].append(command_speed(args, n))
        base = statistics.median(speeds[counts[0]])
        for n in counts:
            print(json.dumps({"workers": n, "examples_per_second": round(statistics.median(
                speeds[n])), "min": round(min(speeds[n])), "max": round(max(speeds[n])),
                "speedup": round(statistics.median(speeds[n]) / base, 2),
                "all": [round(s) for s in speeds[n]]}), flush=True)
        print(f"# load average after: {os.getloadavg()}", flush=True)
    if args.cpu:
        for _ in range(args.repeats):
            runs = {n: cpu_critical_path(rows, labels, args.hidden, args.batch_size, n,
                                         make_gradient) for n in counts}
            base = runs[counts[0]]
            for n, measured in runs.items():
                print(json.dumps({"workers": n, "wall_seconds": round(measured["wall"], 3),
                                  "busiest_cpu_seconds": round(measured["cpu"], 3),
                                  "wall_speedup": round(base["wall"] / measured["wall"], 2),
                                  "cpu_speedup": round(base["cpu"] / measured["cpu"], 2),
                                  "load": round(os.getloadavg()[0], 2)}), flush=True)
    costs = measured_costs(rows, labels, args.hidden, args.batch_size, make_gradient)
    print(json.dumps({"costs_us": {key: round(value * 1e6, 4) if key != "parameters" else value
                                   for key, value in costs.items()}}), flush=True)
    single = predicted_step(costs, 1, args.batch_size)
    for n in PREDICTED:
        step = predicted_step(costs, n, args.batch_size)
        print(json.dumps({"workers": n, "predicted_ms_per_step": round(step * 1e3, 3),
                          "predicted_speedup": round(single / step, 2)}), flush=True)


if __name__ == "__main__":
    main()
