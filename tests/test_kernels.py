"""The compiled value passes against numpy's, on the shapes, strides and values stores give."""
import os

import numpy as np
import pytest

from scanner import kernels
from scanner.kernels import numpy_rows

# set by .ci/run, which runs the suite once with the compiled kernels and once without
REQUIRE_NATIVE = os.environ.get("DSCAN_REQUIRE_NATIVE") == "1" and \
    not os.environ.get("DSCAN_NO_NATIVE")
native = pytest.mark.skipif(kernels.native is None and not REQUIRE_NATIVE,
                            reason="the compiled kernels are off (DSCAN_NO_NATIVE) or not built here")
# lengths about the kernels' 16- and 32-byte steps and their widening blocks of squares
LENGTHS = [1, 7, 15, 16, 17, 31, 33, 784, 65536, 8192 * 32 - 1, 8192 * 32 + 5, 3 * 8192 * 32]


@native
@pytest.mark.parametrize("length", LENGTHS)
def test_byte_figures_equal_numpy_exactly(length):
    rng = np.random.default_rng(length)
    values = rng.integers(0, 256, (3, 2, length), np.uint8)
    values[1] = 255  # the largest squares in every lane
    values[2, 1, -1] = 0
    got, expected = kernels.byte_rows(values), numpy_rows.byte_rows(values)
    for name, a, b in zip(("sums", "squares", "mins", "maxs"), got, expected):
        assert a.dtype == b.dtype and np.array_equal(a, b), name


@native
def test_byte_rows_are_read_in_place_from_strided_views():
    """As record_batches hands them over: rows at equal distances in a larger buffer, at
    odd addresses, and a view whose last axis is not contiguous (copied first)."""
    pages = np.random.default_rng(1).integers(0, 256, 9 * 5003, np.uint8)
    view = np.lib.stride_tricks.as_strided(pages[3:], (9, 3, 1500), (5003, 1500, 1),
                                           writeable=False)
    for values in (view, pages[:9 * 3 * 100 * 2].reshape(9, 3, 200)[:, :, ::2]):
        for a, b in zip(kernels.byte_rows(values), numpy_rows.byte_rows(values)):
            assert np.array_equal(a, b)


