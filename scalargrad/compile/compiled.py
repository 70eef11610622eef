"""Compiled: what scalargrad.compile returns. Calls, variants, and the recording engine.

A call's arguments are checked first (``_shape``: floats, or lists of floats, of a known
structure go straight to the variant that fitted last); anything else is normalised as the
first call would (ints become floats, bools and other types are refused) or refused. A
variant whose guard fails raises Retrace: the others are tried, then a new one is traced.
Where generated code meets an error, the call runs again on the recording engine, which
raises it (or, if the recording engine does not meet it, gives its answer).
"""
from __future__ import annotations

import itertools
import operator
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..core.autodiff import reverse_autodiff, topological_order
from ..core.scalar import Scalar, edges
from . import batch
from .emit import Program, Rebound, Retrace
from .passes import pipeline
from .trace import NotTraceable, Shape, check_outputs, is_number, on_a_tape, trace
from .watch import find

MAX_VARIANTS = 8
Args = Tuple[Any, ...]
_FAILURES = (ArithmeticError, ValueError, TypeError)  # what generated code can raise
_countOf = operator.countOf


def _shape(args: Sequence[Any], floats_known: bool = False) -> Optional[Shape]:
    """The call's structure if every argument is a float or a list (or tuple) of floats:
    None for a number, the length for a list. None otherwise (then ``_normalised``). With
    floats_known, the lists' items are taken to be floats, unchecked."""
    shape: List[Optional[int]] = []
    for a in args:
        cls = a.__class__
        if cls is float:
            shape.append(None)
        elif (cls is list or cls is tuple) and (floats_known or _countOf(map(type, a), float) == len(a)):
            shape.append(len(a))
        else:
            return None
    return tuple(shape)


def _fit(examples: Sequence[Sequence[Any]], each: Shape, floats_known: bool = False) -> bool:
    """Whether every example has this structure, all floats (as _shape would say of each,
    each list looked at once however many examples bring it: vjp_batch's one check). With
    floats_known, the structure alone: the type of each item costs 16 ns, about 5% of a
    training step at 7x7."""
    lists: Dict[int, Any] = {}
    for example in examples:
        if len(example) != len(each):
            return False
        for a, size in zip(example, each):
            cls = a.__class__
            if size is None:
                if cls is not float:
                    return False
            elif (cls is list or cls is tuple) and len(a) == size:
                lists[id(a)] = a
            else:
                return False
    if floats_known:
        return True
    items = itertools.chain.from_iterable(lists.values())
    return _countOf(map(type, items), float) == sum(map(len, lists.values()))


def _normalised(args: Args, derivative: Optional[str]) -> Tuple[Args, Shape]:
    """The arguments as floats and lists of floats, and their structure; TypeError for
    anything else, as on the first call (a bool is not a number here)."""
    values: List[Any] = []
    shape: List[Optional[int]] = []
    for position, arg in enumerate(args):
        if isinstance(arg, (list, tuple)):
            for item in arg:
                if not is_number(item):
                    raise TypeError(f"compiled function: argument {position} holds a "
                                    f"{type(item).__name__}; lists of numbers only")
            values.append([float(item) for item in arg])
            shape.append(len(arg))
        elif is_number(arg):
            values.append(float(arg))
            shape.append(None)
        elif arg.__class__ is Scalar and derivative is not None:
            raise TypeError(f"compiled function: argument {position} is a Scalar; {derivative} takes "
                            "numbers (call the compiled function itself on Scalars to record it)")
        else:
            raise TypeError(f"compiled function: argument {position} is a {type(arg).__name__}; "
                            "numbers or flat lists of numbers only")
    return tuple(values), tuple(shape)


def _has_scalar(args: Args) -> bool:
    return any(a.__class__ is Scalar
               or (isinstance(a, (list, tuple)) and any(v.__class__ is Scalar for v in a)) for a in args)


