"""Scan one shard from start to finish; this is what runs in a worker process."""
from __future__ import annotations

import logging
import time
from typing import Callable

import backends

from .aggregate import ShardResult
from .boundary import guarded
from .checks.registry import Problem
from .detection import inspector_class
from .errors import StoreChangedError, StoreReadError
from .gc_pacing import fewer_collections
from .hooks import Hooks, raise_for_test
from .report.keys import quoted_key
from .inspect import DatumInspector
from .inspect_images import ImageFileInspector
from .inspect_rows import RowInspector
from .settings import ScanSettings
from .types import Shard

TICK_RECORDS = 1024  # records between progress updates
CHANGED_STORE_RETRIES = 5  # reads of a shard whose store a writer keeps changing
log = logging.getLogger("dscan")


def scan_shard(shard: Shard, settings: ScanSettings,
               tick: Callable[[int], None] | None = None,
               track: Callable[[int], None] | None = None) -> ShardResult:
    """Read every record of the shard, inspect it, and return the compact result.

    `track` is told the state before each step, so that the parent can tell after a crash
    where the worker was: 2*i + 1 while inspecting record i, 2*i while fetching it."""
    started = time.perf_counter()
    backend = backends.get(shard.backend)
    progress = _Progress(tick)
    with fewer_collections():
        for attempt in range(1, CHANGED_STORE_RETRIES + 1):
            last_try = attempt == CHANGED_STORE_RETRIES  # then a changing store is a finding
            try:
                inspector, store_error = _read_shard(backend, shard, settings, track,
                                                     progress, retry=not last_try)
                break
            except StoreChangedError as exc:
                log.warning("shard %d: %s; reading it again", shard.number, exc)
                progress.restart()  # the records of the new read are counted anew
    progress.flush(inspector.records)
    log.debug("shard %d: %d records in %.3f s%s", shard.number, inspector.records,
              time.perf_counter() - started, " (store error)" if store_error else "")
    result = inspector.result(shard.number, store_error)
    result.snapshot = getattr(inspector, "snapshot", None)
    result.seconds = round(time.perf_counter() - started, 4)
    return result


def _read_shard(backend, shard: Shard, settings: ScanSettings, track, progress, retry: bool):
    if backend.record_format == "rows":
        inspector, walk = RowInspector(settings, shard.name, shard.start), _walk_rows
    else:
        image_files = backend.record_format == "image"
        inspector = (ImageFileInspector if image_files else
                     inspector_class(settings, DatumInspector))(settings)
        walk = _walk_datums
    with backend.read(shard) as records:
        try:
            inspector, last_key = walk(inspector, shard, records, track, progress, retry)
            store_error = None if shard.reader_died_at is None else \
                _reader_died(shard.reader_died_at, last_key)
        except _StoreFailed as failed:
            inspector, store_error = failed.inspector, failed.store_error
        inspector.finish()
        inspector.snapshot = getattr(records, "snapshot", None)  # which version was read
    return inspector, store_error


class _Progress:
    """Progress sent every TICK_RECORDS records; `next_at` lets loops test it inline."""

    def __init__(self, tick: Callable[[int], None] | None):
        self.tick, self.reported = tick, 0
        self.next_at = TICK_RECORDS if tick else float("inf")

    def update(self, records: int) -> None:
        if records >= self.next_at:
            self.flush(records)

    def restart(self) -> None:
        self.reported = 0
        self.next_at = TICK_RECORDS if self.tick else float("inf")

    def flush(self, records: int) -> None:
        if self.tick and records > self.reported:
            self.tick(records - self.reported)
            self.reported = records
        self.next_at = self.reported + TICK_RECORDS if self.tick else float("inf")


class _StoreFailed(Exception):
    def __init__(self, inspector, store_error: dict):
        super().__init__(store_error["message"])
        self.inspector, self.store_error = inspector, store_error


