"""Optimizers: update parameter Scalars in place from lists of float gradients.

The formulas follow PyTorch's conventions, so results can be compared with it:

- SGD: g = grad + weight_decay * p; with momentum, v = momentum * v + g and p -= lr * v,
  otherwise p -= lr * g.
- Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr * m_hat / (sqrt(v_hat) + eps),
  with the bias corrections m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) at step t.

An optimizer's state (hyperparameters, step count, velocities or moments) is a plain
JSON-serialisable dict, so training can be saved and resumed exactly.

Every update is computed on floats, in flat lists (``_updated``: one list comprehension per
formula, which CPython runs about a third faster than a loop over Scalars). ``step`` applies
it to the parameter Scalars; ``step_values`` to values kept as plain floats (an optimizer
made over a number of values rather than Scalars: the training path of
scalargrad.train.slices, where no Scalar is touched between a gradient and the next).

A ``Schedule`` gives the learning rate of every step (warm-up, then constant, cosine or
onecycle) as a pure function of how many steps were taken before it; a training loop
passes it to each step: ``optimizer.step(grads, lr=schedule.rate(optimizer.steps))``.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .core.scalar import Scalar


def _real(x: Any) -> bool:
    """A real number given as an int or float (a bool, text or None is not one here)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class Optimizer:
    """Shared machinery: the parameters, the step count, and state checks."""

    HYPERPARAMETERS: Tuple[str, ...] = ("lr",)
    BUFFERS: Tuple[str, ...] = ()  # per-parameter state lists, by attribute name

    def __init__(self, parameters: Union[Sequence[Scalar], int], lr: float) -> None:
        """Over these parameter Scalars, or over ``parameters`` values held elsewhere as
        floats (a whole number: then only step_values updates them)."""
        if isinstance(parameters, int):
            _require(not isinstance(parameters, bool) and parameters >= 0,
                     f"{type(self).__name__}: the number of values must be a whole number "
                     f">= 0, got {parameters!r}")
            self.parameters: List[Scalar] = []
            self.size = parameters
        else:
            self.parameters = list(parameters)
            self.size = len(self.parameters)
            for p in self.parameters:
                if not isinstance(p, Scalar):
                    raise TypeError(f"{type(self).__name__}: parameters must be Scalars, "
                                    f"got {type(p).__name__}")
        _require(_real(lr) and 0 < lr < math.inf,
                 f"{type(self).__name__}: lr must be a positive finite number, got {lr!r}")
        self.lr = float(lr)
        self.steps = 0

    def step(self, grads: Sequence[float], lr: Optional[float] = None) -> None:
        """Update every parameter's value from its gradient (same order as the parameters),
        with the learning rate ``lr`` for this step only if given (a Schedule's rate: a
        finite number >= 0), otherwise ``self.lr``."""
        if self.size and not self.parameters:
            raise TypeError(f"{type(self).__name__}.step: this optimizer holds no Scalars "
                            f"(it was made over {self.size} values): use step_values")
        values = self.step_values([p._value for p in self.parameters], grads, lr)
        for p, value in zip(self.parameters, values):
            p._value = value

    def step_values(self, values: Sequence[float], grads: Sequence[float],
                    lr: Optional[float] = None) -> List[float]:
        """One step, as ``step``, on parameter values given as floats: the new values (the
        optimizer's own state is updated in place)."""
        for what, items in (("gradients", grads), ("values", values)):
            if len(items) != self.size:
                raise ValueError(f"{type(self).__name__}.step: {len(items)} {what} for "
                                 f"{self.size} parameters")
        if lr is None:
            lr = self.lr
        else:
            _require(_real(lr) and 0 <= lr < math.inf,
                     f"{type(self).__name__}.step: lr must be a finite number >= 0, got {lr!r}")
        self.steps += 1
        return self._updated(list(values), list(grads), float(lr))

    def _updated(self, values: List[float], grads: List[float], lr: float) -> List[float]:
        raise NotImplementedError

    def state_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable copy of the state: type, hyperparameters, steps, buffers."""
        state: Dict[str, Any] = {"type": type(self).__name__, "steps": self.steps}
        for key in self.HYPERPARAMETERS:
            value = getattr(self, key)
            state[key] = list(value) if isinstance(value, tuple) else value
        for key in self.BUFFERS:
            state[key] = list(getattr(self, key))
        return state

    @classmethod
    def check_state(cls, state: Any, parameters: int) -> None:
        """ValueError unless ``state`` is a state_dict() of this kind of optimizer over
        ``parameters`` parameters: every key present, hyperparameters the constructor
        accepts, a whole step count, buffers of finite numbers, one per parameter."""
        name = cls.__name__
        _require(isinstance(state, dict), f"{name}: the state must be a dict, "
                                          f"not {type(state).__name__}")
        _require(state.get("type") == name, f"{name}: the state is for {state.get('type')!r}")
        missing = [key for key in ("steps", *cls.HYPERPARAMETERS, *cls.BUFFERS) if key not in state]
        _require(not missing, f"{name}: the state lacks {', '.join(missing)}")
        cls([], **{key: state[key] for key in cls.HYPERPARAMETERS})  # the constructor's checks
        steps = state["steps"]
        _require(type(steps) is int and steps >= 0,
                 f"{name}: steps must be a whole number >= 0, got {steps!r}")
        for key in cls.BUFFERS:
            buffer = state[key]
            _require(isinstance(buffer, list), f"{name}: {key} must be a list, "
                                               f"not {type(buffer).__name__}")
            _require(len(buffer) == parameters,
                     f"{name}: {key} has {len(buffer)} entries for {parameters} parameters")
            bad = [x for x in buffer if not (_real(x) and math.isfinite(x))]
            _require(not bad, f"{name}: {key} must hold finite numbers, got {bad[:1]}")

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state_dict() made by the same kind of optimizer over as many parameters;
        ValueError, with nothing changed, if ``state`` is not one (see check_state)."""
        self.check_state(state, self.size)
        for key in self.HYPERPARAMETERS:
            value = state[key]
            value = tuple(map(float, value)) if isinstance(value, list) else float(value)
            setattr(self, key, value)
        for key in self.BUFFERS:
            getattr(self, key)[:] = [float(x) for x in state[key]]
        self.steps = state["steps"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay."""

    HYPERPARAMETERS = ("lr", "momentum", "weight_decay")
    BUFFERS = ("velocities",)

    def __init__(self, parameters: Union[Sequence[Scalar], int], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(parameters, lr)
        _require(_real(momentum) and 0.0 <= momentum < 1.0,
                 f"SGD: momentum must be in [0, 1), got {momentum!r}")
        _require(_real(weight_decay) and 0.0 <= weight_decay < math.inf,
                 f"SGD: weight_decay must be a finite number >= 0, got {weight_decay!r}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.velocities = [0.0] * self.size

    def _updated(self, values: List[float], grads: List[float], lr: float) -> List[float]:
        if self.weight_decay:
            decay = self.weight_decay
            grads = [g + decay * p for p, g in zip(values, grads)]
        if self.momentum:
            mu = self.momentum
            grads = self.velocities = [mu * v + g for v, g in zip(self.velocities, grads)]
        return [p - lr * g for p, g in zip(values, grads)]


class Adam(Optimizer):
    """Adam with bias-corrected first and second moments."""

    HYPERPARAMETERS = ("lr", "betas", "eps")
    BUFFERS = ("first_moments", "second_moments")

    def __init__(self, parameters: Union[Sequence[Scalar], int], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(parameters, lr)
        _require(isinstance(betas, (list, tuple)) and len(betas) == 2
                 and all(_real(b) and 0.0 <= b < 1.0 for b in betas),
                 f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        _require(_real(eps) and 0 < eps < math.inf,
                 f"Adam: eps must be a positive finite number, got {eps!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.first_moments = [0.0] * self.size
        self.second_moments = [0.0] * self.size

    @classmethod
    def check_state(cls, state: Any, parameters: int) -> None:
        """As Optimizer.check_state; second moments are also never negative."""
        super().check_state(state, parameters)
        negative = [x for x in state["second_moments"] if x < 0]
        _require(not negative, f"Adam: second_moments must not be negative, got {negative[:1]}")

    def _updated(self, values: List[float], grads: List[float], lr: float) -> List[float]:
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1, 1.0 - b2
        m_correction = 1.0 - b1 ** self.steps
        v_correction = 1.0 - b2 ** self.steps
        eps, sqrt = self.eps, math.sqrt
        m = self.first_moments = [b1 * m + c1 * g for m, g in zip(self.first_moments, grads)]
        v = self.second_moments = [b2 * v + c2 * g * g
                                   for v, g in zip(self.second_moments, grads)]
        return [p - lr * (a / m_correction) / (sqrt(b / v_correction) + eps)
                for p, a, b in zip(values, m, v)]


# An optimisation whose loss grows to more than this many times its first value (or a floor)
# has diverged, even if every number is still finite (scalargrad.training, scalargrad.linefit).
DIVERGENCE_FACTOR = 1e6

OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9  # for "momentum": the usual choice, and what the CLIs offer by name


def make_optimizer(name: str, parameters: Union[Sequence[Scalar], int], lr: float) -> Optimizer:
    """An optimizer by the name the command line uses: sgd, momentum (SGD with 0.9) or adam."""
    if name == "sgd":
        return SGD(parameters, lr)
    if name == "momentum":
        return SGD(parameters, lr, momentum=MOMENTUM)
    if name == "adam":
        return Adam(parameters, lr)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")


SCHEDULES = ("constant", "cosine", "onecycle")


class Schedule:
    """The learning rate of every step of a run planned to take ``steps`` steps.

    ``rate(done)`` is the rate of the step taken after ``done`` steps (0 for the first; an
    optimizer's ``steps`` before it), a pure function of ``done`` and the hyperparameters,
    so a resumed run gets the same rates to the last bit. The first ``warmup`` steps rise
    linearly to ``lr`` (lr/warmup, 2 lr/warmup, ..., lr); then, over the n = steps - warmup
    steps after them, with p = (done - warmup) / n going from 0 towards 1:

    - constant: lr (without warm-up, exactly the optimizer's plain steps);
    - cosine: lr (1 + cos(pi p)) / 2, the half cosine from lr towards 0;
    - onecycle: lr (1 - p), a straight fall towards 0 (the rate part of Smith's 1cycle: a
      triangle whose rising side is the warm-up).

    Past the planned steps cosine and onecycle give 0 (constant still lr). The state is
    the hyperparameters only (state_dict / load_state_dict), as checkpoints need.

    Examples:
        >>> schedule = Schedule("cosine", lr=0.01, steps=100, warmup=10)
        >>> [schedule.rate(done) for done in (0, 9, 10, 55, 100)]
        [0.001, 0.01, 0.01, 0.005, 0.0]
    """

    KEYS = ("kind", "lr", "steps", "warmup")

    def __init__(self, kind: str, lr: float, steps: int, warmup: int = 0) -> None:
        self.check_state({"kind": kind, "lr": lr, "steps": steps, "warmup": warmup})
        self.kind, self.lr, self.steps, self.warmup = kind, float(lr), steps, warmup

    def rate(self, done: int) -> float:
        """The learning rate of the step taken after ``done`` steps (a whole number >= 0)."""
        _require(type(done) is int and done >= 0,
                 f"Schedule.rate: done must be a whole number >= 0, got {done!r}")
        lr, warmup = self.lr, self.warmup
        if done < warmup:
            return lr * (done + 1) / warmup
        if self.kind == "constant":
            return lr
        if done >= self.steps:
            return 0.0
        p = (done - warmup) / (self.steps - warmup)
        if self.kind == "cosine":
            return lr * (1.0 + math.cos(math.pi * p)) / 2.0
        return lr * (1.0 - p)

    def state_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable copy of the hyperparameters."""
        return {key: getattr(self, key) for key in self.KEYS}

    @classmethod
    def check_state(cls, state: Any) -> None:
        """ValueError naming the first problem unless ``state`` is a schedule's state_dict():
        a known kind, a positive finite lr, whole numbers 1 <= steps and 0 <= warmup <= steps."""
        _require(isinstance(state, dict), f"Schedule: the state must be a dict, "
                                          f"not {type(state).__name__}")
        missing = [key for key in cls.KEYS if key not in state]
        _require(not missing, f"Schedule: the state lacks {', '.join(missing)}")
        kind, lr, steps, warmup = (state[key] for key in cls.KEYS)
        _require(kind in SCHEDULES,
                 f"Schedule: kind must be one of {', '.join(SCHEDULES)}, not {kind!r}")
        _require(_real(lr) and 0 < lr < math.inf,
                 f"Schedule: lr must be a positive finite number, got {lr!r}")
        _require(type(steps) is int and steps >= 1,
                 f"Schedule: steps must be a whole number >= 1, got {steps!r}")
        _require(type(warmup) is int and 0 <= warmup <= steps,
                 f"Schedule: warmup must be a whole number from 0 to steps ({steps}), "
                 f"got {warmup!r}")

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state_dict(); ValueError, with nothing changed, if it is not one."""
        self.check_state(state)
        self.kind, self.steps, self.warmup = state["kind"], state["steps"], state["warmup"]
        self.lr = float(state["lr"])
