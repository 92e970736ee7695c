"""The catalogue of checks as `dscan checks` and `dscan explain` show it: a listing, the
README's Markdown table, JSON, and one check's explanation with its fix."""
from __future__ import annotations

from ..checks import CATALOGUE, Check

_EFFECTS = {"crash": "crashes", "garbage": "trains on garbage"}


def _checks(codes=None) -> list[Check]:
    """Every check, or those whose codes are given, by code."""
    return sorted((check for check in CATALOGUE.values() if codes is None or check.code in codes),
                  key=lambda check: check.code)


def listing(codes=None) -> str:
    return "\n".join(f"{c.code}  {c.severity:<7}  {c.title}" for c in _checks(codes))


def markdown_table(codes=None) -> str:
    """The README's table of checks, generated from the registry so the two cannot drift."""
    rows = ["| code | severity | Caffe | finds |", "|---|---|---|---|"]
    for check in _checks(codes):
        rows.append(f"| {check.code} | {check.severity} | {_EFFECTS.get(check.effect, '-')} | "
                    f"{check.title} |")
    return "\n".join(rows)


def as_json(check: Check) -> dict:
    return {"code": check.code, "severity": check.severity, "effect": check.effect,
            "scope": check.scope, "title": check.title, "fix": check.fix, "doc": check.doc}


def catalogue_json(codes=None) -> dict:
    return {"schema": "dscan-checks/1", "checks": [as_json(check) for check in _checks(codes)]}


def explanation(check: Check) -> str:
    """What `dscan explain CODE` prints: title, doc, what Caffe does, and the fix."""
    effect = _EFFECTS.get(check.effect)
    lines = [f"{check.code} ({check.severity}): {check.title}", "", check.doc]
    if effect:
        lines += ["", f"Caffe: {effect}."]
    if check.fix:
        lines += ["", f"Fix: {check.fix}"]
    return "\n".join(lines)
