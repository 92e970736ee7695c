"""The near-duplicate search: multi-index hashing against every pair, and the distance cap
for many pictures."""
import numpy as np
import pytest

from scanner import kernels
from scanner.duplicates.fingerprints import Fingerprints
from scanner.duplicates.groups import join
from scanner.duplicates.hashing import hamming
from scanner.duplicates.search import _all_pairs, chance_distance, near_pairs


def _hashes_with_near_pairs(count: int, planted: int, most_bits: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 1 << 63, count, dtype=np.uint64) * np.uint64(2)
    flips = np.zeros(planted, np.uint64)
    for i in range(planted):
        for bit in rng.choice(64, int(rng.integers(1, most_bits + 1)), replace=False):
            flips[i] |= np.uint64(1) << np.uint64(int(bit))
    return np.unique(np.concatenate([hashes, hashes[:planted] ^ flips]))


def test_banded_search_misses_no_pair_within_its_guarantee():
    hashes = _hashes_with_near_pairs(6_000, 200, 8)
    first, second, dists, guaranteed = near_pairs(hashes, 8)
    every = set(zip(*[a.tolist() for a in _all_pairs(hashes, 8)[:2]]))
    found = set(zip(first.tolist(), second.tolist()))
    assert found <= every and np.array_equal(dists, hamming(hashes[first], hashes[second]))
    missed = [(a, b) for a, b in every - found
              if hamming(hashes[a:a + 1], hashes[b:b + 1])[0] <= guaranteed]
    assert guaranteed >= 5 and not missed
    assert len(found) >= 0.9 * len(every)


def test_the_distance_shrinks_as_chance_pairs_grow():
    limits = [chance_distance(n, 10) for n in (100, 4_000, 20_000, 200_000, 1_000_000)]
    assert limits[0] == limits[1] == 10 and limits == sorted(limits, reverse=True)
    assert limits[-1] >= 3


def test_groups_are_stars_around_their_first_record():
    base = np.uint64(0)
    chain = np.array([0, 0b1111, 0b1111_1111, 0b1111_1111_1111], np.uint64) | base
    prints = Fingerprints(np.arange(4, dtype=np.uint64), chain, np.full(4, 1, np.uint8))
    groups = join(prints, 4).groups  # 0-1 and 2-3 within 4 bits; 0 and 2 are 8 apart
    assert [g.members.tolist() for g in groups] == [[0, 1], [2, 3]]
    assert [g.distances.tolist() for g in groups] == [[0, 4], [0, 4]]


def test_an_error_needs_surely_the_same_picture_under_two_labels():
    """DS803 rests on exact copies, or near ones within half the near distance; pictures
    that are merely alike (at the edge of the distance) under two labels stay DS802."""
    import numpy as np

    from scanner.duplicates.findings import _within_problem
    from scanner.duplicates.groups import Group

    labels = np.array([3, 4, 3], np.int64)

    def code(members, distances, exact=False):
        group = Group(np.array(members), exact, np.array(distances, np.int64))
        return _within_problem(group, labels, lambda indices: {}, 10).code

    assert code([0, 1], [0, 10]) == "DS802"  # alike, not surely the same
    assert code([0, 1], [0, 4]) == "DS803"
    assert code([0, 1], [0, 0], exact=True) == "DS803"
    assert code([0, 2], [0, 2]) == "DS802"  # the same picture, the same label


def test_hamming_distances_without_numpy_2s_bitwise_count(monkeypatch):
    import numpy as np

    from scanner.duplicates.hashing import hamming

    rng = np.random.default_rng(0)
    a = rng.integers(0, 2 ** 63, (40, 1), dtype=np.uint64)
    b = rng.integers(0, 2 ** 63, (1, 30), dtype=np.uint64)
    expected = np.array([[bin(int(x) ^ int(y)).count("1") for y in b[0]] for x in a[:, 0]])
    assert (hamming(a, b) == expected).all()
    monkeypatch.delattr(np, "bitwise_count", raising=False)  # as numpy 1.x
    assert (hamming(a, b) == expected).all()


