"""Shards sized by the workers' measured speeds."""
import random

import pytest

from scalargrad.train.balance import NEWEST, Balance


def test_shards_are_equal_until_every_worker_is_measured():
    balance = Balance(3)
    assert balance.sizes(10) == [4, 3, 3]
    balance.measured(0, 4, 0.1)
    assert balance.sizes(10) == [4, 3, 3]  # workers 1 and 2 are not measured yet
    assert balance.split(list(range(10, 20))) == [[10, 11, 12, 13], [14, 15, 16], [17, 18, 19]]


def test_a_worker_twice_as_slow_gets_a_third_of_the_batch():
    balance = Balance(2)
    balance.measured(0, 64, 0.1)   # 640 examples a second
    balance.measured(1, 64, 0.2)   # 320: it shares its core with another program
    assert balance.sizes(128) == [85, 43]
    # the workers then finish together: 85 / 640 s and 43 / 320 s
    assert 85 / 640 == pytest.approx(43 / 320, rel=0.02)


def test_speeds_follow_the_newest_measurements_as_a_moving_average():
    balance = Balance(2)
    balance.measured(0, 10, 1.0)
    balance.measured(0, 30, 1.0)
    assert balance.speeds[0] == pytest.approx(10 + NEWEST * 20)
    balance.measured(0, 0, 1.0)      # an empty shard, or no time: nothing learnt
    balance.measured(0, 5, 0.0)
    assert balance.speeds[0] == pytest.approx(10 + NEWEST * 20)


def test_sizes_add_up_keep_one_example_each_and_follow_the_speeds():
    rng = random.Random(3)
    for _ in range(500):
        workers = rng.randint(1, 6)
        balance = Balance(workers)
        for k in range(workers):
            balance.measured(k, rng.randint(1, 100), rng.uniform(0.01, 1.0))
        examples = rng.randint(0, 300)
        sizes = balance.sizes(examples)
        assert sum(sizes) == examples and len(sizes) == workers
        if examples >= workers:
            assert min(sizes) >= 1
            speeds = balance.speeds
            fair = [1 + (examples - workers) * s / sum(speeds) for s in speeds]
            assert all(abs(size - share) < 1 for size, share in zip(sizes, fair))
        batch = rng.sample(range(1000), examples)
        assert [i for shard in balance.split(batch) for i in shard] == batch
