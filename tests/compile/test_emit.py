"""Emission: the grad function written on its own, with other names, is the one that runs."""
import pytest

import scalargrad as sg
from scalargrad.compile.emit import run
from scalargrad.compile.form import NODE


def branchy(x, y):
    if x > y:
        return sg.sin(x) * y + sg.exp(x * y)
    return x / y - sg.tanh(x)


@pytest.mark.parametrize("point", [(0.5, 0.25), (0.25, 0.5), (2.0, -1.5)])
def test_the_grad_function_with_labels_computes_what_the_call_runs(point):
    compiled = sg.compile(branchy)
    program = compiled.program(*point)
    assert program is not None
    assert "def grad(" in program.source and program.grad_source(lambda var: None) in program.source
    relabelled = program.grad_source(lambda var: f"node_{var.position}" if var.kind == NODE else None)
    assert "node_" in relabelled and "v0" not in relabelled
    namespace = run(relabelled, program.form, None)
    value, gradient = namespace["grad"](*point)
    want_value, want_gradient = sg.value_and_grad(branchy, argnums=(0, 1))(*point)
    assert value == want_value and list(gradient) == pytest.approx(want_gradient, rel=1e-15)


def test_program_is_the_variant_each_point_runs_and_none_on_the_recording_engine():
    compiled = sg.compile(branchy)
    first, second = compiled.program(2.0, 1.0), compiled.program(1.0, 2.0)
    assert first is not None and second is not None and first is not second
    assert compiled.program(3.0, 1.0) is first  # the same branch: the same variant
    with pytest.raises(sg.DomainError):  # as a call: the recording engine raises it
        sg.compile(lambda x: sg.log(x) * 2).program(-1.0)

    def differentiates_inside(x):
        return x * sg.reverse_autodiff(x * x, x)  # ends the tape while traced: not compiled

    recorded = sg.compile(differentiates_inside)
    with pytest.warns(RuntimeWarning, match="recording engine"):
        assert recorded.program(0.5) is None
    assert recorded(0.5) == 0.5 * (2 * 0.5)
