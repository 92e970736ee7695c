"""Pairs of 64-bit hashes within a Hamming distance: all pairs for small sets, multi-index
hashing over bands for large ones (sub-quadratic: any two hashes within distance d agree
within d // m bits on one of m bands, so only hashes that do are compared)."""
from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from .hashing import hamming

BRUTE_FORCE_MAX = 3000  # below this many distinct hashes every pair is compared
_BLOCK = 512
_LOOKUP_BUDGET = 4_000_000  # band lookups in all: beyond, the guaranteed distance narrows


def near_pairs(hashes: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                           int]:
    """Index pairs (i < j) of `hashes` (distinct uint64) within `distance` bits, their
    distances, and the distance up to which no pair can have been missed."""
    if len(hashes) < 2 or distance <= 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, distance
    if len(hashes) <= BRUTE_FORCE_MAX:
        return (*_all_pairs(hashes, distance), distance)
    return _multi_index(hashes, distance)


def _all_pairs(hashes: np.ndarray, distance: int):
    firsts, seconds, dists = [], [], []
    for start in range(0, len(hashes), _BLOCK):
        block = hashes[start:start + _BLOCK]
        d = hamming(block[:, None], hashes[None, :])
        rows, cols = np.nonzero(d <= distance)
        keep = cols > rows + start
        firsts.append(rows[keep] + start)
        seconds.append(cols[keep])
        dists.append(d[rows[keep], cols[keep]])
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(dists)


def plan_bands(count: int, distance: int) -> tuple[int, int, int]:
    """(bands, bits per band, probe radius) for `count` hashes: bands wide enough that a
    band value is shared by few hashes, and the radius that covers `distance` when the
    number of probes allows it."""
    width = min(32, max(16, int(np.ceil(np.log2(max(count, 2)))) + 1))
    bands = 64 // width
    radius = -(-(distance + 1) // bands) - 1
    while radius > 0 and sum(comb(width, r) for r in range(radius + 1)) * bands * count > \
            _LOOKUP_BUDGET:
        radius -= 1
    return bands, width, radius


def _masks(width: int, radius: int) -> np.ndarray:
    masks = [0]
    for r in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(width), r)]
    return np.array(masks, np.uint64)


def _multi_index(hashes: np.ndarray, distance: int):
    bands, width, radius = plan_bands(len(hashes), distance)
    found_i, found_j = [], []
    mask = np.uint64((1 << width) - 1)
    for band in range(bands):
        values = (hashes >> np.uint64(band * width)) & mask
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        for flip in _masks(width, radius):
            if flip == 0:  # equal band values: runs of the sorted values
                _runs(order, ordered, found_i, found_j)
                continue
            lo = np.searchsorted(ordered, values ^ flip, "left")
            hi = np.searchsorted(ordered, values ^ flip, "right")
            counts = hi - lo
            if not counts.any():
                continue
            first = np.repeat(np.arange(len(hashes)), counts)
            starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
            second = order[starts + np.arange(counts.sum())]
            keep = first < second
            found_i.append(first[keep])
            found_j.append(second[keep])
    if not found_i:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, bands * (radius + 1) - 1
    codes = np.unique(np.concatenate(found_i) * len(hashes) + np.concatenate(found_j))
    first, second = codes // len(hashes), codes % len(hashes)
    dists = hamming(hashes[first], hashes[second])
    keep = dists <= distance
    return first[keep], second[keep], dists[keep], min(distance, bands * (radius + 1) - 1)


def _runs(order: np.ndarray, ordered: np.ndarray, found_i: list, found_j: list) -> None:
    """Pairs of positions whose band values are equal (each run of equal sorted values)."""
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    gap = 1
    while len(same):  # pairs (k, k + gap) inside a run, for growing gaps
        a, b = order[same], order[same + gap]
        found_i.append(np.minimum(a, b))
        found_j.append(np.maximum(a, b))
        same = same[same + gap + 1 < len(ordered)]
        same = same[ordered[same + gap + 1] == ordered[same]]
        gap += 1
