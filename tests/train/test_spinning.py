"""Waiting for a message: spinning while the cores are free, sleeping once they are crowded."""
import multiprocessing
import time

from scalargrad.train import spinning
from scalargrad.train.spinning import CROWDED, Spinner


class Pipe:
    """A connection whose message arrives at the ``arrives_at``-th poll (None: never)."""

    def __init__(self, arrives_at=None):
        self.arrives_at, self.polls = arrives_at, 0

    def poll(self):
        self.polls += 1
        return self.arrives_at is not None and self.polls >= self.arrives_at


def test_on_free_cores_it_asks_until_the_message_comes_or_the_time_is_up(monkeypatch):
    monkeypatch.setattr(spinning, "_switches", lambda: 0)
    spinner = Spinner(10.0)
    pipe = Pipe(arrives_at=50)
    assert spinner.arrived(pipe) and pipe.polls == 50
    spinner.seconds = 0.005
    pipe, started = Pipe(), time.perf_counter()
    assert not spinner.arrived(pipe)
    assert time.perf_counter() - started >= 0.005 and pipe.polls > 1


def test_once_the_scheduler_keeps_taking_its_core_it_asks_once_and_sleeps(monkeypatch):
    count = [0]
    monkeypatch.setattr(spinning, "_switches", lambda: count[0])
    spinner = Spinner(0.001)
    asked = []
    for _ in range(60):  # one involuntary context switch between waits: crowded
        count[0] += 1
        pipe = Pipe()
        assert not spinner.arrived(pipe)
        asked.append(pipe.polls)
    assert spinner.crowding > CROWDED
    assert asked[-1] == 1 and asked.count(1) >= 50  # after a few waits, one ask each
    for _ in range(60):  # the other program has ended: no more switches
        pipe = Pipe(arrives_at=3)
        spinner.arrived(pipe)
    assert spinner.crowding < CROWDED and pipe.polls == 3  # spinning again


def _busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_the_count_it_reads_is_the_kernels_count_of_this_process_being_preempted():
    """With more busy processes than cores, each is preempted, and the count goes up."""
    before = spinning._switches()
    others = [multiprocessing.Process(target=_busy, args=(0.5,))
              for _ in range(multiprocessing.cpu_count() + 1)]
    for process in others:
        process.start()
    _busy(0.4)
    for process in others:
        process.join()
    assert spinning._switches() > before
