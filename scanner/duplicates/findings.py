"""Turn duplicate groups into findings: one per group, with its members (capped) and exact
counts, keys looked up only for the members shown."""
from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np

from ..checks.registry import Problem
from ..report.keys import key_text
from ..types import MISSING_LABEL
from .fingerprints import Fingerprints
from .groups import Group, Join, join, join_in_background

MEMBERS_SHOWN = 12  # members listed per group; the counts stay exact
KeysOf = Callable[[list[int]], dict[int, bytes]]  # record indices -> their keys


class Side:
    """One store's records in a join: its fingerprints, labels, and how to name them."""

    def __init__(self, name: str, prints: Fingerprints, labels: np.ndarray, keys_of: KeysOf):
        self.name, self.prints, self.labels, self.keys_of = name, prints, labels, keys_of


def begin_within(totals) -> Callable[[], Join] | None:
    """The join of one scanned store's records, started in the background (see
    groups.join_in_background) for report_within; None when it has nothing to do."""
    settings = totals.sink.settings
    if totals.fingerprints is None or not _wanted(settings, "DS801", "DS802", "DS803"):
        return None
    return join_in_background(totals.fingerprints, settings.near_distance)


def report_within(totals, keys_of: KeysOf, joined: Callable[[], Join] | None = None) -> None:
    """DS801/DS802/DS803 for the groups inside one scanned store; `joined`: what
    begin_within started (None: the join runs here)."""
    settings = totals.sink.settings
    if totals.fingerprints is None or not _wanted(settings, "DS801", "DS802", "DS803"):
        return
    found = joined() if joined is not None else join(totals.fingerprints,
                                                    settings.near_distance)
    keys_of = _prefetched(keys_of, [g.members[:MEMBERS_SHOWN] for g in found.groups])
    for group in found.groups:
        problem = _within_problem(group, totals.labels, keys_of, found.distance)
        totals.sink.add(int(group.members[0]), None, problem)


def report_leakage(totals, test: Side, references: list[Side]) -> None:
    """DS804: records of `test` that duplicate records of the reference (training) stores;
    findings are added to `totals` (the test store's scan)."""
    settings = totals.sink.settings
    if test.prints is None or not _wanted(settings, "DS804"):
        return
    for reference in references:
        if reference.prints is None:
            continue
        both = Fingerprints.concatenate([test.prints, reference.prints])
        split = len(test.prints)
        found = join(both, settings.near_distance)
        leaks = [g for g in found.groups if (g.members < split).any() and
                 (g.members >= split).any()]
        ours = Side(test.name, test.prints, test.labels, _prefetched(
            test.keys_of, [g.members[g.members < split][:MEMBERS_SHOWN] for g in leaks]))
        theirs = Side(reference.name, reference.prints, reference.labels, _prefetched(
            reference.keys_of,
            [g.members[g.members >= split][:MEMBERS_SHOWN] - split for g in leaks]))
        for group in leaks:
            mine = group.members < split
            problem = _leak_problem(group, mine, split, ours, theirs, found.distance)
            first = int(group.members[mine][0])
            totals.sink.add(first, ours.keys_of([first]).get(first), problem)
    _ordered(totals)


def report_same_store(totals, path: str) -> None:
    """DS804 when the test source is the training source itself: every record leaks."""
    if not _wanted(totals.sink.settings, "DS804") or not totals.records:
        return
    totals.sink.add(0, None, Problem(
        "DS804", f"the test source is the training source ({path}): all {totals.records} "
        "test records are training records", {"group": {
            "kind": "same_store", "size": 2 * totals.records, "test_records": totals.records,
            "train_records": totals.records, "train_store": path, "max_distance": 0,
            "distance_limit": 0,
            "labels": {}, "members": [], "train_members": []}}))
    _ordered(totals)


def _prefetched(keys_of: KeysOf, parts: list[np.ndarray]) -> KeysOf:
    """One lookup for every index in `parts`; later calls answer from it."""
    wanted = sorted({int(i) for part in parts for i in part.tolist()})
    known = keys_of(wanted) if wanted else {}
    return lambda indices: {i: known[i] for i in indices if i in known}


def _wanted(settings, *codes: str) -> bool:
    return settings.duplicates and any(settings.reports(code) for code in codes)


