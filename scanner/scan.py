"""One scan from path to outcome: open, shard, run, merge, dataset checks, verdict.

Every phase may be interrupted (SIGINT, SIGTERM: see interrupts); the outcome then keeps
what was finished and says what was not."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import backends

from . import interrupts
from .aggregate import ScanTotals, merge
from .batches import analyse
from .checks.dataset_checks import DATASET_CHECKS
from .checks.label_checks import LABEL_CHECKS
from .checks.registry import Problem
from .checks.registry import get as get_check
from .coverage import coverage, partial_verdict
from .detection import attach as attach_detection
from .detection import resolve as resolve_record
from .duplicates.findings import begin_within as begin_duplicates
from .duplicates.findings import report_within as report_duplicates
from .duplicates.keys import live_keys
from .executor import Executor, LocalExecutor
from .interrupts import Interrupted
from .labels import class_labels
from .progress import Progress
from .report.keys import key_text
from .settings import ScanSettings
from .errors import WorkersKeptDyingError
from .snapshots import mark_changed, moved, report_changed, settle
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
    interrupted: dict | None = None  # {phase, signal} when a signal stopped the scan
    coverage: dict = field(default_factory=dict)  # what was read, what was not (see coverage)

    @property
    def exit_status(self) -> int:
        return exit_status(self.totals.sink.by_severity(), self.settings.fail_on,
                           self.interrupted is not None)


@dataclass
class _Run:
    """What a scan has done so far; an interrupt at any point leaves a consistent part."""

    backend: str
    path: str
    settings: ScanSettings
    executor: Executor
    source: dict = field(default_factory=dict)
    shards: list | None = None  # None: planning did not finish
    results: list = field(default_factory=list)
    finished: bool = False  # every planned shard finished
    totals: ScanTotals | None = None
    verdict: dict | None = None
    evidence: dict | None = None
    store_changed: dict | None = None  # set when no single version of the store was read
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(
        timespec="seconds"))
    clock: float = field(default_factory=time.perf_counter)

    def __post_init__(self):
        self.source = {"backend": self.backend, "path": self.path, "entries": None}

    def outcome(self, interrupted: Interrupted | None) -> ScanOutcome:
        if self.totals is None:  # interrupted before the merge
            self.totals = merge(self.results, self.settings)
        covered = coverage(self.shards, self.results)
        if self.store_changed:
            covered.update(complete=False, store_changed=self.store_changed)
        complete = covered["complete"] and interrupted is None
        if self.verdict is None or not complete:
            self.verdict = partial_verdict(self.totals, covered) if not complete else \
                verdict(self.totals, True)
        if not complete:
            self.totals.batches = None  # read-order results need every record, in order
        self.verdict.setdefault("complete", True)
        return ScanOutcome(self.source, self.settings, self.totals, self.verdict,
                           not complete, self.started_at,
                           round(time.perf_counter() - self.clock, 3), self.executor.jobs,
                           {**self.executor.describe(), "shards": _shard_balance(self.results)},
                           self.evidence,
                           interrupted.as_report() if interrupted else None, covered)


def nothing_scanned(backend_name: str, path: str, settings: ScanSettings,
                    executor: Executor | None, jobs: int,
                    interrupted: Interrupted) -> ScanOutcome:
    """The outcome of a run interrupted before its scan began."""
    return _Run(backend_name, path, settings, executor or LocalExecutor(jobs)).outcome(
        interrupted)


def scan(backend_name: str, path: str, settings: ScanSettings, jobs: int,
         progress: Progress | None = None, collect=None, executor: Executor | None = None,
         shard_count: int | None = None) -> ScanOutcome:
    """Scan a store with an executor (default: a local pool of `jobs` processes), in about
    `shard_count` shards (default: what the executor asks for). An interrupt ends it early
    with a partial outcome; it does not raise.

    `collect(backend_class, shards, totals)`, if given, runs while the store can still be
    read (before a snapshot is removed) and returns the outcome's `evidence`."""
    interrupts.begin_run()
    run = _Run(backend_name, path, settings, executor or LocalExecutor(jobs))
    backend_class = backends.get(backend_name)
    progress = progress or Progress(enabled=False)
    store = None
    try:
        with interrupts.phase("planning"):
            if getattr(backend_class, "preparing", None):  # opening takes time: say so
                progress.phase(f"{backend_name} {path}: {backend_class.preparing}")
            store = backend_class(path, settings)
            if hasattr(store, "settled"):  # HDF5: the tops found when none was named
                settings = run.settings = store.settled(settings)
            try:
                run.source = store.describe()
                shards = store.shards(shard_count or run.executor.shard_count(),
                                      settings.limit, settings.start)
                total = _count(store, progress, settings.limit)
                if total is not None:  # records from `start` on
                    total = max(total - settings.start, 0)
                planning = store.findings()
            finally:
                with interrupts.deferred():
                    store.close()  # workers open their own handles
            run.shards = shards
            # AnnotatedDatum or Datum, from a sample of records
            settings = run.settings = resolve_record(backend_class, shards, settings)
        with interrupts.phase("scanning"):
            try:
                run.results, run.finished = _run(
                    run.executor, shards, settings, progress,
                    None if total is None else min(total, settings.limit or total))
            except WorkersKeptDyingError:  # on pages a lock-free read shares with a writer?
                if not moved(backend_class, run):
                    raise
                mark_changed(run)
            if run.finished:
                settle(run, backend_class)
        with interrupts.deferred():  # the merge renumbers the results: all or nothing
            run.totals = merge(run.results, settings)
            attach_detection(run.totals, run.results)
            _report_planning(run.totals, planning)
            _report_store_errors(run.totals, run.source, settings, run.finished)
            if run.store_changed:
                report_changed(run.totals, run.store_changed, path)
        if run.finished and not run.store_changed:
            with interrupts.phase("checks"):
                _finish(run, backend_class, planning, collect)
    except Interrupted as exc:
        return run.outcome(exc)
    finally:
        progress.close()
        if store is not None:
            with interrupts.deferred():
                store.cleanup()
    return run.outcome(interrupts.received())


