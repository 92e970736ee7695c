"""Per-channel statistics for every dtype a store can hold, and figures that overflow."""
import numpy as np
import pytest

from scanner.checks import value_checks
from scanner.checks.value_checks import summarize
from scanner.stats import ChannelStats


def _report(values: np.ndarray) -> list[dict]:
    stats = ChannelStats(values.shape[1])
    summary = summarize(values)
    stats.add(values, summary, summary.finite_rows if values.dtype.kind == "f" else None)
    return stats.as_report()


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "i8", "u2", "u4", "u8", ">i4", "f2",
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
