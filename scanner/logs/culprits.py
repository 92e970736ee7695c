"""--scan: run the normal checks on exactly the records a batch read, range by range, and
name the ones that fire (the culprits)."""
from __future__ import annotations

import dataclasses

from ..checks import CATALOGUE
from ..report.keys import key_text
from ..scan import ScanOutcome, scan
from ..types import SEVERITY_RANK
from .batch import Batch, reader_settings
from .context import TrainData

# Checks that judge one record: the others (class balance, order) mean nothing on a batch.
RECORD_SCOPES = ("record", "values")
ALSO = ("DS001", "DS005", "DS205", "DS301")


def record_checks() -> frozenset[str]:
    return frozenset(code for code, check in CATALOGUE.items()
                     if check.scope in RECORD_SCOPES or code in ALSO)


def scan_batch(data: TrainData, batch: Batch, jobs: int = 1) -> tuple[list[dict], list]:
    """(culprits, scan outcomes): findings of warning or error severity at records of the
    batch, in read order of the batch."""
    settings = reader_settings(data, record_checks())
    culprits, outcomes = [], []
    for first, last in batch.ranges:
        ranged = dataclasses.replace(settings, start=first, limit=last - first + 1)
        outcome = scan(data.backend, data.path, ranged, jobs)
        outcomes.append(outcome)
        culprits.extend(_named(outcome, data.source))
    return culprits, outcomes


def _named(outcome: ScanOutcome, source: str) -> list[dict]:
    found = []
    for finding in outcome.totals.findings():
        if finding.index is None or SEVERITY_RANK[finding.severity] < SEVERITY_RANK["warning"]:
            continue
        found.append({"source": source, "index": finding.index, "key": key_text(finding.key),
                      "code": finding.code, "severity": finding.severity,
                      "message": finding.message})
    return found
