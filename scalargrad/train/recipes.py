"""The defaults a run takes unless told otherwise, by model and optimizer: its learning-rate
schedule, peak rate, warm-up, batch size and epochs.

Adam's recipes were measured (benchmarks/schedule_search.py with the numpy twin, confirmed
with scalargrad; benchmarks/results/schedule_search.txt), each the best by its worst seed:

- softmax regression: cosine, lr 0.2, no warm-up, batches of 32 (7x7, 1 epoch: 90.05%
  [89.93, 90.10] over 5 seeds, against 88.93% at the constant 0.05 used before);
- a hidden layer (7x7, 32 units): onecycle, lr 0.032, warm-up 5%, batches of 32 (1 epoch:
  93.95% [93.46, 94.19], against 90.64% at the constant 0.003 used before);
- a hidden layer on full-size images (28x28, 128 units): onecycle, lr 0.012, warm-up 5%,
  batches of 128, 3 epochs (98.01% [97.93, 98.15] over 10 seeds).

14x14 images with a hidden layer take the 7x7 recipe (not measured). SGD and momentum keep
the constant rates measured before schedules (DEFAULT_LR). ``--schedule constant`` asks for
the constant recipe whatever the optimizer, and another decaying schedule than the recipe's
keeps the recipe's rate, warm-up, batch size and epochs (cosine and onecycle ranked
together in every search).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

# Constant learning rates measured to work here: (softmax regression, with a hidden layer).
DEFAULT_LR: Dict[str, Tuple[float, float]] = {"adam": (0.05, 0.003), "sgd": (0.5, 0.1),
                                              "momentum": (0.1, 0.01)}


@dataclass(frozen=True)
class Recipe:
    """A run's defaults: schedule, peak learning rate, warm-up (a fraction of the planned
    steps), batch size, and epochs (on the command line)."""
    schedule: str
    lr: float
    warmup: float
    batch_size: int
    epochs: int


def recipe(size: int, hidden: int, optimizer: str, schedule: Optional[str] = None) -> Recipe:
    """The defaults for this model and optimizer, with ``schedule`` (one of optim.SCHEDULES) if
    one is asked for (see the module docstring)."""
    constant = Recipe("constant", DEFAULT_LR[optimizer][1 if hidden else 0], 0.0, 32, 1)
    measured: Optional[Recipe] = None
    if optimizer == "adam":
        if not hidden:
            measured = Recipe("cosine", 0.2, 0.0, 32, 1)
        elif size == 28:
            measured = Recipe("onecycle", 0.012, 0.05, 128, 3)
        else:
            measured = Recipe("onecycle", 0.032, 0.05, 32, 1)
    if schedule is None:
        return measured or constant
    if schedule == "constant" or measured is None:
        return replace(constant, schedule=schedule)
    return replace(measured, schedule=schedule)