def _argnums(argnums: Optional[Sequence[int]]) -> Optional[Tuple[int, ...]]:
    if argnums is None:
        return None
    chosen = tuple(argnums)
    for k in chosen:
        if k.__class__ is not int:
            raise TypeError(f"compile: argnums holds a {type(k).__name__}; argument positions are ints")
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"compile: argnums {list(chosen)} names an argument twice")
    return chosen


class Compiled:
    """f, compiled: see scalargrad.compile. Make one with scalargrad.compile(f)."""

    def __init__(self, function: Callable, argnums: Optional[Sequence[int]] = None) -> None:
        self.function = function
        self.argnums = _argnums(argnums)
        self._variants: Dict[Shape, List[Program]] = {}
        self._latest: Dict[Optional[Shape], Program] = {}  # the variant that fitted last
        self._recording: Dict[Shape, str] = {}  # structures run on the recording engine, and why
        self.__name__ = f"compiled({getattr(function, '__name__', 'f')})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"{self.__name__} cannot be pickled or copied: its code is made in this "
                        "process; pickle the function and compile it again where it is loaded")

    # What users call ---------------------------------------------------------------------
    def __call__(self, *args: Any) -> Any:
        """f's value at args (numbers or lists of numbers), by the compiled code; on Scalars
        (inside another recording) f itself, recorded."""
        program = self._latest.get(_shape(args))
        if program is not None:
            try:
                return _values(program, args)
            except Retrace:
                pass
            except _FAILURES:
                return self._record(args, None)
        if _has_scalar(args):
            return self.function(*args)
        return self._run(args, _values, None)

    def value_and_grad(self, *args: Any) -> Tuple[float, List[Any]]:
        """(f's value, [df/dx for each differentiated argument: a float, or a list of floats
        for a list]) for a function returning one number."""
        program = self._latest.get(_shape(args))
        if program is not None and program.outputs == 1:
            try:
                return _gradient(program, args)
            except Retrace:
                pass
            except _FAILURES:
                return self._record(args, "value_and_grad")
        return self._run(args, _gradient, "value_and_grad")

    def value_and_grad_into(self, buffers: Sequence[List[float]],
                            *args: Any) -> Tuple[float, List[Any]]:
        """As value_and_grad, but the gradients of list arguments are *added* to the given
        buffers (one list per differentiated list argument, in order), which are returned in
        their place: a training loop sums a batch's gradients in lists it keeps. The buffers
        are only touched once the gradient is known."""
        value, gradients = self.value_and_grad(*args)
        lists = [g for g in gradients if isinstance(g, list)]
        _check_buffers(buffers, lists, "value_and_grad_into")
        given = iter(buffers)
        _add(buffers, lists)
        return value, [next(given) if isinstance(g, list) else g for g in gradients]

    def vjp_into(self, buffers: Sequence[List[float]], seed: Sequence[float], *args: Any) -> List[float]:
        """f's outputs (a list) at args; adds to the buffers (one list per differentiated list
        argument) the gradient of sum(seed[j] * output[j]): one reverse sweep whose outputs'
        adjoints start at the seed, adding into the buffers as it goes (as the recording
        engine's sweep of buffers . lists + seed . outputs would, buffers first). A training
        step takes a loss and the logits this way in one call. The sweep starts once every
        value and guard is computed: a call that raises leaves the buffers as they were."""
        positions = self._differentiated(len(args))
        _check_buffers(buffers, [args[i] for i in positions if isinstance(args[i], (list, tuple))],
                       "vjp_into")
        return self._vjp(seed, args, buffers)

    def vjp_batch(self, buffers: Sequence[List[float]], seed: Sequence[float],
                  shared: Sequence[Any], examples: Sequence[Sequence[Any]],
                  floats_known: bool = False) -> List[List[float]]:
        """vjp_into for each example, f(*shared, *example), in one call: the outputs of each,
        and the gradient of sum(seed[j] * output[j]) over all of them added to the buffers.
        The differentiated arguments must be lists among the shared ones (a model's
        parameters; the examples bring the data). Faster than a call per example: what is
        shared is read once, and the gradients of a dot's weights are added up for the whole
        batch at the end (batch.py). Examples that need another variant, or meet an error,
        are run one by one; the buffers are only touched once the whole batch has succeeded.

        ``floats_known=True`` says that every number in shared and examples is a float (say,
        rows read from a float64 array and parameters an optimizer wrote), so that their
        types are not checked; their structure still is. Like scipy's check_finite=False, it
        is a promise: an int or a bool among them may then give an answer the recording
        engine would not (an int's exact arithmetic where a float would round)."""
        if not examples:
            return []
        arity = len(shared) + len(examples[0])
        positions = self._differentiated(arity)
        if any(i >= len(shared) or not isinstance(shared[i], (list, tuple)) for i in positions):
            raise TypeError("vjp_batch: the differentiated arguments must be lists, among the shared ones")
        _check_buffers(buffers, [shared[i] for i in positions], "vjp_batch")
        shape = _shape((*shared, *examples[0]), floats_known)
        program = self._latest.get(shape)
        if (program is not None and shape is not None and len(seed) == program.outputs
                and _fit(examples, shape[len(shared):], floats_known)):
            run = batch.compiled(program, len(shared))
            try:
                outputs, gradients = run(*shared, examples, seed)
            except (Retrace, *_FAILURES):
                pass
            else:
                _add(buffers, gradients)
                return [list(output) for output in outputs]
        return self._one_by_one(buffers, seed, shared, examples)

    def _one_by_one(self, buffers: Sequence[List[float]], seed: Sequence[float],
                    shared: Sequence[Any], examples: Sequence[Sequence[Any]]) -> List[List[float]]:
        """vjp_batch as vjp_into example by example, on copies of the buffers, copied back
        once every example has succeeded."""
        totals = [list(buffer) for buffer in buffers]
        results = [self._vjp(seed, (*shared, *example), totals) for example in examples]
        for buffer, total in zip(buffers, totals):
            buffer[:] = total
        return results

    def jacobian(self, *args: Any) -> List[List[Any]]:
        """Rows, one per output of f (a list of numbers), of derivatives with respect to each
        differentiated argument (a float, or a list of floats for a list)."""
        return self._run(args, _jacobian, "jacobian")

    @property
    def source(self) -> str:
        """The generated Python of every variant traced so far (and of its vjp_batch)."""
        return "\n".join(source for programs in self._variants.values() for program in programs
                         for source in (program.source, *program.batch_sources))

    def program(self, *args: Any) -> Optional[Program]:
        """The variant that a call on args runs (traced now if none fits, as a call would);
        None where that call runs on the recording engine."""
        ran: List[Program] = []

        def values(program: Program, a: Args) -> Any:
            result = _values(program, a)
            ran.append(program)
            return result
        self._run(args, values, None)
        return ran[0] if ran else None

    @property
    def ir(self) -> str:
        """The intermediate form of every variant traced so far, as the code is written from
        it (after the passes): equations, guards, outputs and the reverse sweep."""
        return "\n\n".join(str(program.form) for programs in self._variants.values()
                           for program in programs)

    # Variants ----------------------------------------------------------------------------
    def _vjp(self, seed: Sequence[float], args: Args, buffers: Sequence[List[float]]) -> List[float]:
        """The outputs; the seeded sweep added into the buffers (see vjp_into)."""
        program = self._latest.get(_shape(args))
        if program is not None:
            try:
                return _vjp(program, args, seed, buffers)
            except Retrace:
                pass
            except _FAILURES:
                return self._record(args, "vjp", seed, buffers)
        return self._run(args, lambda p, a: _vjp(p, a, seed, buffers), "vjp", seed, buffers)

    def _differentiated(self, arity: int) -> Tuple[int, ...]:
        """The positions differentiated in a call of this many arguments: argnums, read as
        Python reads indexes (-1 is the last); ValueError for one out of range."""
        if self.argnums is None:
            return tuple(range(arity))
        for k in self.argnums:
            if not -arity <= k < arity:
                raise ValueError(f"{self.__name__}: argnums holds {k}, but the call has {arity} "
                                 "arguments")
        return tuple(k % arity for k in self.argnums)

    def _run(self, args: Args, run: Callable[[Program, Args], Any], derivative: Optional[str],
             seed: Sequence[float] = (), buffers: Sequence[List[float]] = ()) -> Any:
        args, shape = _normalised(args, derivative)
        differentiate = self._differentiated(len(args))
        if shape in self._recording:
            return self._record(args, derivative, seed, buffers)
        programs = self._variants.setdefault(shape, [])
        for program in list(programs):
            try:
                result = run(program, args)
            except Rebound:  # never right again: made room for the new one
                programs.remove(program)
                continue
            except Retrace:
                continue
            except _FAILURES:
                return self._record(args, derivative, seed, buffers)
            self._latest[shape] = program
            return result
        if len(programs) >= MAX_VARIANTS:
            return self._give_up(shape, f"{MAX_VARIANTS} variants traced for arguments of this "
                                 "shape and none fits", args, derivative, seed, buffers)
        try:
            form = trace(self.function, args, shape, differentiate)
            program = Program(pipeline(form), find(self.function, form.externals))
        except NotTraceable as why:
            return self._give_up(shape, str(why), args, derivative, seed, buffers)
        try:
            result = run(program, args)
        except Retrace:  # fails its own call's guards: never kept, never trusted
            return self._record(args, derivative, seed, buffers)
        except _FAILURES:
            programs.append(program)
            return self._record(args, derivative, seed, buffers)
        programs.append(program)
        self._latest[shape] = program
        return result

    def _give_up(self, shape: Shape, why: str, args: Args, derivative: Optional[str],
                 seed: Sequence[float], buffers: Sequence[List[float]]) -> Any:
        self._recording[shape] = why
        warnings.warn(f"{self.__name__}: {why}; running it on the recording engine from now on",
                      RuntimeWarning, stacklevel=4)
        return self._record(args, derivative, seed, buffers)

    def _record(self, args: Args, derivative: Optional[str], seed: Sequence[float] = (),
                buffers: Sequence[List[float]] = ()) -> Any:
        """The recording engine's answer (and errors) for this call, shaped as the compiled
        code's: values; (value, gradients); jacobian rows; or, for vjp, the outputs, the
        seeded sweep added into the buffers."""
        args, _ = _normalised(args, derivative)
        inputs: List[Any] = [Scalar(a) if a.__class__ is float else [Scalar(v) for v in a] for a in args]
        result, nodes, _ = on_a_tape(lambda: self.function(*inputs))
        single = not isinstance(result, (list, tuple))
        outputs = [result] if single else list(result)
        if nodes is None:  # the function ended the tape itself: the graph's own order
            nodes = topological_order([out for out in outputs if out.__class__ is Scalar])
        check_outputs(outputs)
        values = [out._value if out.__class__ is Scalar else float(out) for out in outputs]
        if derivative is None:
            return values[0] if single else values
        wanted = self._differentiated(len(args))
        flat = [x for i in wanted for x in (inputs[i] if isinstance(inputs[i], list) else [inputs[i]])]
        if derivative == "vjp":
            _check_seed(seed, len(outputs))
            cells = [x for i in wanted if isinstance(inputs[i], list) for x in inputs[i]]
            start = {id(x): b for x, b in zip(cells, (b for buffer in buffers for b in buffer))}
            adjoints = _seeded_sweep(nodes, outputs, seed, start)
            new = iter([adjoints[id(x)] for x in cells])
            for buffer in buffers:
                buffer[:] = [next(new) for _ in buffer]
            return values
        if derivative == "value_and_grad" and len(outputs) != 1:
            raise TypeError("value_and_grad: the function returns several values; use jacobian")
        rows = [reverse_autodiff(out, flat) for out in outputs]  # a number: zeros; a bool: refused
        shaped_rows = [_reshape(row, [inputs[i] for i in wanted]) for row in rows]
        return shaped_rows if derivative == "jacobian" else (values[0], shaped_rows[0])


