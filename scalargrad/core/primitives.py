"""Rows of the rule table added from user code: ``primitive``, ``custom_derivative``, and
scalargrad's own ``stop_gradient``.

A user's primitive is a ``Primitive``: a FunctionRule (rules.py) that is also the function
users call. On plain numbers it returns a float; as soon as an argument is a Scalar it
records one node, as the generated functions of the built-in rules do: the value from the
user's function on floats, the partials from the user's partials function on floats, both
evaluated once, when the node is made. The sweeps then treat the node as any other (its
partials are floats in a tuple, as an n-ary node's); only to differentiate a derivative
is the partials function called again, on the node's own arguments as Scalars
(``recorded_partials``), so that the partials are recorded too.

What users get wrong is said at once, naming the primitive: a function that takes anything
but plain positional arguments, a partials function that cannot take them (or ``out``),
the wrong number of partials, a value or a partial that is not a number. A ValueError,
OverflowError or ZeroDivisionError of the user's functions becomes scalargrad's
DomainError, NumericOverflow or DivisionByZero naming the primitive and the values. A
name of a built-in primitive is refused.

Pickling: a node keeps its Primitive, which pickles by reference to the name the user's
module binds it to (as pickle pickles a function): only a primitive defined at the top
level of a module can be pickled; any other is a PicklingError that says so.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import pickle
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from ..errors import DivisionByZero, DomainError, NumericOverflow, ScalargradError
from .rules import RULES, FunctionRule
from .scalar import Scalar, make_node

Partials = Callable[..., Sequence[Any]]

STOP_GRADIENT = "stop_gradient"
BUILT_IN = frozenset(RULES) | {STOP_GRADIENT}
"""The names of scalargrad's own primitives: no user primitive may take one."""

class Primitive(FunctionRule):
    """A primitive added by ``primitive`` or ``custom_derivative``: call it like the function
    it was made from (see ``primitive``)."""

    # copied from the function it was made from (functools.update_wrapper)
    __name__: str
    __qualname__: str
    __wrapped__: Callable[..., Any]

    def __init__(self, function: Callable[..., Any], derivative: Optional[Partials], name: str,
                 arguments: Tuple[str, ...], takes_out: bool) -> None:
        super().__init__(name, arguments, function, derivative, takes_out)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any) -> Union[Scalar, float]:
        if len(args) != len(self.arguments):
            raise TypeError(f"{self.name}() takes {len(self.arguments)} argument"
                            f"{'' if len(self.arguments) == 1 else 's'}, got {len(args)}")
        values: List[float] = []
        recorded = False
        for arg in args:
            if arg.__class__ is Scalar:
                values.append(arg._value)
                recorded = True
            elif arg.__class__ is float:
                values.append(arg)
            elif isinstance(arg, numbers.Real) and not isinstance(arg, bool):
                values.append(float(arg))
            else:
                raise TypeError(f"{self.name}() takes numbers or Scalars, got {type(arg).__name__}")
        try:  # a user's ValueErrors and ArithmeticErrors (scalargrad's among them) named
            out = self.function(*values)
            if out.__class__ is not float:
                out = self._number(out, values, "its function returned")
            if not recorded:
                return out
            if self.derivative is None:  # stop_gradient: no edges
                return make_node(out, self, (), (), tuple(args), None)
            partials = self.partials(values, out)
        except (ArithmeticError, ValueError) as cause:
            raise _translated(self, values, cause) from cause
        _check_count(self, partials)
        partials = [d if d.__class__ is float else self._number(d, values, f"its partial {k} is")
                    for k, d in enumerate(partials)]
        if len(values) == 1:  # (then args[0] is the Scalar)
            return make_node(out, self, args, (partials[0],), args, None)
        parents = tuple([a for a in args if a.__class__ is Scalar])
        if len(parents) < len(args):
            partials = [d for a, d in zip(args, partials) if a.__class__ is Scalar]
        arguments = tuple([a if a.__class__ is Scalar else v for a, v in zip(args, values)])
        return make_node(out, self, parents, tuple(partials), arguments, None)

    def _number(self, value: Any, values: Sequence[float], what: str) -> float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return float(value)
        raise TypeError(f"{self.name}{_shown(values)}: {what} a {type(value).__name__}, not a "
                        "number")

    def __reduce__(self) -> str:
        """Pickled by reference, as a function is: the name its module binds it to."""
        module = inspect.getmodule(self.__wrapped__)
        qualname = self.__qualname__
        found: Any = module
        for part in qualname.split("."):
            found = getattr(found, part, None)
        if found is not self:
            raise pickle.PicklingError(
                f"the primitive {self.name} cannot be pickled: it is pickled by reference, as "
                f"functions are, and {self.__module__}.{qualname} does not name it (define it "
                "at the top level of a module)")
        return qualname

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _shown(values: Sequence[Any]) -> str:
    return f"({', '.join(repr(float(v)) for v in values)})"


def _translated(rule: FunctionRule, values: Sequence[float], cause: BaseException) -> ScalargradError:
    call = f"{rule.name}{_shown(values)}"
    detail = str(cause) or type(cause).__name__
    if isinstance(cause, ZeroDivisionError):
        return DivisionByZero(f"{call}: division by zero ({detail})")
    if isinstance(cause, OverflowError):
        return NumericOverflow(f"{call}: the result is too large for a float ({detail})")
    return DomainError(f"{call}: outside the domain of {rule.name} ({detail})")


