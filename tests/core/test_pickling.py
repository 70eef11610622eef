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
from tests.core.test_primitives import erf, hypot, log1pexp


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


def test_a_graph_with_primitives_pickles_by_reference_and_differentiates_the_same():
    x, w = Scalar(0.4), Scalar(-1.3)
    y = hypot(erf(x * w), 2.0) + sg.stop_gradient(x * x) * x + log1pexp(w)
    copy_x, copy_w, copy_y = pickle.loads(pickle.dumps([x, w, y]))
    assert copy_y.value == y.value
    assert reverse_autodiff(copy_y, [copy_x, copy_w]) == reverse_autodiff(y, [x, w])
    assert (reverse_autodiff(reverse_autodiff(copy_y, copy_x, create_graph=True), copy_w)
            == reverse_autodiff(reverse_autodiff(y, x, create_graph=True), w))
    assert b"erf" in pickle.dumps(y) and b"math.erf" not in pickle.dumps(y)


def test_a_primitive_defined_inside_a_function_cannot_be_pickled_and_says_why():
    @sg.primitive(partials=lambda x: [1.0])
    def local(x):
        return x
    with pytest.raises(pickle.PicklingError, match="the primitive local cannot be pickled: it is pickled by "
                       "reference, as functions are, .*define it at the top level of a module"):
        pickle.dumps(local(Scalar(1.0)) * 2)


def test_a_graph_with_primitives_loads_in_another_process_by_importing_their_module():
    """The pickle names the primitives' module and names, which the loading process imports
    (here a fresh interpreter, which has never seen them)."""
    x = Scalar(0.3)
    y = erf(x) * hypot(x, 4.0)
    code = textwrap.dedent("""
        import pickle, sys
        from scalargrad import reverse_autodiff
        x, y = pickle.loads(sys.stdin.buffer.read())
        print(y._a.operation, y.value, reverse_autodiff(y, x))
    """)
    shown = subprocess.run([sys.executable, "-c", code], input=pickle.dumps([x, y]),
                           capture_output=True, check=True).stdout.decode().split()
    assert shown == ["erf", repr(y.value), repr(reverse_autodiff(y, x))]


def test_copies_of_a_graph_with_primitives_share_the_primitive_itself():
    x = Scalar(0.7)
    y = erf(x) * sg.stop_gradient(x) + hypot(x, 1.0)
    shallow, deep = copy.copy(y), copy.deepcopy(y)
    assert reverse_autodiff(shallow, x) == reverse_autodiff(y, x)  # over the same leaf
    erf_node = deep._a._a  # y = erf(x) * stop_gradient(x) + hypot(x, 1.0)
    assert erf_node._rule is erf and erf_node._a[0] is not x  # the leaf copied
    assert deep.value == y.value and reverse_autodiff(deep, erf_node._a[0]) == reverse_autodiff(y, x)
