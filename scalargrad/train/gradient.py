"""The unit of work of training: the gradient of the loss over some examples at given
parameter values, by the recording engine or by compiled code, and the one choice between
them (``make_gradient``).

A minibatch's gradient is a sum over its examples, so a batch can be split into shards
(``split``), each differentiated on its own, at the same parameter values, and the results
added. A ``ShardGradient`` is what a process does with its shard: given the parameter
values (``load``), it returns the *summed* loss of the examples, how many of them the model
classifies right, and the gradient of that summed loss, as plain floats in the order of
``model.parameters()``. Whoever adds the shards divides by the batch size once
(scalargrad.train.step). ``at(values, rows, labels)`` is both in one: the float path of a
worker, whose parameter values are floats in shared memory; compiled code reads them as
they are, and no Scalar of the model is touched.

``RecordedGradient`` records the model's loss with Scalars and differentiates it (reverse or
forward mode). ``CompiledGradient`` runs code that ``scalargrad.compile`` generated from one
example's recorded loss (``Classifier.example``) on floats for a whole batch at once
(``vjp_batch``): no node is made per example. It takes the examples last to first, so that
each parameter's gradient is added up in the order the recording engine's sweep adds it.

A value that overflows on the way is not an exception here: the result says so
(``ShardResult.overflow``) and the step decides (scalargrad.train.step.checked_loss), so
that a process computing a shard for others can still answer them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Protocol, Sequence, Tuple, cast

from ..compile import compile as compile_function
from ..core.autodiff import forward_autodiff, reverse_autodiff
from ..core.scalar import Scalar, cycle_collector_paused
from ..errors import NumericOverflow
from ..matrix import Matrix
from .model import Classifier, Rows, argmax, set_values

MODES = ("reverse", "forward")
ENGINES = ("compiled", "recording")
DEFAULT_ENGINE = "compiled"  # the library's and the command line's


def check_mode(mode: str) -> None:
    """ValueError unless mode is one of MODES."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")


@dataclass
class ShardResult:
    """What one shard of a batch contributes to the batch's step."""
    loss_sum: float        # the examples' cross-entropies, added
    correct: int           # examples classified right at these parameter values
    gradient: List[float]  # of loss_sum, one entry per parameter
    overflow: Optional[str] = None  # why, if a value overflowed (then nothing else counts)


class ShardGradient(Protocol):
    """Computes ShardResults for one model's architecture (see the module docstring)."""

    def load(self, values: Sequence[float]) -> None:
        """Take these parameter values (in the order of model.parameters())."""

    def __call__(self, rows: Rows, labels: Sequence[int]) -> ShardResult:
        """The summed loss, the count correct and the gradient over these examples."""

    def at(self, values: Sequence[float], rows: Rows, labels: Sequence[int]) -> ShardResult:
        """The same at these parameter values, which the model may be left holding or not
        (a worker's copy of it, whose values live elsewhere)."""


GradientFactory = Callable[[Classifier, str], ShardGradient]
"""Makes the ShardGradient for a model and a mode ("reverse" or "forward")."""


def bounds(count: int, parts: int) -> List[Tuple[int, int]]:
    """(first, last) of each of ``parts`` contiguous ranges that cut range(count) into
    sizes differing by at most one, the first ones larger (empty when parts > count)."""
    size, extra = divmod(count, parts)
    return [(k * size + min(k, extra), (k + 1) * size + min(k + 1, extra))
            for k in range(parts)]


def split(batch: Sequence[int], parts: int) -> List[List[int]]:
    """The batch in ``parts`` contiguous shards (see bounds)."""
    return [list(batch[first:last]) for first, last in bounds(len(batch), parts)]


def _overflowed(why: str, parameters: int) -> ShardResult:
    return ShardResult(float("inf"), 0, [0.0] * parameters, why)


