"""The numpy helpers give numpy's own answers, without numpy's slow first calls."""
import subprocess
import sys

import numpy as np
import pytest

from scanner.arrays import absent_from, distinct, share_any, value_counts


@pytest.mark.parametrize("values", [
    np.arange(50) % 7, np.array([], np.int64), np.array([-3, -3, 5], np.int8),
    np.array([[4, 1], [1, 9]], np.uint8), np.array([0, 2**63 + 5, 7], np.uint64),
    np.array([-2**31, 0, 1, 1], np.int64), np.array([2**40, 2**40 + 3], np.int64),
    np.array([1.5, np.nan, 1.5, -2.0]), np.array([True, False, True])])
def test_value_counts_are_np_uniques(values):
    """Counted (labels in a narrow span), or sorted (a wide span, floats, other kinds)."""
    found, expected = value_counts(values), np.unique(values, return_counts=True)
    assert all(a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
               for a, b in zip(found, expected))


@pytest.mark.parametrize("seed", range(20))
def test_absent_from_is_setdiff1d_of_sorted_candidates(seed):
    rng = np.random.default_rng(seed)
    candidates = distinct(rng.integers(0, 40, rng.integers(0, 30)))
    present = rng.integers(0, 40, rng.integers(0, 30))
    assert absent_from(candidates, present).tolist() == \
        np.setdiff1d(candidates, present).tolist()


def test_absent_from_keeps_nan_as_setdiff1d_does():
    candidates = np.array([1.0, 2.0, np.nan])
    result = absent_from(candidates, np.array([2.0, np.nan]))
    expected = np.setdiff1d(candidates, np.array([2.0, np.nan]))
    assert np.array_equal(result, expected, equal_nan=True) and len(result) == 2


@pytest.mark.parametrize("first, second, shared", [
    ([1, 2, 3], [4, 5], False), ([1, 2, 3], [3, 9], True), ([], [1], False),
    ([7, 7, 7], [7], True), ([5], [], False)])
def test_share_any_is_a_nonempty_intersect1d(first, second, shared):
    first, second = np.array(first, np.int64), np.array(second, np.int64)
    assert share_any(first, second) is shared
    assert shared == bool(np.intersect1d(first, second).size)


def test_the_batch_and_order_checks_leave_numpys_masked_arrays_unimported():
    """np.setdiff1d and np.intersect1d import numpy.ma on first use (numpy 2): 20 ms of a
    scan. numpy 1 imports it with numpy itself: nothing to tell there."""
    code = ("import sys, numpy as np\n"
            "if 'numpy.ma' in sys.modules: print('eager'); sys.exit()\n"
            "from scanner.batches import first_absent\n"
            "from scanner.arrays import share_any\n"
            "first_absent(np.arange(10), np.array([1, 2]))\n"
            "share_any(np.array([1, 2]), np.array([2]))\n"
            "print('numpy.ma' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    if out.strip() == "eager":
        pytest.skip(f"numpy {np.__version__} imports numpy.ma with numpy itself")
    assert out.strip() == "False"
