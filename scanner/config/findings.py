"""Findings about configuration files (nets, solvers, mean files): a check's problem plus
the place in the file it concerns."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..checks.registry import Problem
from ..checks.registry import get as get_check
from ..types import SEVERITY_RANK


@dataclass
class ConfigFinding:
    code: str
    severity: str
    message: str
    where: str  # "file:line" (or just the file)
    layer: str | None = None  # the layer's name (names need not be unique)
    layer_index: int | None = None  # its position in the net
    effect: str | None = None
    detail: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "where": self.where,
                "layer": self.layer, "layer_index": self.layer_index, "effect": self.effect,
                "message": self.message, "detail": self.detail}


def place(problem: Problem, where: str, layer=None) -> ConfigFinding:
    """A finding from a check's problem, at a place in a file and optionally a layer
    (anything with `name` and `index`); severity and effect default to the check's."""
    check = get_check(problem.code)
    return ConfigFinding(problem.code, problem.severity or check.severity, problem.message,
                         where, layer.name if layer else None, layer.index if layer else None,
                         problem.effect or check.effect, dict(problem.detail or {}))


def tally(findings: list[ConfigFinding]) -> dict:
    """The report's `summary` for a list of findings."""
    by_severity = {severity: 0 for severity in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get,
                                                      reverse=True)}
    by_code: dict[str, int] = {}
    for finding in findings:
        by_severity[finding.severity] += 1
        by_code[finding.code] = by_code.get(finding.code, 0) + 1
    return {"by_severity": by_severity, "by_code": dict(sorted(by_code.items()))}
