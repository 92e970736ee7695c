"""One version of the store for the whole scan, or a report that says there was none.

Each shard reads its own transaction. When a writer commits during the scan the shards read
different versions (LMDB transaction ids), or a lock-free read overlapped a commit that may
have reused its pages ("disturbed"). Such shards are read again: first only those, then (a
registered reader) the whole store in one worker and one transaction. If the store still
moved, or lock-free workers kept dying on pages the writer reused, the scan is partial and
says so (DS010)."""
from __future__ import annotations

import logging

from .checks.registry import get as get_check
from .errors import WorkersKeptDyingError
from .types import Finding, Shard

log = logging.getLogger("dscan")


def settle(run, backend_class) -> None:
    """Re-read shards until every one read the same version, up to two more rounds (the
    second reads the whole store in one transaction: only a registered reader can hope to
    read that much while a writer commits)."""
    registered = bool(run.shards) and run.shards[0].registered
    rounds = 3 if registered else 2
    for attempt in range(rounds):
        versions = {r.number: r.snapshot for r in run.results if r.snapshot}
        if not versions:
            return  # a store without versions (a LevelDB snapshot, HDF5 files)
        newest = max(v["txnid"] for v in versions.values())
        stale = sorted(n for n, v in versions.items() if v["txnid"] != newest or v["disturbed"])
        if not stale:
            _consistent(run, versions, newest, attempt)
            return
        if attempt == rounds - 1:
            break
        shards = _whole(run.shards) if attempt == 1 else [
            s for s in run.shards if s.number in stale]
        log.warning("the store changed during the scan (transactions %s); reading %s again",
                    ", ".join(map(str, sorted({v["txnid"] for v in versions.values()}))),
                    "the whole store in one transaction" if attempt == 1 else
                    f"{len(stale)} shard(s)")
        try:
            results, finished = run.executor.run(shards, run.settings, lambda records: None)
        except WorkersKeptDyingError:
            if not moved(backend_class, run):
                raise
            log.warning("workers kept dying on pages the writer reused")
            break
        if not finished:  # interrupted: what was read before stays, and is not one version
            break
        if attempt == 1:
            run.shards, run.results = shards, results
        else:
            renewed = {r.number: r for r in results}
            run.results = [renewed.get(r.number, r) for r in run.results]
    mark_changed(run)


def moved(backend_class, run) -> bool:
    """Has the store a newer version than the one planned from? (A store without versions
    never moves.)"""
    current = getattr(backend_class, "current_version", None)
    planned = run.source.get("last_txnid")
    return bool(run.shards) and current is not None and planned is not None and \
        current(run.shards[0]) != planned


def mark_changed(run) -> None:
    """No single version: say so, and drop what lock-free reads overlapped by a commit
    returned (pages the writer reused read as garbage, not as faults in the data); those
    shards are listed as not covered."""
    versions = {r.number: r.snapshot for r in run.results if r.snapshot}
    run.results = [r for r in run.results if not (r.snapshot and r.snapshot["disturbed"])]
    run.store_changed = {"versions": sorted({v["txnid"] for v in versions.values()}) or
                         [run.source.get("last_txnid")],
                         "disturbed_shards": sorted(n for n, v in versions.items()
                                                    if v["disturbed"])}
    run.source["snapshot"] = {"consistent": False, **run.store_changed}


def _consistent(run, versions: dict, txnid: int, rereads: int) -> None:
    entries = next((v["entries"] for v in versions.values() if v["entries"] is not None),
                   None)
    run.source["snapshot"] = {"consistent": True, "txnid": txnid, "rereads": rereads}
    if run.settings.limit is None and entries is not None:
        run.source["entries"] = entries  # what the version that was read holds


def _whole(shards: list[Shard]) -> list[Shard]:
    """The planned shards as one: the same records, read in one transaction."""
    first, last = shards[0], shards[-1]
    return [Shard(first.backend, first.path, 0, start=first.start, stop=last.stop,
                  registered=first.registered)]


def report_changed(totals, store_changed: dict, path: str) -> None:
    """DS010 on the store: no single version could be read."""
    if not totals.sink.settings.reports("DS010"):
        return
    check = get_check("DS010")
    versions = store_changed["versions"]
    totals.sink.keep(Finding(
        "DS010", check.severity, None, path.encode(),
        f"a writer kept committing during the scan: shards read transactions "
        f"{versions[0]}..{versions[-1]}; the report covers no single version of the store",
        dict(store_changed)))
