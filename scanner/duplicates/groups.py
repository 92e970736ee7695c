"""Join the fingerprints of one or more stores into groups of the same content: records with
equal exact hashes, and records whose perceptual hashes lie within the near distance."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fingerprints import Fingerprints
from .hashing import KIND_NONE, hamming
from .search import chance_distance, near_pairs

_NO_PICTURE = 0x80


@dataclass
class Group:
    """Records (global positions over the joined sides) holding the same content."""

    members: np.ndarray  # positions, sorted
    exact: bool  # every member has the same payload bytes
    distances: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # to members[0]


@dataclass
class Join:
    groups: list[Group]
    distance: int  # the near distance applied (the asked one, or less among many pictures)
    guaranteed_distance: int  # no pair within this distance can have been missed


def join(prints: Fingerprints, distance: int) -> Join:
    """Groups of two or more records: connected by equal exact hashes or by perceptual hashes
    within `distance` bits (of the same kind)."""
    known = np.flatnonzero(prints.kind != KIND_NONE).astype(np.int32)
    exact_roots = np.arange(len(prints), dtype=np.int32)  # 4 bytes a record
    exact_roots[known] = _run_heads(known, prints.exact[known])[0]
    parent = exact_roots.copy()  # equal bytes give equal pictures: their runs come first
    with_picture = known[(prints.kind[known] & _NO_PICTURE) == 0]
    kinds = [int(k) for k in np.flatnonzero(np.bincount(prints.kind[with_picture],
                                                         minlength=256))]
    runs = {}
    for kind in kinds:
        members = with_picture[prints.kind[with_picture] == kind]
        runs[kind] = (members, *_run_heads(members, prints.perceptual[members]))
    distance = min([distance] + [chance_distance(len(run[2]), distance)
                                 for run in runs.values()])
    guaranteed = distance
    for members, heads, unique, unique_heads in runs.values():
        parent[members] = heads
        i, j, _, covered = near_pairs(unique, distance)
        guaranteed = min(guaranteed, covered)
        for a, b in zip(unique_heads[i].tolist(), unique_heads[j].tolist()):
            _union(parent, a, b)
    roots = _roots(parent)
    return Join(_groups(roots, exact_roots, prints, distance), distance, guaranteed)


def _run_heads(positions: np.ndarray, values: np.ndarray):
    """For each position, the smallest position holding the same value; and the distinct
    values (sorted) with the smallest position of each."""
    if not len(values):
        return positions.copy(), values[:0], positions[:0]
    order = np.argsort(values)
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    run_heads = np.minimum.reduceat(positions[order], starts)
    heads = np.empty_like(positions)
    heads[order] = np.repeat(run_heads, np.diff(np.r_[starts, len(values)]))
    return heads, ordered[starts], run_heads


def _find(parent: np.ndarray, a: int) -> int:
    root = a
    while parent[root] != root:
        root = parent[root]
    while parent[a] != root:
        parent[a], a = root, parent[a]
    return root


def _union(parent: np.ndarray, a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def _roots(parent: np.ndarray) -> np.ndarray:
    roots = parent.copy()
    while True:
        nxt = roots[roots]
        if np.array_equal(nxt, roots):
            return roots
        roots = nxt


def _groups(roots: np.ndarray, exact_roots: np.ndarray, prints: Fingerprints,
            distance: int) -> list[Group]:
    positions = np.flatnonzero(roots != np.arange(len(roots)))
    if not len(positions):
        return []
    heads = np.unique(roots[positions])
    grouped = np.flatnonzero(np.isin(roots, heads))
    order = grouped[np.argsort(roots[grouped])]
    bounds = np.flatnonzero(np.diff(roots[order])) + 1
    groups = []
    for component in np.split(order, bounds):
        groups.extend(_stars(np.sort(component), exact_roots, prints, distance))
    return groups


def _stars(members: np.ndarray, exact_roots: np.ndarray, prints: Fingerprints,
           distance: int) -> list[Group]:
    """Split a connected component so that every member lies within `distance` of its
    group's first record (chains of near pairs do not join unlike pictures)."""
    groups = []
    while len(members) > 1:
        head = members[0]
        same_bytes = exact_roots[members] == exact_roots[head]
        gaps = hamming(prints.perceptual[members], prints.perceptual[head])
        comparable = (prints.kind[members] == prints.kind[head]) & \
            ((prints.kind[head] & _NO_PICTURE) == 0)
        close = same_bytes | (comparable & (gaps <= distance))
        if close.sum() > 1:
            exact = bool(same_bytes[close].all())
            groups.append(Group(members[close], exact, np.where(same_bytes, 0, gaps)[close]))
        members = members[~close]
    return groups