@native
@pytest.mark.parametrize("length", LENGTHS[:10])
def test_float_figures_equal_numpy(length):
    rng = np.random.default_rng(length)
    values = rng.normal(0, 1e3, (6, 2, length)).astype(np.float32)
    values[1, 0, length // 2] = np.nan
    values[2, 1, 0] = np.inf
    values[3, 0, -1] = -np.inf
    values[4] = np.float32(3e38)  # overflows float32 sums: numpy redoes them in float64
    sums, squares, mins, maxs = kernels.float_rows(values)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = numpy_rows.float_rows(values)
    assert np.array_equal(mins, expected[2], equal_nan=True)
    assert np.array_equal(maxs, expected[3], equal_nan=True)
    assert np.isnan(mins[1, 0]) and np.isnan(maxs[1, 0]) and not np.isnan(mins[1, 1])
    assert maxs[2, 1] == np.inf and mins[3, 0] == -np.inf
    wide = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        assert np.allclose(sums, wide.sum(axis=2), rtol=1e-12, atol=1e-6, equal_nan=True)
        assert np.allclose(squares, (wide * wide).sum(axis=2), rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("implementation", ["native", "numpy"])
def test_zeros_of_both_signs_give_an_unsigned_zero(implementation, monkeypatch):
    """Which zero a min or max of 0.0 and -0.0 gives depends on the order of comparisons;
    both passes report 0 (DS103 says 'every value equals 0' either way)."""
    if implementation == "numpy":
        monkeypatch.setattr(kernels, "native", None)
    elif kernels.native is None and not REQUIRE_NATIVE:
        pytest.skip("the compiled kernels are off (DSCAN_NO_NATIVE) or not built here")
    values = np.tile(np.array([0.0, -0.0], np.float32), 10).reshape(1, 1, 20)
    for figures in (kernels.float_rows(values), kernels.float_rows(-values),
                    kernels.gather_tagged([_tagged(values.ravel())], 2, 1, 20)[1]):
        assert all(np.signbit(extreme).sum() == 0 and (extreme == 0).all()
                   for extreme in figures[2:])


@native
def test_floats_at_odd_addresses_are_read_in_place():
    raw = np.random.default_rng(2).normal(size=4 * 3 * 101).astype(np.float32)
    values = np.ndarray((4, 3, 101), "<f4", b"\0" + raw.tobytes(), offset=1)
    assert not values.flags.aligned
    for a, b in zip(kernels.float_rows(values)[2:], numpy_rows.float_rows(values)[2:]):
        assert np.array_equal(a, b)


def _tagged(values: np.ndarray, head: bytes = b"\x08\x03") -> bytes:
    elements = np.empty((len(values), 5), np.uint8)
    elements[:, 0] = 0x35
    elements[:, 1:] = values.astype("<f4").view(np.uint8).reshape(-1, 4)
    return head + elements.tobytes()


@native
@pytest.mark.parametrize("channels, length", [(1, 1), (1, 2), (1, 3), (2, 2), (1, 5), (1, 7),
                                              (3, 4097), (3, 224 * 224)])
def test_unpacked_floats_are_gathered_with_their_tags_checked(channels, length):
    count = channels * length
    rows = np.random.default_rng(count).normal(size=(3, count)).astype(np.float32)
    rows[1, -1] = np.nan
    rows[2, 0] = -np.inf
    records = [_tagged(row) for row in rows]
    got, figures = kernels.gather_tagged(records, 2, channels, length)
    assert got.shape == (3, channels, length)
    assert np.array_equal(got.reshape(3, count).view(np.uint32), rows.view(np.uint32))
    values = rows.reshape(3, channels, length)
    expected = kernels.float_rows(values)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(figures[2:], expected[2:]))
    assert all(np.allclose(a, b, rtol=1e-12, equal_nan=True)  # the same sums, added in pieces
               for a, b in zip(figures[:2], expected[:2]))
    for at in (0, count - 1, count // 2):  # one wrong tag anywhere, or a record cut short
        bad = bytearray(records[2])
        bad[2 + 5 * at] = 0x3D
        assert kernels.gather_tagged([records[0], bytes(bad)], 2, channels, length) is None
        assert numpy_rows.gather_tagged([records[0], bytes(bad)], 2, count) is None
    assert kernels.gather_tagged([records[0][:-1]], 2, channels, length) is None
    assert numpy_rows.gather_tagged([records[0][:-1]], 2, count) is None


@native
def test_gathered_figures_equal_numpy():
    values = np.random.default_rng(5).normal(0, 50, (4, 3, 5000)).astype(np.float32)
    values[0, 2, 4999] = np.nan
    records = [_tagged(row.ravel()) for row in values]
    _, figures = kernels.gather_tagged(records, 2, 3, 5000)
    expected = numpy_rows.float_rows(values)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(figures[2:], expected[2:]))
    assert np.allclose(figures[0], values.astype(np.float64).sum(axis=2), rtol=1e-12,
                       equal_nan=True)


@native
@pytest.mark.parametrize("length", [1, 3, 4, 5, 1000, 65536])
def test_byte_counts_equal_numpy(length):
    values = np.random.default_rng(length).integers(0, 256, (3, 2, length), np.uint8)
    values[0, 1] = 7  # one value in every table
    counts, expected = np.ones((2, 256), np.int64), np.ones((2, 256), np.int64)
    padded = np.zeros((3, 2, length + 5), np.uint8)  # rows apart in memory, as views are
    padded[:, :, :length] = values
    kernels.byte_counts(padded[:, :, :length], counts)
    numpy_rows.byte_counts(values, expected)
    assert np.array_equal(counts, expected) and counts.sum() == 2 * 256 + values.size


def _heads_case():
    """Three records of one layout: fixed bytes at 0, 1 and 9, a 2-byte label at 2."""
    records = [bytearray(b"\x0a\x02\x80\x01" + bytes(5) + b"\x33") for _ in range(3)]
    records[1][2:4] = b"\xff\x7f"  # label 16383
    return records, np.array([0, 1, 9]), np.array([0x0A, 0x02, 0x33], np.uint8)


@native
@pytest.mark.parametrize("implementation", ["native", "numpy"])
def test_record_heads_check_fixed_bytes_and_labels(implementation, monkeypatch):
    if implementation == "numpy":
        monkeypatch.setattr(kernels, "native", None)
    records, fixed, expected = _heads_case()
    labels, addresses = kernels.record_heads([bytes(r) for r in records], fixed, expected, 2, 2)
    assert labels.tolist() == [128, 16383, 128] and len(set(addresses.tolist())) == 3
    for change in ((9, 0x34), (3, 0x81), (2, 0x00)):  # a fixed byte, the label's ends
        bad = [bytearray(r) for r in records]
        bad[2][change[0]] = change[1]
        assert kernels.record_heads([bytes(r) for r in bad], fixed, expected, 2, 2) is None
    assert kernels.record_heads([bytes(records[0][:9])], fixed, expected, 2, 2) is None
    negative = bytearray(b"\x0a\x02" + b"\xff" * 9 + b"\x01\x33")  # label -1, 10 bytes
    assert kernels.record_heads([bytes(negative)], np.array([0, 1, 12]),
                                np.array([0x0A, 0x02, 0x33], np.uint8), 2, 10)[0].tolist() == [-1]
    assert kernels.record_heads([bytes(records[0])], fixed, expected, None, 0)[0].tolist() == [0]


@native
@pytest.mark.parametrize("width", [0, 1, 7, 8, 9, 31, 32, 33, 784, 8191, 8192, 8193, 16389,
                                   196608])
def test_row_hashes_equal_numpy_bit_for_bit(width):
    rows = np.random.default_rng(width).integers(0, 256, (5, width + 3), np.uint8)[:, 3:]
    rows[4] = rows[3]
    got = kernels.row_hashes(rows, 12345)
    assert np.array_equal(got, numpy_rows.row_hashes(rows, 12345, kernels._HASH_KEYS,
                                                     kernels.HASH_PAIRS))
    assert got[3] == got[4] and (width == 0 or len(set(got[:4].tolist())) == 4)
    assert width == 0 or not np.array_equal(got, kernels.row_hashes(rows, 12346))


@pytest.mark.parametrize("implementation", ["native", "numpy"])
def test_row_hashes_tell_apart_rows_a_sum_of_words_would_not(implementation, monkeypatch):
    """Rows that differ by 128 in the top byte of two 64-bit words: a multilinear hash of
    64-bit words modulo 2**64 gives both the same value, whatever its odd keys."""
    if implementation == "numpy":
        monkeypatch.setattr(kernels, "native", None)
    elif kernels.native is None and not REQUIRE_NATIVE:
        pytest.skip("the compiled kernels are not built on this machine")
    rows = np.random.default_rng(0).integers(0, 128, (1, 784), np.uint8).repeat(4, axis=0)
    rows[1, [7, 15]] += 128
    rows[2, [7, 15, 23, 31]] += 128
    rows[3, 0] ^= 1
    assert len(set(kernels.row_hashes(rows, 5).tolist())) == 4
    assert len(set(kernels.row_hashes(rows[:, :8 * 97 + 3], 5).tolist())) == 4


def test_numpy_alone_gives_what_the_checks_need(monkeypatch):
    """With the compiled passes switched off (DSCAN_NO_NATIVE=1, or never built), the same
    entry points answer from numpy."""
    monkeypatch.setattr(kernels, "native", None)
    values = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    sums, squares, mins, maxs = kernels.byte_rows(values)
    assert sums.tolist()[0] == [6, 22, 38] and mins.tolist()[1] == [12, 16, 20]
    floats = values.astype(np.float32)
    assert kernels.float_rows(floats)[3].tolist()[1] == [15, 19, 23]
    gathered, figures = kernels.gather_tagged([_tagged(floats.ravel())], 2, 6, 4)
    assert gathered.ravel().tolist() == floats.ravel().tolist()
    assert figures[2].tolist() == [[0, 4, 8, 12, 16, 20]]


def test_dscan_no_native_switches_the_compiled_passes_off():
    import subprocess
    import sys
    code = "import scanner.kernels as k; print(k.native is None)"
    env = {**os.environ, "DSCAN_NO_NATIVE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


def _phash_cases():
    rng = np.random.default_rng(8)
    strided = rng.integers(0, 256, (12, 3 * 28 * 28 + 5), np.uint8)[:, 5:].reshape(12, 3, 784)
    floats = rng.normal(0, 50, (40, 1, 24 * 24)).astype(np.float32)
    floats[1, 0, ::7] = np.nan
    floats[2, 0, 3] = np.inf
    floats[3, 0] = np.float32(3e38) * np.where(np.arange(576) % 2, 1, -1)  # inf - inf: NaN
    floats[4, 0, ::2] = np.float32(3e38)
    return [(rng.integers(0, 256, (60, 1, 784), np.uint8), 28, 28),
            (rng.integers(0, 256, (30, 3, 32 * 32), np.uint8), 32, 32),
            (rng.integers(0, 256, (4, 3, 256 * 256), np.uint8), 256, 256),
            (rng.integers(0, 256, (30, 1, 13 * 17), np.uint8), 13, 17),
            (rng.integers(0, 256, (30, 1, 64), np.uint8), 8, 8),
            (rng.integers(0, 256, (30, 1, 100), np.uint8), 10, 10), (strided, 28, 28),
            (floats, 24, 24)]
# No flat picture among them: all its frequencies but the first are rounding noise, so its
# bits are the noise of each path's order of sums (the scan keeps only the bytes of such a
# sample: fingerprints.FingerprintSink.keep).


@native
@pytest.mark.parametrize("case", range(8))
def test_phash_equals_numpy_but_for_float_rounding(case, monkeypatch):
    """The compiled pHash (strided grey picture, two products, a sorting network for the
    median) against numpy's (BLAS products, a sort): both add in float32, in other orders."""
    from scanner.duplicates.hashing import hamming, image_phash, values_phash

    values, height, width = _phash_cases()[case]
    compiled = values_phash(values, height, width)
    pictures = values[:, 0].reshape(len(values), height, width)
    if values.dtype == np.uint8:
        compiled_images = image_phash(pictures), image_phash(np.stack([pictures] * 3, -1))
    monkeypatch.setattr(kernels, "native", None)
    differ = hamming(compiled, values_phash(values, height, width))
    assert differ.max() <= 1 and (differ == 0).mean() >= 0.95
    if values.dtype == np.uint8:
        for got, expected in zip(compiled_images, (image_phash(pictures),
                                                   image_phash(np.stack([pictures] * 3, -1)))):
            assert hamming(got, expected).max() <= 1


@native
@pytest.mark.parametrize("height, width", [(32, 32), (47, 63), (40, 9), (16, 10), (9, 17)])
def test_phash_of_colour_pictures_weighs_each_channel_as_numpy(height, width, monkeypatch):
    """The compiled RGB -> luma (eight pixels at a time where the row allows, the rest one
    by one) against numpy's product with the weights, on channels unlike each other."""
    from scanner.duplicates.hashing import hamming, image_phash

    rng = np.random.default_rng(height * width)
    pictures = np.zeros((40, height, width, 3), np.uint8)
    for channel in range(3):  # each channel a picture of its own
        pictures[..., channel] = rng.integers(0, 256, (40, height, width), np.uint8)
    compiled = image_phash(pictures)
    monkeypatch.setattr(kernels, "native", None)
    differ = hamming(compiled, image_phash(pictures))
    assert differ.max() <= 1 and (differ == 0).mean() >= 0.9


@native
@pytest.mark.parametrize("colour", [False, True])
def test_pictures_hashed_where_they_lie_are_hashed_as_stacked(colour):
    from scanner.duplicates.hashing import image_phash, pictures_phash

    rng = np.random.default_rng(3)
    for height, width in [(8, 8), (33, 47), (64, 9), (21, 100)]:
        shape = (height, width, 3) if colour else (height, width)
        pictures = [rng.integers(0, 256, shape, np.uint8) for _ in range(7)]
        hashes, flat = pictures_phash(pictures)
        assert np.array_equal(hashes, image_phash(np.stack(pictures))) and not flat.any()
    with pytest.raises(ValueError):  # the kernel checks each buffer's size
        kernels.phash_pictures([pictures[0], pictures[1][:-1].copy()], height, width,
                               3 if colour else 1, *_hash_matrices(height, width))


@native
@pytest.mark.parametrize("shape, payload_at, length", [
    ((1, 28, 28), 12, 800), ((3, 32, 32), 9, 3090), ((1, 8, 9), 0, 72), ((2, 5, 7), 3, 80),
    ((3, 20, 13), 5, 790), ((1, 300, 200), 17, 60020)])
def test_records_joined_and_hashed_as_they_are_copied_equal_join_then_hash(shape, payload_at,
                                                                            length):
    """joined_values: the records' bytes as b"".join lays them out, and the hashes of their
    payloads bit for bit as exact_values and values_phash give them of the joined payloads
    (small samples: no perceptual hash); a record of another length is an error."""
    from scanner.duplicates.hashing import (KIND_VALUES, joined_values, rows_hash, shape_tag,
                                            values_phash)

    channels, height, width = shape
    rng = np.random.default_rng(length)
    records = [memoryview(rng.integers(0, 256, length, np.uint8).tobytes()) for _ in range(9)]
    rows, (exact, perceptual) = joined_values(records, length, payload_at, shape)
    expected = np.frombuffer(b"".join(records), np.uint8).reshape(9, length)
    payloads = expected[:, payload_at:payload_at + channels * height * width].reshape(
        9, channels, height * width)
    assert np.array_equal(rows, expected)
    assert np.array_equal(exact, rows_hash(payloads, shape_tag(KIND_VALUES, payloads.dtype,
                                                                shape)))
    wanted = values_phash(payloads, height, width)
    assert (perceptual is None) == (wanted is None) == (min(height, width) < 8)
    assert wanted is None or np.array_equal(perceptual, wanted)
    with pytest.raises(ValueError):
        joined_values(records[:3] + [records[3][:-1]], length, payload_at, shape)
    with pytest.raises(ValueError):  # a payload beyond its record
        joined_values(records, length, length - channels * height * width + 1, shape)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("colour", [False, True])
def test_blank_pictures_are_flat_and_get_no_hash(compiled, colour, monkeypatch):
    """A picture of one grey value has no detail: its frequencies are rounding noise (the
    same for blanks a power of two apart). Both paths say so, and leave its hash 0."""
    from scanner.duplicates.hashing import pictures_phash

    if compiled and kernels.native is None:
        pytest.skip("the compiled kernels are off or not built")
    if not compiled:
        monkeypatch.setattr(kernels, "native", None)
    shape = (32, 40, 3) if colour else (32, 40)
    detailed = np.random.default_rng(5).integers(0, 256, shape, np.uint8)
    pictures = [np.full(shape, value, np.uint8) for value in (1, 2, 4, 64, 128)] + [detailed]
    hashes, flat = pictures_phash(pictures)
    assert flat.tolist() == [True] * 5 + [False]
    assert (hashes[:5] == 0).all() and hashes[5] != 0


@native
def test_the_phash_entry_points_refuse_misaligned_matrices_weights_and_outputs():
    """Found by a UBSan fuzz of the bare module: floats and hashes read and written at odd
    addresses (the wrappers always pass aligned arrays)."""
    bare = kernels.native
    across, down = _hash_matrices(8, 8)

    def shifted(array: np.ndarray) -> np.ndarray:  # the same values one byte on
        room = np.zeros(array.nbytes + 1, np.uint8)
        room[1:] = array.view(np.uint8).reshape(-1)
        return room[1:].view(array.dtype).reshape(array.shape)

    values, weights = np.zeros((2, 3, 64), np.uint8), np.ones(3, np.float32)
    out, flat = np.empty(2, np.uint64), np.empty(2, np.uint8)
    pictures = [np.zeros((8, 8, 3), np.uint8)] * 2
    for wrong in range(4):
        a, d, w, o = [shifted(x) if wrong == i else x
                      for i, x in enumerate((across, down, weights, out))]
        with pytest.raises(ValueError):
            bare.phash(values, 8, 8, 1, 1, a, d, o, w)
        with pytest.raises(ValueError):
            bare.phash_pictures(pictures, 8, 8, 3, a, d, o, flat, w)
        if wrong != 2:
            with pytest.raises(ValueError):
                bare.phash_tagged([bytes(5 * 64)] * 2, 0, 1, 8, 8, 1, 1, a, d, o)


def _hash_matrices(height: int, width: int) -> tuple:
    from scanner.duplicates.hashing import _matrices
    return _matrices(height, width, 1, 1)


@native
def test_phash_median_among_nan_frequencies_is_numpys():
    """Frequencies made NaN where the sums overflow: numpy sorts NaN last, so the median is a
    number while 33 or more frequencies are numbers, and NaN (no bit set) beyond; the
    compiled hash takes its median apart then, and must agree. Which frequencies overflow
    in a DCT depends on the order of its sums (each path's, and each BLAS kernel's), so the
    frequencies here come from matrices of 0 and 1 that make them in any order: grey row 0
    all 3e38, the lanes of `flooded` taking two of its points (inf, exactly), the down
    matrix taking none of row 0 (0 x inf: NaN down those lanes), every other frequency one
    grey point (small integers: exact)."""
    rng = np.random.default_rng(0)
    grey = rng.integers(-1000, 1000, (300, 8, 8)).astype(np.float32)
    grey[:, 0] = np.float32(3e38)
    down = np.eye(8, dtype=np.float32)  # down[v, y]: grey row y into frequency row v
    down[0, 0] = 0
    compiled, expected, nan_lanes = [], [], []
    for number, picture in enumerate(grey):
        flooded = rng.random(8) < (number % 9) / 8  # 0 to 8 lanes of NaN
        across = np.eye(8, dtype=np.float32)  # across[x, k]: grey column x into lane k
        across[(np.flatnonzero(flooded) + 1) % 8, np.flatnonzero(flooded)] = 1
        compiled.append(kernels.phash(picture.reshape(1, 1, 64), 8, 8, 1, 1, across, down)[0])
        with np.errstate(over="ignore"):  # row 0's, set below
            frequencies = picture @ across  # [v, k]
        frequencies[0] = 0
        frequencies[:, flooded] = np.nan
        expected.append(_bits_by_numpys_median(frequencies))
        nan_lanes.append(int(flooded.sum()))
    assert {1, 2, 3} <= set(nan_lanes) and {4, 5} <= set(nan_lanes)  # a median, and none
    assert np.array_equal(np.array(compiled, np.uint64), np.array(expected, np.uint64))


def _bits_by_numpys_median(frequencies: np.ndarray) -> int:
    """The hash phash_bits documents of 8 x 8 frequencies [v, k]: bit 56 - 8v + k set where
    the frequency is above the median of numpy's sort (NaN last)."""
    ordered = np.sort(frequencies.ravel())
    middle = (ordered[31] + ordered[32]) / np.float32(2)
    above = frequencies > middle
    return sum(1 << (56 - 8 * v + k) for v, k in zip(*np.nonzero(above)))


@native
@pytest.mark.parametrize("channels, length", [(1, 1), (1, 7), (2, 2049), (3, 1024),
                                              (5, 333), (3, 224 * 224)])
def test_floats_left_in_their_records_give_the_figures_and_hashes_of_their_copies(channels,
                                                                                   length):
    """tagged_prints reads each record once, a hash block at a time, keeping no values: its
    figures are gather_tagged's and its hashes row_hashes' of the copied values, across
    blocks that end inside a channel and channels that end inside a block."""
    count = channels * length
    rows = np.random.default_rng(count).normal(size=(4, count)).astype(np.float32)
    rows[1, -1], rows[2, 0], rows[3] = np.nan, -np.inf, rows[0]
    records = [_tagged(row) for row in rows]
    copied, copied_figures = kernels.gather_tagged(records, 2, channels, length)
    figures, hashes = kernels.tagged_prints(records, 2, channels, length, 99)
    assert np.array_equal(hashes, kernels.row_hashes(copied.reshape(4, -1).view(np.uint8), 99))
    assert hashes[0] == hashes[3] and len(set(hashes.tolist())) == 3
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(figures[2:],
                                                                     copied_figures[2:]))
    assert all(np.allclose(a, b, rtol=1e-12, equal_nan=True)  # the same sums, other pieces
               for a, b in zip(figures[:2], copied_figures[:2]))
    unhashed, none = kernels.tagged_prints(records, 2, channels, length, None)
    assert none is None and np.array_equal(unhashed[2], figures[2], equal_nan=True)
    bad = bytearray(records[2])
    bad[2 + 5 * (count - 1)] = 0x3D  # the last tag
    assert kernels.tagged_prints([records[0], bytes(bad)], 2, channels, length, 99) is None
    assert kernels.tagged_prints([records[0][:-1]], 2, channels, length, None) is None


@native
def test_phash_of_floats_left_in_their_records_is_that_of_their_copies():
    from scanner.duplicates.hashing import tagged_phash, values_phash

    rows = np.random.default_rng(4).normal(size=(6, 3 * 40 * 30)).astype(np.float32)
    rows[1, 5] = np.nan
    records = [_tagged(row, b"\x08\x03\x10\x28") for row in rows]
    copied, _ = kernels.gather_tagged(records, 4, 3, 1200)
    assert np.array_equal(tagged_phash(records, 4, 3, 40, 30), values_phash(copied, 40, 30))
    assert tagged_phash(records, 4, 3, 6, 200) is None  # no picture
    with pytest.raises(ValueError):
        tagged_phash([records[0][:-5]], 4, 3, 40, 30)


@native
def test_hostile_sizes_are_refused_not_overflowed():
    """Sizes whose products wrap around 2**64 once passed the length checks and wrote or read
    far outside the buffers (found by an ASan fuzz of the module)."""
    from scanner.duplicates.hashing import _matrices, _phash_matrix

    bare = kernels.native
    e8, e4, out = np.empty(0), np.empty(0, np.float32), np.empty(1, np.uint64)
    with pytest.raises(ValueError):  # 2**62 channels of no elements: figures of 0 bytes
        bare.unpack_tagged([b""], 0, 2**62, 0, None, None, 0, e8, e8, e4, e4, None)
    with pytest.raises(ValueError):  # the same, copied out
        bare.unpack_tagged([b""], 0, 2**62, 0, e4, None, 0, e8, e8, e4, e4, None)
    with pytest.raises(ValueError):  # values kept are not hashed here
        bare.unpack_tagged([b""], 0, 1, 1, np.empty(1, np.float32), kernels._HASH_KEYS, 0,
                           *kernels._outputs((1, 1), np.float32), out)
    across, down = _matrices(8, 8, 1, 1)
    assert bare.phash_tagged([b"\x35" * 400], 2**63 - 1, 1, 8, 8, 1, 1, across, down,
                             out) == 0  # the offset past any record: too short, not wrapped
    height = 81  # 81 * width = 64 modulo 2**64
    width = 64 * pow(height, -1, 1 << 64) % (1 << 64)
    with pytest.raises(ValueError):
        bare.phash(np.zeros((1, 1, 64), np.uint8), height, width, 1, -(-width // 2),
                   across, down, out)
    wide = np.broadcast_to(np.zeros(1, np.uint8), (1, 1, 2**62))  # no memory behind it
    with pytest.raises(ValueError):
        bare.phash(wide, 1, 2**62, 1, 1, np.empty((0, 8), np.float32), _phash_matrix(1), out)
    record = b"\x35" * (5 * 4097 * 64 + 8)  # beyond the compiled bounds: numpy's path
    assert kernels.phash_tagged([record], 0, 4097, 8, 8, 1, 1, across, down) is None


def _turned(values: np.ndarray, bits: int) -> np.ndarray:
    return values if not bits else (values << np.uint64(bits)) | (values >> np.uint64(64 - bits))


@native
@pytest.mark.parametrize("count", [0, 1, 2, 255, 257, 100_003])
@pytest.mark.parametrize("rotate", [0, 1, 21, 63])
def test_sorted_hashes_order_the_rotated_values_as_numpy_does(count, rotate):
    """The radix sort of the duplicate join: wholly sorted, the same values as numpy's sort
    of the rotated hashes; repeats, zeros and the largest values kept."""
    rng = np.random.default_rng(count + rotate)
    values = rng.integers(0, 2**64 - 1, count, dtype=np.uint64, endpoint=True)
    if count > 10:
        values[:5] = [0, 2**64 - 1, 2**63, 1, 0]
        values[-(count // 3):] = values[:count // 3]  # a third repeated
    assert np.array_equal(kernels.sorted_hashes(values, rotate), np.sort(_turned(values, rotate)))


@native
@pytest.mark.parametrize("top_bits", [1, 8, 16, 20, 24, 63])
def test_sorted_hashes_by_their_top_bits_group_each_band_value(top_bits):
    """Ordered on the top bytes only (the bands of the near search): the same values, and
    in order of their top bits rounded up to bytes, so each band value's hashes adjoin."""
    values = np.random.default_rng(top_bits).integers(0, 2**64 - 1, 50_000, dtype=np.uint64)
    values[::7] &= np.uint64(0xFFFFFF0000000000)  # many share their top bytes
    ordered = kernels.sorted_hashes(values, 13, top_bits)
    turned = _turned(values, 13)
    assert np.array_equal(np.sort(ordered), np.sort(turned))
    top = ordered >> np.uint64(64 - 8 * -(-top_bits // 8))
    assert (top[1:] >= top[:-1]).all()
    if -(-top_bits // 8) < 8:  # not wholly sorted: the lower bits keep the input's order
        assert not np.array_equal(ordered, np.sort(turned))


@native
@pytest.mark.parametrize("top_bits", [16, 24, 64])
def test_sorted_hashes_of_one_top_digit_sort_one_run_as_long_as_them_all(top_bits):
    """Every value with the same top byte: the lower digits' room is as long as the values
    (an odd number of lower passes ends there and is copied back, an even one does not)."""
    values = np.random.default_rng(top_bits).integers(0, 2**56, 30_000, dtype=np.uint64)
    values |= np.uint64(0xAB) << np.uint64(56)
    ordered = kernels.sorted_hashes(values, 0, top_bits)
    assert np.array_equal(np.sort(ordered), np.sort(values))
    top = ordered >> np.uint64(64 - top_bits)
    assert (top[1:] >= top[:-1]).all()


def _repeats_by_sort(values: np.ndarray) -> np.ndarray:
    ordered = np.sort(values)
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


@native
@pytest.mark.parametrize("count, repeats", [(0, 0), (1, 0), (2, 1), (1000, 0), (1000, 30),
                                            (300_000, 0), (300_000, 5000), (300_000, 25_000)])
def test_repeated_values_are_those_a_sort_finds(count, repeats):
    """The sieve of the exact join: the values that occur twice or more (a third of them
    three times), once each, ascending, as a sort finds them; zero and the largest value
    among them, and values alike in all their low bits (one slot of the sieve) but not
    equal."""
    rng = np.random.default_rng(count + repeats)
    distinct = np.unique(rng.integers(0, 2**64 - 1, count, dtype=np.uint64, endpoint=True))
    if len(distinct) >= 2:
        distinct[[0, -1]] = [0, 2**64 - 1]
    if len(distinct) >= 1000:
        distinct[100:110] = (distinct[100] & np.uint64(0xFFFFFF)) | \
            (np.arange(1, 11, dtype=np.uint64) << np.uint64(40))
    chosen = rng.permutation(distinct)[:repeats]
    values = rng.permutation(np.concatenate([distinct, chosen, chosen[:repeats // 3]]))
    found = kernels.repeated_values(values)
    assert found is not None and found.dtype == np.uint64
    assert np.array_equal(found, np.sort(chosen))
    assert np.array_equal(found, _repeats_by_sort(values))


@native
def test_repeated_values_leave_many_repeats_to_a_sort():
    """Every value twice: nearly all are candidates, and a sort of them all is faster."""
    values = np.random.default_rng(3).integers(0, 2**64 - 1, 100_000, dtype=np.uint64)
    assert kernels.repeated_values(np.concatenate([values, values])) is None
    from scanner.duplicates.groups import _repeated_values
    assert np.array_equal(_repeated_values(np.concatenate([values, values])), np.sort(values))


@native
def test_sorted_hashes_refuse_wrong_arguments():
    bare, values = kernels.native, np.arange(8, dtype=np.uint64)
    out = np.empty(8, np.uint64)
    for rotate, passes in ((-1, 8), (64, 8), (0, 0), (0, 9)):
        with pytest.raises(ValueError):
            bare.sorted_hashes(values, rotate, passes, out)
    for target in (np.empty(7, np.uint64), values):  # too short; the values themselves
        with pytest.raises(ValueError):
            bare.sorted_hashes(values, 0, 8, target)
    with pytest.raises(ValueError):  # read-only output
        bare.sorted_hashes(values, 0, 8, np.broadcast_to(np.uint64(0), (8,)))


def test_sorted_hashes_without_the_compiled_sort_are_numpys(monkeypatch):
    monkeypatch.setattr(kernels, "native", None)
    values = np.random.default_rng(5).integers(0, 2**64 - 1, 1000, dtype=np.uint64)
    assert np.array_equal(kernels.sorted_hashes(values, 9, 24), np.sort(_turned(values, 9)))


@native
def test_the_sorts_and_searches_refuse_overlapping_unaligned_or_wrapping_arguments():
    """Found by an ASan fuzz of the bare module: buffers overlapping at an offset (written
    while read: writes past the end), words at odd addresses, a shift whose sum with the
    width wraps past the int64 range. The wrappers give aligned copies and fresh outputs."""
    bare = kernels.native
    base = np.array([0, 1 << 56, 0, 0], np.uint64)
    with pytest.raises(ValueError):  # values overlap out
        bare.sorted_hashes(base[1:], 0, 1, base[:3])
    odd = np.frombuffer(bytearray(8 * 11), np.uint8)[1:81].view(np.uint64)
    with pytest.raises(ValueError):
        bare.sorted_hashes(odd, 0, 8, np.empty(10, np.uint64))
    with pytest.raises(ValueError):
        bare.band_neighbours(odd, 8, 3, 0, -1)
    with pytest.raises(ValueError):
        bare.band_pairs(odd, np.array([0], np.int64), 8, np.array([1], np.int64), 3, -1)
    with pytest.raises(ValueError):  # 2**63 - 1 + 8 wraps: once taken, a shift by -1
        bare.band_pairs(np.zeros(100, np.uint64), np.array([2**63 - 1], np.int64), 8,
                        np.array([1], np.int64), -1, -1)
    assert np.array_equal(kernels.sorted_hashes(odd), np.sort(odd))
    assert len(kernels.band_neighbours(odd, 8, 3, 0)[0]) == 45  # ten zeros: every pair