def _seeded_sweep(nodes: List[Scalar], outputs: List[Any], seed: Sequence[float],
                  start: Dict[int, float]) -> Dict[int, float]:
    """The recording engine's sweep over nodes (as recorded, oldest first), the adjoints of
    some leaves starting at given values (by id) and each output's adding its seed first:
    the adjoints by id, added in the order the compiled vjp adds them."""
    adjoints = dict(start)
    for out, weight in zip(outputs, seed):
        if out.__class__ is Scalar:
            adjoints[id(out)] = adjoints.get(id(out), 0.0) + weight
    for node in reversed(nodes):
        g = adjoints.get(id(node))
        if not g:  # a zero adjoint passes nothing on
            continue
        for parent, d in zip(*edges(node)):
            adjoints[id(parent)] = adjoints.get(id(parent), 0.0) + g * d
    return adjoints


def _check_seed(seed: Sequence[float], outputs: int) -> None:
    if len(seed) != outputs:
        raise ValueError(f"vjp: the seed has {len(seed)} weights for {outputs} outputs")


def _check_buffers(buffers: Sequence[List[float]], lists: Sequence[Sequence[Any]], where: str) -> None:
    if len(buffers) != len(lists) or any(len(b) != len(g) for b, g in zip(buffers, lists)):
        raise ValueError(f"{where}: {len(lists)} buffers wanted, of lengths {[len(g) for g in lists]}")


