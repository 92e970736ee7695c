"""The narrow contract every backend keeps: open and describe a store, split it into
shards, and read one shard (in a worker, with its own handle) as raw records."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

from scanner.types import Shard


@dataclass
class PlanningFinding:
    """A store-level finding made before reading: what it names (an HDF5 list entry, the
    store), the problem, and the record position at which Caffe would meet it."""

    entry: str
    problem: Any  # scanner.checks.registry.Problem
    at_record: int


class Backend(Protocol):
    name: str

    record_format: str  # "datum": (key, Datum bytes) pairs; "rows": (first row, {top: array})

    def __init__(self, path: str, settings=None) -> None:
        """Open the store read-only; raise a DscanError saying what is wrong with `path`."""

    def findings(self) -> list:
        """Store-level findings known before reading (HDF5 file checks), as PlanningFinding."""

    def describe(self) -> dict:
        """Facts about the store for the report's `source` section (at least `entries`)."""

    def count(self) -> int | None:
        """Number of records (as seen by this handle's snapshot); None if only a full read
        could tell. Such a store may offer `count_keys()`, that full read of its keys, for
        a progress bar's total, and a `preparing` text: what opening it does that takes
        time (LevelDB: its private snapshot), shown while it runs."""

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        """Split `limit` records (all if None) from position `start` in read order into
        about `count` shards in order."""

    def close(self) -> None:
        """Release the handle; called before workers open their own."""

    def cleanup(self) -> None:
        """Remove whatever opening the store made (a private snapshot); called at the end
        of the scan, also after an error or an interrupt."""

    @staticmethod
    def read(shard: Shard) -> AbstractContextManager[Iterator[tuple]]:
        """Open the store anew and yield the shard's records in read order (see
        record_format); raise StoreReadError if the store fails mid-way. Values stay valid
        inside the context."""

    @staticmethod
    def keys_at(shard: Shard, positions: list[int]) -> dict[int, bytes]:
        """Keys of the records at these positions within the shard."""
