"""Optimizers: update parameter Scalars in place from lists of float gradients.

The formulas follow PyTorch's conventions, so results can be compared with it:

- SGD: g = grad + weight_decay * p; with momentum, v = momentum * v + g and p -= lr * v,
  otherwise p -= lr * g.
- Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, p -= lr * m_hat / (sqrt(v_hat) + eps),
  with the bias corrections m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) at step t.

An optimizer's state (hyperparameters, step count, velocities or moments) is a plain
JSON-serialisable dict, so training can be saved and resumed exactly.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

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

    def __init__(self, parameters: Sequence[Scalar], lr: float) -> None:
        self.parameters: List[Scalar] = list(parameters)
        for p in self.parameters:
            if not isinstance(p, Scalar):
                raise TypeError(f"{type(self).__name__}: parameters must be Scalars, "
                                f"got {type(p).__name__}")
        _require(_real(lr) and 0 < lr < math.inf,
                 f"{type(self).__name__}: lr must be a positive finite number, got {lr!r}")
        self.lr = float(lr)
        self.steps = 0

    def step(self, grads: Sequence[float]) -> None:
        """Update every parameter's value from its gradient (same order as the parameters)."""
        if len(grads) != len(self.parameters):
            raise ValueError(f"{type(self).__name__}.step: {len(grads)} gradients for "
                             f"{len(self.parameters)} parameters")
        self.steps += 1
        self._update([float(g) for g in grads])

    def _update(self, grads: List[float]) -> None:
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
        self.check_state(state, len(self.parameters))
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

    def __init__(self, parameters: Sequence[Scalar], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(parameters, lr)
        _require(_real(momentum) and 0.0 <= momentum < 1.0,
                 f"SGD: momentum must be in [0, 1), got {momentum!r}")
        _require(_real(weight_decay) and 0.0 <= weight_decay < math.inf,
                 f"SGD: weight_decay must be a finite number >= 0, got {weight_decay!r}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.velocities = [0.0] * len(self.parameters)

    def _update(self, grads: List[float]) -> None:
        lr, mu, decay, velocities = self.lr, self.momentum, self.weight_decay, self.velocities
        for i, (p, g) in enumerate(zip(self.parameters, grads)):
            if decay:
                g += decay * p.value
            if mu:
                g = velocities[i] = mu * velocities[i] + g
            p.value -= lr * g


class Adam(Optimizer):
    """Adam with bias-corrected first and second moments."""

    HYPERPARAMETERS = ("lr", "betas", "eps")
    BUFFERS = ("first_moments", "second_moments")

    def __init__(self, parameters: Sequence[Scalar], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(parameters, lr)
        _require(isinstance(betas, (list, tuple)) and len(betas) == 2
                 and all(_real(b) and 0.0 <= b < 1.0 for b in betas),
                 f"Adam: betas must be two numbers in [0, 1), got {betas!r}")
        _require(_real(eps) and 0 < eps < math.inf,
                 f"Adam: eps must be a positive finite number, got {eps!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.first_moments = [0.0] * len(self.parameters)
        self.second_moments = [0.0] * len(self.parameters)

    @classmethod
    def check_state(cls, state: Any, parameters: int) -> None:
        """As Optimizer.check_state; second moments are also never negative."""
        super().check_state(state, parameters)
        negative = [x for x in state["second_moments"] if x < 0]
        _require(not negative, f"Adam: second_moments must not be negative, got {negative[:1]}")

    def _update(self, grads: List[float]) -> None:
        b1, b2 = self.betas
        m, v = self.first_moments, self.second_moments
        m_correction = 1.0 - b1 ** self.steps
        v_correction = 1.0 - b2 ** self.steps
        lr, eps, sqrt = self.lr, self.eps, math.sqrt
        for i, (p, g) in enumerate(zip(self.parameters, grads)):
            m[i] = b1 * m[i] + (1.0 - b1) * g
            v[i] = b2 * v[i] + (1.0 - b2) * g * g
            p.value -= lr * (m[i] / m_correction) / (sqrt(v[i] / v_correction) + eps)


# An optimisation whose loss grows to more than this many times its first value (or a floor)
# has diverged, even if every number is still finite (scalargrad.training, scalargrad.linefit).
DIVERGENCE_FACTOR = 1e6

OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9  # for "momentum": the usual choice, and what the CLIs offer by name


def make_optimizer(name: str, parameters: Sequence[Scalar], lr: float) -> Optimizer:
    """An optimizer by the name the command line uses: sgd, momentum (SGD with 0.9) or adam."""
    if name == "sgd":
        return SGD(parameters, lr)
    if name == "momentum":
        return SGD(parameters, lr, momentum=MOMENTUM)
    if name == "adam":
        return Adam(parameters, lr)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")
