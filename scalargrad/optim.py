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

from .scalar import Scalar


class Optimizer:
    """Shared machinery: the parameters, the step count, and state checks."""

    def __init__(self, parameters: Sequence[Scalar], lr: float) -> None:
        self.parameters: List[Scalar] = list(parameters)
        for p in self.parameters:
            if not isinstance(p, Scalar):
                raise TypeError(f"{type(self).__name__}: parameters must be Scalars, "
                                f"got {type(p).__name__}")
        if not lr > 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
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

    def _hyperparameters(self) -> Dict[str, Any]:
        return {"lr": self.lr}

    def _buffers(self) -> Dict[str, List[float]]:
        """The per-parameter state lists, by name."""
        raise NotImplementedError

    def state_dict(self) -> Dict[str, Any]:
        """A JSON-serialisable copy of the state: type, hyperparameters, steps, buffers."""
        state: Dict[str, Any] = {"type": type(self).__name__, "steps": self.steps}
        state.update(self._hyperparameters())
        state.update({name: list(buffer) for name, buffer in self._buffers().items()})
        return state

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Restore a state_dict() made by the same kind of optimizer over as many parameters."""
        name = type(self).__name__
        if state.get("type") != name:
            raise ValueError(f"{name}.load_state_dict: the state is for {state.get('type')!r}")
        buffers = self._buffers()
        missing = [key for key in ["steps", *self._hyperparameters(), *buffers] if key not in state]
        if missing:
            raise ValueError(f"{name}.load_state_dict: the state lacks {', '.join(missing)}")
        for key in buffers:
            if len(state[key]) != len(self.parameters):
                raise ValueError(f"{name}.load_state_dict: {key} has {len(state[key])} entries "
                                 f"for {len(self.parameters)} parameters")
        for key in self._hyperparameters():
            value = state[key]
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        for key, buffer in buffers.items():
            buffer[:] = [float(x) for x in state[key]]
        self.steps = int(state["steps"])


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay."""

    def __init__(self, parameters: Sequence[Scalar], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        super().__init__(parameters, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"SGD: weight_decay must be >= 0, got {weight_decay}")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.velocities = [0.0] * len(self.parameters)

    def _hyperparameters(self) -> Dict[str, Any]:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def _buffers(self) -> Dict[str, List[float]]:
        return {"velocities": self.velocities}

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

    def __init__(self, parameters: Sequence[Scalar], lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(parameters, lr)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas must be two numbers in [0, 1), got {betas}")
        if not eps > 0:
            raise ValueError(f"Adam: eps must be positive, got {eps}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.first_moments = [0.0] * len(self.parameters)
        self.second_moments = [0.0] * len(self.parameters)

    def _hyperparameters(self) -> Dict[str, Any]:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps}

    def _buffers(self) -> Dict[str, List[float]]:
        return {"first_moments": self.first_moments, "second_moments": self.second_moments}

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