def _members(positions: np.ndarray, distances: np.ndarray, labels: np.ndarray,
             keys_of: KeysOf, store: str | None = None) -> list[dict]:
    shown = positions[:MEMBERS_SHOWN].tolist()
    keys = keys_of(shown)
    members = []
    for index, distance in zip(shown, distances[:MEMBERS_SHOWN].tolist()):
        label = int(labels[index]) if index < len(labels) else MISSING_LABEL
        member = {"index": index, "key": key_text(keys.get(index)),
                  "label": None if label == MISSING_LABEL else label, "distance": distance}
        if store is not None:
            member["store"] = store
        members.append(member)
    return members


def _label_counts(labels: np.ndarray, positions: np.ndarray) -> dict[str, int]:
    counts = Counter(int(v) for v in labels[positions].tolist() if v != MISSING_LABEL)
    return {str(label): n for label, n in sorted(counts.items())}


def _within_problem(group: Group, labels: np.ndarray, keys_of: KeysOf,
                    limit: int) -> Problem:
    distances = np.zeros(len(group.members), np.int64) if group.exact else group.distances
    label_counts = _label_counts(labels, group.members)
    how = "the same bytes" if group.exact else \
        f"the same picture (within {int(distances.max())} bits)"
    detail = {"group": {
        "kind": "exact" if group.exact else "near", "size": len(group.members),
        "max_distance": int(distances.max()), "distance_limit": limit, "labels": label_counts,
        "members": _members(group.members, distances, labels, keys_of)}}
    shown = ", ".join(m["key"] or f"#{m['index']}" for m in detail["group"]["members"][:3])
    more = f" and {len(group.members) - 3} more" if len(group.members) > 3 else ""
    if len(label_counts) > 1 and _labels_conflict(group, distances, labels, limit):
        spread = ", ".join(f"{n} x label {label}" for label, n in label_counts.items())
        return Problem("DS803", f"{len(group.members)} records hold {how} under different "
                       f"labels ({spread}): {shown}{more}", detail)
    code = "DS801" if group.exact else "DS802"
    return Problem(code, f"{len(group.members)} records hold {how}: {shown}{more}", detail)


def _labels_conflict(group: Group, distances: np.ndarray, labels: np.ndarray,
                     limit: int) -> bool:
    """Do members that surely hold the same picture carry different labels? Exact copies
    do; near ones count only within half the near distance of the group's first record, so
    an error never rests on pictures that are merely alike (crops of one photo under two
    classes, small raw samples whose coarse hashes meet by chance): those stay DS802."""
    close = group.members if group.exact else group.members[distances <= max(1, limit // 2)]
    found = {int(v) for v in labels[close].tolist() if v != MISSING_LABEL}
    return len(found) > 1


def _leak_problem(group: Group, ours: np.ndarray, split: int, test: Side,
                  reference: Side, limit: int) -> Problem:
    exact = group.exact
    distances = np.zeros(len(group.members), np.int64) if exact else group.distances
    mine, theirs = group.members[ours], group.members[~ours] - split
    test_members = _members(mine, distances[ours], test.labels, test.keys_of, test.name)
    train_members = _members(theirs, distances[~ours], reference.labels, reference.keys_of,
                             reference.name)
    detail = {"group": {
        "kind": "exact" if exact else "near", "size": len(group.members),
        "max_distance": int(distances.max()), "distance_limit": limit,
        "labels": _label_counts(test.labels, mine), "members": test_members,
        "test_records": len(mine), "train_records": len(theirs),
        "train_store": reference.name, "train_members": train_members}}
    how = "the same bytes as" if exact else "the same picture as"
    first = test_members[0]["key"] or f"#{test_members[0]['index']}"
    other = train_members[0]["key"] or f"#{train_members[0]['index']}"
    records = "1 test record holds" if len(mine) == 1 else f"{len(mine)} test records hold"
    return Problem("DS804", f"{records} ({first}) {how} {len(theirs)} "
                   f"record{'s' if len(theirs) != 1 else ''} of {reference.name} ({other})",
                   detail)


def _ordered(totals) -> None:
    kept = totals.sink.examples.get("DS804")
    if kept:
        kept.sort(key=lambda f: f.index)
