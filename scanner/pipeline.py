"""Scan one shard from start to finish; this is what runs in a worker process."""
from __future__ import annotations

import logging
import os
import signal
import time
from typing import Callable

import backends

from .aggregate import ShardResult
from .checks.registry import Problem
from .errors import StoreReadError
from .inspect import DatumInspector
from .settings import ScanSettings
from .types import Shard

TICK_RECORDS = 1024  # records between progress updates
log = logging.getLogger("dscan")
# Test hook: a worker kills itself (SIGKILL) on the record with this key, as the OOM
# killer or a segfaulting decoder would. Unset in normal use.
KILL_HOOK = "DSCAN_TEST_KILL_ON_KEY"


def scan_shard(shard: Shard, settings: ScanSettings,
               tick: Callable[[int], None] | None = None,
               track: Callable[[int], None] | None = None) -> ShardResult:
    """Read every record of the shard, inspect it, and return the compact result.

    `track` is told the state before each step, so that the parent can tell after a crash
    where the worker was: 2*i + 1 while inspecting record i, 2*i while fetching it."""
    started = time.perf_counter()
    backend = backends.get(shard.backend)
    inspector = DatumInspector(settings)
    store_error = None
    reported = 0
    crashed_at = set(shard.crashed_at)
    kill_on_key = os.environ.get(KILL_HOOK, "").encode() or None
    limit = shard.reader_died_at  # fetching this record killed a worker: stop before it
    last_key = None
    with backend.read(shard) as records:
        try:
            for key, value in (records if limit != 0 else ()):
                index = inspector.records
                if track:
                    track(2 * index + 1)
                if index in crashed_at:
                    inspector.skip(key, Problem(
                        "DS005", "a worker process died inspecting this record; skipped"))
                else:
                    if kill_on_key is not None and bytes(key) == kill_on_key:
                        os.kill(os.getpid(), signal.SIGKILL)
                    inspector.inspect(key, value)
                if track:
                    track(2 * index + 2)
                if tick and inspector.records - reported >= TICK_RECORDS:
                    tick(inspector.records - reported)
                    reported = inspector.records
                last_key = key
                if inspector.records == limit:
                    break
        except StoreReadError as exc:
            store_error = {"index": inspector.records, "last_key": exc.last_key,
                           "message": str(exc)}
        if limit is not None and store_error is None:
            store_error = _reader_died(limit, last_key)
        inspector.finish()
    if tick and inspector.records > reported:
        tick(inspector.records - reported)
    log.debug("shard %d: %d records in %.3f s%s", shard.number, inspector.records,
              time.perf_counter() - started, " (store error)" if store_error else "")
    return inspector.result(shard.number, store_error)


def _reader_died(index: int, last_key) -> dict:
    return {"index": index, "last_key": None if last_key is None else bytes(last_key),
            "message": "the store's library crashed the reader on the record after key "
                       f"{'(none)' if last_key is None else repr(bytes(last_key))} "
                       "(corrupt page?)"}
