"""Training steps by compiled code: a Classifier's per-example loss, compiled once.

``CompiledGradient`` gives what a ``RecordedGradient`` gives (gradient.py): for some examples,
at given parameter values, their summed loss, how many the model classifies right, and the
gradient of the summed loss, as floats in the order of ``model.parameters()`` — but from
code that ``scalargrad.compile`` generated from one example's recorded loss
(``Classifier.example``), run on floats for a whole batch at once (``vjp_batch``): no node
is made per example. The examples are taken last to first, so that each parameter's
gradient is added up in the order the recording engine's sweep adds it.
"""
from __future__ import annotations

from typing import Sequence

from ..compiler import compile as compile_function
from ..errors import Diverged, NumericOverflow
from .gradient import RecordedGradient, ShardGradient, ShardResult
from .model import Classifier, Rows, argmax


class CompiledGradient:
    """A ShardGradient by compiled code (reverse mode only)."""

    def __init__(self, model: Classifier, mode: str = "reverse") -> None:
        if mode != "reverse":
            raise ValueError("compiled training differentiates in reverse mode only")
        self.parameters = model.parameters()
        self.compiled = compile_function(model.example, argnums=[0])
        self.targets = [[1.0 if k == c else 0.0 for k in range(model.classes)]
                        for c in range(model.classes)]
        self.seed = (1.0,) + (0.0,) * model.classes  # the gradient of the loss, not the logits

    def load(self, values: Sequence[float]) -> None:
        """Set the model's parameters to these values: as with RecordedGradient, the
        gradient is taken at the model's values, whoever changed them last."""
        for parameter, value in zip(self.parameters, values):
            parameter.value = value

    def __call__(self, rows: Rows, labels: Sequence[int]) -> ShardResult:
        values = [parameter.value for parameter in self.parameters]
        gradient = [0.0] * len(values)
        labels = list(reversed(labels))
        examples = [(row, self.targets[label]) for row, label in zip(reversed(rows), labels)]
        try:
            outputs = self.compiled.vjp_batch([gradient], self.seed, [values], examples)
        except NumericOverflow as error:  # parameters so large that a value overflowed
            raise Diverged(str(error)) from None
        losses = [output[0] for output in outputs]
        correct = sum(argmax(output[1:]) == label
                      for output, label in zip(outputs, labels))
        return ShardResult(sum(losses), correct, gradient)


def fastest_gradient(model: Classifier, mode: str = "reverse") -> ShardGradient:
    """A GradientFactory: compiled code in reverse mode; forward mode (one sweep per
    parameter, for comparison and teaching) records, as it always has."""
    return CompiledGradient(model) if mode == "reverse" else RecordedGradient(model, mode)
