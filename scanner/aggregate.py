"""Collect findings and per-record facts in a shard, then merge shards in read order."""
from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from . import checks
from .checks.registry import Problem
from .duplicates.fingerprints import merged as merged_fingerprints
from .labels import LabelRange, infer_range
from .settings import ScanSettings

if TYPE_CHECKING:
    from .batches import BatchAnalysis
from .stats import ChannelStats
from .types import CRASH, GARBAGE, MISSING_LABEL, SEVERITY_RANK, Finding
FOUND, FEEDS_GARBAGE, CRASHES = 1, 2, 4  # bits per record with findings


class FindingSink:
    """Exact counts per (code, severity), the first `max_examples` findings per code."""

    def __init__(self, settings: ScanSettings):
        self.settings = settings
        self.counts: Counter = Counter()
        self.examples: dict[str, list[Finding]] = {}
        self.marks: dict[int, int] = {}
        self.crashes: dict[int, str] = {}  # record index -> first code that crashes Caffe there
        # --keys-out: record index -> [its key (None until known), codes at or above fail_on]
        self.flagged: dict[int, list] = {}
        self._flag_rank = SEVERITY_RANK.get(settings.fail_on) if settings.flag_keys else None

    def add(self, index: int, key, problem: Problem) -> None:
        """Count a problem at a record; keep it as an example if among the first per code."""
        if not self.settings.reports(problem.code):
            return
        check = checks.get(problem.code)
        severity = problem.severity or check.severity
        effect = problem.effect or check.effect
        self.keep(Finding(problem.code, severity, index, None if key is None else bytes(key),
                          problem.message, problem.detail or {}))
        bits = FOUND | (FEEDS_GARBAGE if effect == GARBAGE else 0) | \
            (CRASHES if effect == CRASH else 0)
        self.marks[index] = self.marks.get(index, 0) | bits
        if effect == CRASH:
            self.crashes.setdefault(index, problem.code)
        if self._flag_rank is not None and SEVERITY_RANK[severity] >= self._flag_rank:
            self.flag(index, key, problem.code)

    def flag(self, index: int, key, code: str) -> None:
        """Note a record (and its key, once known) for --keys-out."""
        entry = self.flagged.setdefault(index, [None, set()])
        if entry[0] is None and key is not None:
            entry[0] = bytes(key)
        entry[1].add(code)

    def by_severity(self) -> dict[str, int]:
        """Exact finding counts per severity."""
        counts: dict[str, int] = {}
        for (_, severity), n in self.counts.items():
            counts[severity] = counts.get(severity, 0) + n
        return counts

    def keep(self, finding: Finding) -> None:
        """Count a finding and keep it among its code's examples; marks nothing."""
        self.counts[(finding.code, finding.severity)] += 1
        kept = self.examples.setdefault(finding.code, [])
        kept.append(finding)
        if len(kept) > 2 * self.settings.max_examples:
            _keep_first(kept, self.settings.max_examples)


def _keep_first(findings: list[Finding], limit: int) -> None:
    findings.sort(key=lambda f: (f.index is None, f.index or 0))
    del findings[limit:]


@dataclass
class ShardResult:
    """What a worker sends back: counts and arrays, no per-record Python objects."""

    number: int
    records: int
    counts: Counter
    examples: dict[str, list[Finding]]
    marked: np.ndarray  # local indices of records with findings
    marks: np.ndarray  # their bits
    crashes: dict[int, str]
    labels: np.ndarray
    shape_ids: np.ndarray
    shapes: list[tuple]
    encodings: Counter
    stats: dict[tuple[str, int], ChannelStats]
    store_error: dict | None = None
    pixel_classes: dict[int, int] = field(default_factory=dict)
    snapshot: dict | None = None  # the store's version the shard read (LMDB: txnid, entries)
    seconds: float = 0.0  # time the worker spent on the shard (the last try, if retried)
    fingerprints: object = None  # duplicates.Fingerprints of the shard's records (or None)
    flagged: dict = field(default_factory=dict)  # --keys-out: local index -> [key, codes]


