"""Data-parallel train-mnist, measured: examples per second at --workers 1, 2, 4, ... up to
the cores here, and a scaling model fitted to this machine's per-step costs.

1. Runs the real command (`scalargrad train-mnist --workers N ... --json`) ``--repeats``
   times per worker count, in turns, and prints the examples per second of the training
   steps (median, min and max) and the speedup over one process.
2. Trains in this process and its workers (random data of the same shape, no display)
   and reads each process's CPU seconds: one process's CPU time over that of the busiest
   process with N workers is the speedup a machine with a free core per process would
   show, whatever else runs here (``--cpu``; the wall clock is printed beside it).
3. Measures the costs the model adds up with the library's own pieces (the path
   ``--workers`` runs: parallel.SharedMemoryTraining's step), each the least CPU time of
   this process over 5 tries (a message's round trip: the median wall time of 1,000), and
   prints the model's prediction for 1 to 32 workers, for strong scaling (the same batch
   shared by more workers: ``--batch-size``, and ``--large-batch``) and weak scaling
   (``--batch-size`` examples per worker, the global batch growing with N, as data-parallel
   training is usually run), then the three at 16 workers with each term of the step in
   ms, so that a bigger machine can check the prediction against the command.

The model. With P parameters, a global batch of B examples and N workers, a step takes

    T(N, B) = 2 (N-1) m + 2 P l + s(ceil(B/N)) + P w + P (N-1)/N a + (P/N) u

m: a command and its answer through a pipe (sent to each other worker in turn, twice a
step: gradient, update); l: loading one value into a Scalar (each worker before its shard,
the coordinator again after the update); s(k): a shard of k examples, measured for each k
(a shard has a cost whatever its size); w: writing one gradient entry into shared memory;
a: adding one other worker's entry (the reduction, split by slices); u: the optimizer's
update of one parameter with sharing its new value and state (split by slices). T(1, B)
is one process's whole step, measured as a whole. The predictions:

    strong scaling at batch B:         S(N) = T(1, B) / T(N, B)
    weak scaling at b per worker:      W(N) = N T(1, b) / T(N, N b)

W is examples per second over one process's at batch b: it can pass N, since the
optimizer's P u is paid once per N b examples there (one step of a batch N times larger,
which is not the same training as N steps of b); N s(b) / T(N, N b), printed beside it,
leaves that gain out. The model leaves out the scheduler, processes sharing caches and
memory bandwidth, and cores busy with other work.
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
from functools import partial
from pathlib import Path
from typing import Callable, Dict, List, Sequence

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


def best_seconds(work: Callable[[], object], repeats: int = 5,
                 clock: Callable[[], float] = time.process_time) -> float:
    """The least time work() took in ``repeats`` calls: by default this process's CPU
    seconds, which leave out the time other processes on the machine held its core."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        work()
        best = min(best, clock() - start)
    return best


def _echo(connection) -> None:
    while connection.recv() is not None:
        connection.send(("done", 0.0, 0))


