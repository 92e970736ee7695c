"""Run a real scan in-process and return the JSON report dict."""
from __future__ import annotations

from scanner.checks import CATALOGUE
from scanner.report import json_report
from scanner.scan import scan
from scanner.settings import ScanSettings


# The duplicate checks (DS8xx) are asked for by the tests about them: the small stores of the
# other tests repeat records on purpose (seeded builders), which is not what those test.
WITHOUT_DUPLICATES = frozenset(code for code in CATALOGUE if not code.startswith("DS8"))


def scan_report(path: str, jobs: int = 1, backend: str = "lmdb", **settings) -> dict:
    settings.setdefault("enabled", WITHOUT_DUPLICATES)
    outcome = scan(backend, str(path), ScanSettings(**settings), jobs)
    return json_report.build(outcome, 0)


def codes_at(report: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in report["findings"]:
        found.setdefault(finding["key"], set()).add(finding["code"])
    return found


def net_report(path: str, jobs: int = 1, phases=("TRAIN", "TEST"), **settings) -> dict:
    """`dscan net` in-process: the net report dict."""
    from scanner.net_scan import NetRequest, scan_net
    from scanner.report import config_report

    settings.setdefault("enabled", WITHOUT_DUPLICATES)
    # Nets name the checkout's fixtures, scanned in place: lock-free, so not even a reader
    # slot is written into their lock.mdb.
    settings.setdefault("lmdb_lock", "never")
    outcome = scan_net(NetRequest(str(path), tuple(phases), settings=ScanSettings(**settings),
                                  jobs=jobs))
    return config_report.net_report(outcome, "error")


def solver_report(path: str, horizon: int | None = None) -> dict:
    from scanner.report import config_report
    from scanner.solver_scan import check_solver

    return config_report.solver_report(check_solver(str(path), frozenset(CATALOGUE), horizon),
                                       "error")


def mean_report(path: str) -> dict:
    from scanner.config.mean import read_mean
    from scanner.report import config_report

    return config_report.mean_report(str(path), read_mean(str(path)), "error")


def any_report(path: str, command: str | None = None, **settings) -> dict:
    """The report of whichever command a check case names (default: a store scan)."""
    if command == "net":
        return net_report(path, **settings)
    if command == "solver":
        return solver_report(path, **settings)
    if command == "mean":
        return mean_report(path)
    return scan_report(path, **settings)
