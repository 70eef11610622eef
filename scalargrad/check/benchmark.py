"""Measurements behind `scalargrad bench`: plain functions returning numbers, no display.

The workloads are op-by-op scalar code as micrograd users write it (one node per operation,
Python's sum over generators), run four ways in the same process: on scalargrad's Scalars,
on micrograd's Values when micrograd is installed (extended with exp, log, tanh and sin in
its own style), on FloorNodes (one object per operation recording only what a backward
needs, and no backward: the floor under any engine of that design), and on plain floats (no
derivatives at all). The cycle collector is left on, as in user code, unless a measurement
says otherwise. Timings take the best of a few repeats, the least noisy estimate on a shared
machine; ratios within one run are what to compare across machines.
"""
from __future__ import annotations

import gc
import math
import random
import time
import tracemalloc
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..core import functions
from ..core.autodiff import forward_autodiff, jacobian, reverse_autodiff
from ..core.scalar import cycle_collector_paused
from ..core.scalar import Scalar

INPUTS, HIDDEN, CLASSES = 49, 32, 10


# ---------------------------------------------------------------------------------------
# The workloads, written once against a small "number system": how to make a variable, the
# functions, and how to differentiate (None for floats).
class NumberSystem:
    def __init__(self, name: str, make: Callable[[float], Any], exp: Callable, log: Callable,
                 tanh: Callable, sin: Callable,
                 backward: Optional[Callable[[Any, List[Any]], Any]]) -> None:
        self.name, self.make = name, make
        self.exp, self.log, self.tanh, self.sin = exp, log, tanh, sin
        self.backward = backward


def _value(v: Any) -> float:
    return v if v.__class__ is float else (v.value if hasattr(v, "value") else v.data)


def poly(system: NumberSystem, x: Any) -> Any:
    return 2 * x ** 2 + 4 * x + 3