def _walk_datums(inspector: DatumInspector, shard: Shard, records, track, progress,
                 retry: bool):
    inspector.track = track
    crashed_at = set(shard.crashed_at)
    hooks = Hooks()
    limit = shard.reader_died_at  # fetching this record killed a worker: stop before it
    first, last = shard.probe or (0, None)
    if last is not None:
        limit = last + 1 if limit is None else min(limit, last + 1)
    last_key, seen = None, 0
    try:
        records = iter(records if limit != 0 else ())
        while seen < first and next(records, None) is not None:  # a probe: fetched only
            seen += 1
            if track:
                track(2 * seen)
        for key, value in records:
            if seen in crashed_at:
                if track:
                    track(2 * seen + 1)
                inspector.skip(key, Problem(
                    "DS005", "a worker process died inspecting this record; skipped"))
            elif hooks.active or not inspector.take(key, value):
                # inspected now; a record the inspector deferred cannot crash it
                if track:
                    track(2 * seen + 1)
                work = inspector.inspect
                if hooks.active and hooks.before_inspecting(seen, key):
                    work = raise_for_test
                inspector.flush()  # the records deferred before it are not its own
                # the record boundary: whatever inspecting it raises is its finding (DS009)
                checkpoint = inspector.checkpoint()
                guarded(work, lambda exc: inspector.abandon(checkpoint, key, exc), key, value)
            seen += 1
            if track:
                track(2 * seen)  # fetching the next record
            if seen >= progress.next_at:
                progress.flush(seen)
            last_key = key
            if seen == limit:
                break
    except StoreReadError as exc:
        if retry and isinstance(exc, StoreChangedError):
            raise
        inspector.finish()  # the records read before the failure count
        raise _StoreFailed(inspector, {"index": inspector.records, "last_key": exc.last_key,
                                       "message": str(exc)}) from None
    return inspector, last_key


def _walk_rows(inspector: RowInspector, shard: Shard, slabs, track, progress, retry: bool):
    crashed_at = set(shard.crashed_at)
    limit = shard.reader_died_at
    first, last = shard.probe or (0, None)
    try:
        for position, arrays in (slabs if limit != 0 else ()):
            rows = len(next(iter(arrays.values())))
            if last is not None and position > last:
                break
            if track:
                track(2 * position + 1)
            if position < first:  # a probe: fetched only
                pass
            elif position in crashed_at:  # the whole slab killed a worker: name every row
                for row in range(rows):
                    inspector.skip(inspector.key(position + row), Problem(
                        "DS005", "a worker process died inspecting these rows; skipped"))
            else:  # the slab boundary: a slab that raises is inspected again row by row
                checkpoint = inspector.checkpoint()
                guarded(inspector.inspect_slab, lambda exc: _rows_one_by_one(
                    inspector, checkpoint, position, arrays, rows), position, arrays)
            if track:
                track(2 * (position + rows))
            progress.update(inspector.records)
            if limit is not None and inspector.records >= limit:
                break
    except StoreReadError as exc:
        raise _StoreFailed(inspector, {"index": inspector.records, "last_key": None,
                                       "message": str(exc)}) from None
    last = inspector.key(inspector.records - 1) if inspector.records else None
    return inspector, last


def _rows_one_by_one(inspector: RowInspector, checkpoint: tuple, position: int, arrays: dict,
                     rows: int) -> None:
    """Inspect a slab that raised one row at a time; a row that raises again is DS009."""
    inspector.restore(checkpoint)
    for row in range(rows):
        started = inspector.checkpoint()
        key = inspector.key(position + row)
        guarded(inspector.inspect_slab,
                lambda exc: inspector.abandon(started, key, exc),
                position + row, {top: array[row:row + 1] for top, array in arrays.items()})


def _reader_died(index: int, last_key) -> dict:
    return {"index": index, "last_key": None if last_key is None else bytes(last_key),
            "message": "the store's library crashed the reader on the record after key "
                       f"{'(none)' if last_key is None else quoted_key(last_key)} "
                       "(corrupt page?)"}