def _count(store, progress: Progress, limit: int | None) -> int | None:
    """The store's record count; for the bar's total, a store that keeps none walks its
    keys when a person watches the bar (and no --limit gives the total anyway)."""
    total = store.count()
    if total is None and progress.enabled and limit is None and \
            hasattr(store, "count_keys"):
        progress.phase("counting the records for the progress bar")
        total = store.count_keys()
    return total


def _finish(run: _Run, backend_class, planning: list, collect) -> None:
    """After a complete read: store-level findings, dataset checks, verdict, keys."""
    totals, settings, source = run.totals, run.settings, run.source
    joining = begin_duplicates(totals)  # on another core while the checks below run
    if totals.records == 0 and settings.limit != 0 and not planning:
        _report_planning(totals, [_empty(source)])  # nothing else explains the nothing
    if source.get("entries") is None and not totals.store_errors:
        source["entries"] = totals.records  # a store that cannot count without reading
    classes = class_labels(totals.labels, settings.num_classes, settings.ignore_label,
                           MISSING_LABEL, totals.label_range)
    totals.batches = analyse(classes, settings.batch_size, settings.solvers, MISSING_LABEL)
    for batch in totals.batches.summary["worst"] if settings.start else ():
        batch["first_index"] += settings.start  # analysed from the first record scanned
        batch["last_index"] += settings.start
    for dataset_check in DATASET_CHECKS + LABEL_CHECKS:
        dataset_check(totals)
    shards = {s.number: s for s in run.shards}
    moved = _moved_on(backend_class, run)  # positions would name another version's keys
    report_duplicates(totals, (lambda indices: {}) if moved else
                      live_keys(backend_class, shards, totals), joining)
    run.verdict = verdict(totals, True)
    if not moved:
        _name_keys(backend_class, shards, totals, run.verdict)
    run.evidence = collect(backend_class, shards, totals) if collect else None


def _moved_on(backend_class, run: _Run) -> bool:
    """Has a writer committed since the version the scan read? Then the positions of the
    records read no longer name the same keys, and a lock-free reader would walk pages the
    writer may be reusing: dataset findings keep their indices only."""
    read = run.source.get("snapshot", {}).get("txnid") if isinstance(
        run.source.get("snapshot"), dict) else None
    if read is None or not run.shards:
        return False
    return backend_class.current_version(run.shards[0]) != read


def _shard_balance(results) -> list[dict]:
    """The report's `executor.shards`, in read order: how evenly the plan split the work."""
    return [{"records": r.records, "seconds": r.seconds}
            for r in sorted(results, key=lambda r: r.number)]


def _run(executor, shards, settings, progress, total):
    progress.start(total)
    try:
        return executor.run(shards, settings, progress.update)
    finally:
        progress.close()


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
    """DS001 where reading failed. The records not reached are counted from what the store
    claims to hold; a store that claims nothing (LevelDB) leaves them unknown."""
    if not totals.store_errors:
        return
    claimed = source.get("entries")
    if claimed is not None and settings.limit is not None:
        claimed = min(claimed, settings.limit)
    unreached = max(claimed - totals.records, 0) if complete and claimed is not None \
        else None
    for error in totals.store_errors:
        check = get_check("DS001")
        totals.sink.keep(Finding(
            "DS001", check.severity, error["index"], None,
            error["message"] + _unreached_text(unreached, complete),
            {"last_good_key": error["last_key"], "records_not_reached": unreached}))


def _unreached_text(unreached: int | None, complete: bool) -> str:
    if unreached is not None:
        return f"; {unreached} records could not be reached"
    if not complete:
        return "; the scan did not finish, so the records not reached are not counted"
    return "; the records after it could not be reached (how many is unknown: the store " \
        "keeps no count)"


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
    garbage = [g for g in outcome_verdict["garbage_examples"] if g["key"] is None]
    flagged = [i for i, (key, _) in totals.sink.flagged.items() if key is None]  # --keys-out
    indices = {f.index for f in wanted} | ({crash["index"]} if crash else set()) | \
        {batch[end] for batch in worst for end in ("first_index", "last_index")} | \
        {g["index"] for g in garbage} | set(flagged)
    keys: dict[int, bytes] = {}
    for (number, offset), members in totals.locate(indices).items():
        found = backend_class.keys_at(shards[number], [i - offset for i in members])
        keys.update({position + offset: key for position, key in found.items()})
    for finding in wanted:
        finding.key = keys.get(finding.index)
    if crash:
        crash["key"] = keys.get(crash["index"])
    for example in garbage:
        example["key"] = keys.get(example["index"])
    for index in flagged:
        totals.sink.flagged[index][0] = keys.get(index)
    for batch in worst:
        batch["first_key"] = key_text(keys.get(batch["first_index"]))
        batch["last_key"] = key_text(keys.get(batch["last_index"]))