def test_sorted_bands_find_every_pair_that_shares_a_band():
    """Many hashes: no probe around band values, the bands are lined up by sorting."""
    from scanner.duplicates.search import _shared_bands

    hashes = _hashes_with_near_pairs(3_000, 300, 6, seed=1)
    first, second, dists, guaranteed = _shared_bands(hashes, 6, 4, 16)
    every = set(zip(*[a.tolist() for a in _all_pairs(hashes, 6)[:2]]))
    found = set(zip(first.tolist(), second.tolist()))
    assert guaranteed == 3 and found <= every
    assert np.array_equal(dists, hamming(hashes[first], hashes[second]))
    bands = [(hashes >> np.uint64(48 - 16 * b)) & np.uint64(0xFFFF) for b in range(4)]
    sharing = {(a, b) for a, b in every if any(band[a] == band[b] for band in bands)}
    assert found == sharing and len(found) > 100


def test_bands_read_on_threads_find_the_pairs_read_in_turn(monkeypatch):
    """The rotated bands of many hashes are sorted and read on threads: the same pairs, and
    a band's PairLimit reaches the caller."""
    from scanner.duplicates import search

    hashes = _hashes_with_near_pairs(20_000, 400, 2, seed=4)
    monkeypatch.setattr(search, "THREADED_BANDS_MIN", 10 ** 9)
    in_turn = search._shared_bands(hashes, 3, 3, 21)
    monkeypatch.setattr(search, "THREADED_BANDS_MIN", 1000)
    threaded = search._shared_bands(hashes, 3, 3, 21)
    assert len(in_turn[0]) >= 400
    for mine, theirs in zip(threaded, in_turn):
        assert np.array_equal(mine, theirs)
    alike = _alike(3000, seed=9)
    with pytest.raises(kernels.PairLimit):
        search._shared_bands(alike, 3, 3, 21, limit=100)


def test_the_sort_path_serves_many_hashes():
    hashes = _hashes_with_near_pairs(40_000, 500, 3, seed=2)
    first, second, dists, guaranteed = near_pairs(hashes, 8)
    assert guaranteed == 3 and (dists <= 8).all() and (first < second).all()
    assert len(set(zip(first.tolist(), second.tolist()))) == len(first) >= 500


def test_copies_far_apart_in_a_large_store_are_grouped():
    """The records holding repeated values are sieved a piece at a time: copies in one
    piece, on both sides of a piece's end, and at the two ends of the store are found."""
    from scanner.duplicates.groups import _MARK_PIECE
    from scanner.duplicates.hashing import KIND_VALUES

    count = 2 * _MARK_PIECE + 1000
    rng = np.random.default_rng(12)
    exact = rng.integers(0, 2**64 - 1, count, dtype=np.uint64)
    pictures = rng.integers(0, 2**64 - 1, count, dtype=np.uint64)
    pairs = [(5, 9), (_MARK_PIECE - 1, _MARK_PIECE), (0, count - 1)]
    for first, second in pairs:
        exact[second], pictures[second] = exact[first], pictures[first]
    prints = Fingerprints(exact, pictures, np.full(count, KIND_VALUES, np.uint8))
    found = {tuple(group.members.tolist()) for group in join(prints, 4).groups}
    assert found == set(pairs)
    assert all(group.exact for group in join(prints, 4).groups)


def test_a_copy_stays_with_its_own_original():
    """Y' is 3 bits from its original Y but also within the distance (10) of an earlier X:
    shortest links first, so Y' joins Y, and X keeps only its own copy."""
    x = np.uint64(0)
    y = np.uint64((1 << 13) - 1)  # 13 bits from x
    y_copy = y ^ np.uint64(0b111)  # 3 from y, 10 from x
    x_copy = x ^ np.uint64(1 << 40)
    hashes = np.array([x, y, x_copy, y_copy], np.uint64)
    prints = Fingerprints(np.arange(4, dtype=np.uint64), hashes, np.full(4, 1, np.uint8))
    groups = join(prints, 10).groups
    assert [g.members.tolist() for g in groups] == [[0, 2], [1, 3]]
    assert [g.distances.tolist() for g in groups] == [[0, 1], [0, 3]]


def test_the_same_bytes_share_a_group_even_if_their_pictures_differ():
    exact = np.array([7, 8, 7, 9], np.uint64)
    hashes = np.array([0, 0xFFFFFFFF, 0xFFFFFFFF << 32, 0xFFFF0000FFFF0000], np.uint64)  # 32 apart
    prints = Fingerprints(exact, hashes, np.array([1, 1, 1, 0x82], np.uint8))
    [group] = join(prints, 10).groups
    assert group.members.tolist() == [0, 2] and group.exact


