"""What workers share: an optimizer's state cut into slices and put back together."""
from scalargrad.optim import Adam
from scalargrad.train.slices import join_states, split_state


def test_optimizer_states_split_and_join_back():
    optimizer = Adam([], lr=0.1)
    state = {**optimizer.state_dict(), "steps": 3, "first_moments": [1.0, 2.0, 3.0, 4.0, 5.0],
             "second_moments": [6.0, 7.0, 8.0, 9.0, 10.0]}
    parts = split_state(state, Adam, [0, 2, 2, 5])
    assert [part["first_moments"] for part in parts] == [[1.0, 2.0], [], [3.0, 4.0, 5.0]]
    assert all(part["steps"] == 3 and part["lr"] == 0.1 for part in parts)
    assert join_states(parts, Adam) == state


def test_slices_step_their_values_in_shared_memory_as_the_whole_optimizer_steps_its_scalars():
    import random
    from array import array
    from operator import add

    from scalargrad import Scalar
    from scalargrad.train.slices import OptimizerSlice
    from scalargrad.train.step import update

    rng = random.Random(5)
    start = [rng.uniform(-1, 1) for _ in range(11)]
    whole_parameters = [Scalar(x) for x in start]
    whole = Adam(whole_parameters, lr=0.05)
    values = memoryview(array("d", start))
    buffers = {key: memoryview(array("d", [0.0] * 11)) for key in Adam.BUFFERS}
    marks = memoryview(array("q", [0, 0]))
    slices = [OptimizerSlice(lo, hi, Adam, state)
              for (lo, hi), state in zip([(0, 4), (4, 11)],
                                         split_state(whole.state_dict(), Adam, [0, 4, 11]))]
    for rows in (1, 3, 2):  # the gradient table of 1, 3, then 2 workers
        table = [memoryview(array("d", [rng.gauss(0, 1) for _ in range(11)]))
                 for _ in range(rows)]
        summed = list(table[0])
        for row in table[1:]:
            summed = list(map(add, summed, row))  # the rows added in order
        update(whole, summed, 7)
        for k, part in enumerate(slices):
            part.update(table, values, 7, buffers, marks, k)
    assert values.tolist() == [p.value for p in whole_parameters]  # bit for bit
    state = whole.state_dict()
    assert [buffers[key].tolist() for key in Adam.BUFFERS] == [state[key] for key in Adam.BUFFERS]
    assert marks.tolist() == [3, 3] and all(part.optimizer.parameters == [] for part in slices)
