"""Run a scenario (tests/compile_programs.py) on a compiled function and on the recording
engine (tests/compile_oracle.py), call by call, and list where they differ.

Each call is made on the compiled object as a user makes it (its state carries over: the
variants traced so far, the variant that fitted last), and its answer is compared with the
recording engine's at that moment: after the same changes to the names from outside. Points
are chosen to flip branches: the first point, the same again, a fresh one, it negated or
scaled, and the first point with one input replaced by a value the program compared or
read there (and its neighbouring floats), where a guard's outcome changes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import scalargrad as sg
from scalargrad import Scalar
from tests.compile import compile_oracle as oracle
from tests.compile.compile_programs import Scenario, Step

BUFFER_START = 0.25  # what the buffers hold before vjp_into and vjp_batch add to them


@dataclass
class Mismatch:
    kind: str    # "<call>: <what differs>", the class mismatches are counted by
    call: str    # the call, as Python
    got: Any
    want: Any

    def __str__(self) -> str:
        return f"{self.kind}\n    {self.call}\n    compiled:  {self.got!r}\n    recording: {self.want!r}"


@dataclass
class Outcome:
    scenario: Scenario
    calls: int = 0
    mismatches: List[Mismatch] = field(default_factory=list)
    log: List[str] = field(default_factory=list)

    def report(self, kind: Optional[str] = None) -> str:
        """The program, every call made, and the mismatches (of one class, if kind is given,
        the first only): a reproducer to read."""
        first = {(m.kind, m.call): m for m in reversed(self.mismatches) if kind in (None, m.kind)}
        if kind is not None:
            first = dict(list(first.items())[-1:])
        return "\n".join([self.scenario.program.source(),
                          f"cf = sg.compile(f, argnums={_argnums(self.scenario)})", *self.log, "",
                          *map(str, reversed(first.values()))])


def _argnums(scenario: Scenario) -> Optional[List[int]]:
    return None if scenario.argnums is None else list(scenario.argnums)


def run(scenario: Scenario, compile: Callable[..., Any] = sg.compile) -> Outcome:
    """Every call of the scenario on compile(f), each compared with the recording engine."""
    program = scenario.program
    f, namespace = program.build()
    seen: List[Any] = []
    instrumented, _ = program.build(seen)
    oracle.attempt(lambda: instrumented(*oracle.leaves(scenario.base)))  # what the trace compares
    outcome = Outcome(scenario)
    cf = compile(f, argnums=_argnums(scenario))
    previous = scenario.base
    for step in scenario.steps:
        if step.change is not None:
            _change(f, namespace, step.change, outcome.log)
        args = point(step.recipe, scenario.base, seen)
        for call in step.calls:
            _compare(call, cf, f, scenario, args, previous, step, outcome)
        previous = args
    return outcome


# ---------------------------------------------------------------------------------------
# Points and changes.
def _flat(args: Sequence[Any]) -> List[Any]:
    return [v for a in args for v in (a if isinstance(a, list) else [a])]


def _shaped(flat: List[Any], like: Sequence[Any]) -> Tuple[Any, ...]:
    values = iter(flat)
    return tuple([next(values) for _ in a] if isinstance(a, list) else next(values) for a in like)


def _scaled(v: Any, factor: float) -> Any:
    if isinstance(v, int) and abs(v) > 2 ** 1000:  # beyond a float: stays what it is
        return -v if factor < 0 else v
    return v * factor


def _nudged(v: Any, ulps: int) -> Any:
    if not ulps or not isinstance(v, float) or not math.isfinite(v):
        return v
    return math.nextafter(v, math.copysign(math.inf, ulps))


def point(recipe: Tuple[Any, ...], base: Tuple[Any, ...], seen: List[Any]) -> Tuple[Any, ...]:
    """The arguments a step's recipe names (see tests/compile_programs.py: scenarios)."""
    kind = recipe[0]
    flat = _flat(base)
    if kind == "fresh":
        return tuple(recipe[1])
    if kind == "negate":
        flat = [_scaled(v, -1.0) for v in flat]
    elif kind == "scale":
        flat = [_scaled(v, recipe[1]) for v in flat]
    elif kind == "trace" and seen and flat:
        value = seen[recipe[1] % len(seen)]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[recipe[2] % len(flat)] = _nudged(value, recipe[3])
    return _shaped(flat, base)


def _change(f: Any, namespace: Dict[str, Any], change: Tuple[str, str, float], log: List[str]) -> None:
    """Set or rebind a Scalar from outside f (C<k> a cell, W<k> an item of W, G<k> a global)."""
    how, name, value = change
    cells = dict(zip(f.__code__.co_freevars, f.__closure__ or ()))
    if name.startswith("C"):
        if name not in cells:
            return
        holder, key, shown = None, name, name
        current = cells[name].cell_contents
    elif name.startswith("W"):
        if "W" not in cells:
            return
        holder, key, shown = cells["W"].cell_contents, int(name[1:]), f"W[{name[1:]}]"
        current = holder[key]
    else:
        holder, key, shown = namespace, name, name
        current = namespace[name]
    if how == "set":
        current.value = float(value)
        log.append(f"{shown}.value = {value!r}")
        return
    replacement = Scalar(value)
    if holder is None:
        cells[key].cell_contents = replacement
        log.append(f"{shown} = Scalar({value!r})  # rebound in make()")
    else:
        holder[key] = replacement
        log.append(f"{shown} = Scalar({value!r})")


# ---------------------------------------------------------------------------------------
# Calls.
def _buffers(f_args: Sequence[Any], positions: List[int]) -> List[List[float]]:
    return [[BUFFER_START] * len(f_args[i]) for i in positions if isinstance(f_args[i], list)]


