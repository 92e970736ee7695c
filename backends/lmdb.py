"""LMDB stores as Caffe writes them: a directory holding data.mdb, keys in read order.

Opened read-only and without the lock file (works on read-only media and beside a writer:
each read transaction is an MVCC snapshot). Values are read zero-copy from the map.
"""
from __future__ import annotations

import dataclasses
import os
from contextlib import contextmanager
from typing import Iterator

import lmdb

from scanner.errors import (InputNotFoundError, StoreChangedError, StoreError, StoreReadError,
                            WrongKindError)
from scanner.types import Shard

from .keyrange import SMALL_STORE_RECORDS, key_shards, limit_bounds


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
    record_format = "datum"

    def __init__(self, path: str, settings=None):
        _check_path(path)
        self.path = path
        self.env = _open_env(path)
        try:
            self.stat = self.env.stat()
            self.info = self.env.info()
        except lmdb.Error as exc:
            self.env.close()
            raise StoreError(f"{path}: cannot read LMDB header: {exc}") from None
        # Pages past the end of a truncated file are mapped but unreadable: touching one
        # kills the process (SIGBUS). The meta page says how far the file must reach.
        needed = (self.info["last_pgno"] + 1) * self.stat["psize"]
        actual = os.path.getsize(os.path.join(path, "data.mdb"))
        if actual < needed:
            self.env.close()
            raise StoreError(f"{path}: data.mdb is truncated: {actual} bytes, but its pages "
                             f"reach {needed} bytes")

    def findings(self) -> list:
        """No store-level findings are known before reading."""
        return []

    def describe(self) -> dict:
        return {"backend": self.name, "path": self.path, "entries": self.stat["entries"],
                "map_size": self.info["map_size"], "page_size": self.stat["psize"],
                "last_txnid": self.info["last_txnid"]}

    def count(self) -> int:
        return self.stat["entries"]

    def close(self) -> None:
        self.env.close()

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        """Split by key ranges interpolated between the first and last key: no key listing
        (except the keys before `start` and within `limit`, walked to find the bounds)."""
        available = max(self.count() - start, 0)
        wanted = available if limit is None else min(limit, available)
        if wanted == 0:
            return []
        try:
            with self.env.begin(buffers=True) as txn:
                cursor = txn.cursor()
                cursor.first()
                if start:
                    _, first = limit_bounds(cursor.iternext(values=False), start)
                    cursor.set_key(first)
                first = bytes(cursor.key())
                if limit is None or limit >= available:
                    cursor.last()
                    last = bytes(cursor.key())
                    stop = last + b"\0"  # keys a writer appends later are not this scan's
                else:
                    last, stop = limit_bounds(cursor.iternext(values=False), limit)
                snap_cursor = txn.cursor()

                def snap(probe: bytes) -> bytes | None:
                    return bytes(snap_cursor.key()) if snap_cursor.set_range(probe) else None

                parts = 1 if wanted < SMALL_STORE_RECORDS else count
                shards = key_shards(self.name, self.path, first, last, stop, parts, snap)
                if start:  # the first shard starts at the key at `start`, not at the first
                    shards[0] = dataclasses.replace(shards[0], start=first)
                return shards
        except lmdb.Error as exc:
            raise StoreError(f"{self.path}: cannot read LMDB: {exc}") from None

    def cleanup(self) -> None:
        """Nothing to remove: LMDB is read in place."""

    @staticmethod
    @contextmanager
    def read(shard: Shard) -> Iterator[Iterator[tuple]]:
        env = _open_env(shard.path)
        try:
            try:
                txn = env.begin(buffers=True)
            except lmdb.Error as exc:  # e.g. MDB_MAP_RESIZED by a writer, MDB_READERS_FULL
                raise StoreReadError(f"cannot start a read transaction: {exc}", None) from None
            with txn:
                yield _iterate(txn, shard, env=env)
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


def _iterate(txn: lmdb.Transaction, shard: Shard, values: bool = True,
             env: lmdb.Environment | None = None) -> Iterator:
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
        last = None if last_key is None else bytes(last_key)
        # Without the lock file a reader is invisible to writers, which may reuse the pages
        # of its snapshot: an error after the store moved on is a writer's, not corruption.
        if env is not None and env.info()["last_txnid"] > txn.id():
            raise StoreChangedError(f"the store changed under the read: {exc}", last) from None
        raise StoreReadError(f"LMDB error after key {_show(last_key)}: {exc}", last) from None


def _show(key) -> str:
    return "(none: at the start of the shard)" if key is None else repr(bytes(key))
