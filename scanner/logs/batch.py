"""Which records an iteration read. Caffe's Data and HDF5Data layers (and ImageData without
shuffle) read in key, row or line order and wrap at the end; each process starts at record 0,
also when it resumes from a solverstate. With B the batch size, iter_size passes per
iteration and S solvers sharing the reader, iteration i of a run started at iteration o
reads samples s = (i - o)·B·iter_size·S + k, which are records s mod N."""
from __future__ import annotations

from dataclasses import dataclass

import backends

from ..settings import ScanSettings
from .context import TrainData


@dataclass
class Batch:
    iteration: int | None  # the guilty iteration (None: a crash window)
    iterations: tuple[int, int]  # first and last iteration the records belong to
    source: str  # as the prototxt names it
    path: str | None  # where dscan read it
    first_sample: int  # counted from the start of the run, over epochs
    samples: int
    records: int  # N

    @property
    def ranges(self) -> list[tuple[int, int]]:
        """(first, last) record ranges in read order; two when the batch wraps."""
        if self.samples >= self.records:
            return [(0, self.records - 1)]
        start = self.first_sample % self.records
        end = start + self.samples - 1
        if end < self.records:
            return [(start, end)]
        return [(start, self.records - 1), (0, end - self.records)]

    @property
    def epoch(self) -> int:
        return self.first_sample // self.records

    def as_json(self) -> dict:
        ranges = self.ranges
        return {"iteration": self.iteration, "iterations": list(self.iterations),
                "source": self.source, "path": self.path, "records": [ranges[0][0], ranges[-1][1]],
                "ranges": [list(r) for r in ranges], "wraps": len(ranges) > 1,
                "epoch": self.epoch, "first_sample": self.first_sample,
                "samples": self.samples, "record_count": self.records}

    def describe(self) -> str:
        ranges = " and ".join(f"{first}..{last}" for first, last in self.ranges)
        if self.iteration is None:
            first, last = self.iterations
            return (f"the prefetch could have been reading iterations {first}..{last}: "
                    f"records {ranges} of {self.source}")
        return f"iteration {self.iteration} read records {ranges} of {self.source}"

    def contains(self, index: int) -> bool:
        return any(first <= index <= last for first, last in self.ranges)


def per_iteration(data: TrainData, iter_size: int, solvers: int) -> int:
    return data.batch_size * max(iter_size, 1) * max(solvers, 1)


def iteration_batch(data: TrainData, iteration: int, origin: int, iter_size: int,
                    solvers: int = 1) -> Batch:
    width = per_iteration(data, iter_size, solvers)
    return Batch(iteration, (iteration, iteration), data.source, data.path,
                 (iteration - origin) * width, width, data.records)


def crash_window(data: TrainData, last_iteration: int | None, origin: int, iter_size: int,
                 solvers: int = 1) -> Batch:
    """The records a crashing data layer could have been reading. The solver had logged
    `last_iteration`, so its batches up to there were read whole; a prefetching layer runs
    up to `prefetch` batches ahead of the one in use, and the main thread may be one
    forward pass into the next iteration. HDF5Data does not prefetch: it fails in the next
    forward pass."""
    passes_done = 0 if last_iteration is None else (last_iteration - origin + 1) * iter_size
    passes = data.prefetch + 1 if data.prefetch else 1
    width = data.batch_size * max(solvers, 1)
    first_pass = passes_done
    first_iteration = origin + first_pass // iter_size
    last_iteration_reached = origin + (first_pass + passes - 1) // iter_size
    return Batch(None, (first_iteration, last_iteration_reached), data.source, data.path,
                 first_pass * width, passes * width, data.records)


def reader_settings(data: TrainData, enabled: frozenset[str]) -> ScanSettings:
    """The scan settings that reproduce the layer (tops, decoding, label range)."""
    base = ScanSettings(enabled=enabled, batch_size=data.batch_size)
    if data.reader is None:
        return base
    return data.reader.settings(base, data.classes, None, None)


def count_records(data: TrainData) -> int | None:
    """The source's record count, read-only (a LevelDB is counted key by key)."""
    if data.path is None:
        return None
    store = backends.get(data.backend)(data.path, reader_settings(data, frozenset()))
    try:
        count = store.count()
        if count is None and hasattr(store, "db"):
            count = sum(1 for _ in store.db.iterator(include_value=False))
        return count
    finally:
        store.close()
        store.cleanup()
