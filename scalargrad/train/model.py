"""Training a small classifier with Scalars: softmax regression or one hidden layer.

The model's parameters are Scalars in Matrix objects; each batch's loss is recorded with
Scalar operations and differentiated in reverse mode (forward mode gives the same
gradients, one sweep per parameter, for the curious on tiny runs). Prediction runs on the
parameters' float values, so evaluating costs no graph at all.

Data arrive as rows of floats (lists, not arrays): this module knows nothing of numpy.
"""
from __future__ import annotations

import math
import random
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

from ..core.autodiff import forward_autodiff, reverse_autodiff
from ..core.scalar import cycle_collector_paused
from ..errors import Diverged, InputError, WorkerFailed
from ..core.functions import dot, logsumexp, relu, tanh
from ..matrix import Matrix
from ..optim import DIVERGENCE_FACTOR, Optimizer
from ..core.scalar import Scalar

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
        runs (compiled_gradient.py). The same arithmetic, in the same order, as logits() and
        cross_entropy() on a batch."""
        activate = ACTIVATIONS[self.activation]
        h: List[Any] = list(pixels)
        start = 0
        for k, (weights, _) in enumerate(self.layers):
            fan_in, fan_out = weights.shape
            bias = start + fan_in * fan_out
            h = [dot(parameters[start + j:bias:fan_out], h) + parameters[bias + j] for j in range(fan_out)]
            if k < len(self.layers) - 1:
                h = [activate(v) for v in h]
            start = bias + fan_out
        return [logsumexp(h) - dot(target, h), *h]

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
        for (weights, bias), layer in zip(model.layers, data["layers"]):
            values = [v for row in layer["weights"] for v in row] + layer["bias"]
            for parameter, v in zip(weights.parameters() + bias.parameters(), values):
                parameter.value = float(v)
        return model

    @staticmethod
    def check_dict(data: Any) -> None:
        """InputError naming the first problem unless data is to_dict()'s output: the sizes
        must be those of the layers actually given (so a file cannot ask for billions of
        Scalars), every row must have its full width, every entry be a finite number."""
        if not isinstance(data, dict):
            raise InputError(f"the model must be an object, not {_json_type(data)}")
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
            found = f"{len(layers)}" if isinstance(layers, list) else _json_type(layers)
            raise InputError(f"the model's layers must be a list of {expected} "
                             f"layer{'s' if expected > 1 else ''} (hidden {hidden}), not {found}")
        for k, (layer, fan_in, fan_out) in enumerate(zip(layers, widths, widths[1:]), 1):
            if not isinstance(layer, dict):
                raise InputError(f"layer {k} must be an object with weights and bias, "
                                 f"not {_json_type(layer)}")
            weights = layer.get("weights")
            if not isinstance(weights, list) or len(weights) != fan_in:
                found = f"{len(weights)} rows" if isinstance(weights, list) else _json_type(weights)
                raise InputError(f"layer {k}'s weights has {found}, expected {fan_in}")
            for i, row in enumerate(weights, 1):
                _check_numbers(row, fan_out, f"row {i} of layer {k}'s weights")
            _check_numbers(layer.get("bias"), fan_out, f"layer {k}'s bias")


def _json_type(x: Any) -> str:
    """How a parsed JSON value is described in errors."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
             type(None): "null"}
    return names.get(type(x), repr(x))


def _size(data: Dict[str, Any], key: str, least: int) -> int:
    value = data.get(key)
    if type(value) is not int or value < least:
        raise InputError(f"the model's {key} must be a whole number >= {least}, not {value!r}")
    return value


def _finite(x: Any) -> bool:
    """A JSON number that is a finite float (booleans, text and null are not numbers here)."""
    if type(x) is float:
        return math.isfinite(x)
    return type(x) is int and abs(x) <= sys.float_info.max


def _check_numbers(row: Any, width: int, what: str) -> None:
    if not isinstance(row, list) or len(row) != width:
        found = f"{len(row)} entries" if isinstance(row, list) else _json_type(row)
        raise InputError(f"{what} has {found}, expected {width}")
    if not all(map(_finite, row)):
        bad = next(x for x in row if not _finite(x))
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


class BatchAbandoned(BaseException):
    """A batch dropped before its update: a stop was asked for (Ctrl-C) while its gradient
    was being computed, which changes nothing. A BaseException, like KeyboardInterrupt, so
    that no handler of errors takes it for one."""


class GradientPhase:
    """Whether this process is computing a batch's gradient (``with GRADIENT_PHASE:``), the
    part of a step that changes nothing, so that a stop may abandon it at once
    (``interrupt``, called by a signal handler) rather than wait for the batch to end: a
    batch of forward mode on a large model takes minutes. The update is never abandoned.
    A stop asked for between gradients drops the next one as it begins (a worker's signal
    can overtake the command to compute its shard): TrainingRun.train forgets it first."""

    def __init__(self) -> None:
        self.active = self.pending = False
        # while other processes compute shards of this process's batch: how to tell them
        self.others: Optional[Callable[[], None]] = None

    def __enter__(self) -> "GradientPhase":
        if self.pending:
            self.pending = False
            raise BatchAbandoned
        self.active = True
        return self

    def __exit__(self, *exception: object) -> None:
        self.active = False

    def interrupt(self) -> None:
        """Have the other processes abandon their shards, and raise BatchAbandoned (into
        the code a signal interrupted) if a gradient is being computed here; else the next
        one will be abandoned as it begins."""
        if self.others is not None:
            self.others()
        if not self.active:
            self.pending = True
            return
        self.active = False
        raise BatchAbandoned