class _ModelGradient:
    """What both engines share: the model's parameters, and the values they are taken at.
    The gradient is taken at the model's values, whoever changed them last (the optimizer,
    or ``load``), and ``load`` leaves the model holding them: the run evaluates and saves it."""

    def __init__(self, model: Classifier) -> None:
        self.model = model
        self.parameters = model.parameters()

    def load(self, values: Sequence[float]) -> None:
        set_values(self.parameters, values)

    def at(self, values: Sequence[float], rows: Rows, labels: Sequence[int]) -> ShardResult:
        self.load(values)
        return cast(ShardGradient, self)(rows, labels)


class RecordedGradient(_ModelGradient):
    """A ShardGradient by Scalars: the model's loss is recorded, then differentiated."""

    def __init__(self, model: Classifier, mode: str = "reverse") -> None:
        check_mode(mode)
        super().__init__(model)
        self.differentiate = reverse_autodiff if mode == "reverse" else forward_autodiff

    def __call__(self, rows: Rows, labels: Sequence[int]) -> ShardResult:
        if not rows:
            return ShardResult(0.0, 0, [0.0] * len(self.parameters))
        with cycle_collector_paused():
            try:
                logits = self.model.logits(Matrix(rows))
                loss_sum = cast(Scalar, logits.cross_entropy(labels) * len(rows))
            except OverflowError as error:  # parameters so large that a value overflowed
                return _overflowed(str(error), len(self.parameters))
            gradient = self.differentiate(loss_sum, self.parameters)
        correct = sum(argmax(row) == label
                      for row, label in zip(logits.tolist(), labels))
        return ShardResult(loss_sum._value, correct, gradient)


class CompiledGradient(_ModelGradient):
    """A ShardGradient by compiled code (reverse mode only)."""

    def __init__(self, model: Classifier, mode: str = "reverse") -> None:
        check_mode(mode)
        if mode != "reverse":
            raise ValueError("compiled training differentiates in reverse mode only")
        super().__init__(model)
        self.compiled = compile_function(model.example, argnums=[0])
        self.targets = [[1.0 if k == c else 0.0 for k in range(model.classes)]
                        for c in range(model.classes)]
        self.seed = (1.0,) + (0.0,) * model.classes  # the gradient of the loss, not the logits

    def __call__(self, rows: Rows, labels: Sequence[int]) -> ShardResult:
        return self.at([parameter._value for parameter in self.parameters], rows, labels)

    def at(self, values: Sequence[float], rows: Rows, labels: Sequence[int]) -> ShardResult:
        """As __call__, at these values (floats, in the order of model.parameters()),
        without reading or setting a Scalar."""
        values = values if isinstance(values, list) else list(values)  # as compiled code takes
        gradient = [0.0] * len(values)
        labels = list(reversed(labels))
        examples = [(row, self.targets[label]) for row, label in zip(reversed(rows), labels)]
        try:  # floats_known: the data only meet float weights in products (model.example),
            # where an int gives its float's bits; values are read from floats
            outputs = self.compiled.vjp_batch([gradient], self.seed, [values], examples,
                                              floats_known=True)
        except NumericOverflow as error:  # parameters so large that a value overflowed
            return _overflowed(str(error), len(values))
        losses = [output[0] for output in outputs]
        correct = sum(argmax(output[1:]) == label
                      for output, label in zip(outputs, labels))
        return ShardResult(sum(losses), correct, gradient)


def make_gradient(model: Classifier, mode: str = "reverse",
                  engine: str = DEFAULT_ENGINE) -> ShardGradient:
    """The ShardGradient a run uses (the one place that chooses): compiled code in reverse
    mode unless the recording engine is asked for; forward mode (one sweep per parameter,
    for comparison and teaching) always records."""
    return (CompiledGradient(model) if engine_used(mode, engine) == "compiled"
            else RecordedGradient(model, mode))


def engine_used(mode: str, engine: str = DEFAULT_ENGINE) -> str:
    """The engine make_gradient uses for this mode when asked for ``engine``."""
    check_mode(mode)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return "compiled" if engine == "compiled" and mode == "reverse" else "recording"


def factory(engine: str = DEFAULT_ENGINE) -> GradientFactory:
    """make_gradient with ``engine`` chosen: what workers and MPI ranks are given."""
    engine_used("reverse", engine)  # checks the name now
    return lambda model, mode: make_gradient(model, mode, engine)