def test_hashes_do_not_depend_on_the_batches_hashed_before():
    """The temporaries are kept between batches: stale bytes must never reach a hash."""
    from scanner.duplicates.hashing import rows_hash, values_phash

    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (5, 1, 13 * 13), dtype=np.uint8)  # 169 bytes: padded to 176
    first = rows_hash(small, 7), values_phash(small, 13, 13)
    big = np.full((300, 3, 24 * 24), 255, np.uint8)
    rows_hash(big, 7), values_phash(big, 24, 24)
    strided = np.zeros((5, 200), np.uint8)
    strided[:, 3:172] = small[:, 0]  # the same bytes, rows not contiguous
    again = rows_hash(strided[:, 3:172].reshape(5, 1, 169), 7), values_phash(small, 13, 13)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


def _planted_hashes(count: int, near: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**63, count, dtype=np.uint64) * np.uint64(2)
    for _ in range(near):  # copies 1-11 bits from their originals
        bits = rng.choice(64, rng.integers(1, 12), replace=False)
        hashes[rng.integers(0, count)] = hashes[rng.integers(0, count)] ^ \
            np.uint64(sum(1 << int(bit) for bit in bits))
    return np.unique(hashes)


@pytest.mark.skipif(kernels.native is None, reason="the compiled kernels are off or not built")
@pytest.mark.parametrize("count, distance", [(3000, 4), (3000, 10), (20000, 8), (60000, 10)])
def test_compiled_probes_find_numpys_pairs(count, distance, monkeypatch):
    hashes = _planted_hashes(count, count // 40, count + distance)
    compiled = near_pairs(hashes, distance)
    monkeypatch.setattr(kernels, "native", None)
    expected = near_pairs(hashes, distance)
    assert len(compiled[0]) > 10  # planted pairs, found
    assert all(np.array_equal(a, b) for a, b in zip(compiled[:3], expected[:3]))
    assert compiled[3] == expected[3]


@pytest.mark.skipif(kernels.native is None, reason="the compiled kernels are off or not built")
def test_band_pairs_refuses_bands_outside_the_hash():
    hashes = np.arange(10, dtype=np.uint64)
    for shifts, width, flips in (([60], 8, []), ([0], 0, []), ([0], 8, [256]), ([-1], 8, [])):
        with pytest.raises(ValueError):
            kernels.band_pairs(hashes, shifts, width, flips, 3)
    first, second = kernels.band_pairs(hashes, [8], 8, [], 3)  # all share the band: 0..9
    assert len(first) == 45 - sum(bin(a ^ b).count("1") > 3 for a in range(10)
                                  for b in range(a + 1, 10))


@pytest.mark.skipif(kernels.native is None, reason="the compiled kernels are off or not built")
def test_long_runs_of_one_band_value_give_numpys_pairs(monkeypatch):
    """Hashes whose bands repeat in runs of 60 (pictures alike in their coarse frequencies):
    the compiled reading of the runs pairs within each run as numpy's growing gaps do."""
    from scanner.duplicates.search import _shared_bands

    rng = np.random.default_rng(7)
    tops = rng.integers(0, 1 << 21, 500, dtype=np.uint64) << np.uint64(43)
    near = rng.integers(0, 1 << 43, 500, dtype=np.uint64)  # within a run: a few bits apart
    flips = np.bitwise_or.reduce(np.uint64(1) << rng.integers(0, 43, (30_000, 4), dtype=np.uint64),
                                 axis=1)
    hashes = np.unique((np.repeat(tops, 60) | np.repeat(near, 60)) ^ flips)
    compiled = _shared_bands(hashes, 12, 3, 21)
    monkeypatch.setattr(kernels, "native", None)
    expected = _shared_bands(hashes, 12, 3, 21)
    assert len(compiled[0]) > 1000
    assert all(np.array_equal(a, b) for a, b in zip(compiled, expected))


@pytest.mark.skipif(kernels.native is None, reason="the compiled kernels are off or not built")
def test_band_neighbours_refuses_what_no_band_is():
    hashes = np.arange(10, dtype=np.uint64)
    for width, distance, turn in ((0, 3, 0), (64, 3, 0), (8, -1, 0), (8, 65, 0), (8, 3, 64)):
        with pytest.raises(ValueError):
            kernels.band_neighbours(hashes, width, distance, turn)
    low, high = kernels.band_neighbours(hashes, 60, 1, 0)  # one run: the pairs a bit apart
    assert sorted(zip(low.tolist(), high.tolist())) == sorted(
        (a, b) for a in range(10) for b in range(a + 1, 10) if bin(a ^ b).count("1") <= 1)


def test_the_join_in_the_background_gives_the_join_or_raises_its_error():
    from scanner.duplicates.groups import join_in_background

    hashes = _hashes_with_near_pairs(5_000, 200, 4, seed=3)
    prints = Fingerprints(hashes.copy(), hashes, np.full(len(hashes), 2, np.uint8))
    here, there = join(prints, 6), join_in_background(prints, 6)()
    assert len(here.groups) >= 150 and here.distance == there.distance
    assert [g.members.tolist() for g in here.groups] == [g.members.tolist()
                                                         for g in there.groups]
    waiting = join_in_background(None, 6)  # raises on its thread: here, when asked
    with pytest.raises(AttributeError):
        waiting()


def _alike(count: int, seed: int = 0) -> np.ndarray:
    """Distinct hashes all within six bits of one: frames of one still scene."""
    rng = np.random.default_rng(seed)
    flips = np.zeros(count, np.uint64)
    for _ in range(3):
        flips |= np.uint64(1) << rng.integers(0, 64, count, dtype=np.uint64)
    return np.unique(np.uint64(0x123456789ABCDEF0) ^ flips)


@pytest.mark.parametrize("compiled", [True, False])
def test_the_pair_search_stops_at_its_limit(compiled, monkeypatch):
    """Pictures all alike: every path of the search stops once it holds more pairs than
    asked for, and finds them all below that."""
    if compiled and kernels.native is None:
        pytest.skip("the compiled kernels are off or not built")
    if not compiled:
        monkeypatch.setattr(kernels, "native", None)
    # every pair, the probes around four bands, the bands shared (radius 0 at distance 3)
    for count, distance in ((1500, 10), (2500, 5), (3000, 3)):
        hashes = _alike(count, seed=count)
        found = near_pairs(hashes, distance)[0]
        assert len(found) > 20_000
        with pytest.raises(kernels.PairLimit):
            near_pairs(hashes, distance, limit=len(found) // 4)
        # numpy's probes count their candidates, further apart too: room for them all
        enough = 4 * len(hashes) ** 2
        assert np.array_equal(near_pairs(hashes, distance, limit=enough)[0], found)


def test_a_join_of_pictures_all_alike_narrows_its_distance(monkeypatch):
    """Thousands of alike pictures at distance 10 would make pairs by the million: the join
    takes the longest distance that keeps them within its limit, and groups there."""
    from scanner.duplicates import groups

    monkeypatch.setattr(groups, "PAIRS_MAX", 20_000)
    hashes = _alike(6000, seed=2)
    prints = Fingerprints(hashes.copy(), hashes, np.full(len(hashes), 2, np.uint8))
    found = join(prints, 10)
    assert 0 < found.distance < 10 and found.guaranteed_distance <= found.distance
    assert len(near_pairs(hashes, found.distance)[0]) <= 20_000 < \
        len(near_pairs(hashes, found.distance + 1)[0])
    assert found.groups and all((g.distances <= found.distance).all() for g in found.groups)


@pytest.mark.parametrize("count, distance", [(300, 4), (1000, 10), (1600, 12), (1500, 40)])
def test_a_few_hundred_hashes_give_every_pair_within_the_whole_distance(count, distance):
    """From 256 hashes the compiled band search replaces comparing every pair, but only
    where its plan covers the distance (at 40 bits it would not: every pair is compared)."""
    hashes = _hashes_with_near_pairs(count, count // 5, distance)
    first, second, dists, guaranteed = near_pairs(hashes, distance)
    every = _all_pairs(hashes, distance)
    assert guaranteed == distance and len(first) >= count // 10
    found = sorted(zip(first.tolist(), second.tolist(), dists.tolist()))
    assert found == sorted(zip(*[a.tolist() for a in every]))
