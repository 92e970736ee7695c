"""Join the fingerprints of one or more stores into groups of the same content: records with
equal exact hashes, and records whose perceptual hashes lie within the near distance.

Two steps. Over every record, a few sorts of the 64-bit hashes (radix sorts where the kernels
are compiled) find the values that repeat and the pairs of distinct values within the
distance (search.near_pairs); those name the few records that can be in a group at all.
Only those are then grouped (clusters.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import kernels
from .background import on_thread
from .clusters import clusters
from .fingerprints import Fingerprints
from .hashing import KIND_NONE, NO_PICTURE
from .search import chance_distance, near_pairs

_TABLE = 1 << 20  # entries of the sieve that finds the records holding a few named values
_MARK_PIECE = 1 << 16  # records sieved at a time
PAIRS_MAX = 1_000_000  # near pairs a join takes at most (the grouping spends about 2 us each)


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
    within `distance` bits (of the same kind), each a star around its first record."""
    counts = np.bincount(prints.kind, minlength=256)
    present = [int(k) for k in np.flatnonzero(counts) if k != KIND_NONE]
    known = len(prints) - counts[KIND_NONE]
    # the bytes that repeat (also where their pictures came out unequal), found on a thread
    # of their own while the pictures are searched: both release the GIL
    repeated_bytes = on_thread(lambda: _repeated_values(
        prints.exact if known == len(prints) else prints.exact[prints.kind != KIND_NONE]),
        "dscan-duplicates-bytes")
    pictures = {}  # kind -> its distinct perceptual hashes (ascending), those that repeat
    for kind in [k for k in present if not k & NO_PICTURE]:
        values = prints.perceptual if counts[kind] == len(prints) else \
            prints.perceptual[prints.kind == kind]
        pictures[kind] = _distinct(kernels.sorted_hashes(values))
    distance = min([distance] + [chance_distance(len(distinct), distance)
                                 for distinct, _ in pictures.values()])
    guaranteed = distance
    links = []  # (kind, hashes, hashes, distances) of the pairs found
    wanted = np.zeros(len(prints), bool)  # the records that can be in a group
    for kind, (distinct, repeated) in pictures.items():
        i, j, dists, covered, distance = _near(distinct, distance)
        guaranteed = min(guaranteed, covered)
        links.append((kind, distinct[i], distinct[j], dists))
        named = np.sort(np.concatenate([repeated, distinct[i], distinct[j]]))
        _mark(wanted, prints.perceptual, named, prints.kind, kind, counts[kind])
    links = [(kind, a[d <= distance], b[d <= distance], d[d <= distance])  # one distance
             for kind, a, b, d in links]
    _mark(wanted, prints.exact, repeated_bytes(), prints.kind, None, known)
    positions = np.flatnonzero(wanted)
    groups = [Group(members, same, dists)
              for members, same, dists in clusters(prints, positions, links, distance)]
    return Join(groups, distance, guaranteed)


def _near(distinct: np.ndarray, distance: int):
    """near_pairs within the distance, or within the longest shorter one that gives at most
    PAIRS_MAX pairs: thousands of pictures all alike (frames of one still scene) make pairs
    by the million, which neither memory nor the grouping could hold. (i, j, distances,
    guaranteed distance, the distance applied)."""
    while True:
        try:
            return (*near_pairs(distinct, distance, PAIRS_MAX), distance)
        except kernels.PairLimit:
            distance -= 1  # at 0 near_pairs looks for nothing


def join_in_background(prints: Fingerprints, distance: int) -> Callable[[], Join]:
    """join() started on a thread of its own; the function returned waits for its result
    (or raises what it raised). After a scan both cores are free, and the join's sorts
    release the GIL: the dataset checks run meanwhile."""
    return on_thread(lambda: join(prints, distance))


def _distinct(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array, and (once each) those that occur twice or more."""
    repeats = np.flatnonzero(ordered[1:] == ordered[:-1])
    if not len(repeats):
        return ordered, ordered[:0]
    new = np.ones(len(ordered), bool)
    new[repeats + 1] = False
    return ordered[new], _once_each(ordered[repeats])


def _repeated_values(values: np.ndarray) -> np.ndarray:
    """The values that occur twice or more, once each, ascending: the compiled sieve's (1M
    exact hashes: 9.5 ms against 27 for the sort), or those of a sort of them all."""
    found = kernels.repeated_values(values)
    return _repeated(kernels.sorted_hashes(values)) if found is None else found


def _repeated(ordered: np.ndarray) -> np.ndarray:
    """_distinct's second part alone: no copy of the distinct values."""
    return _once_each(ordered[np.flatnonzero(ordered[1:] == ordered[:-1])])


def _once_each(again: np.ndarray) -> np.ndarray:
    return again[np.r_[True, again[1:] != again[:-1]]] if len(again) else again


def _mark(wanted: np.ndarray, values: np.ndarray, named: np.ndarray, kinds: np.ndarray,
          kind: int | None, count: int) -> None:
    """Set `wanted` where a record's value is one of `named` (sorted) and its kind is `kind`
    (None: any kind but KIND_NONE); `count` records have that kind. The values go a piece
    at a time: the temporaries stay small (on the machine measured, fresh pages cost more
    than the work: 1M values at once 29 ms, a piece at a time 1.7 ms)."""
    if not len(named) or not count:
        return
    table = np.zeros(_TABLE, bool)  # a first sieve on the low bits: one gather a record
    low = np.uint64(_TABLE - 1)
    table[(named & low).astype(np.intp)] = True
    slots = np.empty(min(_MARK_PIECE, len(values)), np.uint64)
    for start in range(0, len(values), _MARK_PIECE):
        piece = values[start:start + _MARK_PIECE]
        np.bitwise_and(piece, low, out=slots[:len(piece)])
        maybe = np.flatnonzero(table[slots[:len(piece)].view(np.int64)]) + start
        if not len(maybe):
            continue
        at = np.searchsorted(named, values[maybe])
        at[at == len(named)] = 0
        hit = named[at] == values[maybe]
        if kind is None:
            hit &= kinds[maybe] != KIND_NONE
        elif count != len(values):
            hit &= kinds[maybe] == kind
        wanted[maybe[hit]] = True