GRADIENT_PHASE = GradientPhase()  # this process's (signals are delivered to a process)


class LossGuard:
    """A batch step whose loss is watched: Diverged once it exceeds DIVERGENCE_FACTOR times
    the larger of the first loss seen and ``floor`` (the loss of a uniform guess, log 10 for
    ten classes, so that a run starting from a very good model is not held to a tiny one).
    A loss that is not finite has diverged too (the steps check that before they update)."""

    def __init__(self, step: "BatchStep", floor: float) -> None:
        self.step, self.floor = step, floor
        self.first: Optional[float] = None

    def __call__(self, batch: Sequence[int]) -> Tuple[float, int]:
        loss, correct = self.step(batch)
        if not math.isfinite(loss):
            raise Diverged(f"the loss became {loss}")
        if self.first is None:
            self.first = loss
        elif loss > DIVERGENCE_FACTOR * max(self.first, self.floor):
            raise Diverged(f"the loss grew to {loss:.3g}, more than {DIVERGENCE_FACTOR:g} times "
                           f"its first value ({self.first:.3g})")
        return loss, correct


BatchStep = Callable[[Sequence[int]], Tuple[float, int]]
"""Trains the model on the training examples with these indices: one optimizer step on the
gradient of their mean loss. Returns that mean loss and how many of the examples the model
classified right before the step; raises Diverged, before stepping, if the loss is not
finite. By default train_epoch computes in this process (step_in_this_process);
scalargrad.train.parallel and scalargrad.train.distributed share the work between processes."""


def step_in_this_process(model: Classifier, optimizer: Optimizer, rows: Rows,
                         labels: Sequence[int], mode: str = "reverse") -> BatchStep:
    """The batch step that records and differentiates a whole batch in this process."""
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
    differentiate = reverse_autodiff if mode == "reverse" else forward_autodiff
    parameters = model.parameters()

    def step(batch: Sequence[int]) -> Tuple[float, int]:
        batch_labels = [labels[i] for i in batch]
        with cycle_collector_paused(), GRADIENT_PHASE:
            try:
                logits = model.logits(Matrix([rows[i] for i in batch]))
                # Recorded, never a float: the logits depend on the parameters (Scalars).
                loss = cast(Scalar, logits.cross_entropy(batch_labels))
            except OverflowError as error:  # parameters so large that a value overflowed
                raise Diverged(str(error)) from None
            if not math.isfinite(loss.value):
                raise Diverged(f"the loss became {loss.value}")
            gradients = differentiate(loss, parameters)
        optimizer.step(gradients)
        correct = sum(argmax(row) == label for row, label in zip(logits.tolist(), batch_labels))
        return loss.value, correct
    return step


def train_epoch(model: Classifier, optimizer: Optimizer, rows: Rows, labels: Sequence[int],
                batch_size: int, rng: random.Random, mode: str = "reverse",
                on_batch: Optional[Callable[[BatchReport], None]] = None,
                should_stop: Callable[[], bool] = lambda: False,
                resume: Optional[EpochProgress] = None,
                step: Optional[BatchStep] = None) -> EpochProgress:
    """One pass over the data in batches, in an order drawn from rng; stops after a batch
    when should_stop() says so, or before one abandoned (BatchAbandoned) while its gradient
    was computed (fewer examples than rows in the result).

    ``resume`` continues an epoch that stopped early: give rng the state it had when that
    epoch began, so that the same order is drawn, and the examples trained are skipped.
    ``step`` trains each batch (default: step_in_this_process on model and optimizer).
    """
    if step is None:
        step = step_in_this_process(model, optimizer, rows, labels, mode)
    order = list(range(len(rows)))
    rng.shuffle(order)
    start = time.perf_counter()
    done = resume or EpochProgress()
    seen, loss_sum, correct = done.examples, done.loss_sum, done.correct
    for first in range(seen, len(order), batch_size):
        batch = order[first:first + batch_size]
        try:
            loss, batch_correct = step(batch)
        except BatchAbandoned:  # stopped while its gradient was computed: as before it
            break
        except Diverged as error:  # how far the epoch got, for the run to roll back
            diverged = Diverged(f"{error} after {seen} examples")
            diverged.progress = EpochProgress(seen, loss_sum, correct,
                                              done.seconds + time.perf_counter() - start)
            raise diverged from None
        except WorkerFailed as error:  # how far the epoch got, for the run to be saved
            error.progress = EpochProgress(seen, loss_sum, correct,
                                           done.seconds + time.perf_counter() - start)
            raise
        seen += len(batch)
        loss_sum += loss * len(batch)
        correct += batch_correct
        if on_batch is not None:
            on_batch(BatchReport(seen, loss_sum / seen, correct / seen))
        if should_stop():
            break
    return EpochProgress(seen, loss_sum, correct, done.seconds + time.perf_counter() - start)


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
