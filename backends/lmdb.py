"""LMDB stores as Caffe writes them: a directory holding data.mdb, keys in read order.

Opened read-only and without the lock file (works on read-only media and beside a writer:
each read transaction is an MVCC snapshot). Values are read zero-copy from the map.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import lmdb

from scanner.errors import InputNotFoundError, StoreError, StoreReadError, WrongKindError
from scanner.types import Shard

_KEY_WIDTH = 8  # bytes after the common prefix used to interpolate split keys


def _open_env(path: str) -> lmdb.Environment:
    try:
        return lmdb.open(path, readonly=True, lock=False, subdir=True, max_dbs=0)
    except lmdb.Error as exc:
        raise StoreError(f"{path}: cannot open as LMDB: {exc}") from None


def _check_path(path: str) -> None:
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    if not os.path.isdir(path):
        hint = " (pass the directory that holds it)" if path.endswith(".mdb") else ""
        raise WrongKindError(f"{path}: is a file; dscan lmdb expects an LMDB directory{hint}")
    data = os.path.join(path, "data.mdb")
    if not os.path.isfile(data):
        raise WrongKindError(f"{path}: not an LMDB directory (no data.mdb inside)")
    if not os.access(data, os.R_OK):
        raise StoreError(f"{data}: permission denied")


class LmdbBackend:
    name = "lmdb"

    def __init__(self, path: str):
        _check_path(path)
        self.path = path
        self.env = _open_env(path)
        try:
            self.stat = self.env.stat()
            self.info = self.env.info()
        except lmdb.Error as exc:
            self.env.close()
            raise StoreError(f"{path}: cannot read LMDB header: {exc}") from None

    def describe(self) -> dict:
        return {"backend": self.name, "path": self.path, "entries": self.stat["entries"],
                "map_size": self.info["map_size"], "page_size": self.stat["psize"],
                "last_txnid": self.info["last_txnid"]}

    def count(self) -> int:
        return self.stat["entries"]

    def close(self) -> None:
        self.env.close()

    def shards(self, count: int, limit: int | None = None) -> list[Shard]:
        """Split by key ranges interpolated between the first and last key: no key listing."""
        try:
            with self.env.begin(buffers=True) as txn:
                bounds = _bounds(txn, limit)
                splits = _split_keys(txn, *bounds, count) if bounds and count > 1 else []
        except lmdb.Error as exc:
            raise StoreError(f"{self.path}: cannot read LMDB: {exc}") from None
        if not bounds:
            return []
        stop = bounds[2]
        edges = [None, *splits, stop]
        return [Shard(self.name, self.path, number, edges[number], edges[number + 1])
                for number in range(len(edges) - 1)]

    @staticmethod
    @contextmanager
    def read(shard: Shard) -> Iterator[Iterator[tuple]]:
        env = _open_env(shard.path)
        try:
            with env.begin(buffers=True) as txn:
                yield _iterate(txn, shard)
        finally:
            env.close()

    @staticmethod
    def keys_at(shard: Shard, positions: list[int]) -> dict[int, bytes]:
        wanted, found = set(positions), {}
        env = _open_env(shard.path)
        try:
            with env.begin(buffers=True) as txn:
                for position, key in enumerate(_iterate(txn, shard, values=False)):
                    if position in wanted:
                        found[position] = bytes(key)
                        if len(found) == len(wanted):
                            break
        except StoreReadError:
            pass  # keys past a broken page cannot be named
        finally:
            env.close()
        return found


def _bounds(txn: lmdb.Transaction, limit: int | None) -> tuple[bytes, bytes, bytes | None] | None:
    """First key, last key to scan, and the exclusive stop key (None: to the end)."""
    cursor = txn.cursor()
    if not cursor.first():
        return None
    first = bytes(cursor.key())
    if limit is None:
        cursor.last()
        return first, bytes(cursor.key()), None
    last, stop = first, None
    for position, key in enumerate(cursor.iternext(values=False)):
        if position == limit:
            stop = bytes(key)
            break
        last = key
    return first, bytes(last), stop


def _split_keys(txn: lmdb.Transaction, first: bytes, last: bytes, stop, count: int) -> list[bytes]:
    """Keys that cut [first, last] into about `count` ranges, snapped to existing keys."""
    prefix = os.path.commonprefix([first, last])

    def as_number(key: bytes) -> int:
        return int.from_bytes(key[len(prefix):][:_KEY_WIDTH].ljust(_KEY_WIDTH, b"\0"), "big")

    low, high = as_number(first), as_number(last)
    cursor, splits = txn.cursor(), []
    for part in range(1, count):
        probe = prefix + (low + (high - low) * part // count).to_bytes(_KEY_WIDTH, "big")
        if not cursor.set_range(probe):
            break
        key = bytes(cursor.key())
        if key > (splits[-1] if splits else first) and key <= last:
            splits.append(key)
    return splits


def _iterate(txn: lmdb.Transaction, shard: Shard, values: bool = True) -> Iterator:
    cursor = txn.cursor()
    last_key = None
    try:
        placed = cursor.set_range(shard.start) if shard.start is not None else cursor.first()
        if not placed:
            return
        stop = shard.stop
        for item in cursor.iternext(keys=True, values=values):
            key = item[0] if values else item
            if stop is not None and bytes(key) >= stop:
                return
            yield item
            last_key = key
    except lmdb.Error as exc:
        raise StoreReadError(f"LMDB error after key {_show(last_key)}: {exc}",
                             None if last_key is None else bytes(last_key)) from None


def _show(key) -> str:
    return "(none: at the start of the shard)" if key is None else repr(bytes(key))
