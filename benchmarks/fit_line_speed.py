"""fit-line's speed, measured: the fit of 100, 10,000 and 1,000,000 points, and the command.

For each size, fits the default generated points (y = 0.7x + 4, noise 0.5, from y = -2x,
sgd with lr 0.1) with scalargrad.fit.linefit and prints the seconds, the steps, the batch
size, the cost per step (including the minibatch fits' checks on all the points) and how
far the line is from least squares, in its standard errors. Then runs the real command
(`scalargrad fit-line --csv ... --json`) on a CSV file of a million rows and on /dev/zero,
timed from the outside, with the peak memory of each (where /proc tells it).

    python benchmarks/fit_line_speed.py [--sizes 100,10000,1000000] [--no-command]
"""
from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scalargrad.fit import linefit

ROOT = Path(__file__).resolve().parents[1]


def standard_errors_away(xs, ys, line: linefit.Line) -> float:
    """The distance of line from least squares, in the least-squares standard errors."""
    n = len(xs)
    best = linefit.least_squares(xs, ys)
    mean = math.fsum(xs) / n
    spread = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / n)
    s = math.sqrt(math.fsum((y - best.slope * x - best.intercept) ** 2
                            for x, y in zip(xs, ys)) / n)
    d_slope = (line.slope - best.slope) * spread * math.sqrt(n) / s
    d_height = ((line.slope - best.slope) * mean + line.intercept - best.intercept) * math.sqrt(
        n) / s
    return math.hypot(d_slope, d_height)


def measure_fit(count: int) -> None:
    xs, ys = linefit.synthetic_points(count, seed=0)
    began = time.perf_counter()
    result = linefit.fit_line(xs, ys, start=linefit.Line(-2.0, 0.0))
    seconds = time.perf_counter() - began
    print(f"{count:>9,} {seconds:9.2f} {result.steps:6} {result.batch_size:7,} "
          f"{seconds / max(result.steps, 1) * 1e3:9.2f} "
          f"{standard_errors_away(xs, ys, result.line):10.3f}  {result.converged}")


# The command, reporting its own peak resident memory as it exits (Linux's VmHWM, which
# unlike getrusage's maximum does not count the memory of the process it was forked from).
COMMAND = """
import atexit, sys
def peak():
    try:
        with open("/proc/self/status") as status:
            kilobytes = [line.split()[1] for line in status if line.startswith("VmHWM:")]
        print(f"peak {int(kilobytes[0]) / 1024:.0f} MB", file=sys.stderr)
    except (OSError, IndexError):
        print("peak memory unknown", file=sys.stderr)
atexit.register(peak)
from scalargrad_cli.main import cli
cli(prog_name="scalargrad")
"""


def run_command(arguments) -> None:
    """Run `scalargrad fit-line --json ...` and print its time, status, memory and last words."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", COMMAND, "fit-line", "--json", *arguments],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - began
    *said, peak = done.stderr.strip().splitlines()
    print(f"{seconds:.2f} s, exit {done.returncode}, {peak}\n    {said[-1] if said else ''}")


def measure_command() -> None:
    print("\nthe command, timed from outside:")
    if Path("/dev/zero").exists():
        print("  --csv /dev/zero: ", end="", flush=True)
        run_command(["--csv", "/dev/zero"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "million.csv"
        xs, ys = linefit.synthetic_points(1_000_000, seed=1)
        path.write_text("x,y\n" + "".join(f"{x!r},{y!r}\n" for x, y in zip(xs, ys)))
        del xs, ys
        print(f"  --csv of 1,000,000 rows ({path.stat().st_size / 1e6:.0f} MB): ", end="",
              flush=True)
        run_command(["--csv", str(path)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,1000000",
                        help="comma-separated numbers of points to fit")
    parser.add_argument("--no-command", action="store_true",
                        help="skip running the command on a million-row CSV and /dev/zero")
    options = parser.parse_args()
    print("   points   seconds  steps   batch  ms/step  std.errors  converged")
    for count in map(int, options.sizes.split(",")):
        measure_fit(count)
    if not options.no_command:
        measure_command()


if __name__ == "__main__":
    main()
