"""LMDB stores as Caffe writes them: a directory holding data.mdb, keys in read order.

Opened read-only and without the lock file (works on read-only media and beside a writer:
each read transaction is an MVCC snapshot). Values are read zero-copy from the map.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import lmdb

from scanner.kinds import suggestion
from scanner.errors import (InputNotFoundError, StoreChangedError, StoreError, StoreReadError,
                            WrongKindError)
from scanner.report.keys import quoted_key
from scanner.types import Shard

from .child import in_child
from .keyrange import SMALL_STORE_RECORDS, key_shards, split_keys, walk_splits


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
        raise WrongKindError(f"{path}: is a file; dscan lmdb expects an LMDB directory"
                             f"{suggestion(path, 'dscan lmdb') or hint}")
    data = os.path.join(path, "data.mdb")
    if not os.path.isfile(data):
        raise WrongKindError(f"{path}: not an LMDB directory (no data.mdb inside)"
                             f"{suggestion(path, 'dscan lmdb')}")
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

    def shards(self, count: int, limit: int | None = None) -> list[Shard]:
        """Even shards from one keys-only walk (millions of keys a second: the values,
        overflow pages included, are never touched), made in a child process: a corrupt
        page can make liblmdb abort, and then only the interpolated plan is left."""
        wanted = self.count() if limit is None else min(limit, self.count())
        if wanted == 0:
            return []
        parts = 1 if wanted < SMALL_STORE_RECORDS else max(1, min(count, wanted))
        try:
            with self.env.begin(buffers=True) as txn:
                cursor = txn.cursor()
                cursor.first()
                first = bytes(cursor.key())
                cursor.last()
                last = bytes(cursor.key())
                walked = in_child(lambda: self._walk(wanted, parts))
                if walked is None and wanted < self.count():
                    # the walk died within the first `wanted` records: the scan stops there
                    walked = [], None
                elif walked is None:  # the walk died: interpolate between the ends instead
                    snap_cursor = txn.cursor()

                    def snap(probe: bytes) -> bytes | None:
                        return bytes(snap_cursor.key()) if snap_cursor.set_range(probe) \
                            else None

                    walked = split_keys(first, last, parts, snap), None
        except lmdb.Error as exc:
            raise StoreError(f"{self.path}: cannot read LMDB: {exc}") from None
        splits, beyond = walked
        if wanted < self.count():
            return key_shards(self.name, self.path, splits, beyond)
        return key_shards(self.name, self.path, splits, last + b"\0")  # not keys appended later

    def _walk(self, wanted: int, parts: int) -> tuple[list[bytes], bytes | None]:
        self.env.close()  # in the child: a handle of its own
        self.env = _open_env(self.path)
        with self.env.begin(buffers=True) as txn:
            return walk_splits(txn.cursor().iternext(values=False), wanted, parts)

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
    return "(none: at the start of the shard)" if key is None else quoted_key(key)
