"""Recording: the operators and functions are generated from the rule table."""
import math

import pytest

import scalargrad as sg
from scalargrad import Scalar, recording, reverse_autodiff, rules
from scalargrad.scalar import edges


def test_operators_are_generated_from_their_rules():
    """The source of Scalar.__mul__ is the MUL rule's formula and partials, not a copy."""
    source = recording.source_of("__mul__")
    assert "out = av * bv" in source and "da = bv" in source and "db = (av)" in source
    tanh = recording.source_of("tanh")
    assert "1.0 - out * out" in tanh and "_f_tanh(xv)" in tanh
    assert Scalar.__truediv__.__name__ == "__truediv__"


def test_make_node_and_generated_functions_build_the_same_node():
    x = Scalar(0.5)
    made = recording.make_node(math.tanh(0.5), rules.TANH, x, 1 - math.tanh(0.5) ** 2)
    generated = sg.tanh(x)
    assert made.value == generated.value and made.operation == generated.operation
    assert edges(made) == edges(generated)
    assert reverse_autodiff(made, x) == reverse_autodiff(generated, x)


def test_scalar_accepts_numbers_quickly_and_refuses_the_rest():
    assert Scalar(2).value == 2.0 and type(Scalar(2).value) is float
    assert Scalar(Scalar(3.5)).value == 3.5
    for bad in (True, "1", None, 1j):
        with pytest.raises(TypeError):
            Scalar(bad)
