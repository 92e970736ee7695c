"""Exit codes, and the one rule that turns finding counts into an exit code."""
from __future__ import annotations

from .types import SEVERITY_RANK

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_status(by_severity: dict, fail_on: str, partial: bool = False) -> int:
    """0 clean, 1 a finding at or above `fail_on`, 130 interrupted (the report is partial)."""
    if partial:
        return EXIT_INTERRUPTED
    if fail_on == "never":
        return EXIT_CLEAN
    floor = SEVERITY_RANK[fail_on]
    hit = any(n and SEVERITY_RANK[s] >= floor for s, n in by_severity.items())
    return EXIT_FINDINGS if hit else EXIT_CLEAN
