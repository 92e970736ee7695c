"""Run shards in worker processes; survive workers that die and the user's Ctrl-C.

Only shard descriptions and settings go to workers; each opens the store itself. Workers
report progress through one shared counter, log through multiprocessing-logging, and publish
where they are in their shard, so that when one dies (segfault, abort, OOM kill) the parent
can re-run the shard without the record that killed it.
"""
from __future__ import annotations

import dataclasses
import gc
import logging
import multiprocessing
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Callable, Protocol

import multiprocessing_logging

import backends

from . import interrupts
from .aggregate import ShardResult
from .capture import LibraryOutput
from .errors import WorkersKeptDyingError
from .freed_memory import huge_pages_as_numpy_chose, keep_freed_memory
from .pipeline import scan_shard
from .settings import ScanSettings
from .types import Shard

log = logging.getLogger("dscan")
# more shards than workers, so no worker waits long on a straggler: the last shards' tail
# is half a shard on average (2 workers, medians of 5 pairs: 20k JPEG 3.24 s against 3.38
# with 4 a job, 1M raw 2.89 against 2.97, 4k 500x375 JPEG 3.46 against 3.56)
SHARDS_PER_JOB = 8
MAX_CRASHES_PER_SHARD = 32  # crashes in a row that do not repeat at the same record
STOP_GRACE_S = 10.0  # after a stop request, how long workers get to return by themselves
_NOT_STARTED = -1
_shared = {}  # in each worker: the progress counter, per-shard states, the stop flag


class _Stopped(BaseException):
    """Raised inside a worker when the parent asked the scan to stop; not an Exception, so
    that the record boundary (scanner/boundary.py) lets it through."""


def _init_worker(counter, states, stop_flag) -> None:
    keep_freed_memory()  # a worker from the fork server did not inherit the command's
    huge_pages_as_numpy_chose()  # a forked worker inherited the command's
    _shared.update(counter=counter, states=states, stop_flag=stop_flag,
                   library_output=LibraryOutput())  # quiet means quiet: see capture
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler: die when told


def _tick(records: int) -> None:
    counter = _shared["counter"]
    with counter.get_lock():
        counter.value += records


def _run(shard: Shard, settings: ScanSettings) -> ShardResult | None:
    states, stop_flag = _shared["states"], _shared["stop_flag"]

    def track(state: int) -> None:
        states[shard.number] = state
        if stop_flag.value:
            raise _Stopped

    try:
        return scan_shard(shard, settings, _tick, track)
    except _Stopped:
        return None  # a worker that returns is safe; one killed mid-reply can hang the pool
    finally:
        _shared["library_output"].drain(shard.number)


@contextmanager
def stop_on_signals(stop: threading.Event):
    """SIGINT and SIGTERM ask the scan to stop; the loop notices within 0.1 s. The signal
    is noted as interrupting the scanning phase (see interrupts)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if interrupts.received() is not None:  # a signal came before the loop could start
        stop.set()

    def request_stop(signum, _frame):
        interrupts.note(signum, "scanning")
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in interrupts.SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclasses.dataclass
class _Round:
    """What one pool run left behind."""

    results: dict[int, ShardResult]
    broken: list[Shard]  # shards whose worker pool broke before they finished
    states: list[int]


class Executor(Protocol):
    """Runs shards somewhere and hands back their compact results; nothing else in the
    scanner knows where the shards ran."""

    name: str
    jobs: int  # how many shards can run at once

    def shard_count(self) -> int:
        """How many shards to plan, so that no worker waits on a straggler."""

    def describe(self) -> dict:
        """The report's `executor` section."""

    def run(self, shards: list[Shard], settings: ScanSettings,
            progress: Callable[[int], None]) -> tuple[list[ShardResult], bool]:
        """The results of the shards that finished, and whether all of them did."""

    def close(self) -> None:
        """Let go of what the executor holds (a cluster connection)."""


