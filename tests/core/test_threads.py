"""Threads: recording and differentiating from several threads at once gives the right
numbers (sweeps take turns: autodiff.py's docstring); grad keeps its calls per thread."""
import math
import random
import sys
import threading

import pytest

import scalargrad as sg
from scalargrad import Scalar, forward_autodiff, grad, hessian, jacobian, reverse_autodiff
from scalargrad.core import scalar


def function(x, y):
    return sg.sin(x * y) + sg.exp(x) * y + sg.tanh(x - y) + sg.logsumexp([x, y, 0.5])


def gradient(x, y):
    """function's gradient, by hand."""
    sech2 = 1 / math.cosh(x - y) ** 2
    total = math.exp(x) + math.exp(y) + math.exp(0.5)
    return [y * math.cos(x * y) + math.exp(x) * y + sech2 + math.exp(x) / total,
            x * math.cos(x * y) + math.exp(x) - sech2 + math.exp(y) / total]


def second(x, y):
    """d2/dx2 of function, by hand."""
    t = math.tanh(x - y)
    total = math.exp(x) + math.exp(y) + math.exp(0.5)
    p = math.exp(x) / total
    return -y * y * math.sin(x * y) + math.exp(x) * y - 2 * t * (1 - t * t) + p * (1 - p)


def worker(seed, rounds, start, failures):
    rng = random.Random(seed)
    start.wait()
    try:
        for k in range(rounds):
            a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
            x, y = Scalar(a), Scalar(b)
            sg.exp(x) * 3.0  # recorded and dropped: interleaves the tape with other nodes
            z = function(x, y)
            truth = gradient(a, b)
            results = {"reverse": reverse_autodiff(z, [x, y]), "forward": forward_autodiff(z, [x, y]),
                       "jacobian": jacobian([z], [x, y])[0]}
            for name, found in results.items():
                if found != pytest.approx(truth, rel=1e-12):
                    failures.append((seed, k, name, found, truth))
            if k % 10 == 0:
                if hessian(z, [x, y])[0][0] != pytest.approx(second(a, b), rel=1e-10):
                    failures.append((seed, k, "hessian"))
                if grad(lambda u: grad(lambda v: function(u, v))(b))(a) != pytest.approx(
                        second_mixed(a, b), rel=1e-10):
                    failures.append((seed, k, "grad of grad"))
    except Exception as error:  # noqa: BLE001 (reported by the test, with the others)
        failures.append((seed, "raised", repr(error)))


def second_mixed(x, y):
    """d2/dx dy of function, by hand."""
    t = math.tanh(x - y)
    total = math.exp(x) + math.exp(y) + math.exp(0.5)
    return (math.cos(x * y) - x * y * math.sin(x * y) + math.exp(x) + 2 * t * (1 - t * t)
            - math.exp(x) * math.exp(y) / total ** 2)


@pytest.fixture
def frequent_switches():
    """Threads switch every microsecond (not every 5 ms): interleavings a run would take
    long to meet happen in every round."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_four_threads_recording_and_differentiating_at_once_give_the_right_numbers(frequent_switches):
    failures = []
    start = threading.Barrier(4)
    threads = [threading.Thread(target=worker, args=(seed, 300, start, failures)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_sweep_waits_for_the_sweep_of_another_thread():
    """While one thread's sweep runs (here: holds the turn), another thread's waits, then
    gives the right answer: turns, not an error."""
    done = []
    x = Scalar(3.0)
    y = x * x
    scalar.SWEEPS.acquire()
    try:
        thread = threading.Thread(target=lambda: done.append(reverse_autodiff(y, x)))
        thread.start()
        thread.join(0.3)
        assert thread.is_alive() and done == []
    finally:
        scalar.SWEEPS.release()
    thread.join()
    assert done == [6.0]


def test_grad_keeps_its_calls_per_thread(frequent_switches):
    """Nested grad calls in several threads at once: each thread's inner calls are its own
    (a float comes back where the result depends only on the calls' own variables)."""
    results = []

    def run(seed):
        for k in range(50):
            a = 1.0 + seed + k / 100
            found = grad(lambda x: grad(lambda z: x * z * z)(2.0))(a)
            results.append((type(found), found))

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [(float, 4.0)] * 200
