"""Scalars a compiled function reads from outside its arguments: values read at each call,
and a Scalar rebound where the function finds it seen (compile/watch.py), wherever it is."""
import types

import pytest

import scalargrad as sg
from scalargrad import Matrix, Scalar
from scalargrad.compile.watch import find
from tests.compile import compile_oracle as oracle


@pytest.fixture
def traces(monkeypatch):
    """How many times compiled functions trace (a list: one entry a trace)."""
    from scalargrad.compile import compiled
    made = []

    def counting(*args):
        made.append(args)
        return real(*args)
    real = compiled.trace
    monkeypatch.setattr(compiled, "trace", counting)
    return made


def _follows(f, change, points=(0.5, -2.0), traced=None):
    """cf answers as the recording engine before and after change(); the variant that read the
    old Scalar is dropped, not kept beside the new one; f is traced once more, not at each call."""
    cf = sg.compile(f)
    for x in points:
        assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(x)), oracle.value_and_grad(f, (x,)))
    before = None if traced is None else len(traced)
    change()
    for x in points:
        assert oracle.same(oracle.attempt(lambda: cf.value_and_grad(x)), oracle.value_and_grad(f, (x,)))
    assert sum(len(programs) for programs in cf._variants.values()) == 1
    if traced is not None:
        assert len(traced) == before + 1
    return cf


class _Model:
    def __init__(self) -> None:
        self.w = Scalar(2.0)
        self.layers = [[Scalar(1.0), Scalar(-1.0)]]


class _Shared:
    w = Scalar(3.0)


class _Slotted:
    __slots__ = ("w",)

    def __init__(self) -> None:
        self.w = Scalar(4.0)


def test_an_attribute_of_an_object_rebound(traces):
    model = _Model()
    _follows(lambda x: x * model.w, lambda: setattr(model, "w", Scalar(-5.0)), traced=traces)


def test_a_change_off_the_way_to_what_was_read_traces_nothing_again(traces):
    model, unrelated = _Model(), [Scalar(1.0)]
    namespace = {"model": model, "unrelated": unrelated, "K": 1.0}
    exec("def f(x):\n    return x * model.w + len(unrelated) * K\n", namespace)  # noqa: S102
    cf = sg.compile(namespace["f"])
    cf(1.0)
    for change in (lambda: unrelated.__setitem__(0, Scalar(2.0)), lambda: setattr(model, "w", model.w),
                   lambda: model.layers.append([Scalar(3.0)]), lambda: namespace.__setitem__("Z", 2.0)):
        change()
        assert cf(2.0) == 2.0 * 2.0 + 1.0
    assert len(traces) == 1


def test_an_item_of_a_list_in_an_object_replaced():
    model = _Model()
    _follows(lambda x: x * model.layers[0][1] + model.layers[0][0],
             lambda: model.layers[0].__setitem__(1, Scalar(7.0)))


def test_a_list_of_scalars_that_grows_is_read_again():
    ws = [Scalar(1.0), Scalar(2.0)]
    _follows(lambda x: sg.sum([x * w for w in ws]), lambda: ws.append(Scalar(10.0)))


def test_a_value_in_a_dict_rebound():
    params = {"scale": Scalar(2.0)}
    _follows(lambda x: x * params["scale"], lambda: params.__setitem__("scale", Scalar(0.25)))


_DEFAULT = Scalar(3.0)


def test_a_default_argument_replaced():
    def f(x, w=_DEFAULT):
        return x * w
    _follows(f, lambda: setattr(f, "__defaults__", (Scalar(-1.0),)))


def test_a_class_attribute_rebound():
    thing = _Shared()
    _follows(lambda x: x * thing.w, lambda: setattr(_Shared, "w", Scalar(9.0)))


def test_an_attribute_that_comes_to_hide_the_class_attribute_read():
    thing = _Shared()
    _follows(lambda x: x * thing.w, lambda: setattr(thing, "w", Scalar(-2.0)))


def test_a_slot_rebound():
    thing = _Slotted()
    _follows(lambda x: x * thing.w, lambda: setattr(thing, "w", Scalar(-4.0)))


