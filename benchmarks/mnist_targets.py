"""The train-mnist targets, measured: accuracy, wall time and µs per training example.

Runs each configuration as the real command (`scalargrad train-mnist ... --json`, timed
from the outside), then trains the same model with the same optimizer, batch size and
number of examples batched in numpy, as the floor a vectorised implementation reaches.

    python benchmarks/mnist_targets.py [--data-dir ../shared/mnist] [--only default]
    python benchmarks/mnist_targets.py --engines   # compiled against recording, per example
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scalargrad.train.mnist import load_mnist

ROOT = Path(__file__).resolve().parents[1]
TARGETS = [  # name, extra arguments, accuracy target, seconds target
    ("default", [], 0.88, 30),
    ("hidden 32", ["--hidden", "32", "--epochs", "8"], 0.94, 300),
    ("size 14", ["--size", "14", "--epochs", "4", "--lr", "0.005"], 0.92, None),
]


def run_command(arguments, data_dir):
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "scalargrad_cli", "train-mnist", "--json",
                                "--data-dir", str(data_dir), *arguments],
                               capture_output=True, text=True, check=True)
    return json.loads(completed.stdout), time.perf_counter() - start


def numpy_floor(summary, data_dir):
    """µs per example to train the same model the same way with numpy, and its accuracy."""
    size, hidden, lr, batch = summary["size"], summary["hidden"], summary["lr"], summary["batch_size"]
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir, size=size, download=False)
    rng = np.random.default_rng(summary["seed"])
    widths = [size * size, hidden, 10] if hidden else [size * size, 10]
    params = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        w = rng.normal(0, 1 / np.sqrt(fan_in), (fan_in, fan_out)) if hidden else np.zeros((fan_in, fan_out))
        params += [w, np.zeros(fan_out)]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    relu = summary["activation"] == "relu"
    step = 0
    start = time.perf_counter()
    for _ in range(summary["epochs"]):
        order = rng.permutation(len(x_train))
        for first in range(0, len(order), batch):
            index = order[first:first + batch]
            x, y = x_train[index], y_train[index]
            activations = [x]
            for k in range(0, len(params), 2):
                z = activations[-1] @ params[k] + params[k + 1]
                if k + 2 < len(params):
                    z = np.maximum(z, 0) if relu else np.tanh(z)
                activations.append(z)
            logits = activations[-1]
            probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            delta = probabilities
            delta[np.arange(len(y)), y] -= 1
            delta /= len(y)
            grads = [None] * len(params)
            for k in range(len(params) - 2, -1, -2):
                grads[k], grads[k + 1] = activations[k // 2].T @ delta, delta.sum(axis=0)
                if k:
                    h = activations[k // 2]
                    delta = (delta @ params[k].T) * ((h > 0) if relu else (1 - h * h))
            step += 1
            for p, g, m, v in zip(params, grads, moments, squares):
                m[:] = 0.9 * m + 0.1 * g
                v[:] = 0.999 * v + 0.001 * g * g
                p -= lr * (m / (1 - 0.9 ** step)) / (np.sqrt(v / (1 - 0.999 ** step)) + 1e-8)
    seconds = time.perf_counter() - start
    h = x_test
    for k in range(0, len(params), 2):
        h = h @ params[k] + params[k + 1]
        if k + 2 < len(params):
            h = np.maximum(h, 0) if relu else np.tanh(h)
    accuracy = float((h.argmax(axis=1) == y_test).mean())
    return seconds / (summary["epochs"] * len(x_train)) * 1e6, accuracy


ENGINE_MODELS = [  # name, image side, hidden units, examples timed
    ("default", 7, 0, 3200), ("hidden 32", 7, 32, 1600), ("size 14", 14, 0, 1600),
    ("size 28, hidden 128", 28, 128, 128),
]


def engine_speedups(data_dir, repeats=3):
    """µs per training example of the gradient, compiled (the default) against recording
    (--no-compile), on the same real examples in batches of 32 (the default), interleaved: the medians, and
    how long the compiled code took to make (trace, generate, compile both functions)."""
    import statistics
    from scalargrad.train.gradient import CompiledGradient
    from scalargrad.train.gradient import RecordedGradient
    from scalargrad.train.model import Classifier
    for name, size, hidden, count in ENGINE_MODELS:
        (x_train, y_train), _ = load_mnist(data_dir, size=size, download=False)
        rows, labels = x_train[:count].tolist(), y_train[:count].tolist()
        model = Classifier(size * size, 10, hidden)
        compiled, recorded = CompiledGradient(model), RecordedGradient(model)
        start = time.perf_counter()
        compiled(rows[:32], labels[:32])  # traces, and compiles the one-example code
        compiled(rows[:32], labels[:32])  # compiles the batch code
        compile_seconds = time.perf_counter() - start
        times = {"compiled": [], "recording": []}
        for _ in range(repeats):
            for engine, gradient in (("compiled", compiled), ("recording", recorded)):
                start = time.perf_counter()
                for first in range(0, count, 32):
                    gradient(rows[first:first + 32], labels[first:first + 32])
                times[engine].append((time.perf_counter() - start) / count * 1e6)
        fast, slow = statistics.median(times["compiled"]), statistics.median(times["recording"])
        print(json.dumps({"engines": name, "compiled_us_per_example": round(fast, 1),
                          "recording_us_per_example": round(slow, 1),
                          "speedup": round(slow / fast, 2), "target": 2.5,
                          "compile_seconds": round(compile_seconds, 2)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--only", choices=[name for name, *_ in TARGETS])
    parser.add_argument("--engines", action="store_true",
                        help="Only compare the compiled and recording engines' gradients.")
    options = parser.parse_args()
    if options.engines:
        engine_speedups(options.data_dir)
        return
    rows = []
    for name, arguments, accuracy_target, seconds_target in TARGETS:
        if options.only and name != options.only:
            continue
        summary, wall = run_command(arguments, options.data_dir)
        us_scalar = 1e6 / summary["examples_per_second"]
        us_numpy, numpy_accuracy = numpy_floor(summary, options.data_dir)
        rows.append({
            "target": name, "arguments": " ".join(arguments) or "(defaults)",
            "test_accuracy": summary["test_accuracy"], "accuracy_target": accuracy_target,
            "wall_seconds": round(wall, 1), "seconds_target": seconds_target,
            "us_per_example": round(us_scalar, 1), "numpy_us_per_example": round(us_numpy, 2),
            "ratio_to_numpy": round(us_scalar / us_numpy, 1), "numpy_test_accuracy": numpy_accuracy,
            "met": summary["test_accuracy"] >= accuracy_target
                   and (seconds_target is None or wall <= seconds_target),
        })
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
