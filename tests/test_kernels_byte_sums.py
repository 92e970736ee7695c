"""Exact byte sums and sums of squares against a plain int64 computation."""
import numpy as np
import pytest

from scanner.kernels.byte_sums import ROW_VALUES, byte_sums


def _reference(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    wide = values.astype(np.int64)
    return wide.sum(axis=2), (wide * wide).sum(axis=2)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 2, 5), (2, 3, 64), (4, 1, 784),
                                   (2, 1, ROW_VALUES - 1), (2, 2, ROW_VALUES),
                                   (2, 1, ROW_VALUES + 1), (1, 3, 3 * ROW_VALUES + 7)])
def test_sums_equal_int64_arithmetic(shape):
    values = np.random.default_rng(sum(shape)).integers(0, 256, shape, np.uint8)
    values[0, 0, 0] = 255
    values[-1, -1, -1] = 0
    sums, squares = byte_sums(values)
    assert sums.dtype == squares.dtype == np.float64
    expected_sums, expected_squares = _reference(values)
    assert np.array_equal(sums, expected_sums) and np.array_equal(squares, expected_squares)


def test_extreme_values_do_not_overflow():
    """All-255 channels of 256x256: 65536 squares of 65025 pass 2**31 (and 2**32)."""
    values = np.zeros((3, 2, 256 * 256), np.uint8)
    values[0] = 255
    values[1, 1] = 255
    sums, squares = byte_sums(values)
    assert sums[0].tolist() == [255 * 65536] * 2 and squares[0].tolist() == [65025 * 65536] * 2
    assert sums[1].tolist() == [0, 255 * 65536] and squares[2].tolist() == [0, 0]


def test_payloads_sliced_from_records_are_read_in_place():
    """Samples sliced out of a (records x bytes) array: rows strided by the record length."""
    rows = np.random.default_rng(1).integers(0, 256, (7, 11 + 3 * 1000 + 5), np.uint8)
    values = rows[:, 11:11 + 3000].reshape(7, 3, 1000)
    assert not values.flags.c_contiguous
    assert all(np.array_equal(a, b) for a, b in zip(byte_sums(values), _reference(values)))


def test_values_not_contiguous_along_a_sample():
    values = np.random.default_rng(2).integers(0, 256, (4, 2, 40), np.uint8)[:, :, ::2]
    assert all(np.array_equal(a, b) for a, b in zip(byte_sums(values), _reference(values)))


@pytest.mark.parametrize("shape", [(0, 3, 10), (2, 3, 0)])
def test_no_values_sum_to_zero(shape):
    sums, squares = byte_sums(np.zeros(shape, np.uint8))
    assert sums.shape == squares.shape == shape[:2] and not sums.any() and not squares.any()
