"""A series of (iteration, value) points in bounded memory: when it fills up, every other
point is dropped and only every second new point is kept, so a long run keeps an even
sample of its whole length."""
from __future__ import annotations

CAPACITY = 4096


class Series:
    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self.points: list[tuple[int, float]] = []
        self.stride = 1
        self.count = 0  # every point offered, kept or not

    def add(self, iteration: int, value: float) -> None:
        position = self.count  # kept: every stride-th point from the first
        self.count += 1
        if position % self.stride:
            return
        self.points.append((iteration, value))
        if len(self.points) >= self.capacity:
            self.points = self.points[::2]
            self.stride *= 2

    def extend(self, points: list[tuple[int, float]]) -> None:
        """`add` for each point, in one call."""
        stride = self.stride
        if stride == 1 and len(self.points) + len(points) < self.capacity:
            self.points.extend(points)
            self.count += len(points)
            return
        if len(self.points) + len(points) // stride + 1 < self.capacity:
            skip = (-self.count) % stride  # the next point `add` would keep
            self.points.extend(points[skip::stride])
            self.count += len(points)
            return
        for iteration, value in points:
            self.add(iteration, value)

    def extend_lazily(self, iterations: list[bytes], values: list[float]) -> None:
        """`extend` with iteration numbers still as text: only the kept ones are converted."""
        skip = (-self.count) % self.stride
        if len(self.points) + len(values) // self.stride + 1 < self.capacity:
            self.points.extend(zip(map(int, iterations[skip::self.stride]),
                                   values[skip::self.stride]))
            self.count += len(values)
            return
        for iteration, value in zip(iterations, values):
            self.add(int(iteration), value)
