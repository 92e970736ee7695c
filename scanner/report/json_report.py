"""Build the JSON report (schema `dscan-report/1`) from a scan outcome."""
from __future__ import annotations

import json
import math
from collections import Counter
from importlib import resources

import numpy as np

from .. import __version__
from ..arrays import value_counts
from ..checks import CATALOGUE
from ..types import MISSING_LABEL
from ..output import write_text
from ..scan import ScanOutcome
from ..types import SEVERITY_RANK, Finding
from .keys import is_utf8, key_text

SCHEMA_ID = "dscan-report/1"


def load_schema() -> dict:
    return json.loads(resources.files("scanner.report").joinpath("schema.json").read_text())


def build(outcome: ScanOutcome, exit_status: int) -> dict:
    totals = outcome.totals
    by_code = Counter()
    by_severity = {severity: 0 for severity in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get,
                                                      reverse=True)}
    for (code, severity), count in totals.sink.counts.items():
        by_code[code] += count
        by_severity[severity] += count
    crash = outcome.verdict.get("first_crash")
    exact = outcome.coverage.get("exact_records", totals.records)
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "dscan", "version": __version__},
        "source": outcome.source,
        "settings": outcome.settings.as_report(),
        "executor": outcome.executor,
        "started_at": outcome.started_at,
        "duration_s": outcome.duration_s,
        "partial": outcome.partial,
        "interrupted": outcome.interrupted,
        "coverage": outcome.coverage,
        "summary": {"records": totals.records,
                    "records_with_findings": len(totals.sink.marks),
                    "by_severity": by_severity, "by_code": dict(sorted(by_code.items()))},
        "verdict": {**outcome.verdict,
                    "first_crash": crash and {**crash, "key": key_text(crash["key"])},
                    "garbage_examples": [{**g, "key": key_text(g["key"])} for g in
                                         outcome.verdict.get("garbage_examples", [])]},
        "findings": [_finding(f, exact) for f in totals.findings()],
        "checks": {code: {"title": CATALOGUE[code].title, "severity": CATALOGUE[code].severity,
                          "effect": CATALOGUE[code].effect, "fix": CATALOGUE[code].fix}
                   for code in sorted(by_code)},
        "stats": _stats(outcome),
        "batches": _batches(outcome),
        "exit_status": exit_status,
    }


def _batches(outcome: ScanOutcome) -> dict:
    """Caffe's batches need every record in read order: a partial scan says so instead of
    computing them from the part it read."""
    settings, totals = outcome.settings, outcome.totals
    if totals.batches:
        return {**totals.batches.summary, "complete": True}
    if outcome.partial:
        return {"batch_size": settings.batch_size, "solvers": settings.solvers, "count": None,
                "complete": False}
    return {"batch_size": settings.batch_size, "solvers": settings.solvers,
            "count": -(-totals.records // (settings.batch_size * settings.solvers)),
            "complete": True}


def _finding(finding: Finding, exact: int) -> dict:
    # Past a range a partial scan did not read, a record's index in read order is unknown.
    index = finding.index if finding.index is None or finding.index < exact else None
    entry = {"code": finding.code, "severity": finding.severity, "key": key_text(finding.key),
             "index": index, "message": finding.message,
             "detail": plain(finding.detail)}
    if finding.key is not None and not is_utf8(finding.key):
        entry["key_hex"] = finding.key.hex()
    return entry


def plain(value):
    """Detail values as strict JSON types: keys (bytes) as text, numpy scalars as numbers,
    NaN and Inf (a constant sample of Inf, say) as null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return key_text(bytes(value))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _stats(outcome: ScanOutcome) -> dict:
    totals = outcome.totals
    shapes = Counter()
    ids, counts = value_counts(totals.shape_ids[totals.shape_ids >= 0])
    for shape_id, count in zip(ids.tolist(), counts.tolist()):
        shapes["x".join(map(str, totals.shapes[shape_id]))] += count
    labels = totals.labels[totals.labels != MISSING_LABEL]
    values, label_counts = value_counts(labels)
    given = outcome.settings.num_classes
    inferred = None if given else totals.label_range
    return {
        "shapes": dict(shapes.most_common()),
        "encodings": dict(totals.encodings.most_common()),
        "labels": {"histogram": {str(v): c for v, c in zip(values.tolist(), label_counts.tolist())},
                   "min": int(labels.min()) if len(labels) else None,
                   "max": int(labels.max()) if len(labels) else None,
                   "num_classes": given or (inferred.num_classes if inferred else None),
                   "num_classes_inferred": not given and inferred is not None,
                   "out_of_range": _out_of_range(values, label_counts, outcome.settings),
                   "pixel_histogram": {str(k): v for k, v in
                                       sorted(totals.pixel_classes.items())} or None},
        "values": _values(totals.stats),
        "detection": None if totals.detection is None else totals.detection.as_report(
            totals.records, outcome.settings.batch_size, outcome.settings.solvers),
    }


def _out_of_range(values: np.ndarray, counts: np.ndarray, settings) -> dict | None:
    """Records per label value outside [0, --num-classes), other than the ignore label."""
    if settings.num_classes is None:
        return None
    bad = (values < 0) | (values >= settings.num_classes)
    if settings.ignore_label is not None:
        bad &= values != settings.ignore_label
    return {str(v): int(c) for v, c in zip(values[bad].tolist(), counts[bad].tolist())}


def main_stats(stats: dict):
    """The statistics group the report shows: most samples, ties broken by the group key
    ((dtype, channels)) so that every run picks the same."""
    filled = [(group, value) for group, value in stats.items() if value.samples]
    return max(filled, key=lambda item: (item[1].samples, item[0])) if filled else None


def _values(stats: dict) -> dict | None:
    found = main_stats(stats)
    if found is None:
        return None
    (dtype, _), group = found
    return {"dtype": dtype, "samples": group.samples, "channels": group.as_report()}


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False)


def write(target: str, report: dict) -> None:
    """Write a report to a file, or to stdout for '-'."""
    write_text(target, (dumps(report), "\n"), "the JSON report")
