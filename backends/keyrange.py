"""Split a sorted keyspace into ranges without listing its keys (LMDB, LevelDB)."""
from __future__ import annotations

import os
from typing import Callable, Iterable

from scanner.types import Shard

_KEY_WIDTH = 8  # bytes after the common prefix used to interpolate split keys
SMALL_STORE_RECORDS = 4096  # below this, one shard: starting workers costs more than it saves


def split_keys(first: bytes, last: bytes, count: int,
               snap: Callable[[bytes], bytes | None]) -> list[bytes]:
    """Keys that cut [first, last] into about `count` ranges: probes interpolated between
    the two keys as numbers, each snapped to the first existing key at or after it."""
    prefix = os.path.commonprefix([first, last])

    def as_number(key: bytes) -> int:
        return int.from_bytes(key[len(prefix):][:_KEY_WIDTH].ljust(_KEY_WIDTH, b"\0"), "big")

    low, high = as_number(first), as_number(last)
    splits: list[bytes] = []
    for part in range(1, count):
        probe = prefix + (low + (high - low) * part // count).to_bytes(_KEY_WIDTH, "big")
        key = snap(probe)
        if key is None:
            break
        if key > (splits[-1] if splits else first) and key <= last:
            splits.append(key)
    return splits


def limit_bounds(keys: Iterable, limit: int) -> tuple[bytes, bytes | None] | None:
    """Walking keys in order: the last key within the first `limit`, and the first beyond."""
    last = None
    for position, key in enumerate(keys):
        if position == limit:
            return (None if last is None else bytes(last)), bytes(key)
        last = key
    return (None if last is None else bytes(last)), None


def key_shards(backend: str, path: str, first: bytes, last: bytes, stop: bytes | None,
               count: int, snap: Callable[[bytes], bytes | None]) -> list[Shard]:
    splits = split_keys(first, last, count, snap) if count > 1 else []
    edges = [None, *splits, stop]
    return [Shard(backend, path, number, start=edges[number], stop=edges[number + 1])
            for number in range(len(edges) - 1)]
