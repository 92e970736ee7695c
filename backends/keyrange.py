"""Split a store into shards of about equal size, whatever its key pattern: a sorted keyspace
(LMDB, LevelDB) by one keys-only walk where keys are cheap to list, or by bisection on the
store's own size estimate where they are not; rows of several files (HDF5) by apportioning
the shards to the files by size."""
from __future__ import annotations

import dataclasses
import os
from itertools import chain, islice
from typing import Callable, Iterable

from scanner.types import Shard

SMALL_STORE_RECORDS = 4096  # below this, one shard: starting workers costs more than it saves
SMALL_STORE_BYTES = 16 << 20  # ... unless the records hold more bytes than this
_MAX_KEY_WIDTH = 32  # bytes after the common prefix that order the bisection's probes


def split_keys(first: bytes, last: bytes, count: int,
               snap: Callable[[bytes], bytes | None]) -> list[bytes]:
    """Keys that cut [first, last] into about `count` ranges with no listing at all: probes
    interpolated between the two keys as numbers, each snapped to the first existing key at
    or after it (even only when keys are spread evenly as numbers)."""
    numbers = _KeyNumbers(first, last)
    low, high = numbers.number(first), numbers.number(last)
    splits: list[bytes] = []
    for part in range(1, count):
        key = snap(numbers.key(low + (high - low) * part // count))
        if key is None:
            break
        if key > (splits[-1] if splits else first) and key <= last:
            splits.append(key)
    return splits


def walk_splits(keys: Iterable, total: int, parts: int) -> tuple[list[bytes], bytes | None]:
    """One pass over keys in read order: the first key of each of parts 2..`parts` of an even
    split of the first `total` keys, and the first key beyond them (None at the end).

    Positions are skipped in C (islice), so a walk costs little more than the store's own
    keys-only iteration."""
    keys = iter(keys)
    splits: list[bytes] = []
    position = 0
    for part in range(1, parts):
        cut = total * part // parts
        key = next(islice(keys, cut - position, None), None)
        if key is None:
            return splits, None
        splits.append(bytes(key))
        position = cut + 1
    beyond = next(islice(keys, total - position, None), None)
    return splits, None if beyond is None else bytes(beyond)


class _KeyNumbers:
    """Keys of [first, last] as integers, ordered as the keys are (common prefix dropped)."""

    def __init__(self, first: bytes, last: bytes):
        self.prefix = os.path.commonprefix([first, last])
        longest = max(len(first), len(last)) - len(self.prefix)
        self.width = min(max(longest, 8), _MAX_KEY_WIDTH)

    def number(self, key: bytes) -> int:
        tail = key[len(self.prefix):][:self.width]
        return int.from_bytes(tail.ljust(self.width, b"\0"), "big")

    def key(self, number: int) -> bytes:
        return self.prefix + number.to_bytes(self.width, "big")


def size_splits(first: bytes, last: bytes, parts: int, snap: Callable[[bytes], bytes | None],
                size_before: Callable[[bytes], int]) -> list[bytes]:
    """Keys that cut [first, last] into `parts` ranges of about equal size in bytes, where
    `size_before(key)` is the store's estimate of the bytes from `first` up to `key`; each
    cut is found by bisection between the keys as numbers, snapped to an existing key."""
    numbers = _KeyNumbers(first, last)
    total = size_before(last)  # not past it: a table's index and filter blocks come last
    if total <= 0:
        return []
    splits: list[bytes] = []
    low = numbers.number(first)
    for part in range(1, parts):
        target = total * part / parts
        cut = _bisect(numbers, low, numbers.number(last) + 1, target, snap, size_before)
        if cut is None or cut > last:
            break
        if cut > (splits[-1] if splits else first):
            splits.append(cut)
            low = numbers.number(cut)
    return splits


def _bisect(numbers: _KeyNumbers, low: int, high: int, target: float, snap, size_before):
    """The first existing key at or after the point where the size before it reaches
    `target`; stops as soon as the probes at both ends snap to the same key."""
    low_key, high_key = snap(numbers.key(low)), snap(numbers.key(high))
    while high - low > 1 and low_key != high_key:
        middle = (low + high) // 2
        key = snap(numbers.key(middle))
        if key is None or size_before(key) >= target:
            high, high_key = middle, key
        else:
            low, low_key = middle, key
    return high_key


def apportion(weights: list[int], parts: int, caps: list[int]) -> list[int]:
    """How many of `parts` shards each item gets, in proportion to its weight (the largest
    shortfall first): at least 1 each, at most its cap (the chunks it can be cut into)."""
    total = sum(weights)
    if total <= 0:
        return [1] * len(weights)
    quotas = [parts * weight / total for weight in weights]
    shares = [min(cap, max(1, int(quota))) for quota, cap in zip(quotas, caps)]
    while sum(shares) < parts:
        short = [i for i, share in enumerate(shares) if share < caps[i]]
        if not short:
            break
        shares[max(short, key=lambda i: quotas[i] - shares[i])] += 1
    return shares


def even_cuts(rows: int, parts: int, align: int) -> list[int]:
    """Row positions that cut [0, rows) into `parts` even pieces, each cut on a multiple of
    `align` (a chunk boundary), so that no two shards decompress the same chunk."""
    cuts = {0, rows}
    for part in range(1, parts):
        cuts.add(min(rows, round(rows * part / parts / align) * align))
    return sorted(cuts)


def skip_keys(keys: Iterable, start: int) -> tuple[Iterable, bytes | None]:
    """Skip the first `start` keys (in C): the rest of the keys from the one at `start`,
    and that key (None past the end)."""
    keys = iter(keys)
    first = next(islice(keys, start, None), None)
    if first is None:
        return keys, None
    first = bytes(first)
    return chain([first], keys), first


def starting_at(shards: list[Shard], first: bytes | None) -> list[Shard]:
    """The shards, the first one starting at key `first` instead of the store's start."""
    if shards and first is not None:
        shards[0] = dataclasses.replace(shards[0], start=first)
    return shards


def key_shards(backend: str, path: str, splits: list[bytes], stop: bytes | None) -> list[Shard]:
    """Shards between the split keys: the first from the start, the last up to `stop`."""
    edges = [None, *splits, stop]
    return [Shard(backend, path, number, start=edges[number], stop=edges[number + 1])
            for number in range(len(edges) - 1)]
