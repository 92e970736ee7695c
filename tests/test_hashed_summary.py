"""A group hashed and summarized a cache-sized piece at a time gives what the whole gives."""
import numpy as np
import pytest

from scanner import hashed_summary as hs
from scanner import kernels
from scanner.checks.value_checks import summarize
from scanner.duplicates.fingerprints import FingerprintSink


@pytest.mark.parametrize("one_pass", [True, False])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_pieces_give_the_whole_groups_hashes_and_summary(dtype, one_pass, monkeypatch):
    """Bytes go through the one compiled pass where it is built (one_pass), else in
    pieces, as floats do."""
    passes = []  # whether each call of a one pass made the figures
    for name in ("hashed_byte_rows", "hashed_float_rows"):
        one = getattr(kernels, name) if one_pass else (lambda *arguments: None)

        def watched(*arguments, one=one):
            made = one(*arguments)
            passes.append(made is not None)
            return made
        monkeypatch.setattr(kernels, name, watched)
    rng = np.random.default_rng(7)
    values = rng.integers(0, 256, (9, 3, 24 * 24)).astype(dtype)
    values[4] = 17  # a constant sample
    indices, shape = list(range(100, 109)), (3, 24, 24)
    whole = FingerprintSink().hash_values(indices, values, shape)
    expected = summarize(values)
    monkeypatch.setattr(hs, "CACHE_PIECE", 2 * values[0].nbytes)  # pieces of two samples
    monkeypatch.setattr(hs, "WHOLE_BELOW", values[0].nbytes)
    hashed, summary = hs.hashed_summary(FingerprintSink(), indices, values, shape, True)
    assert hashed[0] == indices
    assert np.array_equal(hashed[1], whole[1]) and np.array_equal(hashed[2], whole[2])
    for name in ("mins", "maxs", "sums", "squares"):
        assert np.array_equal(getattr(summary, name), getattr(expected, name)), name
    compiled = kernels.native is not None and kernels.native.AVX2
    assert passes == [one_pass and compiled]


def test_known_figures_are_taken_as_they_are():
    values = np.arange(2 * 3 * 16, dtype=np.float32).reshape(2, 3, 16)
    figures = tuple(np.full((2, 3), k, float) for k in range(4))
    hashed, summary = hs.hashed_summary(FingerprintSink(), [0, 1], values, (3, 4, 4), True,
                                        figures)
    assert (summary.sums == 0).all() and (summary.mins == 2).all() and len(hashed[1]) == 2


def test_fingerprints_off_hash_nothing():
    values = np.zeros((3, 1, 8 * 8), np.uint8)
    hashed, summary = hs.hashed_summary(FingerprintSink(enabled=False), [0, 1, 2], values,
                                        (1, 8, 8), True)
    assert hashed is None and summary.maxs.tolist() == [[0], [0], [0]]
