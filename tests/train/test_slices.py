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
