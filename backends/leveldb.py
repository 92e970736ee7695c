"""LevelDB stores as Caffe writes them, read through private snapshots.

LevelDB has no read-only mode: opening a database replays its write-ahead log into a new
table and rewrites MANIFEST and CURRENT, and it holds an exclusive LOCK. So dscan never opens
the user's directory. It builds a snapshot in a temporary directory: the immutable table
files are hard-linked (copied across filesystems) and the small mutable files are copied.
Each worker opens its own cheap copy of that snapshot, since one LevelDB allows one handle.

LevelDB runs compactions on a background thread that a forked child does not have: a child
that opens a database needing one waits for it forever when it closes. So workers that read
LevelDB are started fresh (forkserver), never forked from a process that used LevelDB.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from typing import Iterator

import plyvel

from scanner import interrupts
from scanner.kinds import suggestion
from scanner.errors import InputNotFoundError, StoreError, StoreReadError, WrongKindError
from scanner.report.keys import quoted_key
from scanner.types import Shard

from .keyrange import (SMALL_STORE_BYTES, SMALL_STORE_RECORDS, key_shards, size_splits,
                       skip_keys, starting_at, walk_splits)

_TABLE_SUFFIXES = (".ldb", ".sst")  # written once, never modified: safe to hard-link
COPY_CHUNK = 8 << 20  # bytes per copy call: an interrupt is seen between two


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
                size = _regular_size(origin, name)
                try:
                    os.link(origin, copy, follow_symlinks=True)
                except OSError:  # another filesystem, or links not allowed
                    _copy_bounded(origin, copy, size)
            elif name == "CURRENT" or name.startswith("MANIFEST-") or name.endswith(".log"):
                _copy_bounded(origin, copy, _regular_size(origin, name))
    except StoreError:
        if target:
            shutil.rmtree(target, ignore_errors=True)
        raise
    except OSError as exc:
        if target:
            shutil.rmtree(target, ignore_errors=True)
        raise StoreError(f"cannot make a private snapshot of {source}: "
                         f"{exc.strerror or exc}") from None
    except BaseException:  # StoreError, an interrupt: no half-made copy is left behind
        if target:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return target


_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def _regular_size(path: str, name: str) -> int:
    """The size the directory listing gives a file LevelDB keeps; only regular files (or
    links to them) are part of a store: a link to /dev/zero would be copied forever."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = next((text for test, text in _KINDS if test(info.st_mode)), "not a regular file")
        via = " (through a symbolic link)" if os.path.islink(path) else ""
        raise StoreError(f"{name} is {kind}{via}, not a regular file; a LevelDB directory "
                         "holds only regular files")
    return info.st_size


def _copy_bounded(origin: str, copy: str, size: int) -> None:
    """Copy at most `size` bytes (the size when the directory was listed): a log a writer
    keeps appending to is copied as it was, and the copy always ends."""
    source = os.open(origin, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(source).st_mode):  # replaced since it was listed
            raise StoreError(f"{os.path.basename(origin)} is not a regular file")
        target = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            offset = 0
            while offset < size:
                sent = os.sendfile(target, source, offset, min(COPY_CHUNK, size - offset))
                if sent == 0:  # the file shrank
                    break
                offset += sent
        finally:
            os.close(target)
    finally:
        os.close(source)


def _workspace(path: str) -> str:
    try:
        return tempfile.mkdtemp(prefix="dscan-leveldb-")
    except OSError as exc:
        raise StoreError(f"cannot make a private snapshot to read from: "
                         f"{exc.strerror or exc}") from None


def _open(path: str) -> plyvel.DB:
    try:
        return plyvel.DB(path, create_if_missing=False, paranoid_checks=False)
    except plyvel.Error as exc:
        raise StoreError(f"cannot open LevelDB snapshot: {exc}") from None


class LevelDbBackend:
    name = "leveldb"
    record_format = "datum"
    fork_safe = False  # see the module's docstring
    preparing = "making a private snapshot"

    def __init__(self, path: str, settings=None):
        _check_path(path)
        self.path = path
        # One workspace per scan holds the snapshot and every worker's copy of it, so that
        # removing it cleans up whatever happened to the workers.
        self.workspace = None
        try:
            with interrupts.deferred():  # made and remembered, or not made at all
                self.workspace = _workspace(path)
            with interrupts.phase("snapshot"):
                self.snapshot = _snapshot(path, self.workspace)
            self.db = _open(self.snapshot)
            self._first_last = self._ends()
        except StoreError as exc:
            self.cleanup()
            raise StoreError(f"{path}: {exc}") from None
        except BaseException:  # an interrupt: the snapshot goes too
            self.cleanup()
            raise

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

    def count_keys(self) -> int | None:
        """The records of the snapshot, by walking its keys (a read of the whole store, so
        only for a progress bar a person watches); None when the walk fails."""
        try:
            return sum(1 for _ in self.db.iterator(include_value=False))
        except plyvel.Error:
            return None  # a damaged table: the workers will say where

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        """Even shards: by bisection on LevelDB's own size estimate (its table indexes; no
        data block is read), or, for `limit` records from position `start`, by walking
        their keys."""
        if self._first_last is None or limit == 0:
            return []
        first, last = self._first_last
        if limit is not None or start:
            keys, first = skip_keys(self.db.iterator(include_value=False), start)
            if first is None:
                return []
            if limit is None:  # from `start` to the end
                return starting_at(key_shards(self.name, self.snapshot, [], None), first)
            parts = 1 if limit < SMALL_STORE_RECORDS else max(1, count)
            splits, stop = walk_splits(keys, limit, parts)
            return starting_at(key_shards(self.name, self.snapshot, splits, stop), first)

        def snap(probe: bytes) -> bytes | None:
            return next(self.db.iterator(include_value=False, start=probe), None)

        def size_before(key: bytes) -> int:
            return self.db.approximate_size(first, key)

        parts = 1 if size_before(last + b"\0") < SMALL_STORE_BYTES else max(1, count)
        splits = size_splits(first, last, parts, snap, size_before) if parts > 1 else []
        return key_shards(self.name, self.snapshot, splits, None)

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None and not db.closed:
            db.close()

    def cleanup(self) -> None:
        self.close()
        if self.workspace:
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
