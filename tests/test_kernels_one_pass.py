"""The one passes over samples (kernels.one_pass) against the two they replace: row_hashes
of each sample and byte_rows' or float_rows' figures, bit for bit, wherever a channel or a
hash block ends inside a load; and phash's hashes of the byte samples."""
import os

import numpy as np
import pytest

from scanner import kernels
from scanner.duplicates.hashing import _picture
from scanner.kernels import numpy_rows

REQUIRE_NATIVE = os.environ.get("DSCAN_REQUIRE_NATIVE") == "1" and \
    not os.environ.get("DSCAN_NO_NATIVE")
compiled = pytest.mark.skipif(
    (kernels.native is None or not kernels.native.AVX2) and not REQUIRE_NATIVE,
    reason="the compiled kernels are off, not built here, or without AVX2")
BLOCK = 8 * kernels.HASH_PAIRS  # bytes of one block of the exact hash


def _two_passes(values: np.ndarray, tag: int) -> tuple:
    rows = values.reshape(len(values), -1)
    return numpy_rows.row_hashes(rows, tag, kernels._HASH_KEYS, kernels.HASH_PAIRS), \
        numpy_rows.byte_rows(values, True)


def _assert_as_two_passes(values: np.ndarray, tag: int = 99, side: int | None = None) -> None:
    """As the two passes, and with side (L = side x side) the pHash as phash gives it."""
    picture = _picture(side, side) if side else None
    exact, figures, perceptual = kernels.hashed_byte_rows(values, tag, picture)
    expected_exact, expected_figures = _two_passes(values, tag)
    assert np.array_equal(exact, expected_exact)
    if side:
        assert np.array_equal(perceptual, kernels.phash(values, *picture))
    else:
        assert perceptual is None
    for name, got, expected in zip(("sums", "squares", "mins", "maxs"), figures,
                                   expected_figures):
        assert got.dtype == expected.dtype and np.array_equal(got, expected), name


@compiled
@pytest.mark.parametrize("channels, length", [
    (1, 1), (1, 31), (1, 32), (1, 33), (3, 7), (3, 28 * 28), (2, BLOCK - 3), (2, BLOCK + 5),
    (3, 65536), (4, 3 * BLOCK + 17), (1, 8192 * 32 + 40)])
def test_one_pass_gives_the_two_passes_figures_and_hashes(channels, length):
    rng = np.random.default_rng(channels * 1000 + length)
    values = rng.integers(0, 256, (4, channels, length), np.uint8)
    values[1] = 255  # the largest squares in every lane, past a widening of them
    values[2] = 0
    values[3, -1, -1] = 0
    _assert_as_two_passes(values)


@compiled
@pytest.mark.parametrize("channels, side", [(1, 28), (3, 32), (3, 256), (4, 13)])
def test_the_pictures_hashes_are_phashs(channels, side):
    rng = np.random.default_rng(side)
    values = rng.integers(0, 256, (5, channels, side * side), np.uint8)
    values[1] = values[0] // 2 + 60  # the same picture, darker and flatter
    values[2] = 255
    _assert_as_two_passes(values, side=side)


@compiled
def test_samples_at_equal_distances_in_a_larger_buffer_are_read_in_place():
    """As parse_large hands records' payloads over: a strided view at odd addresses."""
    pages = np.random.default_rng(5).integers(0, 256, 6 * 200_003, np.uint8)
    view = np.lib.stride_tricks.as_strided(pages[7:], (6, 3, 65536), (200_003, 65536, 1),
                                           writeable=False)
    _assert_as_two_passes(view, tag=3)
    _assert_as_two_passes(view, tag=3, side=256)


@compiled
def test_samples_whose_bytes_are_not_together_are_left_to_the_two_passes():
    values = np.zeros((2, 3, 40), np.uint8)
    assert kernels.hashed_byte_rows(values[:, :, ::2], 1) is None  # every other byte
    assert kernels.hashed_byte_rows(values[:, ::2, :], 1) is None  # every other channel
    assert kernels.hashed_byte_rows(values.astype(np.float32), 1) is None


def test_without_the_compiled_pass_nothing_is_made(monkeypatch):
    monkeypatch.setattr(kernels, "native", None)
    assert kernels.hashed_byte_rows(np.zeros((1, 1, 8), np.uint8), 1) is None


@compiled
@pytest.mark.parametrize("channels, length", [(1, 16), (3, 48), (2, BLOCK // 4 - 16),
                                              (2, BLOCK // 4 + 16), (3, 128 * 256),
                                              (1, 3 * BLOCK // 4 + 32)])
def test_one_pass_over_floats_gives_float_rows_figures_and_row_hashes(channels, length):
    rng = np.random.default_rng(channels * 7 + length)
    values = (rng.standard_normal((4, channels, length)) * 300).astype(np.float32)
    values[1, 0, length // 2] = np.nan
    values[2, -1, -1] = -np.inf
    values[3] = -0.0
    exact, figures, perceptual = kernels.hashed_float_rows(values, 41)
    assert np.array_equal(exact, kernels.row_hashes(values.reshape(4, -1).view(np.uint8), 41))
    for got, expected in zip(figures, kernels.float_rows(values)):
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    assert perceptual is None


@compiled
@pytest.mark.parametrize("channels, side", [(1, 28), (3, 32), (2, 128)])
def test_the_float_pictures_hashes_are_phashs(channels, side):
    rng = np.random.default_rng(side)
    values = (rng.standard_normal((4, channels, side * side)) * 50).astype(np.float32)
    values[1, 0, 5] = np.nan  # a value phash takes as 0
    values[2] = values[0] * 2 + 1
    picture = _picture(side, side)
    _, _, perceptual = kernels.hashed_float_rows(values, 8, picture)
    assert np.array_equal(perceptual, kernels.phash(values, *picture))


@compiled
def test_floats_whose_channels_are_no_multiple_of_16_are_left_to_the_two_passes():
    assert kernels.hashed_float_rows(np.zeros((2, 3, 40), np.float32), 1) is None
    assert kernels.hashed_float_rows(np.zeros((2, 3, 64), np.float32)[:, :, ::2], 1) is None
    assert kernels.hashed_float_rows(np.zeros((2, 3, 48), np.float32), 1) is not None
