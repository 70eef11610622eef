"""Tracing: what a traced call becomes (compile/trace.py), and the one class attribute it
changes while it runs (value_reads_reported), put back on every way out."""
import math
import warnings
from pathlib import Path

import pytest

import scalargrad as sg
from scalargrad import Scalar
from scalargrad.compile.form import Apply, Dot, Guard, Reduce
from scalargrad.compile.trace import NotTraceable, _Recorder, trace, value_reads_reported

SLOT = type(Scalar.__dict__["_value"])


def _slot_is_back() -> bool:
    return Scalar.__dict__["value"] is Scalar.__dict__["_value"] and type(Scalar.__dict__["value"]) is SLOT


def test_every_operation_the_call_recorded_is_an_equation_in_order_used_or_not():
    def f(x, ys):
        sg.log(x)  # dropped: still an equation (it can raise)
        t = sg.dot(ys, [2.0, 3.0])
        if t > 1.0:  # a guard between the equations made before and after it
            return x * t
        return x
    form = trace(f, (2.0, [1.0, 0.5]), (None, 2), (0, 1))
    kinds = [type(e).__name__ for e in form.equations]
    assert kinds == ["Apply", "Dot", "Guard", "Apply"]
    log, dot, guard, mul = form.equations
    assert isinstance(log, Apply) and log.rule.name == "log" and log.args[0] is form.inputs[0]
    assert isinstance(dot, Dot) and dot.right.atoms == (2.0, 3.0)
    assert isinstance(guard, Guard) and guard.test == "gt" and guard.operands == (dot.out, 1.0)
    assert guard.outcome is True
    assert isinstance(mul, Apply) and form.outputs == (mul.out,) and form.single


def test_numbers_are_float_atoms_and_outside_scalars_are_externals_read_in_order_met():
    w, v = Scalar(2.0), Scalar(3.0)
    made_before = w * v  # a node recorded before the call: read at each call, not traced
    form = trace(lambda x: sg.sum([x, 4, made_before]) * w, (1.0,), (None,), (0,))
    total, product = form.equations
    assert isinstance(total, Reduce) and total.items.atoms[1] == 4.0 and type(total.items.atoms[1]) is float
    assert form.externals == (made_before, w)
    assert product.args[1].name == "e1" and total.items.atoms[2].name == "e0"


@pytest.mark.parametrize("read", [
    lambda x: x.value, lambda x: float(x), lambda x: sg.value_of(x), lambda x: float(repr(x)[7:-1]),
    lambda x: float(format(x, ".17g")), lambda x: Scalar(x).value, lambda x: sg.Matrix([[x]]).tolist()[0][0],
], ids=["value", "float", "value_of", "repr", "format", "Scalar-copy", "tolist"])
def test_every_way_of_reading_a_traced_value_for_the_user_is_a_guard(read):
    form = trace(lambda x: x * read(x * 1.0), (3.0,), (None,), (0,))
    guards = [e for e in form.equations if isinstance(e, Guard)]
    assert guards and all(g.outcome == 3.0 for g in guards)
    cf = sg.compile(lambda x: x * read(x * 1.0))
    assert [cf(v) for v in (3.0, 5.0, -2.0)] == [9.0, 25.0, 4.0]  # x * x at every point


def test_values_scalargrad_reads_for_its_own_work_are_not_guards():
    def f(w, x):
        return [sg.dot(w, x), sg.logsumexp(w), (sg.Matrix([w]) @ sg.Matrix([[1.0], [2.0]]))[0, 0]]
    form = trace(f, ([1.0, 2.0], [3.0, 4.0]), (2, 2), (0,))
    assert not any(isinstance(e, Guard) for e in form.equations)


class _Stop(BaseException):
    pass


@pytest.mark.parametrize("way_out", [None, ValueError, KeyboardInterrupt, _Stop])
def test_value_is_the_slot_again_on_every_way_out_of_a_trace(way_out):
    def f(x):
        assert type(Scalar.__dict__["value"]) is property  # changed while traced, only then
        if way_out is not None:
            raise way_out()
        return x * x.value
    assert _slot_is_back()
    if way_out is None:
        assert sg.compile(f)(2.0) == 4.0
    else:
        with pytest.raises(way_out):
            sg.compile(f)(2.0)
    assert _slot_is_back()
    with value_reads_reported(_Recorder()):  # nested: each block puts back what it found
        outer = Scalar.__dict__["value"]
        with value_reads_reported(_Recorder()):
            pass
        assert Scalar.__dict__["value"] is outer
    assert _slot_is_back()


def test_a_function_that_sets_a_value_while_traced_runs_on_the_recording_engine():
    w = Scalar(1.0)

    def step(x):
        loss = (w - x) ** 2
        w.value = w.value - 0.1  # a side effect the compiled code could not do again
        return loss

    with pytest.raises(NotTraceable, match="sets a Scalar's value"):
        trace(step, (0.0,), (None,), (0,))
    assert _slot_is_back()
    w.value = 1.0
    cf = sg.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cf(0.0) == 0.81  # (0.9 - 0)^2: the write of the trace, then this call's
    assert w.value == pytest.approx(0.8) and "recording engine" in str(caught[0].message)
    assert cf(0.0) == pytest.approx(0.64) and w.value == pytest.approx(0.7)


def test_a_function_that_ends_the_tape_is_not_traceable_and_runs_on_the_recording_engine():
    def f(x):
        slope = sg.reverse_autodiff(x * x, x)  # a float; differentiating ends the tape
        return x * slope

    with pytest.raises(NotTraceable, match="ended the tape"):
        trace(f, (2.0,), (None,), (0,))
    cf = sg.compile(f)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        for x in (2.0, 3.0):  # x * 2x, the slope a constant: the recording engine's answers
            assert cf.value_and_grad(x) == (2 * x * x, [2 * x])


def test_nothing_in_scalargrad_decides_by_looking_at_the_callers_frame():
    root = Path(sg.__file__).resolve().parent
    assert not [p for p in root.rglob("*.py") if "_getframe" in p.read_text()]


def test_the_package_is_reached_by_its_submodules_and_scalargrad_compile_is_the_function():
    import sys

    import scalargrad.compile  # noqa: F401 - the submodule, already imported
    from scalargrad.compile import Compiled, compile
    from scalargrad.compile.form import Form
    assert sg.compile is compile and callable(sg.compile) and isinstance(sg.compile(math.sin), Compiled)
    package = sys.modules["scalargrad.compile"]
    assert package.compile is compile and package.form.Form is Form
