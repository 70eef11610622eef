"""Learning-rate schedules for train-mnist, searched with a numpy twin of its training.

The twin trains what `scalargrad train-mnist` trains, batched in numpy: the Classifier's own
initial weights (taken from scalargrad.train.model.Classifier), the same shuffled order
(random.Random(seed), one shuffle per epoch, as train.loop.train_epoch draws it), relu, mean
cross-entropy, Adam as scalargrad.optim has it, and the rate of each step from
scalargrad.optim.Schedule. It follows scalargrad's trajectory up to the order of float sums
(`--check` measures how closely), about a thousand times faster, so a grid of schedules,
peak rates, warm-ups and batch sizes can be tried over several seeds.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/schedule_search.py --size 28 --hidden 128 \\
        --kinds cosine onecycle --lrs 0.002 0.004 --warmups 0.05 0.25 --batches 32 128 \\
        --epochs 3 --seeds 0 1 2
    python benchmarks/schedule_search.py --check --size 28 --hidden 128 --steps 200

Each run prints one line (test accuracy after each epoch, wall seconds); the end, a table of
each configuration over its seeds (mean, min and max after the last epoch), best first.
Warm-ups are fractions of the run's steps.
"""
from __future__ import annotations

import argparse
import itertools
import math
import random
import statistics
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from scalargrad.train.mnist import load_mnist
from scalargrad.optim import SCHEDULES, Adam, Schedule
from scalargrad.train.model import Classifier

ROOT = Path(__file__).resolve().parents[1]
BETAS, EPS = (0.9, 0.999), 1e-8  # Adam's defaults in scalargrad.optim


def initial_parameters(model: Classifier) -> List[np.ndarray]:
    """The model's parameter values as arrays: weights (fan_in, fan_out), then bias, per layer."""
    arrays = []
    for weights, bias in model.layers:
        arrays += [np.array(weights.tolist(), dtype=np.float64),
                   np.array(bias.tolist()[0], dtype=np.float64)]
    return arrays


def flatten(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The values in the order of Classifier.parameters() (each weight matrix by rows)."""
    return np.concatenate([a.ravel() for a in arrays])


def epoch_orders(seed: int, examples: int):
    """The order of the examples in each epoch, as TrainingRun draws them."""
    rng = random.Random(seed)
    while True:
        order = list(range(examples))
        rng.shuffle(order)
        yield order


class Twin:
    """The classifier and its Adam optimizer in numpy arrays (float64)."""

    def __init__(self, parameters: Sequence[np.ndarray]) -> None:
        self.parameters = [p.copy() for p in parameters]
        self.first = [np.zeros_like(p) for p in parameters]
        self.second = [np.zeros_like(p) for p in parameters]
        self.steps = 0

    def logits(self, x: np.ndarray) -> Tuple[np.ndarray, List[np.ndarray]]:
        """The logits and the input of each layer."""
        inputs, h = [], x
        for k in range(0, len(self.parameters), 2):
            inputs.append(h)
            h = h @ self.parameters[k] + self.parameters[k + 1]
            if k + 2 < len(self.parameters):
                h = np.maximum(h, 0.0)
        return h, inputs

    def step(self, x: np.ndarray, y: np.ndarray, lr: float) -> float:
        """One Adam step on the batch's mean cross-entropy, at rate lr; the loss before it."""
        z, inputs = self.logits(x)
        top = z.max(axis=1, keepdims=True)
        exp = np.exp(z - top)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(len(y))
        loss = float(np.mean(np.log(total[:, 0]) + top[:, 0] - z[rows, y]))
        delta = exp / total
        delta[rows, y] -= 1.0
        delta *= 1.0 / len(y)
        grads: List[np.ndarray] = [np.empty(0)] * len(self.parameters)
        for k in range(len(self.parameters) - 2, -1, -2):
            h = inputs[k // 2]
            grads[k], grads[k + 1] = h.T @ delta, delta.sum(axis=0)
            if k:
                delta = (delta @ self.parameters[k].T) * (h > 0)
        self.steps += 1
        (b1, b2), t = BETAS, self.steps
        m_correction, v_correction = 1.0 - b1 ** t, 1.0 - b2 ** t
        for p, g, m, v in zip(self.parameters, grads, self.first, self.second):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * g * g
            p -= lr * (m / m_correction) / (np.sqrt(v / v_correction) + EPS)
        return loss

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.logits(x)[0].argmax(axis=1) == y).mean())


def load(data_dir: str, size: int):
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir, size=size, download=False)
    return x_train, y_train, x_test, y_test


def train(data, size: int, hidden: int, kind: str, lr: float, warmup: float, batch: int,
          epochs: int, seed: int) -> Tuple[List[float], float]:
    """Test accuracy after each epoch, and the wall seconds of the training steps."""
    x_train, y_train, x_test, y_test = data
    twin = Twin(initial_parameters(Classifier(size * size, 10, hidden, seed=seed)))
    steps = epochs * math.ceil(len(x_train) / batch)
    schedule = Schedule(kind, lr, steps, round(warmup * steps))
    accuracies: List[float] = []
    seconds = 0.0
    orders = epoch_orders(seed, len(x_train))
    for _ in range(epochs):
        order = np.array(next(orders))
        start = time.perf_counter()
        for first in range(0, len(order), batch):
            index = order[first:first + batch]
            loss = twin.step(x_train[index], y_train[index], schedule.rate(twin.steps))
            if not math.isfinite(loss):
                return accuracies + [math.nan], seconds
        seconds += time.perf_counter() - start
        accuracies.append(twin.accuracy(x_test, y_test))
    return accuracies, seconds


