"""Fewer garbage collections while a shard is read.

CPython collects its youngest generation every 700 container objects allocated and not yet
freed. A shard's batches hold thousands of them (the record buffers LMDB's cursor hands
out, waiting to be parsed together), so a batch of small records set off collection after
collection, and every tenth of those an older generation's, and every hundredth a full one
over every object the interpreter holds: raw 1x28x28 records, 1M in one shard, 1.82 s of
CPU against 1.33 s with collections after 20,000 or more (medians of 4). Garbage
cycles are still collected, a little later: at most about YOUNG_OBJECTS objects wait."""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

YOUNG_OBJECTS = 50_000  # container objects allocated between collections while reading

_lock = threading.Lock()
_readers = 0  # shards being read in this process (Dask runs several on threads)
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect the youngest generation after YOUNG_OBJECTS allocations inside the block
    (unless collection is off or rarer already); the thresholds come back once the last
    block running in this process ends."""
    global _readers, _saved
    with _lock:
        if not _readers:
            _saved = gc.get_threshold()
            if 0 < _saved[0] < YOUNG_OBJECTS:  # 0: automatic collection is off
                gc.set_threshold(YOUNG_OBJECTS, *_saved[1:])
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if not _readers:
                gc.set_threshold(*_saved)
