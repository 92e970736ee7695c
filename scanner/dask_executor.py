"""Run the scan's shards on a Dask distributed cluster (the optional `dask` extra).

Each shard is one task: the worker opens the store itself by path, runs the same
`scan_shard` as a local worker and sends back the same compact result, which goes through
the same merge. Dask retries a task whose worker died (up to the scheduler's
`allowed-failures`); a shard that keeps killing workers is then isolated here, on the
client, exactly as the local executor isolates it: re-run alone, record by record.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Callable

from .aggregate import ShardResult
from .errors import DscanError, MissingDependencyError
from .executor import LocalExecutor, stop_on_signals
from .pipeline import scan_shard
from .settings import ScanSettings
from .types import Shard

log = logging.getLogger("dscan")
SHARDS_PER_WORKER = 8  # many more shards than worker threads: a slow worker holds nothing up
POLL_S = 0.1
INSTALL_HINT = "pip install 'dscan[dask]' (from a checkout: pip install '.[dask]')"


class DaskExecutor:
    name = "dask"

    def __init__(self, scheduler: str, connect_timeout: float = 10.0):
        try:
            from distributed import Client
        except ImportError:
            raise MissingDependencyError(
                f"--executor dask needs the dask extra; install it with: {INSTALL_HINT}") \
                from None
        self.scheduler = scheduler
        try:
            self.client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise DscanError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:  # a cluster that is starting, or restarting a worker, gets a moment
            self.client.wait_for_workers(1, timeout=connect_timeout)
        except (OSError, TimeoutError):
            self.client.close()
            raise DscanError(f"the Dask scheduler at {scheduler} has no workers") from None
        self.jobs = sum(self.client.nthreads().values())
        self.stop = threading.Event()

    def shard_count(self) -> int:
        return self.jobs * SHARDS_PER_WORKER

    def describe(self) -> dict:
        return {"name": self.name, "jobs": self.jobs, "scheduler": self.scheduler,
                "workers": len(self.client.nthreads())}

    def close(self) -> None:
        self.client.close()

    def run(self, shards: list[Shard], settings: ScanSettings,
            progress: Callable[[int], None]) -> tuple[list[ShardResult], bool]:
        scan_id = uuid.uuid4().hex[:12]
        futures = {self.client.submit(scan_shard, shard, settings, pure=False,
                                      key=f"dscan-{scan_id}-shard-{shard.number}"): shard
                   for shard in shards}
        results: dict[int, ShardResult] = {}
        pending = set(futures)
        try:
            with stop_on_signals(self.stop):
                while pending and not self.stop.is_set():
                    done = {future for future in pending if future.done()}
                    pending -= done
                    for future in done:
                        result = self._result(future, futures[future], settings)
                        if result is not None:
                            results[result.number] = result
                            progress(result.records)
                    if not done:
                        time.sleep(POLL_S)
        finally:
            if pending:
                self.client.cancel(list(pending))
        return list(results.values()), len(results) == len(shards)

    def _result(self, future, shard: Shard, settings: ScanSettings) -> ShardResult | None:
        from distributed import KilledWorker
        try:
            return future.result()
        except KilledWorker:
            log.warning("shard %d killed Dask workers repeatedly; isolating it on this machine",
                        shard.number)
            return LocalExecutor(1).isolate(shard, settings)
        except DscanError as exc:
            raise DscanError(f"a Dask worker could not scan shard {shard.number} of "
                             f"{shard.path}: {exc} (workers must see the same path: a "
                             "shared filesystem)") from None
        except Exception as exc:  # noqa: BLE001  (any task error is reported, one line)
            raise DscanError(f"a Dask worker failed on shard {shard.number} of {shard.path}: "
                             f"{type(exc).__name__}: {exc} (workers must see the same path "
                             "and run the same dscan)") from None
