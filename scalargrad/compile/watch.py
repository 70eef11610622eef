"""Where a compiled function finds the Scalars it reads from outside its arguments.

The compiled code reads the values of those Scalars (a form's externals: parameters the
function closes over, nodes recorded before the call) at each call, so a parameter updated
in place is seen. A Scalar *rebound* -- another one put where the function finds it: the
closed-over name, the global, the list item -- would not be, and the code would go on with
the old one. So, once a call is traced, ``find`` looks for the places the function reaches
each external from: its closure's cells, the globals and attributes its code names, its
defaults, the object of a bound method, and from those the items of lists and tuples, the
values of dicts, the attributes of objects (their ``__dict__`` and slots), and the closures
and globals of the functions found there (smallest containers first, up to a budget). The
Watch it returns checks, at each call, that every place on the way to an external still
holds the object it held, and that each list and dict on the way has its length; the code
of a variant whose watch fails raises Rebound, and the call is traced again.

A Scalar the function reaches otherwise (made by code it calls, kept where the search does
not look) is still read at each call, but its rebinding is not seen.
"""
from __future__ import annotations

import heapq
import itertools
import operator
import types
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..core.scalar import Scalar

BUDGET = 2_000_000  # items looked at, at most, before the search stops
_PLAIN = frozenset({float, int, bool, str, bytes, complex, type(None)})
Pick = Callable[[Any], Tuple[Any, ...]]


class Watch:
    """The places on the way from a function to the Scalars it read: ``groups`` of
    (container, its length or -1, a picker of its places, what they held)."""

    def __init__(self, groups: List[Tuple[Any, int, Pick, Tuple[Any, ...]]]) -> None:
        self.groups = groups

    def __call__(self) -> bool:
        """Whether every place still holds what it held when the call was traced."""
        is_ = operator.is_
        for container, length, pick, held in self.groups:
            if length >= 0 and len(container) != length:
                return False
            try:
                now = pick(container)
            except (LookupError, AttributeError, ValueError, TypeError):
                return False
            if not all(map(is_, now, held)):
                return False
        return True


def _cell_contents(cell: Any) -> Tuple[Any, ...]:
    return (cell.cell_contents,)


def _defaults(function: Any) -> Tuple[Any, ...]:
    return (function.__defaults__,)


def _instance_dict(instance: Any) -> Tuple[Any, ...]:
    return (instance.__dict__,)


def _items(keys: Sequence[Any]) -> Pick:
    if len(keys) == 1:
        only = keys[0]
        return lambda container: (container[only],)
    return operator.itemgetter(*keys)


def _slots(descriptors: Sequence[Any]) -> Pick:
    return lambda instance: tuple([d.__get__(instance, type(instance)) for d in descriptors])


def _class_attributes(names: Sequence[str]) -> Pick:
    return lambda cls: tuple([cls.__dict__[name] for name in names])


def _names(code: types.CodeType, into: Set[str]) -> None:
    """Every global and attribute name a code object and those nested in it use."""
    stack = [code]
    while stack:
        current = stack.pop()
        into.update(current.co_names)
        stack.extend(c for c in current.co_consts if isinstance(c, types.CodeType))


class _Search:
    """A search of the objects a function reaches, smallest containers first, keeping
    every step from a container to something in it (an edge); see find."""

    def __init__(self) -> None:
        self.names: Set[str] = set()
        self.edges: Dict[int, List[Tuple[str, Any, Any]]] = {}  # id(child) -> (kind, key, parent)
        self.objects: Dict[int, Any] = {}
        self.queue: List[Tuple[int, int, Any]] = []
        self.order = itertools.count()
        self.looked = 0

    def reach(self, parent: Any, kind: str, key: Any, child: Any, visit: bool = True) -> None:
        """parent holds child (as kind says, at key): an edge; child is looked into later
        (smallest first), unless it is a Scalar, a plain value or visit is False."""
        if child.__class__ in _PLAIN:
            return
        self.edges.setdefault(id(child), []).append((kind, key, parent))
        if id(child) in self.objects:
            return
        self.objects[id(child)] = child
        if visit and child.__class__ is not Scalar:
            size = len(child) if isinstance(child, (list, tuple, dict)) else 1
            heapq.heappush(self.queue, (size, next(self.order), child))

    def run(self) -> None:
        while self.queue and self.looked < BUDGET:
            _, _, current = heapq.heappop(self.queue)
            self.visit(current)

    def visit(self, obj: Any) -> None:
        if _ours(obj):
            return
        if isinstance(obj, (list, tuple)):
            self.looked += len(obj)
            if set(map(type, obj)) <= _PLAIN:
                return
            for index, item in enumerate(obj):
                self.reach(obj, "item", index, item)
        elif isinstance(obj, dict):
            self.looked += len(obj)
            for key, value in list(obj.items()):
                if key.__class__ is str or key.__class__ is int:
                    self.reach(obj, "key", key, value)
        elif isinstance(obj, types.FunctionType):
            self.function(obj)
        elif isinstance(obj, types.MethodType):
            self.reach(obj, "fixed", "__self__", obj.__self__)
            self.reach(obj, "fixed", "__func__", obj.__func__)
        elif isinstance(obj, (types.ModuleType, type)):
            self.named(obj)
        else:
            self.instance(obj)

    def named(self, obj: Any) -> None:
        """A module's or a class's attributes that some code seen so far names."""
        namespace = obj.__dict__
        for name in sorted(self.names.intersection(namespace)):
            if isinstance(obj, type):
                self.reach(obj, "class", name, namespace[name])
            else:  # a module's namespace is its own for good: only its entries can change
                self.reach(namespace, "key", name, namespace[name])
                self.reach(obj, "fixed", "__dict__", namespace, visit=False)

    def function(self, function: types.FunctionType) -> None:
        _names(function.__code__, self.names)
        for cell in function.__closure__ or ():
            self.reach(function, "fixed", "cell", cell, visit=False)
            try:
                self.reach(cell, "cell", None, cell.cell_contents)
            except ValueError:  # an empty cell
                continue
        self.reach(function, "defaults", None, function.__defaults__)
        namespace = function.__globals__
        for name in sorted(self.names.intersection(namespace)):
            self.reach(namespace, "key", name, namespace[name])
        self.reach(function, "fixed", "__globals__", namespace, visit=False)

    def instance(self, obj: Any) -> None:
        descriptors = [d for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())
                       if isinstance(d := cls.__dict__.get(name), types.MemberDescriptorType)]
        for descriptor in descriptors:
            try:
                self.reach(obj, "slot", descriptor, descriptor.__get__(obj, type(obj)))
            except AttributeError:  # a slot never set
                continue
        namespace = getattr(obj, "__dict__", None)
        if isinstance(namespace, dict):
            self.reach(obj, "dict", None, namespace)
        for cls in type(obj).__mro__[:-1]:
            self.reach(obj, "fixed", "type", cls)


