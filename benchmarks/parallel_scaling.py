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

The model. With P parameters, a global batch of B examples and N workers, the batch is cut
into K = min(B, p N) pieces: p = 1 as the workers run (one shard a worker), p = 3 for
pieces handed out as workers become free (PIECES_TRIED: tried, and taken back, as each
call's fixed cost made it slower). The busiest worker computes q = ceil(K / N) of them, of
up to k = ceil(B / K) examples each, and a step takes

    T(N, B) = (q+1) (N-1) m + P r + q s(k) + q P w + P (K-1)/N a + (P/N) u

m: a command and its answer through a pipe (the coordinator sends each other worker its
pieces one at a time, then the update); r: reading one shared value into the list a
worker's gradient is taken at (the float path: ShardGradient.at; the first process loads
the values into its model's Scalars only when the run reads the model, once an epoch);
s(k): a piece of k examples at given values, measured for each k (a call
of the gradient has a cost whatever its size); w: writing one gradient entry into the
piece's row of shared memory; a: adding one more row's entry (each worker sums the K rows
over its slice); u: the optimizer's update of one parameter, on floats, with sharing its
new value and state (split by slices). The prediction
with p = 3 is printed beside the one with p = 1. T(1, B)
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
from typing import Callable, Dict, List, Sequence, Tuple

from scalargrad.optim import make_optimizer
from scalargrad.train.parallel import SharedMemoryTraining, cores
from scalargrad.train.slices import OptimizerSlice
from scalargrad.train.gradient import factory
from scalargrad.train.loop import train_epoch
from scalargrad.train.mnist import load_mnist
from scalargrad.train.model import Classifier
from scalargrad.train.step import step_with

ROOT = Path(__file__).resolve().parents[1]
RUNS_NOW = 1      # pieces a worker as SharedMemoryTraining cuts a batch: one shard each
PIECES_TRIED = 3  # pieces a worker handed out as workers become free (tried, taken back)
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


def pieces(workers: int, batch: int, per_worker: int) -> Tuple[int, int, int]:
    """How ``workers`` processes cut a batch: (pieces K, pieces the busiest process takes,
    examples in the largest piece), at ``per_worker`` pieces a worker as
    SharedMemoryTraining cuts it (gradient.split: sizes differing by at most one)."""
    count = 1 if workers == 1 else min(batch, per_worker * workers)
    return count, -(-count // workers), -(-batch // count)


def piece_sizes(batches: Sequence[int]) -> List[int]:
    """Every piece size the predictions need for these batches (and a batch per worker's
    global batches), at RUNS_NOW and at PIECES_TRIED pieces a worker."""
    return sorted({pieces(n, batch * (n if weak else 1), p)[2]
                   for batch in batches for n in PREDICTED for p in (RUNS_NOW, PIECES_TRIED)
                   for weak in (False, True)})


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
    at = values.tolist()  # what a worker's gradient is taken at
    result = gradient.at(at, rows[:per_worker], labels[:per_worker])
    table = [memoryview(array("d", result.gradient)) for _ in range(2)]
    kind, state = type(optimizer), optimizer.state_dict()
    buffers = {key: memoryview(array("d", state[key])) for key in kind.BUFFERS}
    marks = memoryview(array("q", [0]))

    def update(rows_added: int) -> Callable[[], None]:
        """An OptimizerSlice's update over every parameter, summing this many rows."""
        whole = OptimizerSlice(0, count, kind, state)
        return lambda: whole.update(table[:rows_added], memoryview(values), per_worker,
                                    buffers, marks, 0)

    plain = step_with(gradient, optimizer, rows, labels)
    sizes = [k for k in piece_sizes([*batches, per_worker]) if k <= len(rows)]
    costs: Dict[str, float] = {"parameters": count}
    for batch in sorted({*batches, per_worker}):  # one process's whole step
        costs[f"one_process_step {batch}"] = best_seconds(partial(plain, list(range(batch))))
    for k in sizes:  # a shard of k examples (it has a cost besides its examples')
        costs[f"shard {k}"] = best_seconds(partial(gradient.at, at, rows[:k], labels[:k]))
    costs["read"] = best_seconds(values.tolist) / count
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


def step_terms(costs: Dict[str, float], workers: int, batch_size: int,
               per_worker: int = RUNS_NOW) -> Dict[str, float]:
    """The terms of T(N, B) (see the module docstring), in seconds, with ``per_worker``
    pieces a worker."""
    count, n = costs["parameters"], workers
    total, taken, size = pieces(n, batch_size, per_worker)
    return {"messages": (taken + 1) * (n - 1) * costs["message"],
            "reads": count * costs["read"], "pieces": taken * costs[f"shard {size}"],
            "writes": taken * count * costs["write"],
            "additions": count * (total - 1) / n * costs["add"],
            "update": count / n * costs["update"]}


def predicted_step(costs: Dict[str, float], workers: int, batch_size: int,
                   per_worker: int = RUNS_NOW) -> float:
    """Seconds per step with ``workers`` processes sharing a batch of ``batch_size``."""
    if workers == 1:
        return costs[f"one_process_step {batch_size}"]
    return sum(step_terms(costs, workers, batch_size, per_worker).values())


def strong_speedup(costs: Dict[str, float], workers: int, batch_size: int,
                   per_worker: int = RUNS_NOW) -> float:
    """S(N): one process's step over N workers' at the same batch."""
    return (predicted_step(costs, 1, batch_size)
            / predicted_step(costs, workers, batch_size, per_worker))


def weak_speedup(costs: Dict[str, float], workers: int, batch_size: int,
                 per_worker: int = RUNS_NOW) -> float:
    """W(N): examples per second with batch_size examples a worker, over one process's."""
    return (workers * predicted_step(costs, 1, batch_size)
            / predicted_step(costs, workers, workers * batch_size, per_worker))


def predictions(costs: Dict[str, float], workers: int, batches: Sequence[int],
                per_worker: int) -> Dict[str, Dict[str, float]]:
    """Strong scaling at each batch, weak at the first batch per worker."""
    found = {f"strong_{batch}": {
        "ms_per_step": round(predicted_step(costs, workers, batch, per_worker) * 1e3, 3),
        "speedup": round(strong_speedup(costs, workers, batch, per_worker), 2)}
        for batch in batches}
    found[f"weak_{batches[0]}_per_worker"] = {
        "ms_per_step": round(predicted_step(costs, workers, workers * batches[0],
                                            per_worker) * 1e3, 3),
        "speedup": round(weak_speedup(costs, workers, batches[0], per_worker), 2)}
    return found


def at_16_workers(costs: Dict[str, float], batches: Sequence[int], per_worker: int) -> None:
    """Print each prediction at 16 workers with its terms."""
    n, b = 16, batches[0]
    sizes = sorted(int(key.split()[1]) for key in costs if key.startswith("shard "))
    marginal = ((costs[f"shard {sizes[-1]}"] - costs[f"shard {sizes[-2]}"])
                / (sizes[-1] - sizes[-2]))  # an example's cost, beyond a piece's own
    cases = [*((f"strong, batch {batch}", batch, strong_speedup(costs, n, batch, per_worker))
               for batch in batches),
             (f"weak, {b} per worker", n * b, weak_speedup(costs, n, b, per_worker))]
    for name, batch, speedup in cases:
        terms = step_terms(costs, n, batch, per_worker)
        total, taken, size = pieces(n, batch, per_worker)
        overheads = {key: value for key, value in terms.items() if key != "pieces"}
        print(json.dumps({
            "at_16_workers": name, "pieces_per_worker": per_worker,
            "predicted_speedup": round(speedup, 2),
            "one_process_ms": round(predicted_step(
                costs, 1, batch if name.startswith("strong") else b) * 1e3, 2),
            "pieces": f"{total} of up to {size} examples, {taken} for the busiest",
            "terms_ms": {key: round(value * 1e3, 2) for key, value in terms.items()},
            # what the pieces cost beyond their examples' (at the marginal cost of an
            # example, between the two largest shards measured)
            "pieces_fixed_ms": round((terms["pieces"] - taken * size * marginal) * 1e3, 2),
            "largest_overhead": max(overheads, key=lambda key: overheads[key]),
            # weak scaling without the optimizer's share: N s(b) / T(N, N b)
            **({} if name.startswith("strong") else {"gradient_work_speedup": round(
                n * costs[f"shard {b}"] / sum(terms.values()), 2)})}), flush=True)


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
    for n in PREDICTED:  # as SharedMemoryTraining cuts batches, and with the pieces tried
        print(json.dumps({"workers": n, **predictions(costs, n, batches, RUNS_NOW),
                          "three_pieces_a_worker": predictions(costs, n, batches, PIECES_TRIED)}),
              flush=True)
    for per_worker in (RUNS_NOW, PIECES_TRIED):
        at_16_workers(costs, batches, per_worker)


if __name__ == "__main__":
    main()