def search(options) -> None:
    data = load(options.data_dir, options.size)
    results: Dict[tuple, List[List[float]]] = {}
    print(f"# size {options.size}, hidden {options.hidden}, {options.epochs} epoch(s), Adam; "
          f"warm-up as a fraction of the steps", flush=True)
    grid = itertools.product(options.kinds, options.lrs, options.warmups, options.batches)
    for kind, lr, warmup, batch in grid:
        if kind == "constant" and warmup > 0.1:
            continue  # a long climb to a constant rate is never the point of a constant rate
        for seed in options.seeds:
            accuracies, seconds = train(data, options.size, options.hidden, kind, lr, warmup,
                                        batch, options.epochs, seed)
            results.setdefault((kind, lr, warmup, batch), []).append(accuracies)
            shown = " ".join(f"{100 * a:.2f}" for a in accuracies)
            print(f"{kind:9} lr {lr:<7g} warmup {warmup:<5g} batch {batch:<4} seed {seed:<2} "
                  f"test % by epoch: {shown}  ({seconds:.1f} s)", flush=True)
    print("\n# by the last epoch's test accuracy over the seeds: mean, min, max (%)")
    ranked = sorted(results.items(), key=lambda item: -summary(item[1])[1])
    for (kind, lr, warmup, batch), runs in ranked:
        mean, low, high = summary(runs)
        print(f"{kind:9} lr {lr:<7g} warmup {warmup:<5g} batch {batch:<4} "
              f"seeds {len(runs)}  {mean:6.2f} {low:6.2f} {high:6.2f}")


def summary(runs: List[List[float]]) -> Tuple[float, float, float]:
    last = [100 * (run[-1] if math.isfinite(run[-1]) else 0.0) for run in runs]
    return statistics.mean(last), min(last), max(last)


def check(options) -> None:
    """The twin against scalargrad's own compiled training step (the engine train-mnist runs),
    from the same initial weights over the same batches with the same scheduled rates: the
    largest difference in the losses and in the parameters after every `--every` steps."""
    from scalargrad.train.gradient import CompiledGradient

    x_train, y_train, _, _ = load(options.data_dir, options.size)
    seed, batch, steps = options.seeds[0], options.batches[0], options.steps
    model = Classifier(options.size * options.size, 10, options.hidden, seed=seed)
    twin = Twin(initial_parameters(model))
    optimizer = Adam(model.parameters(), options.lrs[0])
    schedule = Schedule(options.kinds[0], options.lrs[0], steps, round(options.warmups[0] * steps))
    gradient = CompiledGradient(model)
    rows, labels = x_train.tolist(), y_train.tolist()
    order = next(epoch_orders(seed, len(rows)))
    print(f"# twin vs scalargrad (compiled): size {options.size}, hidden {options.hidden}, "
          f"{schedule.state_dict()}, batch {batch}, seed {seed}")
    worst_loss = 0.0
    for k in range(steps):
        index = order[k * batch:(k + 1) * batch]
        result = gradient([rows[i] for i in index], [labels[i] for i in index])
        scalar_loss = result.loss_sum / len(index)  # as step.step_with steps
        optimizer.step([g * (1.0 / len(index)) for g in result.gradient],
                       lr=schedule.rate(optimizer.steps))
        twin_loss = twin.step(x_train[index], y_train[index], schedule.rate(twin.steps))
        worst_loss = max(worst_loss, abs(scalar_loss - twin_loss))
        if (k + 1) % options.every == 0 or k + 1 == steps:
            values = np.array([p.value for p in model.parameters()])
            difference = np.abs(values - flatten(twin.parameters))
            print(f"step {k + 1:5}: loss {scalar_loss:.12f} (twin {twin_loss:.12f}); largest "
                  f"|loss difference| so far {worst_loss:.1e}, parameters now: largest "
                  f"{difference.max():.1e}, relative {difference.max() / np.abs(values).max():.1e}",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "mnist"))
    parser.add_argument("--size", type=int, default=28, choices=(7, 14, 28))
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--kinds", nargs="+", default=list(SCHEDULES), choices=SCHEDULES)
    parser.add_argument("--lrs", nargs="+", type=float, default=[0.001, 0.002, 0.004])
    parser.add_argument("--warmups", nargs="+", type=float, default=[0.0, 0.05, 0.25])
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 64, 128])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--check", action="store_true",
                        help="Compare the twin with scalargrad's compiled training instead "
                             "(first of each list; --steps steps).")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--every", type=int, default=50)
    options = parser.parse_args()
    check(options) if options.check else search(options)


if __name__ == "__main__":
    main()
