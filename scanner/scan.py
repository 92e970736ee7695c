"""One scan from path to outcome: open, shard, run, merge, dataset checks, verdict."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

import backends

from .aggregate import ScanTotals, merge
from .batches import analyse
from .checks.dataset_checks import DATASET_CHECKS
from .checks.label_checks import LABEL_CHECKS
from .checks.registry import Problem
from .checks.registry import get as get_check
from .detection import attach as attach_detection
from .detection import resolve as resolve_record
from .executor import Executor, LocalExecutor
from .labels import class_labels
from .progress import Progress
from .report.keys import key_text
from .settings import ScanSettings
from .status import exit_status
from .types import MISSING_LABEL, Finding
from .verdict import verdict


@dataclass
class ScanOutcome:
    source: dict
    settings: ScanSettings
    totals: ScanTotals
    verdict: dict
    partial: bool
    started_at: str
    duration_s: float
    jobs: int
    executor: dict  # the report's `executor` section: name, jobs (and where it ran)
    evidence: dict | None = None  # index -> what a report shows of the record (--html)

    @property
    def exit_status(self) -> int:
        return exit_status(self.totals.sink.by_severity(), self.settings.fail_on, self.partial)


def scan(backend_name: str, path: str, settings: ScanSettings, jobs: int,
         progress: Progress | None = None, collect=None, executor: Executor | None = None,
         shard_count: int | None = None) -> ScanOutcome:
    """Scan a store with an executor (default: a local pool of `jobs` processes), in about
    `shard_count` shards (default: what the executor asks for).

    `collect(backend_class, shards, totals)`, if given, runs while the store can still be
    read (before a snapshot is removed) and returns the outcome's `evidence`."""
    executor = executor or LocalExecutor(jobs)
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.perf_counter()
    backend_class = backends.get(backend_name)
    store = backend_class(path, settings)
    try:  # cleanup() removes what opening made (a LevelDB snapshot), also on error and Ctrl-C
        try:
            source = store.describe()
            shards = store.shards(shard_count or executor.shard_count(), settings.limit)
            total = store.count()
            planning = store.findings()
        finally:
            store.close()  # workers open their own handles
        settings = resolve_record(backend_class, shards, settings)  # AnnotatedDatum or Datum
        results, complete = _run(executor, shards, settings, progress,
                                 None if total is None else min(total, settings.limit or total))
        kept = _contiguous(results)
        totals = merge(kept, settings)
        attach_detection(totals, kept)
        if complete and totals.records == 0 and settings.limit != 0 and not planning:
            planning = [_empty(source)]  # nothing else explains why there is nothing
        _report_planning(totals, planning)
        if source.get("entries") is None and complete:
            source["entries"] = totals.records  # a store that cannot count without reading
        if complete:
            classes = class_labels(totals.labels, settings.num_classes, settings.ignore_label,
                                   MISSING_LABEL, totals.label_range)
            totals.batches = analyse(classes, settings.batch_size, settings.solvers,
                                     MISSING_LABEL)
            for dataset_check in DATASET_CHECKS + LABEL_CHECKS:
                dataset_check(totals)
        _report_store_errors(totals, source, settings, complete)
        outcome_verdict = verdict(totals, complete)
        _name_keys(backend_class, {s.number: s for s in shards}, totals, outcome_verdict)
        evidence = collect(backend_class, {s.number: s for s in shards}, totals) \
            if collect else None
    finally:
        store.cleanup()
    return ScanOutcome(source, settings, totals, outcome_verdict, not complete, started_at,
                       round(time.perf_counter() - clock, 3), executor.jobs,
                       {**executor.describe(), "shards": _shard_balance(results)}, evidence)


def _shard_balance(results) -> list[dict]:
    """The report's `executor.shards`, in read order: how evenly the plan split the work."""
    return [{"records": r.records, "seconds": r.seconds}
            for r in sorted(results, key=lambda r: r.number)]


def _run(executor, shards, settings, progress, total):
    progress = progress or Progress(enabled=False)
    progress.start(total)
    try:
        return executor.run(shards, settings, progress.update)
    finally:
        progress.close()


def _contiguous(results: list) -> list:
    """Keep the shards that finished without a gap before them, so indices stay exact."""
    by_number = {result.number: result for result in results}
    kept, number = [], 0
    while number in by_number:
        kept.append(by_number[number])
        number += 1
    return kept


def _empty(source: dict) -> backends.PlanningFinding:
    return backends.PlanningFinding(source["path"], Problem("DS006", "no record to train on"), 0)


def _report_planning(totals: ScanTotals, planning: list) -> None:
    """Store-level findings made before reading (HDF5 files Caffe cannot load)."""
    for found in planning:
        problem = found.problem
        if not totals.sink.settings.reports(problem.code):
            continue
        check = get_check(problem.code)
        totals.sink.keep(Finding(problem.code, problem.severity or check.severity, None,
                                 found.entry.encode(), problem.message,
                                 {**(problem.detail or {}), "at_record": found.at_record}))
        if (problem.effect or check.effect) == "crash":
            totals.crash_points.append({"index": found.at_record, "code": problem.code,
                                        "key": found.entry.encode()})


def _report_store_errors(totals: ScanTotals, source: dict, settings: ScanSettings,
                         complete: bool) -> None:
    if not totals.store_errors:
        return
    expected = source.get("entries", 0) if settings.limit is None else settings.limit
    unreached = max(expected - totals.records, 0) if complete else None
    for error in totals.store_errors:
        check = get_check("DS001")
        totals.sink.keep(Finding(
            "DS001", check.severity, error["index"], None,
            error["message"] + ("" if unreached is None else
                                f"; {unreached} records could not be reached"),
            {"last_good_key": error["last_key"], "records_not_reached": unreached}))


def _name_keys(backend_class, shards: dict, totals: ScanTotals, outcome_verdict: dict) -> None:
    """Dataset-level findings know only record indices: look their keys up, shard by shard.
    Only positions a worker already read are looked up, so the parent never walks pages that
    crashed a worker."""
    wanted: list[Finding] = [f for f in totals.findings()
                             if f.key is None and f.index is not None and f.code != "DS001"]
    crash = outcome_verdict.get("first_crash")
    if crash and get_check(crash["code"]).scope == "store":
        crash = None  # no record lies there: reading stopped at a broken store or file
    worst = totals.batches.summary["worst"] if totals.batches else []
    indices = {f.index for f in wanted} | ({crash["index"]} if crash else set()) | \
        {batch[end] for batch in worst for end in ("first_index", "last_index")}
    keys: dict[int, bytes] = {}
    for (number, offset), members in totals.locate(indices).items():
        found = backend_class.keys_at(shards[number], [i - offset for i in members])
        keys.update({position + offset: key for position, key in found.items()})
    for finding in wanted:
        finding.key = keys.get(finding.index)
    if crash:
        crash["key"] = keys.get(crash["index"])
    for batch in worst:
        batch["first_key"] = key_text(keys.get(batch["first_index"]))
        batch["last_key"] = key_text(keys.get(batch["last_index"]))