def _text(args: Sequence[Any]) -> str:
    return ", ".join(map(repr, args))


def _compare(call: str, cf: Any, f: Any, scenario: Scenario, args: Tuple[Any, ...],
             previous: Tuple[Any, ...], step: Step, outcome: Outcome) -> None:
    argnums = scenario.argnums
    positions = oracle.positions(argnums, len(args))
    seed = scenario.seed
    if call == "call":
        _check(outcome, call, f"cf({_text(args)})", oracle.attempt(lambda: cf(*args)), oracle.value(f, args))
    elif call == "value_and_grad" and scenario.program.outputs == 1:
        _check(outcome, call, f"cf.value_and_grad({_text(args)})",
               oracle.attempt(lambda: cf.value_and_grad(*args)), oracle.value_and_grad(f, args, argnums))
    elif call == "jacobian":
        _check(outcome, call, f"cf.jacobian({_text(args)})",
               oracle.attempt(lambda: cf.jacobian(*args)), oracle.jacobian(f, args, argnums))
    elif call == "vjp_into":
        buffers = _buffers(args, positions)
        want = oracle.vjp_into(f, buffers, seed, args, argnums)
        text = f"cf.vjp_into({buffers!r}, {seed!r}, {_text(args)})"
        got = oracle.attempt(lambda: cf.vjp_into(buffers, seed, *args))
        if isinstance(want, oracle.Raised):
            _check(outcome, call, text, (got, buffers), (want, _buffers(args, positions)))
        else:
            _check(outcome, call, text, (got, buffers), want)
    elif call == "vjp_batch":
        lists = [i for i in positions if isinstance(args[i], list)]
        if len(lists) != len(positions):  # only lists among the shared arguments are differentiated
            return
        shared = max(positions) + 1
        others = [args, previous, point(("negate",), args, [])][:step.batch]
        examples = [list(other[shared:]) for other in others]
        buffers = _buffers(args, positions)
        want = oracle.vjp_batch(f, buffers, seed, args[:shared], examples, argnums)
        text = f"cf.vjp_batch({buffers!r}, {seed!r}, {list(args[:shared])!r}, {examples!r})"
        got = oracle.attempt(lambda: cf.vjp_batch(buffers, seed, list(args[:shared]), examples))
        if isinstance(want, oracle.Raised):
            _check(outcome, call, text, (got, buffers), (want, _buffers(args, positions)))
        else:
            _check(outcome, call, text, (got, buffers), want[:2], want[2])
    else:
        return
    outcome.calls += 1


def _check(outcome: Outcome, call: str, text: str, got: Any, want: Any, bounds: Any = None) -> None:
    """Compare; log the call and record a mismatch, classified by what differs."""
    kind = classify(call, got, want, bounds)
    outcome.log.append(text + ("" if kind is None else f"   # MISMATCH: {kind}"))
    if kind is not None:
        outcome.mismatches.append(Mismatch(kind, text, got, want))


def classify(call: str, got: Any, want: Any, bounds: Any = None) -> Optional[str]:
    """None if got is want (the recording engine's answer); else the class of the mismatch.
    For vjp calls got and want are (answer, buffers after)."""
    buffered = call.startswith("vjp")
    answer, wanted = (got[0], want[0]) if buffered else (got, want)
    if isinstance(wanted, oracle.Raised):
        if not isinstance(answer, oracle.Raised):
            return f"{call}: error dropped ({wanted.type.__name__})"
        if answer != wanted:
            return f"{call}: another error ({answer.type.__name__} for {wanted.type.__name__})"
        if buffered and not oracle.same(got[1], want[1]):
            return f"{call}: buffers touched by a call that raised"
        return None
    if isinstance(answer, oracle.Raised):
        return f"{call}: {answer.type.__name__} raised"
    if not oracle.same(answer, wanted):
        if not _all_floats(answer):
            return f"{call}: not a float"
        if call == "jacobian" or (call == "value_and_grad" and isinstance(answer, tuple) and len(answer) == 2
                                  and oracle.same(answer[0], wanted[0])):
            return f"{call}: wrong derivative"
        return f"{call}: wrong value"
    if buffered:
        ok = oracle.same(got[1], want[1]) if bounds is None else oracle.close(got[1], want[1], bounds)
        if not ok:
            return f"{call}: wrong gradient"
    return None


def _all_floats(x: Any) -> bool:
    if isinstance(x, (list, tuple)):
        return all(_all_floats(v) for v in x)
    return type(x) is float


class Recorded:
    """A stand-in for a compiled function that answers every call with the recording engine,
    as scalargrad.compile promises to: the harness must find nothing wrong with it."""

    def __init__(self, function, argnums=None):
        self.function, self.argnums = function, argnums

    @staticmethod
    def _answer(result):
        if isinstance(result, oracle.Raised):
            raise result.type(result.message)
        return result

    def __call__(self, *args):
        return self._answer(oracle.value(self.function, args))

    def value_and_grad(self, *args):
        return self._answer(oracle.value_and_grad(self.function, args, self.argnums))

    def jacobian(self, *args):
        return self._answer(oracle.jacobian(self.function, args, self.argnums))

    def vjp_into(self, buffers, seed, *args):
        outputs, after = self._answer(oracle.vjp_into(self.function, buffers, seed, args, self.argnums))
        for buffer, new in zip(buffers, after):
            buffer[:] = new
        return outputs

    def vjp_batch(self, buffers, seed, shared, examples):
        outputs, after, _ = self._answer(oracle.vjp_batch(self.function, buffers, seed, shared, examples,
                                                          self.argnums))
        for buffer, new in zip(buffers, after):
            buffer[:] = new
        return outputs