def _check_count(rule: FunctionRule, partials: Any) -> None:
    count = len(rule.arguments)
    if not isinstance(partials, (list, tuple)) or len(partials) != count:
        got = (f"{len(partials)} partials" if isinstance(partials, (list, tuple))
               else f"a {type(partials).__name__}")
        raise TypeError(f"{rule.name}: its partials function returned {got}; it must return a "
                        f"list of {count}, one per argument")


def recorded_partials(node: Scalar) -> Tuple[Any, ...]:
    """A function rule's node's partials, recorded: its partials function on the node's own
    arguments (Scalars, and numbers as floats), with the node as ``out``; one for each of its
    parents."""
    rule = node._rule
    assert isinstance(rule, FunctionRule)
    if rule.derivative is None:
        return ()
    arguments = node._b
    partials = rule.partials(arguments, node)
    _check_count(rule, partials)
    return tuple([d for a, d in zip(arguments, partials) if a.__class__ is Scalar])


def _parameters(function: Callable[..., Any], what: str, name: str) -> Tuple[str, ...]:
    """The names of function's positional parameters; TypeError for any other kind."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        raise TypeError(f"primitive {name}: cannot read the parameters of its {what}") from None
    plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    for parameter in signature.parameters.values():
        if parameter.kind not in plain or parameter.default is not inspect.Parameter.empty:
            raise TypeError(f"primitive {name}: its {what} must take plain positional arguments "
                            f"(x, y, ...); {parameter} is not one")
    return tuple(signature.parameters)


def _make(function: Callable[..., Any], partials: Partials, name: Optional[str]) -> Primitive:
    name = name if name is not None else getattr(function, "__name__", "")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"primitive {name!r}: a primitive's name must be an identifier; give one "
                         "with name=")
    if name in BUILT_IN:
        raise ValueError(f"primitive {name}: {name} is a built-in primitive of scalargrad; give "
                         "yours another name (name=...)")
    if not callable(function) or not callable(partials):
        raise TypeError(f"primitive {name}: the function and its partials must be callables")
    arguments = _parameters(function, "function", name)
    if not arguments:
        raise TypeError(f"primitive {name}: its function takes no arguments")
    takes_out = False
    try:
        signature = inspect.signature(partials)
        takes_out = "out" in signature.parameters
        signature.bind(*arguments, **({"out": 0.0} if takes_out else {}))
    except TypeError:
        raise TypeError(f"primitive {name}: its partials function must take the function's "
                        f"arguments ({', '.join(arguments)}), and the value as out if it "
                        "wants it") from None
    except ValueError:  # no signature to read (a builtin): called with the arguments alone
        pass
    return Primitive(function, partials, name, arguments, takes_out)


def primitive(partials: Partials,
              name: Optional[str] = None) -> Callable[[Callable[..., Any]], Primitive]:
    """A decorator adding a row to the rule table: the decorated function computes the value
    on floats, ``partials`` returns one partial per argument.

    ``partials`` takes the function's arguments, and the value as the keyword ``out`` if it
    has a parameter of that name, and is written with scalargrad's functions (``sg.exp``,
    operators), so that it works on floats (first derivatives) and on Scalars (higher ones).
    The primitive returns a float on numbers, and on Scalars records one node named after
    the function (or ``name``), which every mode, order, ``scalargrad.compile``, the graph
    views, pickling and Matrix take as a built-in rule's. Test the partials with
    ``check_gradients``.

    Example:
        >>> import math, scalargrad as sg
        >>> @sg.primitive(partials=lambda x: [2 / math.sqrt(math.pi) * sg.exp(-x * x)])
        ... def erf(x):
        ...     return math.erf(x)
        >>> x = sg.Scalar(0.5)
        >>> round(sg.reverse_autodiff(erf(x), x), 12) == round(2 / math.sqrt(math.pi) * math.exp(-0.25), 12)
        True
    """
    def decorate(function: Callable[..., Any]) -> Primitive:
        return _make(function, partials, name)
    return decorate


def custom_derivative(partials: Partials,
                      name: Optional[str] = None) -> Callable[[Callable[..., Any]], Primitive]:
    """A decorator replacing the derivative of a function written with scalargrad's
    operations by the given partials (JAX's ``custom_jvp``): for numerical stability, or an
    estimator (a straight-through gradient).

    On Scalars, the function is run on their values (floats, so nothing of it is recorded)
    and one node records its value with ``partials``, as ``primitive`` records; on numbers it
    is the function itself. ``partials`` is as for ``primitive``.
    """
    def decorate(function: Callable[..., Any]) -> Primitive:
        return _make(function, partials, name)
    return decorate


def _identity(x: float) -> float:
    return x


_STOP = Primitive(_identity, None, STOP_GRADIENT, ("x",), False)
_STOP.__name__ = _STOP.__qualname__ = "_STOP"  # pickled by reference, under this name


def stop_gradient(x: Union[Scalar, float]) -> Union[Scalar, float]:
    """x's value, with derivative zero in every mode and at every order (JAX's
    ``lax.stop_gradient``, PyTorch's ``detach``): recorded as a node with no edges, so that
    nothing passes through it, not even a NaN or an infinite adjoint. A float for a number."""
    return _STOP(x)
