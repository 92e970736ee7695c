"""The catalogue of checks: a stable code, a severity, a title and a doc for each."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from ..types import SEVERITY_RANK


@dataclass(frozen=True)
class Check:
    code: str
    severity: str  # default severity; a finding may raise it (see DS205)
    title: str
    doc: str
    scope: str  # "store", "record", "values" or "dataset": what the check looks at
    effect: str | None  # what Caffe does with such a record: crash, garbage, or nothing visible
    fix: str | None = None  # one line: what to do about it (shown once per code)


CATALOGUE: dict[str, Check] = {}


def register(code: str, severity: str, title: str, scope: str, effect: str | None = None,
             fix: str | None = None):
    """Decorator: record a check function (or a doc-only stub) under a permanent code;
    `fix` is the one-line hint telling a person what to do about a finding."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity!r} for {code}")

    def decorate(fn: Callable) -> Callable:
        if code in CATALOGUE:
            raise ValueError(f"check code {code} registered twice")
        CATALOGUE[code] = Check(code, severity, title, inspect.cleandoc(fn.__doc__ or ""),
                                scope, effect, fix)
        return fn

    return decorate


def get(code: str) -> Check:
    return CATALOGUE[code]


def matching(prefixes: list[str]) -> set[str]:
    """Codes that start with any of the prefixes (case-insensitive)."""
    wanted = [p.upper() for p in prefixes]
    return {code for code in CATALOGUE if any(code.startswith(p) for p in wanted)}


def selected(select: list[str] | None, ignore: list[str]) -> set[str]:
    """The codes --select (all when not given) and --ignore leave on."""
    return (set(CATALOGUE) if select is None else matching(select)) - matching(ignore)


@dataclass
class Problem:
    """What a check function returns when it fires; severity/effect default to the check's."""

    code: str
    message: str
    detail: dict | None = None
    severity: str | None = None
    effect: str | None = None
