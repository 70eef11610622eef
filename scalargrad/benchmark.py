"""Measurements behind `scalargrad bench`: plain functions returning numbers, no display.

Every figure is measured on the machine it runs on. Timings take the best of a few
repeats, which is the least noisy estimate on a shared machine. When the package
micrograd is importable, the same chain and wide graphs are measured with it in the same
run, as a baseline (micrograd is never a dependency).
"""
from __future__ import annotations

import gc
import random
import time
import tracemalloc
from typing import Callable, Dict, List, Optional, Sequence

from .autodiff import forward_autodiff, jacobian, reverse_autodiff
from .collector import cycle_collector_paused
from . import functions
from .functions import dot, logsumexp, sin
from .scalar import Scalar


def _best_of(repeats: int, measure: Callable[[], Dict[str, float]]) -> Dict[str, float]:
    runs = [measure() for _ in range(repeats)]
    return {key: min(run[key] for run in runs) for key in runs[0]}


def _chain(x, n: int):
    y = x
    for _ in range(n // 2):
        y = y * 1.000001
        y = y + 0.5
    return y


def _wide(xs):
    """Square every input and add the squares pairwise: wide, and only log2(n) deep."""
    level = [x * x for x in xs]
    while len(level) > 1:
        level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level[0]


def _scalargrad_engine():
    return Scalar, lambda y, inputs: reverse_autodiff(y, inputs)


def _micrograd_engine():
    """micrograd's Value and backward, if micrograd is installed; else None."""
    try:
        from micrograd.engine import Value  # type: ignore[import-not-found]
    except ImportError:
        return None
    return Value, lambda y, inputs: y.backward()


ENGINES = {"scalargrad": _scalargrad_engine, "micrograd": _micrograd_engine}


def graph_costs(kind: str, n: int, engine: str = "scalargrad", repeats: int = 3,
                pause_collector: bool = False) -> Optional[Dict[str, float]]:
    """ns per node to build and to reverse-differentiate a chain or a wide graph of ~n nodes.

    None when the engine is not installed. micrograd's backward recurses, so its chains
    must stay under Python's recursion limit (about 1000).
    """
    found = ENGINES[engine]()
    if found is None:
        return None
    make, differentiate = found

    def measure():
        gc.collect()
        if kind == "chain":
            inputs = [make(1.0)]
            start = time.perf_counter()
            y = _chain(inputs[0], n)
        else:
            inputs = [make(random.random()) for _ in range(n // 2)]
            start = time.perf_counter()
            y = _wide(inputs)
        built = time.perf_counter()
        differentiate(y, inputs)
        done = time.perf_counter()
        del y
        return {"build_ns": (built - start) / n * 1e9, "backward_ns": (done - built) / n * 1e9}

    if pause_collector:
        with cycle_collector_paused():
            return _best_of(repeats, measure)
    return _best_of(repeats, measure)


def bytes_per_node(n: int = 100_000, engine: str = "scalargrad") -> Optional[float]:
    """Memory held by a recorded chain, per node (tracemalloc: every allocation counted)."""
    found = ENGINES[engine]()
    if found is None:
        return None
    make, _ = found
    gc.collect()
    x = make(1.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = _chain(x, n)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del y
    return (after - before) / n


def deep_chain(n: int = 1_000_000) -> Dict[str, float]:
    """Seconds to build, reverse- and forward-differentiate an n-node chain (no recursion)."""
    with cycle_collector_paused():
        x = Scalar(1.0)
        start = time.perf_counter()
        y = _chain(x, n)
        built = time.perf_counter()
        reverse_autodiff(y, x)
        reversed_ = time.perf_counter()
        forward_autodiff(y, x)
        forwarded = time.perf_counter()
        del y
    return {"nodes": n, "build_s": built - start, "reverse_s": reversed_ - built,
            "forward_s": forwarded - reversed_}


def softmax_regression_example(repeats: int = 200, inputs: int = 49, classes: int = 10) -> float:
    """µs for one example of softmax regression (forward pass plus backward sweep)."""
    rng = random.Random(0)
    weights = [[Scalar(rng.gauss(0, 0.1)) for _ in range(inputs)] for _ in range(classes)]
    biases = [Scalar(0.0) for _ in range(classes)]
    parameters = [w for row in weights for w in row] + biases
    examples = [([rng.random() for _ in range(inputs)], rng.randrange(classes)) for _ in range(repeats)]

    def one(pixels, label):
        logits = [dot(row, pixels) + b for row, b in zip(weights, biases)]
        loss = logsumexp(logits) - logits[label]
        reverse_autodiff(loss, parameters)

    def measure():
        start = time.perf_counter()
        for pixels, label in examples:
            one(pixels, label)
        return {"us": (time.perf_counter() - start) / repeats * 1e6}

    with cycle_collector_paused():
        return _best_of(3, measure)["us"]


def mode_scaling(sizes: Sequence[int] = (1, 4, 16, 64, 256), trunk: int = 20) -> List[Dict[str, float]]:
    """Forward vs reverse mode for f: R^n -> R and g: R -> R^n (ms for the whole derivative).

    Both functions share a trunk of `trunk` operations between inputs and outputs, so a
    sweep costs about the size of the graph: f needs n forward sweeps but one reverse sweep,
    g needs n reverse sweeps but one forward sweep.
    """
    rows = []
    for n in sizes:
        xs = [Scalar(0.1 * (i + 1)) for i in range(n)]
        f = _chain(functions.sum([sin(xs[i]) * xs[(i + 1) % n] for i in range(n)]), trunk)
        t = Scalar(0.3)
        h = _chain(t, trunk)
        gs = [sin(h * (i + 1)) for i in range(n)]

        def time_of(action: Callable[[], object]) -> float:
            def measure():
                start = time.perf_counter()
                action()
                return {"ms": (time.perf_counter() - start) * 1e3}
            return _best_of(3, measure)["ms"]

        rows.append({
            "n": n,
            "f_reverse_ms": time_of(lambda: reverse_autodiff(f, xs)),
            "f_forward_ms": time_of(lambda: forward_autodiff(f, xs)),
            "g_reverse_ms": time_of(lambda: jacobian(gs, [t], mode="reverse")),
            "g_forward_ms": time_of(lambda: jacobian(gs, [t], mode="forward")),
        })
    return rows
