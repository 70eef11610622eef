"""What worker processes share: flat arrays of doubles in shared memory, and the optimizer
cut into slices, one per worker (scalargrad.train.parallel).

An optimizer updates each parameter from its own gradient and state alone, so slices of
one act as the whole: ``OptimizerSlice`` steps parameters lo to hi, as floats, on the sum
of the gradient table's rows over that slice, and ``split_state``/``join_states`` cut an
optimizer's state into the slices' and put it back together.
"""
from __future__ import annotations

from array import array
from multiprocessing import shared_memory
from operator import add
from typing import Any, Dict, List, Optional, Sequence, Type, cast

from ..optim import Optimizer
from .step import scaled


class SharedArray:
    """A flat array of one C type ('d' for doubles, 'q' for integers) in shared memory."""

    def __init__(self, typecode: str, length: int) -> None:
        size = length * array(typecode).itemsize
        self.memory = shared_memory.SharedMemory(create=True, size=max(size, 1))
        assert self.memory.buf is not None  # None only once closed
        self._bytes = self.memory.buf[:size]
        self.view: memoryview = cast(Any, self._bytes).cast(typecode)

    def close(self) -> None:
        """Let go of the memory and remove it (in the process that made it)."""
        self.view.release()
        self._bytes.release()
        self.memory.close()
        self.memory.unlink()


class OptimizerSlice:
    """One worker's part of the update: values lo to hi of the parameters, and an optimizer
    over them that holds no Scalars (Optimizer.step_values): the slice reads the values
    and writes the new ones as floats, wherever they are kept."""

    def __init__(self, lo: int, hi: int, kind: Type[Optimizer], state: Dict[str, Any]) -> None:
        self.lo, self.hi = lo, hi
        self.optimizer = kind(hi - lo, **{key: state[key] for key in kind.HYPERPARAMETERS})
        self.optimizer.load_state_dict(state)

    def step(self, values: Sequence[float], gradient_sum: Sequence[float], batch_size: int,
             lr: Optional[float] = None) -> List[float]:
        """The slice's new values after one step on the gradient of the mean loss of
        ``batch_size`` examples, given the slice's values and the gradient of their summed
        loss (step.scaled: divided here, as a whole batch's is)."""
        return self.optimizer.step_values(values, scaled(gradient_sum, batch_size), lr)

    def update(self, table: Sequence[memoryview], values: memoryview, batch_size: int,
               buffers: Dict[str, memoryview], marks: memoryview, k: int,
               lr: Optional[float] = None) -> None:
        """Step on the slice of the summed gradients (at the learning rate ``lr``, None for
        the optimizer's own), then share the slice's new values and
        its optimizer's per-parameter state (buffers: one shared list per kind of state).
        marks[k] says how far the shared copy is: -1 while it is written, then the step
        count, so that a process dying meanwhile leaves a copy known to be whole or not."""
        lo, hi = self.lo, self.hi
        total = table[0][lo:hi].tolist()
        for row in table[1:]:
            total = list(map(add, total, row[lo:hi]))
        new_values = array("d", self.step(values[lo:hi].tolist(), total, batch_size, lr))
        new_state = {key: array("d", getattr(self.optimizer, key)) for key in buffers}
        marks[k] = -1
        values[lo:hi] = new_values
        for key, shared in buffers.items():
            shared[lo:hi] = new_state[key]
        marks[k] = self.optimizer.steps

    def reload(self, buffers: Dict[str, memoryview], steps: int) -> None:
        """Take the slice's optimizer state from shared memory again (after the run went
        back to an earlier step: scalargrad.run's rollback); its values are read from there
        at each step."""
        lo, hi = self.lo, self.hi
        state = self.optimizer.state_dict()
        state["steps"] = steps
        for key, shared in buffers.items():
            state[key] = shared[lo:hi].tolist()
        self.optimizer.load_state_dict(state)


def split_state(state: Dict[str, Any], kind: Type[Optimizer],
                bounds: Sequence[int]) -> List[Dict[str, Any]]:
    """An optimizer's state_dict() cut into the states of slices lo..hi (bounds in order)."""
    return [{**state, **{key: state[key][lo:hi] for key in kind.BUFFERS}}
            for lo, hi in zip(bounds, bounds[1:])]


def join_states(states: Sequence[Dict[str, Any]], kind: Type[Optimizer]) -> Dict[str, Any]:
    """The state of the whole optimizer from its slices' states (split_state's inverse)."""
    return {**states[0], **{key: [x for state in states for x in state[key]]
                            for key in kind.BUFFERS}}
