"""Training a small classifier with Scalars: softmax regression or one hidden layer.

The model's parameters are Scalars in Matrix objects; each batch's loss is recorded with
Scalar operations and differentiated in reverse mode (forward mode gives the same
gradients, one sweep per parameter, for the curious on tiny runs). Prediction runs on the
parameters' float values, so evaluating costs no graph at all.

Data arrive as rows of floats (lists, not arrays): this module knows nothing of numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

from ..core.functions import dot, logsumexp, relu, tanh
from ..core.scalar import Scalar
from ..errors import InputError
from ..matrix import Matrix
from .checks import finite_number, json_type, require, whole

ACTIVATIONS: Dict[str, Callable] = {"tanh": tanh, "relu": relu}
# relu: the activation train-mnist's measured targets were reached with, and cheaper than
# tanh (no exp; reverse mode skips every inactive unit).
DEFAULT_ACTIVATION = "relu"
Rows = Sequence[Sequence[float]]


class Classifier:
    """inputs -> [hidden, activation] -> classes logits, with Matrix parameters."""

    def __init__(self, inputs: int, classes: int = 10, hidden: int = 0,
                 activation: str = DEFAULT_ACTIVATION, seed: int = 0) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
        self.inputs, self.classes, self.hidden, self.activation = inputs, classes, hidden, activation
        widths = [inputs, hidden, classes] if hidden else [inputs, classes]
        self.layers: List[Tuple[Matrix, Matrix]] = []
        for k, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
            if hidden:  # random weights break the symmetry between hidden units
                weights = Matrix.random(fan_in, fan_out, seed=seed * 1000 + k, scale=1 / math.sqrt(fan_in))
            else:       # softmax regression is convex: zeros are the natural start
                weights = Matrix.zeros(fan_in, fan_out, parameters=True)
            self.layers.append((weights, Matrix.zeros(1, fan_out, parameters=True)))

    def parameters(self) -> List[Scalar]:
        return [p for weights, bias in self.layers for p in weights.parameters() + bias.parameters()]

    def logits(self, rows: Matrix) -> Matrix:
        """Recorded logits for a batch (rows of floats, or of Scalars)."""
        return self._through(self.layers, rows)

    def _through(self, layers: Sequence[Tuple[Matrix, Matrix]], h: Matrix) -> Matrix:
        """h through the layers: affine maps with the activation between them."""
        activate = ACTIVATIONS[self.activation]
        for k, (weights, bias) in enumerate(layers):
            h = h @ weights + bias
            if k < len(layers) - 1:
                h = h.apply(activate)
        return h

    def example(self, parameters: Sequence[Any], pixels: Sequence[Any],
                target: Sequence[Any]) -> List[Any]:
        """[cross-entropy, *logits] of one example, with the parameters given as one flat list
        in the order of parameters() and the label one-hot: what a compiled training step
        runs (scalargrad.train.gradient.CompiledGradient). The forward pass is logits()'s
        (_through), on one row; the loss is cross_entropy()'s with a one-hot dot product
        for the label, which a compiled function takes as data."""
        layers, start = [], 0
        for weights, _ in self.layers:
            fan_in, fan_out = weights.shape
            bias = start + fan_in * fan_out
            layers.append((Matrix._wrap([list(parameters[start + i * fan_out:start + (i + 1) * fan_out])
                                         for i in range(fan_in)]),
                           Matrix._wrap([list(parameters[bias:bias + fan_out])])))
            start = bias + fan_out
        logits = self._through(layers, Matrix._wrap([list(pixels)])).row(0)
        return [logsumexp(logits) - dot(target, logits), *logits]

    def load(self, values: Sequence[float]) -> None:
        """Set the parameters to these values (in the order of parameters())."""
        set_values(self.parameters(), values)

    def values(self) -> List[float]:
        """The parameters' values, in the order of parameters()."""
        return [parameter._value for parameter in self.parameters()]

    def loss(self, rows: Rows, labels: Sequence[int]) -> Scalar:
        """Mean cross-entropy of a batch."""
        # Recorded, never a float: the logits depend on the parameters, which are Scalars.
        return cast(Scalar, self.logits(Matrix(rows)).cross_entropy(labels))

    def predict(self, rows: Rows) -> List[int]:
        """The most likely class of each row, computed on float values (no graph)."""
        values = [(Matrix(weights.tolist()), Matrix(bias.tolist())) for weights, bias in self.layers]
        predictions: List[int] = []
        for start in range(0, len(rows), 1000):
            logits = self._through(values, Matrix(rows[start:start + 1000]))
            predictions.extend(map(argmax, logits.tolist()))
        return predictions

    def to_dict(self) -> Dict[str, Any]:
        return {"inputs": self.inputs, "classes": self.classes, "hidden": self.hidden,
                "activation": self.activation,
                "layers": [{"weights": w.tolist(), "bias": b.tolist()[0]} for w, b in self.layers]}

    @classmethod
    def from_dict(cls, data: Any) -> "Classifier":
        """A model from to_dict()'s output; InputError (see check_dict) before anything is
        built if data does not describe one."""
        cls.check_dict(data)
        model = cls(data["inputs"], data["classes"], data["hidden"], data["activation"])
        model.load([float(v) for layer in data["layers"]
                    for v in [x for row in layer["weights"] for x in row] + layer["bias"]])
        return model

    @staticmethod
    def check_dict(data: Any) -> None:
        """InputError naming the first problem unless data is to_dict()'s output: the sizes
        must be those of the layers actually given (so a file cannot ask for billions of
        Scalars), every row must have its full width, every entry be a finite number."""
        if not isinstance(data, dict):
            raise InputError(f"the model must be an object, not {json_type(data)}")
        inputs, classes = _size(data, "inputs", 1), _size(data, "classes", 1)
        hidden = _size(data, "hidden", 0)
        activation = data.get("activation")
        if activation not in ACTIVATIONS:
            raise InputError(f"the model's activation must be one of {', '.join(ACTIVATIONS)}, "
                             f"not {activation!r}")
        widths = [inputs, hidden, classes] if hidden else [inputs, classes]
        layers = data.get("layers")
        expected = len(widths) - 1
        if not isinstance(layers, list) or len(layers) != expected:
            found = f"{len(layers)}" if isinstance(layers, list) else json_type(layers)
            raise InputError(f"the model's layers must be a list of {expected} "
                             f"layer{'s' if expected > 1 else ''} (hidden {hidden}), not {found}")
        for k, (layer, fan_in, fan_out) in enumerate(zip(layers, widths, widths[1:]), 1):
            if not isinstance(layer, dict):
                raise InputError(f"layer {k} must be an object with weights and bias, "
                                 f"not {json_type(layer)}")
            weights = layer.get("weights")
            if not isinstance(weights, list) or len(weights) != fan_in:
                found = f"{len(weights)} rows" if isinstance(weights, list) else json_type(weights)
                raise InputError(f"layer {k}'s weights has {found}, expected {fan_in}")
            for i, row in enumerate(weights, 1):
                _check_numbers(row, fan_out, f"row {i} of layer {k}'s weights")
            _check_numbers(layer.get("bias"), fan_out, f"layer {k}'s bias")


