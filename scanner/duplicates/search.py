"""Pairs of 64-bit hashes within a Hamming distance: all pairs for small sets, multi-index
hashing over bands for large ones (sub-quadratic: any two hashes within distance d agree
within d // m bits on one of m bands, so only hashes that do are compared). Where the
lookup budget allows no probe around a band value (many hashes), the hashes that share a band
are found by sorting them with that band on top: no table, no argsort. The probes are
compiled where the kernels are built (kernels.band_pairs: a counting sort of each band's
values, then every hash against its value's run and each flip's; 20k hashes at distance 8:
0.03 s against 0.16 s), with the same pairs as numpy's."""
from __future__ import annotations

from itertools import combinations
from math import comb, log2

import numpy as np

from .. import kernels
from .background import on_thread
from .hashing import hamming

BRUTE_FORCE_MAX = 2048  # up to this many distinct hashes every pair is compared ...
# ... or this many, where the band search is compiled and covers the whole distance: 2048
# random hashes at distance 10 take 20 ms compared in pairs, 2 ms compiled (numpy's 24 ms)
BRUTE_FORCE_COMPILED_MAX = 256
_BLOCK = 512
THREADED_BANDS_MIN = 65536  # distinct hashes from which the rotated bands run on threads
_LOOKUP_BUDGET = 2_000_000  # band lookups in all: beyond, the guaranteed distance narrows
_CHANCE = 0.1  # pairs that chance alone may put within the distance, among uniform hashes


def chance_distance(count: int, wanted: int) -> int:
    """The largest distance (at most `wanted`) at which fewer than _CHANCE pairs of `count`
    unrelated uniform 64-bit hashes would fall: beyond it, matches are coincidences."""
    pairs = count * (count - 1) / 2
    if pairs < 1:
        return wanted
    cumulative = 0.0
    for distance in range(wanted + 1):
        cumulative += comb(64, distance) / 2.0 ** 64
        if pairs * cumulative > _CHANCE:
            return max(distance - 1, 0)
    return wanted