def _add(buffers: Sequence[List[float]], gradients: Sequence[Sequence[float]]) -> None:
    """Each gradient added to its buffer; into zeros, copied: the same bits, as gradients
    start at 0.0 and are only added to, so never hold -0.0."""
    for buffer, gradient in zip(buffers, gradients):
        if any(buffer):
            buffer[:] = map(operator.add, buffer, gradient)
        else:
            buffer[:] = gradient


def _values(program: Program, args: Args) -> Any:
    outputs = program.value(*args)
    return outputs[0] if program.form.single else list(outputs)


def _gradient(program: Program, args: Args) -> Any:
    if program.outputs != 1 or not program.form.derivable:  # the recording engine raises
        raise TypeError("value_and_grad: the function returns several values; use jacobian")
    lists = [[0.0] * len(args[i]) for i in program.lists]  # grad writes into zeros (fresh)
    value, scalars = program.grad(*args, *lists)
    return value, (lists if program.only_lists else _gradients(program, lists, scalars))


def _vjp(program: Program, args: Args, seed: Sequence[float], buffers: Sequence[List[float]]) -> List[float]:
    _check_seed(seed, program.outputs)
    outputs, _ = program.vjp(*args, (seed,), (tuple(buffers),))
    return list(outputs)


def _jacobian(program: Program, args: Args) -> List[List[Any]]:
    if not program.form.derivable:  # an output is a bool: the recording engine raises
        raise TypeError("jacobian: an output is a bool")
    count = len(program.form.outputs)
    seeds = [tuple(1.0 if j == k else 0.0 for j in range(count)) for k in range(count)]
    lists = [tuple([0.0] * len(args[i]) for i in program.lists) for _ in seeds]
    _, scalars = program.vjp(*args, seeds, lists)
    return [_gradients(program, list(lists[k]), scalars[k]) for k in range(count)]


def _gradients(program: Program, lists: Sequence[List[float]], scalars: Tuple[float, ...]) -> List[Any]:
    """The gradients in argument order: lists for list arguments, floats for numbers."""
    lists_left, scalars_left = iter(lists), iter(scalars)
    return [next(lists_left) if program.form.arguments[i] is not None else next(scalars_left)
            for i in program.form.differentiate]


def _reshape(row: List[float], inputs: List[Any]) -> List[Any]:
    shaped: List[Any] = []
    start = 0
    for item in inputs:
        if isinstance(item, list):
            shaped.append(row[start:start + len(item)])
            start += len(item)
        else:
            shaped.append(row[start])
            start += 1
    return shaped