@dataclass
class ScanTotals:
    """All shards merged, indices global in read order; dataset checks add to `sink`."""

    sink: FindingSink
    records: int = 0
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    shape_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    shapes: list[tuple] = field(default_factory=list)
    encodings: Counter = field(default_factory=Counter)
    stats: dict[tuple[str, int], ChannelStats] = field(default_factory=dict)
    store_errors: list[dict] = field(default_factory=list)  # DS001: where reading failed
    crash_points: list[dict] = field(default_factory=list)  # store-level faults Caffe meets
    shard_offsets: list[tuple[int, int]] = field(default_factory=list)  # (shard, offset)
    pixel_classes: Counter = field(default_factory=Counter)  # label maps: pixels per class
    batches: "BatchAnalysis | None" = None  # set after the merge, from the labels
    detection: object = None  # DetectionStats of an AnnotatedDatum store (see detection)
    fingerprints: object = None  # duplicates.Fingerprints, in read order (None: not made)

    @cached_property
    def label_range(self) -> LabelRange | None:
        """The class range the labels themselves suggest (computed once, after the merge)."""
        known = self.labels[self.labels != MISSING_LABEL]
        return infer_range(known, self.sink.settings.ignore_label)

    def locate(self, indices) -> dict[tuple[int, int], list[int]]:
        """Group record indices by the shard that read them: (shard number, its first index)
        -> the indices, sorted."""
        starts = [offset for _, offset in self.shard_offsets]
        found: dict[tuple[int, int], list[int]] = {}
        for index in sorted(indices):
            slot = bisect.bisect_right(starts, index) - 1
            if slot >= 0:
                found.setdefault(self.shard_offsets[slot], []).append(index)
        return found

    def findings(self) -> list[Finding]:
        """The kept examples of every code, capped, in read order."""
        every = []
        for kept in self.sink.examples.values():
            _keep_first(kept, self.sink.settings.max_examples)
            every.extend(kept)
        return sorted(every, key=lambda f: (f.index is None, f.index or 0, f.code))


def _absorb(sink: FindingSink, result: ShardResult, offset: int) -> None:
    sink.counts.update(result.counts)
    for code, kept in result.examples.items():
        for finding in kept:
            finding.index = None if finding.index is None else finding.index + offset
        sink.examples.setdefault(code, []).extend(kept)
    for index, bits in zip(result.marked.tolist(), result.marks.tolist()):
        sink.marks[index + offset] = bits
    for index, code in result.crashes.items():
        sink.crashes.setdefault(index + offset, code)
    for index, (key, codes) in result.flagged.items():
        for code in codes:
            sink.flag(index + offset, key, code)


def merge(results: list[ShardResult], settings: ScanSettings) -> ScanTotals:
    """Merge shard results in shard order: offsets turn local indices into global ones
    (counted from the store's first record, also when the scan starts further on)."""
    totals = ScanTotals(FindingSink(settings))
    labels, shape_ids, shape_table = [], [], {}
    for result in sorted(results, key=lambda r: r.number):
        offset = settings.start + totals.records
        totals.shard_offsets.append((result.number, offset))
        _absorb(totals.sink, result, offset)
        labels.append(result.labels)
        remap = np.array([shape_table.setdefault(s, len(shape_table)) for s in result.shapes]
                         + [-1], np.int32)
        shape_ids.append(remap[result.shape_ids])  # -1 (unknown) indexes the trailing -1
        totals.encodings.update(result.encodings)
        totals.pixel_classes.update(result.pixel_classes)
        for group, stats in result.stats.items():
            totals.stats.setdefault(group, ChannelStats(group[1])).merge(stats)
        if result.store_error:
            totals.store_errors.append({**result.store_error,
                                        "index": result.store_error["index"] + offset})
        totals.records += result.records
    totals.shapes = list(shape_table)
    totals.fingerprints = merged_fingerprints(sorted(results, key=lambda r: r.number))
    if labels:
        totals.labels = np.concatenate(labels)
        totals.shape_ids = np.concatenate(shape_ids)
    return totals
