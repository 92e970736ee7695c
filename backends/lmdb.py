"""LMDB stores as Caffe writes them: a directory holding data.mdb, keys in read order.

Each read transaction is an MVCC snapshot, but a writer only keeps the pages of snapshots
whose readers it can see in lock.mdb, LMDB's reader table. So when lock.mdb exists and can
be written, the store is read as a registered reader, as Caffe's own reader does: that
writes a reader slot into lock.mdb, and nothing else (data.mdb stays byte-identical). dscan
never creates lock.mdb: without one (or with --lmdb-lock never, or on read-only media) it
reads lock-free, and each shard notes whether a writer committed while it read (the meta
pages' transaction id), so that the scan re-reads what a writer may have disturbed.
Values are read zero-copy from the map.
"""
from __future__ import annotations

import dataclasses
import os
import time
from contextlib import contextmanager
from itertools import islice
from typing import Iterator

import lmdb

from scanner.kinds import suggestion
from scanner.errors import (InputNotFoundError, StoreChangedError, StoreError, StoreReadError,
                            WrongKindError)
from scanner.report.keys import quoted_key
from scanner.types import Shard

from . import lmdb_tree
from .child import in_child
from .lmdb_anchor import LockTableAnchor
from .keyrange import (SMALL_STORE_BYTES, SMALL_STORE_RECORDS, key_shards, skip_keys,
                       split_keys, starting_at, walk_splits)


REOPENS = 5  # a writer growing the map (MDB_MAP_RESIZED): reopen, this many times


def _open_env(path: str, registered: bool = False) -> lmdb.Environment:
    try:
        return lmdb.open(path, readonly=True, lock=registered, subdir=True, max_dbs=0)
    except lmdb.Error as exc:
        raise StoreError(f"{path}: cannot open as LMDB: {exc}") from None


def read_mode(path: str, wanted: str = "auto") -> tuple[bool, str]:
    """Whether to register as a reader in lock.mdb, and the report's words for the mode.
    Registering never creates lock.mdb: only an existing, writable one is used."""
    lock = os.path.join(path, "lock.mdb")
    if wanted == "never":
        return False, "lock-free (--lmdb-lock never): invisible to writers"
    if not os.path.isfile(lock):
        return False, "lock-free (no lock.mdb, and dscan never creates one)"
    if os.statvfs(path).f_flag & os.ST_RDONLY:
        return False, "lock-free (read-only filesystem)"
    if not os.access(lock, os.R_OK | os.W_OK):
        return False, "lock-free (lock.mdb cannot be written)"
    return True, "registered reader (a slot in lock.mdb, as Caffe reads)"


