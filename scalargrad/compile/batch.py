"""vjp_batch: one generated loop over a batch of examples, and dots that skip data's zeros.

``source(form, shared)`` writes, from a variant's form, a function of the shared arguments
(the first ``shared``: a model's parameters, holding every differentiated argument, all
lists), the examples (the other arguments, one tuple per example) and a seed. It returns
each example's outputs and the gradient of the seeded outputs summed over the batch. What
the examples share is read once, before the loop: its items unpacked, its slices taken
(``S<k>``). A dot's contributions to a slice of a gradient are kept (``D<n>``) and added for
the whole batch at the end, a column at a time, in example order: the order in which vjp
example by example adds them (stored, where no other line writes the slice's cells: they
are still zeros then).

Zeros skipped. MNIST's pixels are mostly zero (63% at 7x7, 81% at 28x28) and a first
layer's dots are most of a training step. A dot of shared weights with an example's data
list adds only the products with the data's nonzero entries (functions.nonzero), and a
dot's weight gradients for the batch only the examples where that column is nonzero
(``column_sums``); a hidden layer's outputs are the data of the next layer's weights,
kept once per example (``R<k>``) and summed the same way, skipping relu's zeros. The sums
are bitwise those of the full dots, because a finite weight times zero adds nothing to a
float sum; only a value that is not finite times zero would have made a difference (a nan),
so the code checks the weights, adjoints and data first and, finding one, raises Retrace:
the batch then runs example by example.
"""
from __future__ import annotations

import itertools
import math
import operator
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..core.functions import nonzero, picker
from .emit import Program, Writer, in_order, indent, run
from .form import Dot, Form, GradientSlice, Seq, show


class DataColumns:
    """The columns of a batch's data (one list per example) that hold a nonzero entry, and
    how to spread one number per such column back over all the columns, zeros elsewhere (a
    border pixel of MNIST is zero in every example). A column nonzero in at most half the
    examples is kept as a picker of those examples (``picks``) and their entries
    (``entries``); a denser one whole (``dense``), as picking most of a column costs more
    than multiplying its zeros."""

    def __init__(self, rows: Sequence[Sequence[float]]) -> None:
        columns = list(zip(*rows))
        half = len(rows) // 2
        lit = [len(column) - column.count(0.0) for column in columns]
        sparse_columns = [nonzero(column) for column, count in zip(columns, lit) if 0 < count <= half]
        self.picks = [pick for pick, _ in sparse_columns]
        self.entries = [entries for _, entries in sparse_columns]
        self.dense = [column for column, count in zip(columns, lit) if count > half]
        places, sparse, dense = [], 0, len(self.picks)
        for count in lit:  # each column's place among the sums: sparse ones, dense ones, 0.0
            if 0 < count <= half:
                places.append(sparse)
                sparse += 1
            elif count > half:
                places.append(dense)
                dense += 1
            else:
                places.append(len(self.picks) + len(self.dense))
        self.spread = picker(places)


def data_columns(rows: Sequence[Sequence[float]]) -> Optional[DataColumns]:
    """The batch's DataColumns, or None if an entry is not finite (zero times it would
    not be zero)."""
    if not math.isfinite(sum(map(sum, rows))):  # (a sum that overflows says None too: harmless)
        return None
    return DataColumns(rows)


def column_sums(weights: Sequence[float], columns: DataColumns) -> Tuple[float, ...]:
    """[sum(map(mul, weights, column)) for column in zip(*rows)], skipping the zero
    entries: a dot's weight gradients for a batch (weights: one adjoint per example, zero
    where that example passed none; columns: data_columns of the examples' data, or of the
    values each example computed, such as a hidden layer's outputs). Added in example
    order (emit.in_order), as vjp_into example by example adds them."""
    mul: Any = operator.mul
    picked = [pick(weights) for pick in columns.picks]  # (maps of maps: no loop per column)
    sums = list(map(in_order, map(map, itertools.repeat(mul), picked, columns.entries),
                    itertools.repeat(0.0)))
    sums += [in_order(map(mul, weights, column), 0.0) for column in columns.dense]
    sums.append(0.0)
    return columns.spread(sums)


class _BatchWriter:
    """The parts of the loop that differ from a single call's code (Writer's hooks)."""

    def __init__(self, form: Form, shared: int) -> None:
        self.form = form
        self.shared = shared
        self.slices: Dict[str, str] = {}         # a slice of a shared list -> S<k>
        self.sparse: List[int] = []              # data lists whose zeros a dot skips
        self.targets: List[GradientSlice] = []   # the n-th kept gradient slice
        self.rows: List[Seq] = []                # tuples each example stores once, in R<k>
        self.by_example: Dict[int, Tuple[str, int]] = {}  # n -> ("R", k) or ("X", position)
        self.partners: Dict[int, str] = {}       # n -> its partner, kept beside its adjoint
        self.writer = writer = Writer(form)
        writer.prefix = "L"
        writer.slice_name = self.slice_name
        writer.dot = self.dot
        writer.keep = self.keep

    def slice_name(self, sliced: Tuple[int, int, int, int], text: str) -> str:
        return text if sliced[0] >= self.shared else self.slices.setdefault(text, f"S{len(self.slices)}")

    def _data(self, seq: Seq) -> Optional[int]:
        """The position of the example's data list seq is the whole of, if it is one."""
        if seq.sliced is None:
            return None
        position, start, stop, step = seq.sliced
        whole = start == 0 and step == 1 and stop == self.form.arguments[position]
        return position if whole and position >= self.shared else None

    def dot(self, dot: Dot, left: str, right: str) -> Optional[str]:
        """A dot of a shared list (or a slice of one) with an example's data list, written to
        skip the data's zeros; None for any other dot."""
        for shared, shared_text, example in ((dot.left, left, dot.right), (dot.right, right, dot.left)):
            data = self._data(example)
            if data is not None and shared.sliced is not None and shared.sliced[0] < self.shared:
                if data not in self.sparse:
                    self.sparse.append(data)
                return f"_sum(_map(_mul, N{data}({shared_text}), Z{data}), 0.0)"
        return None

    def keep(self, target: GradientSlice, g: str, partner: Seq) -> str:
        """The statement keeping g, the adjoint of a dot over the target slice with partner."""
        n = len(self.targets)
        self.targets.append(target)
        data = self._data(partner)
        if partner.sliced is None:  # values the example computed: stored once per example
            stored = [k for k, row in enumerate(self.rows) if row.atoms == partner.atoms]
            if not stored:
                self.rows.append(partner)
            self.by_example[n] = ("R", stored[0] if stored else len(self.rows) - 1)
        elif data is not None:
            self.by_example[n] = ("X", data)
        else:
            return f"D{n}.append({g}); P{n}.append({self.writer.seq(partner)})"
        return f"D{n}[e] = {g}"


