"""What pickling and copying a Scalar mean, done without recursion.

- A leaf (an input or a parameter) pickles as its value, and loads as a new leaf.
- A computed Scalar pickles with the graph it depends on: its interior nodes as flat
  records (rule name, value, arguments, partials), oldest first, with every Scalar they
  refer to written as an index, and the leaves as Scalars. Loading records those nodes
  again, in that order, so the copy is a graph like any other (on the tape of the process
  that loads it) with the same values and derivatives.
- A node of a user's primitive (primitives.py) keeps the primitive itself, which pickles
  by reference to its module's name for it, as pickle pickles functions; stop_gradient's
  argument, which nothing derives through, pickles as its value.
- Leaves are pickled as objects, so Scalars pickled together (``pickle.dumps([x, y])``)
  share them as pickle always shares objects: y's copy depends on x's copy. Interior nodes
  shared by two computed Scalars are copied once for each: derivatives with respect to
  the leaves are unchanged.
- ``copy.copy(y)`` copies y's interior nodes over the same leaves (so it depends on the same
  inputs); ``copy.deepcopy(y)`` copies the leaves too. Neither recurses, so a graph of any
  depth copies.

Both go through ``copyreg`` (pickle, copy and deepcopy all consult its table), so that the
node class itself knows nothing of this module.
"""
from __future__ import annotations

import copyreg
from typing import Any, List, NamedTuple, Tuple

from .autodiff import ancestors, release
from .rules import RULES, FunctionRule
from .scalar import Scalar, make_node

Record = Tuple[Any, float, Any, Any, Any, Any]  # a built-in rule by name; a function rule itself


class _At(NamedTuple):
    """A reference to the Scalar at this position: the leaves first, then the records.

    (Not ``index``, which would hide tuple.index; pickles hold the number, not the name.)"""
    position: int


def graph_records(y: Scalar) -> Tuple[List[Scalar], List[Record]]:
    """(leaves, records of y's interior nodes oldest first, y last)."""
    nodes, leaves = ancestors([y])
    release(nodes, leaves)
    index = {id(node): i for i, node in enumerate([*leaves, *nodes])}

    def ref(item: Any) -> Any:
        if item.__class__ is Scalar:
            at = index.get(id(item))
            return item._value if at is None else _At(at)  # None: not derived through
        if item.__class__ is tuple:
            return tuple([ref(x) for x in item])
        return item

    records = [(node._rule if isinstance(node._rule, FunctionRule) else node.operation, node._value,
                ref(node._a), node._da, ref(node._b), node._db) for node in nodes]
    return leaves, records


def rebuild(leaves: List[Scalar], records: List[Record]) -> Scalar:
    """The last node of records, recorded again over leaves."""
    table: List[Scalar] = list(leaves)

    def resolve(item: Any) -> Any:
        if item.__class__ is _At:
            return table[item.position]
        if item.__class__ is tuple:
            return tuple([resolve(x) for x in item])
        return item

    for rule, value, a, da, b, db in records:
        table.append(make_node(value, RULES[rule] if rule.__class__ is str else rule, resolve(a), da,
                               resolve(b), db))
    return table[-1]


def reduce(y: Scalar) -> Tuple[Any, ...]:
    """How pickle and copy take a Scalar apart: a leaf as its value, a computed Scalar as
    its leaves and the records of its graph, rebuilt by ``rebuild``."""
    if y._rule is None:
        return Scalar, (y._value,)
    return rebuild, graph_records(y)


copyreg.pickle(Scalar, reduce)