def _begin(path: str, registered: bool, env: lmdb.Environment | None = None):
    """An environment and a read transaction on it; a map a writer grew is reopened."""
    for attempt in range(REOPENS):
        env = env or _open_env(path, registered)
        try:
            return env, env.begin(buffers=True)
        except lmdb.MapResizedError:
            env.close()
            env = None
            time.sleep(0.01 * attempt)
        except lmdb.Error:
            env.close()
            raise
    raise StoreError(f"{path}: a writer keeps resizing the map (MDB_MAP_RESIZED)")


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
        self.registered, self.mode = read_mode(path, getattr(settings, "lmdb_lock", "auto"))
        try:
            self.env = _open_env(path, self.registered)
        except StoreError:
            if not self.registered:
                raise
            self.registered, self.mode = False, "lock-free (lock.mdb cannot be opened)"
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
        self.anchor = LockTableAnchor(os.path.join(path, "lock.mdb"))
        if self.registered:
            self.anchor.hold()  # until cleanup: see lmdb_anchor

    def findings(self) -> list:
        """No store-level findings are known before reading."""
        return []

    def describe(self) -> dict:
        return {"backend": self.name, "path": self.path, "entries": self.stat["entries"],
                "map_size": self.info["map_size"], "page_size": self.stat["psize"],
                "last_txnid": self.info["last_txnid"], "read_mode": self.mode}

    def count(self) -> int:
        return self.stat["entries"]

    def close(self) -> None:
        self.env.close()

    def _small(self, wanted: int) -> bool:
        """Too little work for more than one process: few records, and few bytes (4000
        ImageNet-size JPEGs or raw 3x256x256 datums take seconds in one process)."""
        pages = sum(self.stat[kind] for kind in ("branch_pages", "leaf_pages", "overflow_pages"))
        wanted_bytes = pages * self.stat["psize"] * wanted / max(self.count(), 1)
        return wanted < SMALL_STORE_RECORDS and wanted_bytes < SMALL_STORE_BYTES

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        """Even shards: cut at record positions read from the B-tree's leaf pages
        (lmdb_tree; a large whole store at leaf boundaries), else from one keys-only walk
        (about a million keys a second) made in a child process: a corrupt page can make
        liblmdb abort, and then only the interpolated plan is left. With `start`, the
        first shard starts at that position."""
        available = max(self.count() - start, 0)
        wanted = available if limit is None else min(limit, available)
        if wanted == 0:
            return []
        parts = 1 if self._small(wanted) else max(1, min(count, wanted))
        try:
            self.env, txn = _begin(self.path, self.registered, self.env)
            with txn:
                cursor = txn.cursor()
                cursor.first()
                first = bytes(cursor.key())
                cursor.last()
                last = bytes(cursor.key())
                walked = _tree_plan(self.path, self.env, txn, wanted, parts, start)
            # No transaction is open now: the child closes its copy of the environment, and
            # closing one with a transaction would free this process's reader slot.
            if walked is None:
                walked = in_child(lambda: self._walk(wanted, parts, start))
            if walked is None and (start or wanted < self.count()):
                # the walk died before or within the wanted records: the scan stops there
                walked = [], None, None
            elif walked is None:  # the walk died: interpolate between the ends instead
                self.env, txn = _begin(self.path, self.registered, self.env)
                with txn:
                    snap_cursor = txn.cursor()

                    def snap(probe: bytes) -> bytes | None:
                        return bytes(snap_cursor.key()) if snap_cursor.set_range(probe) \
                            else None

                    walked = split_keys(first, last, parts, snap), None, None
        except lmdb.Error as exc:
            raise StoreError(f"{self.path}: cannot read LMDB: {exc}") from None
        splits, beyond, at_start = walked
        if start and at_start is None:
            return []  # the walk did not reach `start`
        # The whole store: each shard reads to the end of the version it reads, so that a
        # scan that read one version read all of it (see scanner.snapshots).
        stop = beyond if wanted < available else None
        shards = starting_at(key_shards(self.name, self.path, splits, stop), at_start)
        return [dataclasses.replace(shard, registered=self.registered) for shard in shards]

    def _walk(self, wanted: int, parts: int, start: int = 0):
        # In the child, on the handle it inherited: closing that would clear the parent's
        # reader slots (they carry the same pid in the copied environment: MDB_BAD_RSLOT
        # in the parent, seen with liblmdb 0.9.29), and py-lmdb refuses a second handle on
        # the same directory. The transaction's reader slot is freed as it ends.
        with self.env.begin(buffers=True) as txn:
            keys, at_start = skip_keys(txn.cursor().iternext(values=False), start)
            return (*walk_splits(keys, wanted, parts), at_start if start else None)

    def cleanup(self) -> None:
        """Nothing to remove (LMDB is read in place), but a worker killed mid-read (an
        interrupt, a crash) leaves its reader slot behind, and a writer keeps the pages of
        a slot's version until the slot is freed: free the slots of dead processes."""
        if not self.registered:
            return
        try:
            env = _open_env(self.path, True)
        except StoreError:
            self.anchor.release()
            return
        try:
            env.reader_check()
        except lmdb.Error:
            pass  # the slots stay; LMDB frees them when a writer checks
        finally:
            env.close()
            self.anchor.release()

    @staticmethod
    @contextmanager
    def read(shard: Shard) -> Iterator[Iterator[tuple]]:
        try:
            env, txn = _begin(shard.path, shard.registered)
        except lmdb.Error as exc:  # e.g. MDB_READERS_FULL
            raise StoreReadError(f"cannot start a read transaction: {exc}", None) from None
        try:
            with txn:
                yield _Records(env, txn, shard)
        finally:
            env.close()

    @staticmethod
    def keys_at(shard: Shard, positions: list[int]) -> dict[int, bytes]:
        """The keys at read-order positions of a shard, the keys between skipped in C (a
        Python step a key cost 40 ms for the members of one group on a 125k-record shard)."""
        found: dict[int, bytes] = {}
        env, txn = _begin(shard.path, shard.registered)
        try:
            with txn:
                cursor = txn.cursor()
                placed = cursor.set_range(shard.start) if shard.start is not None else \
                    cursor.first()
                keys, at = cursor.iternext(keys=True, values=False), 0
                for position in sorted(set(positions)) if placed else ():
                    key = next(islice(keys, position - at, None), None)
                    if key is None or (shard.stop is not None and bytes(key) >= shard.stop):
                        break
                    found[position], at = bytes(key), position + 1
        except lmdb.Error:
            pass  # keys past a broken page cannot be named
        finally:
            env.close()
        return found

    @staticmethod
    def current_version(shard: Shard) -> int:
        """The store's newest transaction id, read from its meta pages."""
        env = _open_env(shard.path, False)
        try:
            return env.info()["last_txnid"]
        finally:
            env.close()


def _tree_plan(path: str, env, txn, wanted: int, parts: int, start: int):
    """The walk's cuts read from the B-tree's pages of the version `txn` reads, or None
    when those pages are not what lmdb_tree knows (then the keys are walked)."""
    try:
        return lmdb_tree.plan(path, env, txn, wanted, parts, start)
    except lmdb_tree.TreeUnreadable:
        return None


class _Records:
    """A shard's records in one read transaction, and which version of the store they are:
    its transaction id, its entry count, and (lock-free) whether a writer committed while
    the shard was read, which may have reused the pages it read."""

    def __init__(self, env: lmdb.Environment, txn: lmdb.Transaction, shard: Shard):
        self.env, self.txn, self.shard = env, txn, shard

    def __iter__(self):
        # A registered reader's pages cannot be reused: an error there is the store's own.
        return _iterate(self.txn, self.shard, env=None if self.shard.registered else self.env)

    @property
    def snapshot(self) -> dict:
        newest = self.env.info()["last_txnid"]
        try:
            entries = self.txn.stat(self.env.open_db(txn=self.txn))["entries"]
        except lmdb.Error:  # a transaction that met a broken page can tell nothing more
            entries = None
        return {"txnid": self.txn.id(), "entries": entries,
                "registered": self.shard.registered,
                "disturbed": not self.shard.registered and newest != self.txn.id()}


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
