"""The long differential fuzz profile of scalargrad.compile (issue 18), with totals.

For each seed, draws --programs random programs with their calls (tests/compile_programs.py),
runs each on the compiled object and on the recording engine (tests/compile_differential.py)
and counts: programs, compiled calls, programs with a mismatch, mismatches by class. Then,
for the most frequent classes, a minimal reproducer: hypothesis searches for a program of
that class and shrinks it (or, where the search finds none, the shortest one the run met).

    python benchmarks/compile_fuzz.py                      # seeds 1 2 3, 2000 programs each
    python benchmarks/compile_fuzz.py --seeds 7 --programs 500 --reproducers 0
    python benchmarks/compile_fuzz.py --seeds 1 --only "wrong" --reproducers 4
    python benchmarks/compile_fuzz.py --engine recording   # the harness on the recording engine: 0

Exit status 1 if any mismatch was found.
"""
from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Counter, Dict

from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis.errors import NoSuchExample

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, for its tests package

import scalargrad as sg  # noqa: E402
from tests.compile import compile_differential as differential  # noqa: E402
from tests.compile.compile_programs import Scenario, scenarios  # noqa: E402

QUIET = dict(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def engine(name: str) -> Any:
    return sg.compile if name == "compiled" else differential.Recorded


def run_seed(number: int, programs: int, compile: Any, totals: Dict[str, Any],
             shortest: Dict[str, differential.Outcome]) -> Dict[str, int]:
    """Run one seed's programs; add to totals; keep the shortest reproducer of each class."""
    counted = {"programs": 0, "calls": 0, "failing": 0, "mismatches": 0}

    @seed(number)
    @settings(max_examples=programs, phases=[Phase.generate], **QUIET)
    @given(scenarios())
    def one(scenario: Scenario) -> None:
        try:
            outcome = differential.run(scenario, compile=compile)
        except Exception as error:  # noqa: BLE001 - the harness itself failed: report it as a class
            outcome = differential.Outcome(scenario)
            outcome.mismatches.append(differential.Mismatch(
                f"harness: {type(error).__name__}", "differential.run(scenario)", error, None))
        counted["programs"] += 1
        counted["calls"] += outcome.calls
        counted["failing"] += bool(outcome.mismatches)
        counted["mismatches"] += len(outcome.mismatches)
        by_class: Counter[str] = totals["classes"]
        for mismatch in outcome.mismatches:
            by_class[mismatch.kind] += 1
            known = shortest.get(mismatch.kind)
            if known is None or len(outcome.report()) < len(known.report()):
                shortest[mismatch.kind] = outcome

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the compiler's "too many variants" warnings
        one()
    for key, value in counted.items():
        totals[key] += value
    return counted


def reproducer(kind: str, compile: Any, tries: int, number: int) -> Any:
    """A shrunk scenario whose run has a mismatch of this class, or None if none is found."""
    def has(scenario: Scenario) -> bool:
        try:
            return any(m.kind == kind for m in differential.run(scenario, compile=compile).mismatches)
        except Exception:  # noqa: BLE001 - a harness failure is its own class
            return kind.startswith("harness")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return find(scenarios(), has, settings=settings(max_examples=tries, **QUIET),
                        random=random.Random(number))
    except NoSuchExample:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--programs", type=int, default=2000, help="programs per seed")
    parser.add_argument("--engine", choices=["compiled", "recording"], default="compiled")
    parser.add_argument("--reproducers", type=int, default=10,
                        help="shrink a reproducer for this many of the most frequent classes")
    parser.add_argument("--tries", type=int, default=2000, help="programs searched per reproducer")
    parser.add_argument("--only", default="", help="shrink reproducers only of classes containing this text")
    options = parser.parse_args()
    compile = engine(options.engine)
    totals: Dict[str, Any] = {"programs": 0, "calls": 0, "failing": 0, "mismatches": 0,
                              "classes": collections.Counter()}
    shortest: Dict[str, differential.Outcome] = {}
    started = time.perf_counter()
    for number in options.seeds:
        began = time.perf_counter()
        counted = run_seed(number, options.programs, compile, totals, shortest)
        print(f"seed {number}: {counted['programs']} programs, {counted['calls']} compiled calls, "
              f"{counted['failing']} programs with a mismatch, {counted['mismatches']} mismatches "
              f"({time.perf_counter() - began:.0f} s)", flush=True)
    print(f"\ntotal ({options.engine}): {totals['programs']} programs, {totals['calls']} compiled calls, "
          f"{totals['failing']} programs with a mismatch, {totals['mismatches']} mismatches "
          f"({time.perf_counter() - started:.0f} s)")
    classes: Counter[str] = totals["classes"]
    if classes:
        print("\nmismatches by class:")
        for kind, count in classes.most_common():
            print(f"{count:8d}  {kind}")
    chosen = [kind for kind, _ in classes.most_common() if options.only in kind][:options.reproducers]
    for kind in chosen:
        found = reproducer(kind, compile, options.tries, options.seeds[0])
        if found is not None:
            outcome = differential.run(found, compile=compile)
            label = "shrunk"
        else:
            outcome, label = shortest[kind], "the shortest met; no shrunk one found"
        print(f"\n=== {kind} ({label})\n{outcome.report(kind)}", flush=True)
    return 1 if totals["mismatches"] else 0


if __name__ == "__main__":
    sys.exit(main())
