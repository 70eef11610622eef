"""MPI training steps, measured: ZeRO stage 1 (distributed.ZeroTraining, what --distributed
runs) against one Allreduce of the whole gradient (distributed.AllreduceTraining), in
turns in the same run, at 28x28 with 128 hidden units (101,770 parameters) by default.

    python benchmarks/mpi_zero.py [--ranks 2] [--size 28 --hidden 128] [--batch-size 32]
        [--steps 10] [--rounds 5] [--data-dir ../shared/mnist]

runs itself under ``mpiexec -n RANKS`` twice:

1. as MPI runs by default (the ranks on one machine talk through shared memory): the
   milliseconds per step of each way (rank 0's wall clock over ``--steps`` steps, between
   barriers; the median and range over the rounds) and their ratio, and the same for the
   part of a step beside rank 0's gradient (the collectives, waiting for the other rank,
   the update and loading values: what the two ways do differently);
2. with every rank treated as if on another machine, over TCP on the loopback interface
   (MPIR_CVAR_NOLOCAL=1, libfabric's tcp provider): the bytes that crossed it per step (all
   ranks' sends, with the TCP/IP headers and MPI's own messages), read from
   /proc/net/dev (the loopback's transmitted bytes: anything else using it here is counted
   too, so take the smallest round), and the milliseconds per step over TCP.

Beside them it prints the doubles each rank hands to MPI per step, which do not measure the
traffic: an Allreduce of large buffers is itself a reduce-scatter and an allgather.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[1]
TCP = {"MPIR_CVAR_NOLOCAL": "1", "MPIR_CVAR_CH4_NETMOD": "ofi", "FI_PROVIDER": "tcp"}
WAYS = ("AllreduceTraining", "ZeroTraining")


def loopback_sent() -> int:
    """Bytes transmitted on the loopback interface so far (Linux)."""
    for line in Path("/proc/net/dev").read_text().splitlines():
        name, _, fields = line.partition(":")
        if name.strip() == "lo":
            return int(fields.split()[8])
    raise RuntimeError("no loopback interface in /proc/net/dev")


def doubles_handed(way: str, count: int, ranks: int) -> int:
    """Doubles one rank gives MPI to send per step (its send buffers)."""
    if way == "AllreduceTraining":
        return count + 3
    return 3 + count + -(-count // ranks)  # flags, the gradient to scatter, its slice's values


class TimedGradient:
    """A ShardGradient that adds up the seconds its calls take."""

    def __init__(self, gradient: Any) -> None:
        self.gradient, self.seconds = gradient, 0.0

    def load(self, values: Any) -> None:
        self.gradient.load(values)

    def __call__(self, rows: Any, labels: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.gradient(rows, labels)
        finally:
            self.seconds += time.perf_counter() - start

    def at(self, values: Any, rows: Any, labels: Any) -> Any:
        self.load(values)
        return self(rows, labels)


def rank_main(args: argparse.Namespace) -> None:
    """One rank's part: the ways' steps in turns; rank 0 prints a JSON line per round."""
    from scalargrad.optim import make_optimizer
    from scalargrad.train import distributed
    from scalargrad.train.mnist import load_mnist
    from scalargrad.train.model import Classifier

    comm = distributed.world()
    (train_rows, train_labels), _ = load_mnist(args.data_dir, size=args.size, download=False)
    examples = args.batch_size * args.steps
    rows, labels = train_rows[:examples].tolist(), train_labels[:examples].tolist()
    trainings: Dict[str, Any] = {}
    for way in WAYS:  # a model each, the same one
        model = Classifier(len(rows[0]), 10, args.hidden, seed=0)
        optimizer = make_optimizer("adam", model.parameters(), 0.001)
        trainings[way] = getattr(distributed, way)(model, optimizer, rows, labels, comm)
        trainings[way].gradient = TimedGradient(trainings[way].gradient)
    count = len(model.parameters())
    batches = [list(range(k * args.batch_size, (k + 1) * args.batch_size))
               for k in range(args.steps)]
    for training in trainings.values():  # warm up: the first call of compiled code
        training.step(batches[0])
    for round_ in range(args.rounds):
        for way in WAYS if round_ % 2 == 0 else WAYS[::-1]:
            comm.Barrier()
            gradient = trainings[way].gradient
            sent, start, before = loopback_sent(), time.perf_counter(), gradient.seconds
            for batch in batches:
                trainings[way].step(batch)
            comm.Barrier()
            seconds, sent = time.perf_counter() - start, loopback_sent() - sent
            rest = seconds - (gradient.seconds - before)
            if comm.Get_rank() == 0:
                print(json.dumps({"way": way, "round": round_,
                                  "ms_per_step": seconds / args.steps * 1e3,
                                  "ms_beside_the_gradient": rest / args.steps * 1e3,
                                  "loopback_bytes_per_step": sent / args.steps,
                                  "doubles_handed_per_rank": doubles_handed(
                                      way, count, comm.Get_size()),
                                  "parameters": count}), flush=True)


def launch(args: argparse.Namespace, environment: Dict[str, str]) -> List[Dict[str, Any]]:
    """This script's rounds under mpiexec, with these variables set."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    command = [str(mpiexec) if mpiexec.exists() else "mpiexec", "-n", str(args.ranks),
               sys.executable, __file__, "--rank-part", *sys.argv[1:]]
    completed = subprocess.run(command, capture_output=True, text=True, check=True,
                               env={**os.environ, **environment}, cwd=ROOT)
    return [json.loads(line) for line in completed.stdout.splitlines()
            if line.startswith("{")]


def summary(rounds: List[Dict[str, Any]], key: str, pick: Any) -> Dict[str, float]:
    by_way = {way: [line[key] for line in rounds if line["way"] == way] for way in WAYS}
    result = {way: round(pick(values), 3) for way, values in by_way.items()}
    result["range"] = {way: [round(min(v), 3), round(max(v), 3)]
                       for way, v in by_way.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10, help="steps per way per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rank-part", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rank_part:
        rank_main(args)
        return
    print(f"# {args.ranks} ranks, {args.size}x{args.size}/{args.hidden}, batch "
          f"{args.batch_size}; load average {os.getloadavg()}", flush=True)
    for name, environment in (("shared memory", {}), ("tcp over loopback", TCP)):
        rounds = launch(args, environment)
        times = summary(rounds, "ms_per_step", statistics.median)
        rest = summary(rounds, "ms_beside_the_gradient", statistics.median)
        line: Dict[str, Any] = {"transport": name, "ms_per_step_median": times,
                                "zero_over_allreduce_time": round(
                                    times["ZeroTraining"] / times["AllreduceTraining"], 3),
                                "ms_beside_the_gradient_median": rest,
                                "zero_over_allreduce_beside_the_gradient": round(
                                    rest["ZeroTraining"] / rest["AllreduceTraining"], 3)}
        if environment:
            sent = summary(rounds, "loopback_bytes_per_step", min)
            line["loopback_bytes_per_step_min"] = sent
            line["zero_over_allreduce_bytes"] = round(
                sent["ZeroTraining"] / sent["AllreduceTraining"], 3)
        line["doubles_handed_per_rank"] = {way: doubles_handed(way, rounds[0]["parameters"],
                                                               args.ranks) for way in WAYS}
        print(json.dumps(line), flush=True)
    print(f"# load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
