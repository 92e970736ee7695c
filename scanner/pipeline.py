"""Scan one shard from start to finish; this is what runs in a worker process."""
from __future__ import annotations

from typing import Callable

import backends

from .aggregate import ShardResult
from .errors import StoreReadError
from .inspect import DatumInspector
from .settings import ScanSettings
from .types import Shard

TICK_RECORDS = 1024  # records between progress updates


def scan_shard(shard: Shard, settings: ScanSettings,
               tick: Callable[[int], None] | None = None) -> ShardResult:
    """Read every record of the shard, inspect it, and return the compact result."""
    backend = backends.get(shard.backend)
    inspector = DatumInspector(settings)
    store_error = None
    reported = 0
    with backend.read(shard) as records:
        try:
            for key, value in records:
                inspector.inspect(key, value)
                if tick and inspector.records - reported >= TICK_RECORDS:
                    tick(inspector.records - reported)
                    reported = inspector.records
        except StoreReadError as exc:
            store_error = {"index": inspector.records, "last_key": exc.last_key,
                           "message": str(exc)}
        inspector.finish()
    if tick and inspector.records > reported:
        tick(inspector.records - reported)
    return inspector.result(shard.number, store_error)
