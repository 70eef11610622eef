"""`train-mnist --workers auto` against one process and against `--workers 2`, measured.

Runs the real command (`scalargrad train-mnist ... --json`, timed from the outside, the
whole command) with `--workers 1`, `--workers 2` and `--workers auto`, in turns, ``--rounds``
times, first on the machine as it is, then while another process keeps one core busy (a
Python loop started here and stopped after). Prints each run's seconds and, for each
condition, the median ratio of one process's time to each way's (above 1: faster than one
process) and what auto chose (its `--json` "workers" entry). The target (issue "Full-size
MNIST in minutes"): auto never slower than one process, in both conditions.

    python benchmarks/workers_auto.py [--size 7 --hidden 32 --limit 6000 --epochs 2]
        [--rounds 4] [--data-dir ../shared/mnist] [--quiet-only]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
WAYS = ("1", "2", "auto")


def run_command(args: argparse.Namespace, workers: str) -> Tuple[float, Any]:
    """One run of the command: its whole time, and its --json "workers" entry (auto's
    choice; None otherwise)."""
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "scalargrad_cli", "train-mnist", "--json", "--data-dir",
         args.data_dir, "--size", str(args.size), "--hidden", str(args.hidden), "--limit",
         str(args.limit), "--epochs", str(args.epochs), "--workers", workers],
        capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    return seconds, json.loads(completed.stdout).get("workers")


def busy_loop() -> None:  # pragma: no cover - runs in its own process until terminated
    while True:
        pass


def condition(args: argparse.Namespace, name: str) -> None:
    """The rounds of one condition, then its ratios."""
    times: Dict[str, List[float]] = {way: [] for way in WAYS}
    for number in range(args.rounds):
        order = WAYS if number % 2 == 0 else WAYS[::-1]
        for way in order:
            seconds, choice = run_command(args, way)
            times[way].append(seconds)
            print(json.dumps({"condition": name, "round": number + 1, "workers": way,
                              "seconds": round(seconds, 3),
                              **({"choice": choice} if way == "auto" else {})}), flush=True)
    ratios = {way: [one / other for one, other in zip(times["1"], times[way])]
              for way in ("2", "auto")}
    print(json.dumps({"condition": name,
                      "speedup_over_one_process": {
                          f"--workers {way}": {"median": round(statistics.median(r), 3),
                                               "each": [round(x, 3) for x in r]}
                          for way, r in ratios.items()}}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--size", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--limit", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--quiet-only", action="store_true",
                        help="Only the machine as it is (no busy core).")
    args = parser.parse_args()
    condition(args, "as found")
    if args.quiet_only:
        return
    busy = multiprocessing.Process(target=busy_loop, daemon=True)
    busy.start()
    try:
        condition(args, "one core busy")
    finally:
        busy.terminate()
        busy.join()


if __name__ == "__main__":
    main()
