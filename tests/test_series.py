"""scalargrad.series: a bounded, evenly thinned record."""
import pytest

from scalargrad.series import Thinned


def test_short_series_are_kept_whole():
    series = Thinned(10)
    for i in range(7):
        series.add(i)
    assert series.items() == list(range(7))


@pytest.mark.parametrize("count", [11, 100, 1000, 12345])
def test_long_series_are_thinned_evenly_keeping_the_first_and_the_latest(count):
    series = Thinned(10)
    for i in range(count):
        series.add(i)
    items = series.items()
    assert items[0] == 0 and items[-1] == count - 1
    kept = items[:-1] if (count - 1) % series.stride else items
    assert 5 <= len(kept) <= 10
    assert all(b - a == series.stride for a, b in zip(kept, kept[1:]))


def test_capacity_must_allow_two():
    with pytest.raises(ValueError):
        Thinned(1)