def near_pairs(hashes: np.ndarray, distance: int, limit: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Index pairs (i < j) of `hashes` (distinct uint64, ascending) within `distance` bits,
    their distances, and the distance up to which no pair can have been missed.
    kernels.PairLimit when the search meets more than about `limit` pairs (thousands of
    pictures all alike): it stops there, and the caller asks again at a shorter distance."""
    if len(hashes) < 2 or distance <= 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, distance
    if len(hashes) <= _brute_force_max(len(hashes), distance):
        return (*_all_pairs(hashes, distance, limit), distance)
    return _multi_index(hashes, distance, limit)


def _brute_force_max(count: int, distance: int) -> int:
    """Up to how many hashes every pair is compared: fewer where the compiled band search
    runs and its plan misses no pair within the distance."""
    if kernels.native is None:
        return BRUTE_FORCE_MAX
    bands, _, radius = plan_bands(count, distance)
    return BRUTE_FORCE_COMPILED_MAX if _covered(bands, radius) >= distance else \
        BRUTE_FORCE_MAX


def _covered(bands: int, radius: int) -> int:
    """The distance within which bands probed at `radius` miss no pair: two hashes within
    it agree within `radius` bits on one band at least."""
    return bands * (radius + 1) - 1


def _within(found: list, limit: int | None) -> None:
    """PairLimit once the arrays of pairs in `found` hold more than `limit` in all."""
    if limit is not None and sum(len(part) for part in found) > limit:
        raise kernels.PairLimit(limit)


def _all_pairs(hashes: np.ndarray, distance: int, limit: int | None = None):
    firsts, seconds, dists = [], [], []
    for start in range(0, len(hashes), _BLOCK):
        block = hashes[start:start + _BLOCK]
        d = hamming(block[:, None], hashes[None, :])
        rows, cols = np.nonzero(d <= distance)
        keep = cols > rows + start
        firsts.append(rows[keep] + start)
        seconds.append(cols[keep])
        dists.append(d[rows[keep], cols[keep]])
        _within(firsts, limit)
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(dists)


def plan_bands(count: int, distance: int) -> tuple[int, int, int]:
    """(bands, bits per band, probe radius) for `count` hashes: bands wide enough that a
    band value is shared by few hashes, and the radius that covers `distance` when the
    number of lookups allows it."""
    width = min(24, max(16, int(log2(max(count, 2))) + 1))
    bands = 64 // width
    radius = -(-(distance + 1) // bands) - 1
    while radius > 0 and sum(comb(width, r) for r in range(radius + 1)) * bands * count > \
            _LOOKUP_BUDGET:
        radius -= 1
    return bands, width, radius


def _masks(width: int, radius: int) -> list[int]:
    masks = []
    for r in range(1, radius + 1):
        masks += [sum(1 << b for b in bits) for bits in combinations(range(width), r)]
    return masks


def _multi_index(hashes: np.ndarray, distance: int, limit: int | None = None):
    bands, width, radius = plan_bands(len(hashes), distance)
    if radius == 0:  # bands as wide as they go: fewer hashes share one by chance
        return _shared_bands(hashes, distance, bands, 64 // bands, limit)
    compiled = kernels.band_pairs(hashes, [band * width for band in range(bands)], width,
                                  _masks(width, radius), distance, limit)
    found_i, found_j = ([compiled[0]], [compiled[1]]) if compiled is not None else \
        _probed(hashes, bands, width, radius, limit)
    covered = _covered(bands, radius)
    if not found_i:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, min(distance, covered)
    first, second = _once(np.concatenate(found_i), np.concatenate(found_j), len(hashes))
    dists = hamming(hashes[first], hashes[second])
    keep = dists <= distance
    return first[keep], second[keep], dists[keep], min(distance, covered)


def _once(first: np.ndarray, second: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of positions, each once, in order."""
    if not len(first):
        return first.astype(np.int64), second.astype(np.int64)
    codes = np.sort(first.astype(np.int64) * count + second)
    codes = codes[np.r_[True, codes[1:] != codes[:-1]]]
    return codes // count, codes % count


def _probed(hashes: np.ndarray, bands: int, width: int, radius: int,
            limit: int | None = None) -> tuple[list, list]:
    """numpy's way to the candidate pairs of _multi_index: per band, a sort by band value,
    its equal runs, and a dense table looked up at every flip of every hash's value (as
    kernels.band_pairs, but for the distance: every candidate, PairLimit past `limit`)."""
    found_i, found_j = [], []
    for band in range(bands):
        values = ((hashes >> np.uint64(band * width)) & np.uint64((1 << width) - 1)
                  ).astype(np.int32)
        order = np.argsort(values).astype(np.int32)
        _equal_runs(order, values[order], found_i, found_j, limit)
        # a dense table: band value -> where its run starts in `order`
        starts = np.zeros((1 << width) + 1, np.int32)
        np.cumsum(np.bincount(values, minlength=1 << width), out=starts[1:])
        for flip in _masks(width, radius):
            probe = values ^ np.int32(flip)
            lo = starts[probe]
            counts = starts[probe + 1] - lo
            hit = np.flatnonzero(counts)  # the few hashes whose probe finds anything
            if not len(hit):
                continue
            counts, lo = counts[hit], lo[hit]
            total = int(counts.sum())
            first = np.repeat(hit.astype(np.int32), counts)
            second = order[np.repeat(lo - np.cumsum(counts) + counts, counts) +
                           np.arange(total)]
            keep = first < second
            found_i.append(first[keep])
            found_j.append(second[keep])
            _within(found_i, limit)
    return found_i, found_j


def _equal_runs(order: np.ndarray, ordered: np.ndarray, found_i: list, found_j: list,
                limit: int | None = None) -> None:
    """Pairs of positions whose band values are equal (each run of equal sorted values)."""
    same = np.flatnonzero(ordered[1:] == ordered[:-1])
    gap = 1
    while len(same):  # pairs (k, k + gap) inside a run, for growing gaps
        a, b = order[same], order[same + gap]
        found_i.append(np.minimum(a, b))
        found_j.append(np.maximum(a, b))
        _within(found_i, limit)
        same = same[same + gap + 1 < len(ordered)]
        same = same[ordered[same + gap + 1] == ordered[same]]
        gap += 1


def _shared_bands(hashes: np.ndarray, distance: int, bands: int, width: int,
                  limit: int | None = None):
    """Pairs of ascending `hashes` that agree on one of `bands` bands of `width` bits (the
    top one first) and lie within `distance`: each band is brought to the top by a rotation
    and one sort of the values lines up the hashes that share it (no pair can be missed up
    to distance bands - 1). Where the kernels are compiled the sort is a radix sort of the
    top bytes (kernels.sorted_hashes: 1M hashes in 8-10 ms against 55-65 ms) and the runs
    are read in C (kernels.band_neighbours); a counting sort on the band alone was slower,
    as bands this wide (21 bits) make its table miss the cache. Compiled, the rotated bands
    are sorted and read on threads of their own (both release the GIL), the first band
    here meanwhile."""
    covered = bands - 1
    threaded = kernels.native is not None and len(hashes) >= THREADED_BANDS_MIN
    rotated = [on_thread(lambda turn=band * width: _band(hashes, width, distance, turn, limit),
                         "dscan-duplicates-band") if threaded and band else None
               for band in range(bands)]
    found = [_band(hashes, width, distance, band * width, limit) if waiting is None
             else waiting() for band, waiting in enumerate(rotated)]
    lows, highs = [low for low, _ in found], [high for _, high in found]
    _within(lows, limit)
    low, high = np.concatenate(lows), np.concatenate(highs)
    if not len(low):
        empty = np.empty(0, np.int64)
        return empty, empty, empty, min(distance, covered)
    first, second = _once(np.searchsorted(hashes, low), np.searchsorted(hashes, high),
                          len(hashes))
    return first, second, hamming(hashes[first], hashes[second]), min(distance, covered)


def _band(hashes: np.ndarray, width: int, distance: int, turn: int, limit: int | None):
    """(lows, highs): the pairs within `distance` of ascending `hashes` that share the band
    `turn` bits from the top, rotated back (see _shared_bands)."""
    # the hashes in the order of the band brought to the top (the first: as they are)
    rotated = kernels.sorted_hashes(hashes, turn, width) if turn else hashes
    found = kernels.band_neighbours(rotated, width, distance, turn, limit)
    return _neighbours(rotated, width, distance, turn, limit) if found is None else found


def _neighbours(rotated: np.ndarray, width: int, distance: int, turn: int,
                limit: int | None = None):
    """numpy's kernels.band_neighbours: growing gaps within each run of one band value."""
    lows, highs = [rotated[:0]], [rotated[:0]]
    below = np.uint64(1 << (64 - width))  # two values share the top band: their XOR is below
    same = np.flatnonzero((rotated[1:] ^ rotated[:-1]) < below)
    gap = 1
    while len(same):  # pairs (k, k + gap) inside a run of one band value, growing gaps
        a, b = rotated[same], rotated[same + gap]
        close = hamming(a, b) <= distance  # a rotation keeps the distance
        if close.any():
            a, b = a[close], b[close]
            if turn:  # back to the hashes themselves
                a, b = kernels.rotated(a, 64 - turn), kernels.rotated(b, 64 - turn)
            lows.append(np.minimum(a, b))
            highs.append(np.maximum(a, b))
            _within(lows, limit)
        same = same[same + gap + 1 < len(rotated)]
        same = same[(rotated[same + gap + 1] ^ rotated[same]) < below]
        gap += 1
    return np.concatenate(lows), np.concatenate(highs)