def set_values(parameters: Sequence[Scalar], values: Sequence[float]) -> None:
    """Set each parameter to its value (a model's, or a slice of them)."""
    for parameter, value in zip(parameters, values):
        parameter._value = value


def _size(data: Dict[str, Any], key: str, least: int) -> int:
    value = data.get(key)
    require(whole(value, least), f"the model's {key} must be a whole number >= {least}, "
                                 f"not {value!r}")
    return cast(int, value)


def _check_numbers(row: Any, width: int, what: str) -> None:
    if not isinstance(row, list) or len(row) != width:
        found = f"{len(row)} entries" if isinstance(row, list) else json_type(row)
        raise InputError(f"{what} has {found}, expected {width}")
    if not all(map(finite_number, row)):
        bad = next(x for x in row if not finite_number(x))
        raise InputError(f"{what} holds {bad!r}, not a finite number")


@dataclass(frozen=True)
class EpochProgress:
    """How far an epoch has got: the examples trained (in its shuffled order) and the running
    sums behind its loss and accuracy, which is all it takes to continue it exactly."""
    examples: int = 0
    loss_sum: float = 0.0   # the batches' mean losses, each times its batch size
    correct: int = 0        # examples the model classified right just before their step
    seconds: float = 0.0

    @property
    def loss(self) -> float:
        """Mean cross-entropy over the examples trained so far."""
        return self.loss_sum / max(self.examples, 1)

    @property
    def accuracy(self) -> float:
        """Training accuracy over the examples trained so far."""
        return self.correct / max(self.examples, 1)


@dataclass
class BatchReport:
    """What a progress display needs after each batch."""
    examples: int       # seen so far this epoch
    loss: float         # running mean loss this epoch
    accuracy: float     # running training accuracy this epoch


def argmax(values: Sequence[float]) -> int:
    """The position of the largest value (the first of equal ones): a predicted class."""
    return values.index(max(values))


Predict = Callable[[Rows], List[int]]
"""The model's prediction for each row (Classifier.predict, or one shared between processes)."""


def accuracy(model: Classifier, rows: Rows, labels: Sequence[int],
             predict: Optional[Predict] = None) -> Tuple[float, List[int]]:
    """(fraction correct, predictions), by model.predict unless told otherwise."""
    predictions = (predict or model.predict)(rows)
    correct = sum(p == label for p, label in zip(predictions, labels))
    return correct / max(len(labels), 1), predictions


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int], classes: int = 10) -> List[List[int]]:
    """``counts[true][predicted]``: how many examples of each class were predicted as each."""
    counts = [[0] * classes for _ in range(classes)]
    for label, predicted in zip(labels, predictions):
        counts[label][predicted] += 1
    return counts
