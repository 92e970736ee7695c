"""LevelDB stores as Caffe writes them, read through private snapshots.

LevelDB has no read-only mode: opening a database replays its write-ahead log into a new
table and rewrites MANIFEST and CURRENT, and it holds an exclusive LOCK. So dscan never opens
the user's directory. It builds a snapshot in a temporary directory: the immutable table
files are hard-linked (copied across filesystems) and the small mutable files are copied.
Each worker opens its own cheap copy of that snapshot, since one LevelDB allows one handle.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from typing import Iterator

import plyvel

from scanner.kinds import suggestion
from scanner.errors import InputNotFoundError, StoreError, StoreReadError, WrongKindError
from scanner.report.keys import quoted_key
from scanner.types import Shard

from .keyrange import SMALL_STORE_RECORDS, key_shards, size_splits, walk_splits

_TABLE_SUFFIXES = (".ldb", ".sst")  # written once, never modified: safe to hard-link
SMALL_STORE_BYTES = 16 << 20  # below this (approximate size), one shard


def _check_path(path: str) -> None:
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    if not os.path.isdir(path):
        raise WrongKindError(f"{path}: is a file; dscan leveldb expects a LevelDB directory"
                             f"{suggestion(path, 'dscan leveldb')}")
    if not os.path.isfile(os.path.join(path, "CURRENT")):
        raise WrongKindError(f"{path}: not a LevelDB directory (no CURRENT file inside)"
                             f"{suggestion(path, 'dscan leveldb')}")


def _snapshot(source: str, parent_dir: str) -> str:
    """Copy a LevelDB directory's state into a new directory under parent_dir."""
    target = None
    try:
        target = tempfile.mkdtemp(prefix="copy-", dir=parent_dir)
        for name in sorted(os.listdir(source)):
            origin, copy = os.path.join(source, name), os.path.join(target, name)
            if name.endswith(_TABLE_SUFFIXES):
                try:
                    os.link(origin, copy)
                except OSError:  # another filesystem, or links not allowed
                    shutil.copyfile(origin, copy)
            elif name == "CURRENT" or name.startswith("MANIFEST-") or name.endswith(".log"):
                shutil.copyfile(origin, copy)
    except OSError as exc:
        if target:
            shutil.rmtree(target, ignore_errors=True)
        raise StoreError(f"cannot make a private snapshot of {source}: "
                         f"{exc.strerror or exc}") from None
    return target


def _open(path: str) -> plyvel.DB:
    try:
        return plyvel.DB(path, create_if_missing=False, paranoid_checks=False)
    except plyvel.Error as exc:
        raise StoreError(f"cannot open LevelDB snapshot: {exc}") from None


class LevelDbBackend:
    name = "leveldb"
    record_format = "datum"

    def __init__(self, path: str, settings=None):
        _check_path(path)
        self.path = path
        # One workspace per scan holds the snapshot and every worker's copy of it, so that
        # removing it cleans up whatever happened to the workers.
        try:
            self.workspace = tempfile.mkdtemp(prefix="dscan-leveldb-")
        except OSError as exc:
            raise StoreError(f"{path}: cannot make a private snapshot to read from: "
                             f"{exc.strerror or exc}") from None
        try:
            self.snapshot = _snapshot(path, self.workspace)
            self.db = _open(self.snapshot)
        except StoreError as exc:
            shutil.rmtree(self.workspace, ignore_errors=True)
            raise StoreError(f"{path}: {exc}") from None
        self._first_last = self._ends()

    def _ends(self) -> tuple[bytes, bytes] | None:
        first = next(self.db.iterator(include_value=False), None)
        if first is None:
            return None
        return first, next(self.db.iterator(include_value=False, reverse=True))

    def findings(self) -> list:
        """No store-level findings are known before reading."""
        return []

    def describe(self) -> dict:
        return {"backend": self.name, "path": self.path, "entries": None,
                "snapshot": "private copy (tables hard-linked, log and manifest copied); "
                            "the original directory is never opened"}

    def count(self) -> int | None:
        return None if self._first_last else 0  # LevelDB keeps no record count

    def shards(self, count: int, limit: int | None = None) -> list[Shard]:
        """Even shards: by bisection on LevelDB's own size estimate (its table indexes; no
        data block is read), or, for the first `limit` records, by walking their keys."""
        if self._first_last is None or limit == 0:
            return []
        first, last = self._first_last
        if limit is not None:
            parts = 1 if limit < SMALL_STORE_RECORDS else max(1, count)
            splits, stop = walk_splits(self.db.iterator(include_value=False), limit, parts)
            return key_shards(self.name, self.snapshot, splits, stop)

        def snap(probe: bytes) -> bytes | None:
            return next(self.db.iterator(include_value=False, start=probe), None)

        def size_before(key: bytes) -> int:
            return self.db.approximate_size(first, key)

        parts = 1 if size_before(last + b"\0") < SMALL_STORE_BYTES else max(1, count)
        splits = size_splits(first, last, parts, snap, size_before) if parts > 1 else []
        return key_shards(self.name, self.snapshot, splits, None)

    def close(self) -> None:
        if not self.db.closed:
            self.db.close()

    def cleanup(self) -> None:
        self.close()
        shutil.rmtree(self.workspace, ignore_errors=True)

    @staticmethod
    @contextmanager
    def read(shard: Shard) -> Iterator[Iterator[tuple]]:
        with _worker_copy(shard) as db:
            yield _iterate(db, shard)

    @staticmethod
    def keys_at(shard: Shard, positions: list[int]) -> dict[int, bytes]:
        wanted, found = set(positions), {}
        with _worker_copy(shard) as db:
            try:
                for position, key in enumerate(_iterate(db, shard, values=False)):
                    if position in wanted:
                        found[position] = key
                        if len(found) == len(wanted):
                            break
            except StoreReadError:
                pass  # keys past a broken block cannot be named
        return found


@contextmanager
def _worker_copy(shard: Shard):
    """A worker's own copy of the scan's snapshot (LevelDB allows one handle per directory)."""
    copy = _snapshot(shard.path, os.path.dirname(shard.path))
    try:
        db = _open(copy)
        try:
            yield db
        finally:
            db.close()
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def _iterate(db: plyvel.DB, shard: Shard, values: bool = True) -> Iterator:
    last_key = None
    iterator = db.iterator(start=shard.start, stop=shard.stop, include_value=values,
                           fill_cache=False, verify_checksums=True)
    try:
        for item in iterator:
            yield item
            last_key = item[0] if values else item
    except plyvel.Error as exc:
        raise StoreReadError(f"LevelDB error after key {quoted_key(last_key)}: {exc}",
                             last_key) from None
    finally:
        iterator.close()
