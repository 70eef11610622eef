"""A bounded record of a long run's points, for charts: evenly thinned as it grows.

A chart needs a few hundred points, but a run may make millions of steps. ``Thinned`` keeps
the points whose number is a multiple of its stride; when it holds more than ``capacity``,
it drops every other one and doubles the stride. So it always holds between capacity/2 and
capacity points, evenly spread, the first among them, and the latest is kept as well.
"""
from __future__ import annotations

from typing import Generic, List, Optional, TypeVar

T = TypeVar("T")


class Thinned(Generic[T]):
    def __init__(self, capacity: int = 1000) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self.stride = 1
        self.count = 0  # items added
        self._kept: List[T] = []
        self._latest: Optional[T] = None

    def add(self, item: T) -> None:
        if self.count % self.stride == 0:
            self._kept.append(item)
            if len(self._kept) > self.capacity:
                self._kept = self._kept[::2]
                self.stride *= 2
        self._latest = item
        self.count += 1

    def items(self) -> List[T]:
        """The items kept, oldest first, ending with the latest added."""
        if self.count and (self.count - 1) % self.stride != 0:
            return self._kept + [self._latest]  # type: ignore[list-item]
        return list(self._kept)
