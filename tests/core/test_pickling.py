"""Pickling and copying Scalars: values and derivatives survive, without recursion."""
import copy
import math
import pickle
import subprocess
import sys
import textwrap

import pytest

import scalargrad as sg
from scalargrad import Scalar, forward_autodiff, reverse_autodiff


def graph(x, z):
    """A graph using unary, binary and every n-ary rule, with numbers mixed in."""
    y = sg.tanh(x * z) + sg.dot([x, z, 2.0], [x, 3.0, z]) + sg.logsumexp([x, z, 1.0])
    return y / (1.0 + sg.sum([x, z, 0.5]) ** 2)


def test_a_leaf_pickles_as_its_value():
    x = pickle.loads(pickle.dumps(Scalar(2.5)))
    assert type(x) is Scalar and x.value == 2.5 and x.is_leaf


def test_a_computed_scalar_pickles_with_its_graph():
    x, z = Scalar(0.4), Scalar(-1.1)
    y = graph(x, z)
    x2, z2, y2 = pickle.loads(pickle.dumps([x, z, y]))
    assert y2.value == y.value and not y2.is_leaf
    expected = reverse_autodiff(y, [x, z])
    assert reverse_autodiff(y2, [x2, z2]) == expected
    assert forward_autodiff(y2, [x2, z2]) == pytest.approx(expected, rel=1e-12)
    for row, twin_row in zip(sg.hessian(y, [x, z]), sg.hessian(y2, [x2, z2])):
        assert twin_row == pytest.approx(row, rel=1e-12)


def test_scalars_pickled_separately_do_not_share_leaves():
    x = Scalar(0.4)
    y = x * x
    y2 = pickle.loads(pickle.dumps(y))
    assert reverse_autodiff(y2, x) == 0.0  # y2 depends on a copy of x, not on x


def test_copy_keeps_the_inputs_and_deepcopy_copies_them():
    x, z = Scalar(0.4), Scalar(-1.1)
    y = graph(x, z)
    shallow = copy.copy(y)
    assert shallow is not y and shallow.value == y.value
    assert reverse_autodiff(shallow, [x, z]) == reverse_autodiff(y, [x, z])
    deep = copy.deepcopy(y)
    assert deep.value == y.value and reverse_autodiff(deep, [x, z]) == [0.0, 0.0]
    x3, y3 = copy.deepcopy([x, y])
    assert reverse_autodiff(y3, x3) == reverse_autodiff(y, x)


@pytest.mark.parametrize("depth", [200, 100_000])
def test_deep_graphs_copy_and_pickle_without_recursion(depth):
    x = Scalar(0.5)
    y = x
    for _ in range(depth):
        y = y * 0.9999 + 0.0001
    for twin in (copy.deepcopy([x, y]), pickle.loads(pickle.dumps([x, y]))):
        assert twin[1].value == y.value
        assert reverse_autodiff(twin[1], twin[0]) == pytest.approx(0.9999 ** depth, rel=1e-9)


def test_forward_mode_works_on_scalars_unpickled_from_another_process():
    """Creation order must not travel with a pickle: another process made these."""
    code = textwrap.dedent("""
        import pickle, sys
        import scalargrad as sg
        from scalargrad import Scalar
        junk = [Scalar(1.0) * 2 for _ in range(1000)]  # this process has recorded a lot
        ws = [Scalar(0.1 * i) for i in range(19)]
        y = sg.dot(ws, [float(i) for i in range(19)]) + sg.tanh(ws[0] * ws[1])
        sys.stdout.buffer.write(pickle.dumps([ws, y]))
    """)
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    ws, y = pickle.loads(made.stdout)
    forward = forward_autodiff(y, ws)
    reverse = reverse_autodiff(y, ws)
    assert forward == pytest.approx(reverse, rel=1e-12)
    sech2 = 1 / math.cosh(0.0 * 0.1) ** 2
    assert forward[:3] == pytest.approx([0.0 + sech2 * 0.1, 1.0 + sech2 * 0.0, 2.0])
    assert all(d != 0.0 for d in forward[2:])