def shard_sizes(batch: int) -> List[int]:
    """The shards of a batch shared by each of the PREDICTED worker counts."""
    return [-(-batch // n) for n in PREDICTED]


def measured_costs(rows: List[List[float]], labels: List[int], hidden: int,
                   batches: Sequence[int], per_worker: int,
                   make_gradient: Callable) -> Dict[str, float]:
    """Seconds for each cost of the model, on these examples: the shards and one
    process's steps the strong (``batches``) and weak (``per_worker``) predictions need."""
    model = Classifier(len(rows[0]), 10, hidden, seed=0)
    parameters = model.parameters()
    count = len(parameters)
    optimizer = make_optimizer("adam", parameters, 0.001)
    gradient = make_gradient(model, "reverse")
    values = array("d", [p.value for p in parameters])
    result = gradient(rows[:per_worker], labels[:per_worker])
    table = [memoryview(array("d", result.gradient)) for _ in range(2)]
    kind, state = type(optimizer), optimizer.state_dict()
    buffers = {key: memoryview(array("d", state[key])) for key in kind.BUFFERS}
    marks = memoryview(array("q", [0]))

    def update(rows_added: int) -> Callable[[], None]:
        """An OptimizerSlice's update over every parameter, summing this many rows."""
        whole = OptimizerSlice(parameters, 0, count, kind, state)
        return lambda: whole.update(table[:rows_added], memoryview(values), per_worker,
                                    buffers, marks, 0)

    plain = step_with(gradient, optimizer, rows, labels)
    sizes = sorted({k for batch in (*batches, per_worker) for k in shard_sizes(batch)})
    costs: Dict[str, float] = {"parameters": count}
    for batch in sorted({*batches, per_worker}):  # one process's whole step
        costs[f"one_process_step {batch}"] = best_seconds(partial(plain, list(range(batch))))
    for k in sizes:  # a shard of k examples (it has a cost besides its examples')
        costs[f"shard {k}"] = best_seconds(partial(gradient, rows[:k], labels[:k]))
    costs["load"] = best_seconds(lambda: gradient.load(values.tolist())) / count
    costs["write"] = best_seconds(lambda: array("d", result.gradient)) / count
    one_row = best_seconds(update(1)) / count
    # an update of every parameter with 2 gradient rows, less one with 1: one addition
    costs["add"] = max(best_seconds(update(2)) / count - one_row, 0.0)
    costs["update"] = one_row
    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()
    echo = context.Process(target=_echo, args=(theirs,), daemon=True)
    echo.start()
    indices = list(range(per_worker))

    trips = []
    for _ in range(1000):  # each timed: a trip that waited for a busy core is not typical
        start = time.perf_counter()
        ours.send(("gradient", indices))
        ours.recv()
        trips.append(time.perf_counter() - start)
    costs["message"] = statistics.median(trips)
    ours.send(None)
    echo.join()
    return costs


def step_terms(costs: Dict[str, float], workers: int, batch_size: int) -> Dict[str, float]:
    """The terms of T(N, B) (see the module docstring), in seconds."""
    count, n = costs["parameters"], workers
    return {"messages": 2 * (n - 1) * costs["message"], "loads": 2 * count * costs["load"],
            "shard": costs[f"shard {-(-batch_size // n)}"], "write": count * costs["write"],
            "additions": count * (n - 1) / n * costs["add"],
            "update": count / n * costs["update"]}


def predicted_step(costs: Dict[str, float], workers: int, batch_size: int) -> float:
    """Seconds per step with ``workers`` processes sharing a batch of ``batch_size``."""
    if workers == 1:
        return costs[f"one_process_step {batch_size}"]
    return sum(step_terms(costs, workers, batch_size).values())


def strong_speedup(costs: Dict[str, float], workers: int, batch_size: int) -> float:
    """S(N): one process's step over N workers' at the same batch."""
    return predicted_step(costs, 1, batch_size) / predicted_step(costs, workers, batch_size)


def weak_speedup(costs: Dict[str, float], workers: int, per_worker: int) -> float:
    """W(N): examples per second with per_worker examples a worker, over one process's."""
    return (workers * predicted_step(costs, 1, per_worker)
            / predicted_step(costs, workers, workers * per_worker))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--size", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--limit", type=int, default=6400)
    parser.add_argument("--batch-size", type=int, default=32,
                        help="the command's batch; the model's strong batch and weak batch "
                             "per worker")
    parser.add_argument("--large-batch", type=int, default=256,
                        help="the model's second strong-scaling batch")
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
            first = runs[counts[0]]
            for n, measured in runs.items():
                print(json.dumps({"workers": n, "wall_seconds": round(measured["wall"], 3),
                                  "busiest_cpu_seconds": round(measured["cpu"], 3),
                                  "wall_speedup": round(first["wall"] / measured["wall"], 2),
                                  "cpu_speedup": round(first["cpu"] / measured["cpu"], 2),
                                  "load": round(os.getloadavg()[0], 2)}), flush=True)
    batches = [args.batch_size, args.large_batch]
    most = max(PREDICTED) * args.batch_size
    if len(rows) < max(args.large_batch, args.batch_size):
        parser.error(f"--limit {args.limit} is fewer examples than a batch")
    costs = measured_costs(rows[:most], labels[:most], args.hidden, batches,
                           args.batch_size, make_gradient)
    print(json.dumps({"costs_us": {key: round(value * 1e6, 4) if key != "parameters" else value
                                   for key, value in costs.items()}}), flush=True)
    for n in PREDICTED:
        print(json.dumps({
            "workers": n,
            **{f"strong_{batch}": {"ms_per_step": round(predicted_step(costs, n, batch) * 1e3, 3),
                                   "speedup": round(strong_speedup(costs, n, batch), 2)}
               for batch in batches},
            f"weak_{args.batch_size}_per_worker": {
                "ms_per_step": round(predicted_step(costs, n, n * args.batch_size) * 1e3, 3),
                "speedup": round(weak_speedup(costs, n, args.batch_size), 2)}}), flush=True)
    largest = sorted(shard_sizes(args.large_batch))[-2:]
    marginal = ((costs[f"shard {largest[1]}"] - costs[f"shard {largest[0]}"])
                / (largest[1] - largest[0]))
    n = 16
    for name, batch, speedup in [
            *((f"strong, batch {b}", b, strong_speedup(costs, n, b)) for b in batches),
            (f"weak, {args.batch_size} per worker", n * args.batch_size,
             weak_speedup(costs, n, args.batch_size))]:
        terms = step_terms(costs, n, batch)
        shard = -(-batch // n)
        overheads = {key: value for key, value in terms.items() if key != "shard"}
        print(json.dumps({
            "at_16_workers": name, "predicted_speedup": round(speedup, 2),
            "one_process_ms": round(predicted_step(
                costs, 1, batch if name.startswith("strong") else args.batch_size) * 1e3, 2),
            "terms_ms": {key: round(value * 1e3, 2) for key, value in terms.items()},
            # what a shard costs beyond its examples' (each at the marginal cost of an
            # example, between the two largest shards), and the largest of the terms that
            # are not the shard's work
            "shard_fixed_ms": round((terms["shard"] - shard * marginal) * 1e3, 2),
            "largest_overhead": max(overheads, key=lambda key: overheads[key]),
            # weak scaling without the optimizer's share: N s(b) / T(N, N b)
            **({} if name.startswith("strong") else {"gradient_work_speedup": round(
                n * costs[f"shard {args.batch_size}"] / sum(terms.values()), 2)})}),
            flush=True)

if __name__ == "__main__":
    main()