def _ours(obj: Any) -> bool:
    """scalargrad's own modules, classes and functions: they hold no Scalar of the user's."""
    if isinstance(obj, types.ModuleType):
        name = obj.__name__
    elif isinstance(obj, (types.FunctionType, type)):
        name = obj.__module__ or ""
    else:
        return False
    return name == "scalargrad" or name.startswith(("scalargrad.", "scalargrad_cli"))


def find(function: Callable, externals: Sequence[Any]) -> Optional[Watch]:
    """The Watch over the places function reaches externals from; None if it reads none."""
    if not externals:
        return None
    search = _Search()
    search.reach(None, "root", None, function)
    if not isinstance(function, (types.FunctionType, types.MethodType)):  # a callable object
        search.reach(None, "root", None, type(function).__call__)
    search.run()
    wanted = {id(e) for e in externals}
    needed: Set[int] = set()
    stack = [i for i in wanted if i in search.edges]
    while stack:  # every object on some way from the function to an external
        child = stack.pop()
        if child in needed:
            continue
        needed.add(child)
        stack.extend(id(parent) for _, _, parent in search.edges[child] if parent is not None)
    places: Dict[Tuple[int, str], List[Tuple[Any, Any]]] = {}
    parents: Dict[int, Any] = {}
    for child in needed:
        for kind, key, parent in search.edges[child]:
            if parent is None or kind == "fixed" or kind == "root":
                continue  # a function's cells and globals, a method's object: never replaced
            parents[id(parent)] = parent
            places.setdefault((id(parent), kind), []).append((key, search.objects[child]))
    # A module's or function's globals are read by name: other globals coming and going
    # change nothing f reads. A list or dict f may go through whole, and an object's new
    # attribute may hide its class's, so their lengths are watched too.
    namespaces = {child for child, edges in search.edges.items()
                  if any(key in ("__dict__", "__globals__") for _, key, _ in edges)}
    groups = [_group(parents[parent], kind, found, parent in namespaces)
              for (parent, kind), found in places.items()]
    for (parent, kind), found in places.items():  # an instance's own attribute would hide it
        if kind == "class":
            instances = [p for k, key, p in search.edges[parent] if k == "fixed" and key == "type"]
            groups += [(instance, -1, _own(found), (False,) * len(found)) for instance in instances]
    return Watch(groups)


def _own(found: List[Tuple[Any, Any]]) -> Pick:
    """Whether an object has attributes of its own by these names (hiding its class's)."""
    names = [name for name, _ in found]
    return lambda instance: tuple([name in getattr(instance, "__dict__", ()) for name in names])


def _group(container: Any, kind: str, found: List[Tuple[Any, Any]],
           namespace: bool) -> Tuple[Any, int, Pick, Tuple[Any, ...]]:
    keys = [key for key, _ in found]
    held = tuple(child for _, child in found)
    if kind in ("item", "key"):
        whole = isinstance(container, (list, dict)) and not namespace
        return container, len(container) if whole else -1, _items(keys), held
    if kind == "cell":
        return container, -1, _cell_contents, held
    if kind == "defaults":
        return container, -1, _defaults, held
    if kind == "dict":
        return container, -1, _instance_dict, held
    if kind == "slot":
        return container, -1, _slots(keys), held
    assert kind == "class"
    return container, -1, _class_attributes(keys), held
