"""Run a real scan in-process and return the JSON report dict."""
from __future__ import annotations

from scanner.checks import CATALOGUE
from scanner.report import json_report
from scanner.scan import scan
from scanner.settings import ScanSettings


def scan_report(path: str, jobs: int = 1, backend: str = "lmdb", **settings) -> dict:
    settings.setdefault("enabled", frozenset(CATALOGUE))
    outcome = scan(backend, str(path), ScanSettings(**settings), jobs)
    return json_report.build(outcome, 0)


def codes_at(report: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["key"], set()).add(finding["code"])
    return found