def chain(system: NumberSystem, x: Any, operations: int) -> Any:
    tanh, sin = system.tanh, system.sin
    for _ in range(operations // 4):
        x = sin(tanh(x * 0.999 + 0.001))
    return x


def forward(system: NumberSystem, layers: Sequence[Tuple[Sequence[Sequence[Any]], Sequence[Any]]],
            pixels: Sequence[Any]) -> List[Any]:
    """The workloads' model, written once: each layer's rows times x plus its bias (Python's
    sum over a generator, as micrograd's MLP writes a layer), tanh between layers."""
    x = list(pixels)
    for k, (weights, biases) in enumerate(layers):
        x = [sum((w * v for w, v in zip(row, x)), b) for row, b in zip(weights, biases)]
        if k < len(layers) - 1:
            x = [system.tanh(v) for v in x]
    return x


def softmax_regression(system: NumberSystem, weights: Sequence[Sequence[Any]], biases: Sequence[Any],
                       pixels: Sequence[float], label: int) -> Any:
    """Cross-entropy of one example, logits = W x + b."""
    return _cross_entropy(system, forward(system, [(weights, biases)], pixels), label)


def mlp(system: NumberSystem, layers: Sequence[Any], pixels: Sequence[float], label: int) -> Any:
    return _cross_entropy(system, forward(system, layers, pixels), label)


def _cross_entropy(system: NumberSystem, logits: List[Any], label: int) -> Any:
    top = max(_value(v) for v in logits)
    return system.log(sum(system.exp(v - top) for v in logits)) + top - logits[label]


# ---------------------------------------------------------------------------------------
# The four number systems.
def scalargrad_system() -> NumberSystem:
    return NumberSystem("scalargrad", Scalar, functions.exp, functions.log, functions.tanh,
                        functions.sin, lambda y, xs: reverse_autodiff(y, xs))


def float_system() -> NumberSystem:
    return NumberSystem("floats", float, math.exp, math.log, math.tanh, math.sin, None)


def micrograd_system() -> Optional[NumberSystem]:
    """micrograd's Value with exp, log, tanh and sin added in its own style (a closure per
    node), if micrograd is installed; else None. Its backward recurses, so deep graphs need
    a raised recursion limit (set here for the duration of the benchmark)."""
    try:
        from micrograd.engine import Value  # untyped, or absent: see pyproject's mypy override
    except ImportError:
        return None

    def unary(function: Callable[[float], float],
              derivative: Callable[[float, float], float]) -> Callable[[Any], Any]:
        def apply(x: Any) -> Any:
            out = Value(function(x.data), (x,), function.__name__)

            def _backward() -> None:
                x.grad += derivative(x.data, out.data) * out.grad
            out._backward = _backward
            return out
        return apply

    def backward(y: Any, xs: List[Any]) -> None:
        y.backward()

    return NumberSystem("micrograd", Value, unary(math.exp, lambda x, out: out),
                        unary(math.log, lambda x, out: 1 / x),
                        unary(math.tanh, lambda x, out: 1 - out * out),
                        unary(math.sin, lambda x, out: math.cos(x)), backward)


_new = object.__new__


class FloorNode:
    """One Python object per operation and nothing more: the floor under any engine that
    records that way (scalargrad's Scalar, micrograd's Value).

    A node keeps what a reverse-mode engine must keep to differentiate later: its value, its
    parents (a; b too when both operands are nodes) and the partials with respect to them
    (da, db), in slots. Each operator and function computes those and allocates one node: no
    rule, no tape, no checks beyond telling a node from a number, and no backward (None, as
    for floats). So its build time bounds from below the build of any such engine, and
    micrograd's total over it the ×micrograd one could reach even with a free backward.
    Exponents are numbers, as in micrograd.
    """

    __slots__ = ("value", "a", "da", "b", "db")
    value: float
    a: FloorNode
    da: float
    b: FloorNode
    db: float

    def __init__(self, value: float) -> None:
        self.value = value

    def __add__(self, other: Any) -> FloorNode:
        n = _new(FloorNode)
        if other.__class__ is FloorNode:
            n.value, n.b, n.db = self.value + other.value, other, 1.0
        else:
            n.value = self.value + other
        n.a, n.da = self, 1.0
        return n

    __radd__ = __add__

    def __sub__(self, other: Any) -> FloorNode:
        n = _new(FloorNode)
        if other.__class__ is FloorNode:
            n.value, n.b, n.db = self.value - other.value, other, -1.0
        else:
            n.value = self.value - other
        n.a, n.da = self, 1.0
        return n

    def __rsub__(self, other: float) -> FloorNode:
        n = _new(FloorNode)
        n.value, n.a, n.da = other - self.value, self, -1.0
        return n

    def __mul__(self, other: Any) -> FloorNode:
        n = _new(FloorNode)
        if other.__class__ is FloorNode:
            n.value, n.b, n.db = self.value * other.value, other, self.value
            n.da = other.value
        else:
            n.value, n.da = self.value * other, other
        n.a = self
        return n

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> FloorNode:
        n = _new(FloorNode)
        if other.__class__ is FloorNode:
            n.value = out = self.value / other.value
            n.da, n.b, n.db = 1 / other.value, other, -out / other.value
        else:
            n.value, n.da = self.value / other, 1 / other
        n.a = self
        return n

    def __rtruediv__(self, other: float) -> FloorNode:
        n = _new(FloorNode)
        n.value = out = other / self.value
        n.a, n.da = self, -out / self.value
        return n

    def __pow__(self, other: float) -> FloorNode:
        n = _new(FloorNode)
        n.value, n.a, n.da = self.value ** other, self, other * self.value ** (other - 1)
        return n

    def __rpow__(self, other: float) -> FloorNode:
        n = _new(FloorNode)
        n.value = out = other ** self.value
        n.a, n.da = self, out * math.log(other)
        return n

    def __neg__(self) -> FloorNode:
        n = _new(FloorNode)
        n.value, n.a, n.da = -self.value, self, -1.0
        return n


def _floor_exp(x: FloorNode) -> FloorNode:
    n = _new(FloorNode)
    n.value = n.da = math.exp(x.value)
    n.a = x
    return n


def _floor_log(x: FloorNode) -> FloorNode:
    n = _new(FloorNode)
    n.value, n.a, n.da = math.log(x.value), x, 1 / x.value
    return n


def _floor_tanh(x: FloorNode) -> FloorNode:
    n = _new(FloorNode)
    n.value = out = math.tanh(x.value)
    n.a, n.da = x, 1 - out * out
    return n


def _floor_sin(x: FloorNode) -> FloorNode:
    n = _new(FloorNode)
    n.value, n.a, n.da = math.sin(x.value), x, math.cos(x.value)
    return n


def floor_system() -> NumberSystem:
    return NumberSystem("floor", FloorNode, _floor_exp, _floor_log, _floor_tanh, _floor_sin, None)


# The floor is measured before micrograd, whose graphs (cycles through closures) leave
# garbage for the cycle collector: a floor measured on a clean heap is the lower bound.
SYSTEMS = {"scalargrad": scalargrad_system, "floor": floor_system, "micrograd": micrograd_system,
           "floats": float_system}


# ---------------------------------------------------------------------------------------
# Timing a workload.
def _data(seed: int = 0, examples: int = 20) -> Dict[str, Any]:
    rng = random.Random(seed)

    def matrix(rows: int, cols: int) -> List[List[float]]:
        return [[rng.gauss(0.0, 0.1) for _ in range(cols)] for _ in range(rows)]

    return {"dense": (matrix(CLASSES, INPUTS), [0.0] * CLASSES),
            "mlp": ((matrix(HIDDEN, INPUTS), [0.0] * HIDDEN), (matrix(CLASSES, HIDDEN), [0.0] * CLASSES)),
            "examples": [([rng.random() for _ in range(INPUTS)], rng.randrange(CLASSES))
                         for _ in range(examples)]}


def _timed(build: Callable[[], Any], backward: Optional[Callable[[Any], Any]], repeats: int,
           units: int) -> Dict[str, float]:
    """Best µs per unit of work to build and to differentiate, each unit's graph built and
    differentiated before the next one is built, as in a training loop (timing a loop of
    builds alone would measure something else: graphs piling up)."""
    clock = time.perf_counter
    best_build = best_backward = math.inf
    for _ in range(repeats):
        building = differentiating = 0.0
        for _ in range(units):
            start = clock()
            out = build()
            built = clock()
            if backward is not None:
                backward(out)
            differentiating += clock() - built
            building += built - start
            del out
        best_build, best_backward = min(best_build, building), min(best_backward, differentiating)
    per_unit = 1e6 / units
    return {"build_us": best_build * per_unit, "backward_us": best_backward * per_unit,
            "total_us": (best_build + best_backward) * per_unit}


def workload(name: str, system_name: str, repeats: int = 5,
             quick: bool = False) -> Optional[Dict[str, float]]:
    """µs per unit of work (per example, per polynomial, per chain) to build and to
    differentiate, for one workload on one number system; None if it is not installed."""
    system = SYSTEMS[system_name]()
    if system is None:
        return None
    data = _data()
    make, differentiate = system.make, system.backward
    examples = data["examples"][: 5 if quick else 20]
    units = len(examples)
    if name == "poly":
        units = 1000 if quick else 10_000
        x = make(3.0)
        build: Callable[[], Any] = lambda: poly(system, x)  # noqa: E731
        inputs = [x]
    elif name == "chain":
        operations, units = (10_000 if quick else 100_000), 1
        x = make(0.5)
        build = lambda: chain(system, x, operations)  # noqa: E731
        inputs = [x]
    elif name == "dense":
        weights = [[make(v) for v in row] for row in data["dense"][0]]
        biases = [make(v) for v in data["dense"][1]]
        inputs = [w for row in weights for w in row] + biases
        cycle = _cycle(examples)
        build = lambda: softmax_regression(system, weights, biases, *next(cycle))  # noqa: E731
    elif name == "mlp":
        layers = [([[make(v) for v in row] for row in w], [make(v) for v in b]) for w, b in data["mlp"]]
        inputs = [p for w, b in layers for row in w for p in row] + [p for _, b in layers for p in b]
        cycle = _cycle(examples)
        build = lambda: mlp(system, layers, *next(cycle))  # noqa: E731
    else:
        raise ValueError(f"unknown workload {name!r}")
    backward = None if differentiate is None else lambda y: differentiate(y, inputs)
    measure = lambda: _timed(build, backward, repeats, units)  # noqa: E731
    if system_name == "micrograd" and name == "chain":
        return _deep_micrograd(measure)
    return measure()


def _cycle(examples: List[Any]) -> Any:
    while True:
        yield from examples


def _deep_micrograd(measure: Callable[[], Dict[str, float]]) -> Dict[str, float]:
    """micrograd's recursive backward on a deep chain: a raised limit and a big thread stack."""
    import sys
    import threading
    result: Dict[str, float] = {}
    limit = sys.getrecursionlimit()
    size = threading.stack_size(512 * 1024 * 1024)
    sys.setrecursionlimit(1_000_000)
    try:
        thread = threading.Thread(target=lambda: result.update(measure()))
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(size)
    return result


# ---------------------------------------------------------------------------------------
# The same workloads compiled (scalargrad.compile): value and gradient from generated code.
COMPILED_WORKLOADS = ("poly", "dense", "mlp")


def _flat_softmax_regression(params: List[Any], pixels: List[Any], target: List[Any]) -> Any:
    """softmax_regression with its weights in one list and the label one-hot (data, not an
    index: a compiled function takes numbers and lists of numbers)."""
    system = scalargrad_system()
    weights = [params[k * INPUTS:(k + 1) * INPUTS] for k in range(CLASSES)]
    layers = [(weights, params[CLASSES * INPUTS:])]
    return _one_hot_cross_entropy(system, forward(system, layers, pixels), target)


def _flat_mlp(params: List[Any], pixels: List[Any], target: List[Any]) -> Any:
    system = scalargrad_system()
    first, second = HIDDEN * INPUTS, HIDDEN * INPUTS + CLASSES * HIDDEN
    w1 = [params[k * INPUTS:(k + 1) * INPUTS] for k in range(HIDDEN)]
    w2 = [params[first + k * HIDDEN:first + (k + 1) * HIDDEN] for k in range(CLASSES)]
    layers = [(w1, params[second:second + HIDDEN]), (w2, params[second + HIDDEN:])]
    return _one_hot_cross_entropy(system, forward(system, layers, pixels), target)


def _one_hot_cross_entropy(system: NumberSystem, logits: List[Any], target: List[Any]) -> Any:
    # A constant shift: any shift gives the same loss while exp() does not overflow, as on
    # these small logits. (Shifting by the largest logit, as _cross_entropy does, would read
    # the logits' values: compiled, a guard, and a new trace for every example.)
    top = 0.0
    return system.log(sum(system.exp(v - top) for v in logits)) + top - functions.dot(target, logits)


def compiled_workload(name: str, repeats: int = 5, quick: bool = False) -> Dict[str, float]:
    """µs per unit of work for value and gradient by scalargrad.compile (traced once first)."""
    from ..compile import compile as compile_function
    data = _data()
    examples = data["examples"][: 5 if quick else 20]
    targets = [[1.0 if k == label else 0.0 for k in range(CLASSES)] for _, label in examples]
    if name == "poly":
        compiled = compile_function(lambda x: poly(scalargrad_system(), x))
        calls: List[Tuple[Any, ...]] = [(3.0,)] * (1000 if quick else 10_000)
    elif name in ("dense", "mlp"):
        if name == "dense":
            weights, biases = data["dense"]
            params = [w for row in weights for w in row] + list(biases)
            compiled = compile_function(_flat_softmax_regression, argnums=[0])
        else:
            (w1, b1), (w2, b2) = data["mlp"]
            params = [w for row in w1 for w in row] + [w for row in w2 for w in row] + list(b1) + list(b2)
            compiled = compile_function(_flat_mlp, argnums=[0])
        calls = [(params, pixels, target) for (pixels, _), target in zip(examples, targets)]
    else:
        raise ValueError(f"no compiled workload {name!r}")
    compiled.value_and_grad(*calls[0])  # the trace, not timed
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for args in calls:
            compiled.value_and_grad(*args)
        best = min(best, time.perf_counter() - start)
    return {"total_us": best / len(calls) * 1e6}


WORKLOADS = ("poly", "chain", "dense", "mlp")


def workloads(quick: bool = False,
              progress: Callable[[str], None] = lambda name: None) -> Dict[str, Dict[str, Any]]:
    """Every workload on every installed number system, plus the ratios the targets use."""
    results: Dict[str, Dict[str, Any]] = {}
    for name in WORKLOADS:
        row: Dict[str, Any] = {}
        for system_name in SYSTEMS:
            progress(f"{name} on {system_name}")
            row[system_name] = workload(name, system_name, repeats=3 if quick else 5, quick=quick)
        ours = row["scalargrad"]
        if name in COMPILED_WORKLOADS:
            progress(f"{name} compiled")
            row["compiled"] = compiled_workload(name, repeats=3 if quick else 5, quick=quick)
            row["compiled_vs_recording"] = ours["total_us"] / row["compiled"]["total_us"]
            row["compiled_vs_floats"] = row["compiled"]["total_us"] / row["floats"]["total_us"]
        row["backward_share"] = ours["backward_us"] / ours["total_us"]
        row["vs_floats"] = ours["total_us"] / row["floats"]["total_us"]
        if row["micrograd"] is not None:
            row["vs_micrograd"] = row["micrograd"]["total_us"] / ours["total_us"]
            # the most ×micrograd any one-object-per-operation engine could show: a free backward
            row["floor_vs_micrograd"] = row["micrograd"]["total_us"] / row["floor"]["build_us"]
        results[name] = row
    return results


def collector_share(name: str = "chain", quick: bool = False) -> Dict[str, float]:
    """µs for one workload with the cycle collector on and paused: what it costs."""
    on = workload(name, "scalargrad", quick=quick)
    with cycle_collector_paused():
        paused = workload(name, "scalargrad", quick=quick)
    assert on is not None and paused is not None
    return {"on_us": on["total_us"], "paused_us": paused["total_us"],
            "share": 1 - paused["total_us"] / on["total_us"]}


# ---------------------------------------------------------------------------------------
# Memory, depth, and the two modes.
def bytes_per_node(n: int = 100_000) -> float:
    """Memory held by a recorded chain, per node (tracemalloc: every allocation counted)."""
    gc.collect()
    x = Scalar(1.0)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = x
        for _ in range(n):
            y = y * 1.000001
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
        y = x
        for _ in range(n // 2):
            y = y * 1.000001
            y = y + 0.5
        built = time.perf_counter()
        reverse_autodiff(y, x)
        reversed_ = time.perf_counter()
        forward_autodiff(y, x)
        forwarded = time.perf_counter()
        del y
    return {"nodes": n, "build_s": built - start, "reverse_s": reversed_ - built,
            "forward_s": forwarded - reversed_}


def mode_scaling(sizes: Sequence[int] = (1, 4, 16, 64, 256), trunk: int = 20) -> List[Dict[str, float]]:
    """Forward vs reverse mode for f: R^n -> R and g: R -> R^n (ms for the whole derivative).

    Both functions share a trunk of `trunk` operations between inputs and outputs, so a
    sweep costs about the size of the graph: f needs n forward sweeps but one reverse sweep,
    g needs n reverse sweeps but one forward sweep.
    """
    rows = []
    system = scalargrad_system()
    for n in sizes:
        xs = [Scalar(0.1 * (i + 1)) for i in range(n)]
        f = chain(system, functions.sum([functions.sin(xs[i]) * xs[(i + 1) % n] for i in range(n)]), trunk)
        t = Scalar(0.3)
        h = chain(system, t, trunk)
        gs = [functions.sin(h * (i + 1)) for i in range(n)]

        def time_of(action: Callable[[], object]) -> float:
            best = math.inf
            for _ in range(3):
                start = time.perf_counter()
                action()
                best = min(best, time.perf_counter() - start)
            return best * 1e3

        rows.append({  # partial, not lambda: each action holds this n's graph, not the loop's
            "n": n,
            "f_reverse_ms": time_of(partial(reverse_autodiff, f, xs)),
            "f_forward_ms": time_of(partial(forward_autodiff, f, xs)),
            "g_reverse_ms": time_of(partial(jacobian, gs, [t], mode="reverse")),
            "g_forward_ms": time_of(partial(jacobian, gs, [t], mode="forward")),
        })
    return rows
