"""Matrix: a 2-D grid of Scalars (parameters, results) and plain floats (constant data).

Floats cost no graph nodes, so a batch of images stays data; only what depends on a Scalar
is recorded. Operations map onto the engine's n-ary nodes wherever one node does the job:
each entry of ``a @ b`` is one ``dot`` node, ``sum()`` one ``sum`` node, and each row of
``log_softmax``/``softmax``/``cross_entropy`` one ``logsumexp`` node. Elementwise operations
are one node per entry (plain Python operators on the entries).

Entries are stored as a list of rows; operations build new matrices and never change one
in place (optimizers change the parameters' ``.value``, not the grid).
"""
from __future__ import annotations

import numbers
import operator
import random
from typing import Callable, List, Optional, Sequence, Tuple, Union, cast

from .core.autodiff import reverse_autodiff
from .core import functions
from .core.functions import dot, dot_grid, exp, mean
from .core.scalar import Scalar, value_of

Entry = Union[Scalar, float]
ScalarLike = Union[Scalar, int, float]
Operand = Union["Matrix", Scalar, int, float]


def _entry(x: object) -> Entry:
    """A Scalar or float as is, another real number as a float; anything else is a TypeError."""
    if x.__class__ is Scalar or x.__class__ is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"Matrix entries must be numbers or Scalars, got {type(x).__name__}")


def _check_size(rows: int, cols: int) -> None:
    if rows < 1 or cols < 1:
        raise ValueError(f"a Matrix needs at least one row and one column, "
                         f"got shape {(rows, cols)}")