class LocalExecutor:
    """The default executor: a pool of worker processes on this machine."""

    name = "local"

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.stop = threading.Event()

    def shard_count(self) -> int:
        return self.jobs * SHARDS_PER_JOB

    def describe(self) -> dict:
        return {"name": self.name, "jobs": self.jobs}

    def close(self) -> None:
        """Pools live for one round; nothing is held between scans."""

    def run(self, shards: list[Shard], settings: ScanSettings,
            progress: Callable[[int], None]) -> tuple[list[ShardResult], bool]:
        """Return the results of the shards that finished and whether all of them did."""
        results: dict[int, ShardResult] = {}
        # worker records reach the parent's handlers; a signal inside would leave a handler
        # half made that logging, closing it at exit, raises on: it interrupts just after
        with interrupts.deferred():
            multiprocessing_logging.install_mp_handler()
            wrappers = [handler for handler in logging.getLogger().handlers
                        if isinstance(handler, multiprocessing_logging.MultiProcessingHandler)]
        try:
            interrupts.check()
            with stop_on_signals(self.stop):
                queue = list(shards)
                while queue and not self.stop.is_set():
                    round_ = self._round(queue, settings, progress, self.jobs)
                    results.update(round_.results)
                    queue = [s for s in round_.broken if round_.states[s.number] == _NOT_STARTED]
                    for shard in round_.broken:
                        if round_.states[shard.number] != _NOT_STARTED and not self.stop.is_set():
                            isolated = self.isolate(shard, settings)
                            if isolated is not None:
                                results[shard.number] = isolated
        finally:
            multiprocessing_logging.uninstall_mp_handler()
            for wrapper in wrappers:
                _retire(wrapper)
        return list(results.values()), len(results) == len(shards)

    def isolate(self, shard: Shard, settings: ScanSettings) -> ShardResult | None:
        """Re-run a shard alone until it completes. A crash that repeats at the same place is
        the data's: the record to blame is found (see `_culprit`) and skipped, or the read
        stops there. One that does not repeat was passing (a writer changing the store,
        memory pressure) and costs nothing; crashes that never repeat are no record's fault
        (WorkersKeptDyingError: the scan then asks whether the store moved)."""
        previous, unrepeated = None, 0
        while True:
            round_ = self._round([shard], settings, None, 1)
            if shard.number in round_.results:
                return round_.results[shard.number]
            if self.stop.is_set():
                return None
            state = round_.states[shard.number]
            if state == _NOT_STARTED or state != previous:
                unrepeated += 1
                if unrepeated > MAX_CRASHES_PER_SHARD:  # not the data's: a writer, memory
                    raise WorkersKeptDyingError(
                        f"shard {shard.number} of {shard.path} killed {unrepeated} worker "
                        "processes, never twice at the same record")
                previous = state
                continue
            previous, unrepeated = None, 0
            position = state // 2  # odd: inspecting record state // 2; even: fetching it
            if state % 2:
                culprit = self._culprit(shard, settings, position)
                if culprit is None:
                    return None
                log.warning("shard %d: record %d killed a worker%s; skipping it", shard.number,
                            culprit, "" if culprit == position else
                            f" (which died later, at record {position})")
                shard = dataclasses.replace(shard, crashed_at=shard.crashed_at + (culprit,))
            else:
                log.warning("shard %d: reading record %d killed a worker", shard.number, position)
                shard = dataclasses.replace(shard, reader_died_at=position)

    def _culprit(self, shard: Shard, settings: ScanSettings, died_at: int) -> int | None:
        """The record to blame for workers that die inspecting record `died_at`: that record
        itself, or, when a decoder corrupted memory and the worker died later, the last
        record from which inspecting up to `died_at` still kills a fresh worker (a bisection
        of the records before it, in probe runs). None if the scan was asked to stop."""
        def kills(first: int) -> bool | None:
            probe = dataclasses.replace(shard, probe=(first, died_at))
            round_ = self._round([probe], settings, None, 1)
            return None if self.stop.is_set() else shard.number not in round_.results

        alone = kills(died_at)
        if alone is None or alone:
            return None if alone is None else died_at
        low, high = 0, died_at - 1  # inspecting from `low` kills a worker (the full run did)
        while low < high:
            middle = (low + high + 1) // 2
            verdict = kills(middle)
            if verdict is None:
                return None
            low, high = (middle, high) if verdict else (low, middle - 1)
        return low

    def _round(self, shards: list[Shard], settings: ScanSettings,
               progress: Callable[[int], None] | None, jobs: int) -> _Round:
        context = _context(shards)
        counter, stop_flag = context.Value("q", 0), context.RawValue("b", 0)
        states = context.RawArray("q", [_NOT_STARTED] * (max(s.number for s in shards) + 1))
        # Frozen objects are left alone by the collector of the forked workers, which would
        # otherwise write to every inherited object (a copy-on-write fault per page).
        gc.freeze()
        try:
            pool = ProcessPoolExecutor(min(jobs, len(shards)), context,
                                       initializer=_init_worker,
                                       initargs=(counter, states, stop_flag))
            round_ = _Round({}, [], [])
            futures = {pool.submit(_run, shard, settings): shard for shard in shards}
        finally:
            gc.unfreeze()  # the workers are forked by now
        pending, shown = set(futures), 0
        try:
            while pending and not self.stop.is_set():
                done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                self._collect(done, futures, round_, self.stop)
                shown = _show_progress(counter, shown, progress)
        finally:
            if pending:  # interrupted: ask the workers to return, kill them only if they won't
                stop_flag.value = 1
                done, pending = wait(pending, timeout=STOP_GRACE_S)
                self._collect(done, futures, round_, self.stop)
                if pending:
                    _terminate(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        round_.states = list(states)
        return round_

    @staticmethod
    def _collect(done, futures: dict, round_: _Round, stop: threading.Event) -> None:
        for future in done:
            try:
                result = future.result()
            except BrokenProcessPool:
                round_.broken.append(futures[future])
            except Exception:
                if not stop.is_set():
                    raise
                # stopping: a worker cut short (its store closed under it) is a stopped one
            else:
                if result is not None:  # None: the worker stopped on request
                    round_.results[result.number] = result


def _context(shards: list[Shard]):
    """Fork is cheapest (workers share the parent's pages); a backend whose library keeps
    threads that a fork does not copy (LevelDB) gets workers started by a fresh server."""
    if all(getattr(backends.get(shard.backend), "fork_safe", True) for shard in shards):
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["scanner.pipeline"] + sorted(
        {backends.REGISTRY[shard.backend][0] for shard in shards}))
    return context


def _retire(wrapper: logging.Handler) -> None:
    """Close a run's log-forwarding handler without waiting here: its queue can be left
    half-written by a killed worker, and closing then waits 5 s for records that never come
    (at exit, once per run). Closed in the background, it is skipped at exit."""
    threading.Thread(target=wrapper.close, name="dscan-log-close", daemon=True).start()


def _show_progress(counter, shown: int, progress: Callable[[int], None] | None) -> int:
    current = counter.value
    if progress is not None and current > shown:
        progress(current - shown)
    return current


def _terminate(pool: ProcessPoolExecutor) -> None:
    for process in list((pool._processes or {}).values()):  # no public way to stop workers
        process.terminate()