def source(program: Program, shared: int) -> str:
    """vjp_batch's source for a variant (see the module's documentation)."""
    form = program.form
    arguments = form.arguments
    batch = _BatchWriter(form, shared)
    writer = batch.writer
    body = writer.forward() + writer.reverse(lambda j: f"seed[{j}]")
    body += [f"R{k}.append({writer.seq(row)})" for k, row in enumerate(batch.rows)]
    used = writer.used()
    loop = ([f"N{p}, Z{p} = _nonzero(X{p})" for p in batch.sparse]
            + writer.unpack(range(shared, len(arguments)), used) + body)
    by_example = batch.by_example
    names = [f"X{i}" if size is not None else f"x{i}" for i, size in enumerate(arguments)]
    head = writer.unpack(range(shared), used) + writer.externals(program.watch is not None)
    head += [f"{name} = {text}" for text, name in batch.slices.items()]
    head += [f"L{i} = [0.0] * len(X{i})" for i in form.differentiate]
    head += [f"if not _isfinite(_sum(X{i})): raise _Retrace" for i in range(shared)
             if (batch.sparse or by_example) and arguments[i] is not None]  # weight times a zero
    head += [f"D{n} = []; P{n} = []" for n in range(len(batch.targets)) if n not in by_example]
    head += [f"D{n} = [0.0] * len(EXAMPLES)" for n in by_example]
    head += [f"R{k} = []" for k in range(len(batch.rows))]
    finish = []
    for kind, number in sorted(set(by_example.values())):
        made = f"R{number}" if kind == "R" else f"[example[{number - shared}] for example in EXAMPLES]"
        finish.append(f"C{kind}{number} = _data_columns({made})")
        finish.append(f"if C{kind}{number} is None: raise _Retrace")  # not finite
    cells = [[(item.position, item.index) for item in target.items] for target in batch.targets]
    writers = Counter(itertools.chain(writer.written, *cells))  # how many write to each cell
    for n, target in enumerate(batch.targets):
        local = writer.gradient_slice(target)
        if n in by_example:
            kind, number = by_example[n]
            finish.append(f"if not _isfinite(_sum(D{n})): raise _Retrace")  # times a zero
            test, sums = f"_any(D{n})", f"_column_sums(D{n}, C{kind}{number})"
        else:
            test, sums = f"D{n}", f"[_in_order(_map(_mul, D{n}, column), 0.0) for column in zip(*P{n})]"
        if all(writers[cell] == 1 for cell in cells[n]):  # its cells are zeros until now: a sum
            finish.append(f"if {test}: {local} = {sums}")  # from 0.0 is stored, bit for bit
        else:
            finish.append(f"if {test}: {local} = _list(_map(_add, {local}, {sums}))")
    outputs = "".join(show(out) + ", " for out in form.outputs)
    example = "(" + "".join(name + ", " for name in names[shared:]) + ")" if len(names) > shared else "_"
    return "\n".join([
        "def vjp_batch(" + "".join(name + ", " for name in names[:shared]) + "EXAMPLES, seed):",
        *indent(head),
        "    outputs = []",
        (f"    for e, {example} in enumerate(EXAMPLES):" if by_example
         else f"    for {example} in EXAMPLES:"),
        *indent(loop, 8),
        f"        outputs.append(({outputs}))",
        *indent(finish),
        "    return outputs, (" + "".join(f"L{i}, " for i in form.differentiate) + ")",
        "",
    ])


def compiled(program: Program, shared: int) -> Any:
    """vjp_batch for a variant, made on first use and kept: ``batch(*shared_arguments,
    examples, seed)`` returns ([each example's outputs], (each differentiated argument's
    gradient)). TypeError if the differentiated arguments are not lists among the shared."""
    made = program.batches.get(shared)
    if made is None:
        form = program.form
        if any(i >= shared or form.arguments[i] is None for i in form.differentiate):
            raise TypeError("vjp_batch: the differentiated arguments must be lists, among the shared ones")
        text = source(program, shared)
        namespace = run(text, form, program.watch, {
            "_isfinite": math.isfinite, "_any": any, "_nonzero": nonzero,
            "_data_columns": data_columns, "_column_sums": column_sums})
        made = program.batches[shared] = namespace["vjp_batch"]
        program.batch_sources.append(text)
    return made
