"""Run shards: in this process for small jobs, else in a pool of worker processes.

Only shard descriptions and settings go to workers; each opens the store itself. Workers
report progress through one shared counter and log through multiprocessing-logging.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Callable

import multiprocessing_logging

from .aggregate import ShardResult
from .pipeline import scan_shard
from .settings import ScanSettings
from .types import Shard

log = logging.getLogger("dscan")
_counter = None  # the shared progress counter, in each worker


def _init_worker(counter) -> None:
    global _counter
    _counter = counter
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us


def _tick(records: int) -> None:
    with _counter.get_lock():
        _counter.value += records


def _run(shard: Shard, settings: ScanSettings) -> ShardResult:
    return scan_shard(shard, settings, _tick)


class LocalExecutor:
    """The default executor: a process pool on this machine."""

    name = "local"

    def __init__(self, jobs: int):
        self.jobs = jobs

    def run(self, shards: list[Shard], settings: ScanSettings,
            progress: Callable[[int], None]) -> tuple[list[ShardResult], bool]:
        """Return the results of the shards that finished and whether all of them did."""
        if self.jobs == 1 or len(shards) == 1:
            return self._run_here(shards, settings, progress)
        return self._run_pool(shards, settings, progress)

    @staticmethod
    def _run_here(shards, settings, progress):
        results = []
        try:
            for shard in shards:
                results.append(scan_shard(shard, settings, progress))
        except KeyboardInterrupt:
            return results, False
        return results, True

    def _run_pool(self, shards, settings, progress):
        context = multiprocessing.get_context("fork")
        counter = context.Value("q", 0)
        multiprocessing_logging.install_mp_handler(log)
        pool = ProcessPoolExecutor(min(self.jobs, len(shards)), context,
                                   initializer=_init_worker, initargs=(counter,))
        results: list[ShardResult] = []
        pending: set[Future] = set()
        shown = 0
        try:
            pending = {pool.submit(_run, shard, settings) for shard in shards}
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                results.extend(future.result() for future in done)
                shown = _show_progress(counter, shown, progress)
        except KeyboardInterrupt:
            _stop(pool, pending)
            return results, False
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            multiprocessing_logging.uninstall_mp_handler(log)
        _show_progress(counter, shown, progress)
        return results, True


def _show_progress(counter, shown: int, progress: Callable[[int], None]) -> int:
    current = counter.value
    if current > shown:
        progress(current - shown)
    return current


def _stop(pool: ProcessPoolExecutor, pending: set[Future]) -> None:
    for future in pending:
        future.cancel()
    for process in list((pool._processes or {}).values()):  # no public way to stop workers
        process.terminate()