class Matrix:
    """A rows x cols grid of Scalars and floats, with recorded matrix operations."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Sequence[Sequence[ScalarLike]]) -> None:
        """Validate and copy a non-empty rectangular list of rows."""
        grid = [[_entry(x) for x in row] for row in rows]
        if not grid or not grid[0]:
            raise ValueError("a Matrix needs at least one row and one column")
        width = len(grid[0])
        for i, row in enumerate(grid):
            if len(row) != width:
                raise ValueError(f"a Matrix must be rectangular: row 0 has {width} entries, "
                                 f"row {i} has {len(row)}")
        self._rows: List[List[Entry]] = grid

    @classmethod
    def _wrap(cls, rows: List[List[Entry]]) -> "Matrix":
        """A Matrix over rows already known to be valid (no copy, no checks)."""
        m = object.__new__(cls)
        m._rows = rows
        return m

    # Construction ------------------------------------------------------------------------
    @classmethod
    def zeros(cls, rows: int, cols: int, parameters: bool = False) -> "Matrix":
        """All zeros: plain floats, or new Scalars (parameters to train) if parameters=True."""
        _check_size(rows, cols)
        if parameters:
            return cls._wrap([[Scalar(0.0) for _ in range(cols)] for _ in range(rows)])
        return cls._wrap([[0.0] * cols for _ in range(rows)])

    @classmethod
    def random(cls, rows: int, cols: int, seed: Optional[int] = None,
               scale: float = 1.0) -> "Matrix":
        """New parameter Scalars drawn from a normal distribution with standard deviation scale."""
        _check_size(rows, cols)
        gauss = random.Random(seed).gauss
        return cls._wrap([[Scalar(gauss(0.0, 1.0) * scale) for _ in range(cols)]
                          for _ in range(rows)])

    # Access ------------------------------------------------------------------------------
    @property
    def shape(self) -> Tuple[int, int]:
        return len(self._rows), len(self._rows[0])

    def __getitem__(self, index: Tuple[int, int]) -> Entry:
        """m[i, j]: one entry (negative indices count from the end, as for lists)."""
        if not (isinstance(index, tuple) and len(index) == 2):
            raise TypeError(f"a Matrix is indexed by [row, column], as in m[0, 1], not "
                            f"[{index!r}]; m.row(i) gives a row")
        i, j = index
        return self._rows[i][j]

    def row(self, i: int) -> List[Entry]:
        """Row i as a new list of entries."""
        return list(self._rows[i])

    @property
    def T(self) -> "Matrix":
        """The transpose (the same entries, not copies)."""
        return Matrix._wrap([list(column) for column in zip(*self._rows)])

    def tolist(self) -> List[List[float]]:
        """The values as rows of floats."""
        return [[value_of(x) for x in row] for row in self._rows]

    def parameters(self) -> List[Scalar]:
        """The Scalar entries in row-major order (floats are constants and are skipped)."""
        return [x for row in self._rows for x in row if x.__class__ is Scalar]

    def reshape_gradient(self, flat: Sequence[float]) -> List[List[float]]:
        """Gradients aligned with parameters() laid out like the Matrix; 0.0 at float entries."""
        flat = list(flat)
        expected = sum(x.__class__ is Scalar for row in self._rows for x in row)
        if len(flat) != expected:
            raise ValueError(f"reshape_gradient: {len(flat)} gradients for {expected} parameters")
        grads = iter(flat)
        return [[next(grads) if x.__class__ is Scalar else 0.0 for x in row] for row in self._rows]

    def __repr__(self) -> str:
        shown = [[x.value if x.__class__ is Scalar else x for x in row] for row in self._rows]
        return f"Matrix({shown!r})"  # (not tolist(): showing a value is no decision on it)

    # Arithmetic --------------------------------------------------------------------------
    def __matmul__(self, other: "Matrix") -> "Matrix":
        """Matrix product; each output entry is one dot node over a row and a column."""
        if not isinstance(other, Matrix):
            return NotImplemented
        if self.shape[1] != other.shape[0]:
            raise ValueError(f"matmul: shapes {self.shape} and {other.shape} do not align")
        return Matrix._wrap(dot_grid(self._rows, list(zip(*other._rows))))

    def _elementwise(self, other: object, op: Callable, name: str,
                     reflected: bool = False) -> "Matrix":  # or NotImplemented, as operators may
        """self op other entry by entry; a 1 x cols Matrix on either side is repeated per row."""
        if isinstance(other, Matrix):
            left, right = self._rows, other._rows
            same_rows = len(left) == len(right)
            broadcast = len(left) == 1 or len(right) == 1
            if len(left[0]) != len(right[0]) or not (same_rows or broadcast):
                raise ValueError(f"{name}: shapes {self.shape} and {other.shape} do not match "
                                 "(nor is either a single row to broadcast)")
            if same_rows:
                return Matrix._wrap([list(map(op, a, b)) for a, b in zip(left, right)])
            if len(right) == 1:
                row = right[0]
                return Matrix._wrap([list(map(op, a, row)) for a in left])
            row = left[0]
            return Matrix._wrap([list(map(op, row, b)) for b in right])
        is_number = isinstance(other, numbers.Real) and not isinstance(other, bool)
        if other.__class__ is Scalar or is_number:
            if reflected:
                return Matrix._wrap([[op(other, x) for x in row] for row in self._rows])
            return Matrix._wrap([[op(x, other) for x in row] for row in self._rows])
        return NotImplemented

    def __add__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.add, "add")

    def __radd__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.add, "add", reflected=True)

    def __sub__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.sub, "sub")

    def __rsub__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.sub, "sub", reflected=True)

    def __mul__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.mul, "mul")

    def __rmul__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.mul, "mul", reflected=True)

    def __truediv__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.truediv, "div")

    def __rtruediv__(self, other: Operand) -> "Matrix":
        return self._elementwise(other, operator.truediv, "div", reflected=True)

    def __neg__(self) -> "Matrix":
        # operator.neg negates either kind of entry; the checker cannot solve its type variable
        # over the union Scalar | float, hence the cast (once per matrix, not per entry).
        return self.apply(cast(Callable[[Entry], Entry], operator.neg))

    def apply(self, fn: Callable[[Entry], Entry]) -> "Matrix":
        """fn applied to every entry, e.g. m.apply(scalargrad.tanh)."""
        return Matrix._wrap([list(map(fn, row)) for row in self._rows])

    # Reductions, activations and losses -------------------------------------------------
    def _entries(self) -> List[Entry]:
        return [x for row in self._rows for x in row]

    def sum(self) -> Union[Scalar, float]:
        """The sum of all entries, as one node."""
        return functions.sum(self._entries())

    def mean(self) -> Union[Scalar, float]:
        """The mean of all entries."""
        return mean(self._entries())

    def log_softmax(self) -> "Matrix":
        """Row-wise log-softmax, x - logsumexp(row), computed from the row shifted by its
        largest entry: accurate for any logits (functions.log_softmax)."""
        return Matrix._wrap([functions.log_softmax(row) for row in self._rows])

    def softmax(self) -> "Matrix":
        """Row-wise softmax, exp(x - logsumexp(row)) from log_softmax: each row sums to 1,
        never overflows, and is right for any logits (1e17 and 1e17 give 1/2 and 1/2)."""
        return Matrix._wrap([[exp(d) for d in functions.log_softmax(row)] for row in self._rows])

    def cross_entropy(self, labels: Sequence[int]) -> Union[Scalar, float]:
        """Mean over rows of -log softmax(row)[label], for rows of logits and integer labels.

        Computed as logsumexp(row) - row[label]: two nodes per row, no softmax needed, the
        difference from the row shifted by its largest entry (functions.negative_log_softmax).
        """
        rows, classes = self.shape
        if len(labels) != rows:
            raise ValueError(f"cross_entropy: {len(labels)} labels for shape {self.shape} "
                             f"(one label per row needed)")
        losses: List[Entry] = []
        for i, (row, label) in enumerate(zip(self._rows, labels)):
            if not isinstance(label, numbers.Integral) or not 0 <= label < classes:
                raise ValueError(f"cross_entropy: label {label!r} of row {i} is not a class "
                                 f"index in [0, {classes}) for shape {self.shape}")
            losses.append(functions.negative_log_softmax(row, label))
        return mean(losses)

    def mse(self, target: Union["Matrix", Sequence[Sequence[ScalarLike]]]) -> Union[Scalar, float]:
        """Mean squared difference from a target of the same shape.

        The squares are summed by one dot node of the differences with themselves.
        """
        if not isinstance(target, Matrix):
            target = Matrix(target)
        if self.shape != target.shape:
            raise ValueError(f"mse: shapes {self.shape} and {target.shape} differ")
        differences = [a - b for left, right in zip(self._rows, target._rows)
                       for a, b in zip(left, right)]
        return dot(differences, differences) * (1.0 / len(differences))


def gradients(loss: Union[Scalar, float], matrices: Sequence[Matrix]) -> List[List[List[float]]]:
    """d loss / d entries for each Matrix, laid out like it, from one reverse sweep."""
    parameters = [m.parameters() for m in matrices]
    flat = reverse_autodiff(loss, [p for group in parameters for p in group])
    result = []
    start = 0
    for m, group in zip(matrices, parameters):
        result.append(m.reshape_gradient(flat[start:start + len(group)]))
        start += len(group)
    return result
