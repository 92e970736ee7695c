"""Per-channel statistics for every dtype a store can hold, and figures that overflow."""
import numpy as np
import pytest

from scanner import kernels
from scanner.checks import value_checks
from scanner.checks.value_checks import summarize
from scanner.stats import ChannelStats


def _report(values: np.ndarray) -> list[dict]:
    stats = ChannelStats(values.shape[1])
    summary = summarize(values)
    stats.add(values, summary, summary.finite_rows if values.dtype.kind == "f" else None)
    return stats.as_report()


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8", ">i4", "f2",
                                   ">f8"])
def test_figures_equal_numpy_for_every_dtype(dtype, monkeypatch):
    monkeypatch.setattr(value_checks, "_WIDE_BLOCK", 10)  # several blocks of samples
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    values = np.random.default_rng(0).integers(0, 100, (30, 2, 7)).astype(dtype)
    if info is not None:
        values[3, 1, 2] = info.max
    wide = values.astype(np.float64)
    for channel, figures in enumerate(_report(values)):
        plane = wide[:, channel]
        assert figures["min"] == plane.min() and figures["max"] == plane.max()
        assert figures["mean"] == pytest.approx(plane.mean(), rel=1e-9)
        assert figures["std"] == pytest.approx(plane.std(), rel=1e-6)


def test_figures_that_overflow_are_none():
    values = np.full((4, 1, 3), 1e200)
    [figures] = _report(values)
    assert figures["min"] == 1e200 and figures["std"] is None


def test_byte_figures_are_exact():
    """uint8 sums and squares are integers: mean and std equal numpy's on the int64 values,
    edge values 0 and 255 included, whatever the groups the samples come in."""
    values = np.random.default_rng(3).integers(0, 256, (50, 3, 300)).astype(np.uint8)
    values[:5] = 255
    values[5:9, 1] = 0
    stats = ChannelStats(3)
    for start in range(0, 50, 7):
        part = values[start:start + 7]
        stats.add(part, summarize(part))
    wide = values.astype(np.int64)
    for channel, figures in enumerate(stats.as_report()):
        plane = wide[:, channel]
        assert figures["min"] == plane.min() and figures["max"] == plane.max()
        assert figures["mean"] == plane.sum() / plane.size
        variance = (plane * plane).sum() / plane.size - (plane.sum() / plane.size) ** 2
        assert figures["std"] == np.sqrt(variance)


def test_byte_histogram_counts_every_64th_sample():
    from scanner.stats import HISTOGRAM_EVERY
    values = np.random.default_rng(4).integers(0, 256, (300, 2, 20)).astype(np.uint8)
    stats, other = ChannelStats(2), ChannelStats(2)
    for start in range(0, 200, 9):  # groups that straddle the sampled positions
        part = values[start:min(start + 9, 200)]
        stats.add(part, summarize(part))
    other.add(values[200:], summarize(values[200:]))
    stats.merge(other)  # another shard: its own first sample counts
    picked = np.concatenate([values[:200:HISTOGRAM_EVERY], values[200::HISTOGRAM_EVERY]])
    for channel in range(2):
        assert np.array_equal(stats.histogram[channel],
                              np.bincount(picked[:, channel].ravel(), minlength=256))
    assert stats.samples == 300


def test_bytes_told_apart_from_their_sums_as_from_their_extremes(monkeypatch):
    """Once the statistics have met 0 and 255 in every channel, numpy summarizes byte
    samples without their min and max: constant channels keep their value, the others become
    0 and 255, so DS103 and the statistics come out as with the extremes."""
    monkeypatch.setattr(kernels, "native", None)  # the compiled pass always has the extremes
    from scanner.checks.value_checks import constant_sample
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, (12, 3, 64), dtype=np.uint8)
    values[2] = 77  # constant sample
    values[5, 1] = 4  # one constant channel only
    values[7, :, :] = [[9], [9], [10]]  # constant channels, not one value
    values[9, 0], values[9, 0, 5] = 50, 51  # a channel one value off constant
    exact, from_sums = summarize(values), summarize(values, extremes=False)
    assert constant_sample(values, exact).keys() == constant_sample(values, from_sums).keys() \
        == {2}
    constant = exact.mins == exact.maxs
    assert np.array_equal(from_sums.mins[constant], exact.mins[constant])
    assert (from_sums.mins[~constant] == 0).all() and (from_sums.maxs[~constant] == 255).all()
    full, fast = ChannelStats(3), ChannelStats(3)
    full.add(values, exact)
    assert full.spans_bytes and not ChannelStats(3).spans_bytes
    fast.add(values, exact)
    fast.add(values, from_sums)
    full.add(values, exact)
    assert fast.as_report() == full.as_report()