def test_a_matrix_of_parameters_entry_replaced():
    m = Matrix.zeros(2, 2, parameters=True)
    for k, p in enumerate(m.parameters()):
        p.value = k + 1.0
    f = lambda x: (Matrix([[x, x * 2.0]]) @ m).sum()  # noqa: E731
    _follows(f, lambda: m._rows[1].__setitem__(0, Scalar(-3.0)))


def test_a_scalar_in_a_module_named_by_the_function():
    module = types.ModuleType("parameters")
    module.W = Scalar(2.0)
    namespace = {"parameters": module}
    exec("def f(x):\n    return x * parameters.W\n", namespace)  # noqa: S102 - a module of its own
    _follows(namespace["f"], lambda: setattr(module, "W", Scalar(6.0)))


def test_a_value_set_in_place_is_read_at_each_call_without_tracing_again():
    model = _Model()
    cf = sg.compile(lambda x: x * model.w)
    assert cf(3.0) == 6.0
    model.w.value = 5.0  # what optimizers do
    assert cf(3.0) == 15.0 and cf.value_and_grad(3.0) == (15.0, [5.0])
    assert sum(len(programs) for programs in cf._variants.values()) == 1


def test_the_watch_checks_only_the_ways_to_what_was_read():
    model, other = _Model(), [Scalar(1.0)]
    watch = find(lambda x: x * model.w + len(other), [model.w])
    assert watch is not None and watch()
    other[0] = Scalar(2.0)  # not on the way to model.w
    assert watch()
    model.w = Scalar(2.0)
    assert not watch()
    assert find(lambda x: x, []) is None


@pytest.mark.parametrize("how", ["rebound", "deleted"])
def test_a_global_that_is_rebound_or_deleted(how):
    namespace = {"W": Scalar(2.0), "sg": sg}
    exec("def f(x):\n    return sg.tanh(x) * W\n", namespace)  # noqa: S102
    f = namespace["f"]
    cf = sg.compile(f)
    cf(0.5)
    if how == "rebound":
        namespace["W"] = Scalar(-1.0)
        assert oracle.same(cf(0.5), oracle.value(f, (0.5,)))
    else:
        del namespace["W"]
        with pytest.raises(NameError):  # as the recording engine
            cf(0.5)


class _Layer:
    def __init__(self) -> None:
        self.w = Scalar(1.5)

    def loss(self, x):
        return (x * self.w - 1.0) ** 2


def test_a_bound_methods_object_attribute_rebound(traces):
    layer = _Layer()
    _follows(layer.loss, lambda: setattr(layer, "w", Scalar(-0.5)), traced=traces)


def test_a_module_rebound_where_the_function_finds_it():
    first, second = types.ModuleType("first"), types.ModuleType("second")
    first.W, second.W = Scalar(2.0), Scalar(-7.0)
    namespace = {"parameters": first}
    exec("def f(x):\n    return x * parameters.W\n", namespace)  # noqa: S102
    _follows(namespace["f"], lambda: namespace.__setitem__("parameters", second))


def test_the_search_stops_at_its_budget_smallest_containers_first(monkeypatch):
    from scalargrad.compile import watch
    near, far = Scalar(1.0), Scalar(2.0)
    big = [0.0] * 50 + [[far]]  # its 51 items take the budget: the list in it is not looked at
    small = [near]
    f = lambda x: x * small[0] + x * big[-1][0]  # noqa: E731
    monkeypatch.setattr(watch, "BUDGET", 40)
    found = watch.find(f, [near, far])
    held = {id(h) for _, _, _, row in found.groups for h in row}
    assert id(near) in held and id(far) not in held
    monkeypatch.setattr(watch, "BUDGET", 1000)
    found = watch.find(f, [near, far])
    assert id(far) in {id(h) for _, _, _, row in found.groups for h in row}
    search = watch._Search()
    search.visit([[1.0, 2.0], [3.0], 4.0])  # three items; each inner list waits its turn
    search.run()
    assert search.looked == 3 + 2 + 1
