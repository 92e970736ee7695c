"""Leakage between stores: fingerprint each reference (training) store with a scan of its
own, then join it with the scanned (test) store in the parent."""
from __future__ import annotations

import dataclasses
import os

from .findings import Side, report_leakage, report_same_store
from .keys import reopened_keys, sniff_kind


def side_of(outcome, backend_name: str) -> Side:
    """A finished scan as one side of a join (keys are looked up by opening it again)."""
    path = outcome.source["path"]
    return Side(os.fspath(path), outcome.totals.fingerprints, outcome.totals.labels,
                reopened_keys(backend_name, path, outcome.settings))


def against(outcome, backend_name: str, paths: list[str], run_scan) -> None:
    """DS804 for the scanned store against each store in `paths` (any backend kind);
    `run_scan(kind, path, settings)` scans a reference store and returns its outcome."""
    if not paths or outcome.partial or not outcome.settings.duplicates or \
            outcome.totals.fingerprints is None:
        return
    quiet = dataclasses.replace(outcome.settings, enabled=frozenset(), limit=None)
    references = []
    for path in paths:
        kind = sniff_kind(path)
        references.append(side_of(run_scan(kind, path, quiet), kind))
    report_leakage(outcome.totals, side_of(outcome, backend_name), references)


def net_leakage(sections) -> None:
    """`dscan net`: every TEST source against every TRAIN source of the same net."""
    scanned = [s for s in sections if s.outcome is not None and not s.outcome.partial]
    for test in [s for s in scanned if "TEST" in s.phases and "TRAIN" not in s.phases]:
        trains = [s for s in scanned if "TRAIN" in s.phases and s is not test]
        same = [s for s in trains if _same_path(s.outcome, test.outcome)]
        for train in same:  # every record leaks: one finding says so
            report_same_store(test.outcome.totals, test.outcome.source["path"])
        references = [side_of(s.outcome, s.backend) for s in trains if s not in same]
        if references:
            report_leakage(test.outcome.totals, side_of(test.outcome, test.backend),
                           references)


def _same_path(one, other) -> bool:
    return os.path.realpath(one.source["path"]) == os.path.realpath(other.source["path"])
