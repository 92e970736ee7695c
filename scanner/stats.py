"""Per-channel value statistics, accumulated in shards and merged exactly."""
from __future__ import annotations

import numpy as np

from . import kernels

# uint8: every HISTOGRAM_EVERY-th sample of a shard goes into the per-channel value histogram
# (the HTML report's plot of value shares). Counting each value costs more than every other
# figure together (about 0.5 ns a byte compiled, 2.5 with numpy); min, max, mean and std
# are exact from all samples.
HISTOGRAM_EVERY = 64


class ChannelStats:
    """Running min, max, sum and sum of squares per channel for samples of C channels."""

    def __init__(self, channels: int):
        self.samples = 0
        self.count = np.zeros(channels, np.int64)
        self.total = np.zeros(channels, np.float64)
        self.total_sq = np.zeros(channels, np.float64)
        self.low = np.full(channels, np.inf)
        self.high = np.full(channels, -np.inf)
        # uint8 samples: counts per value and channel, of every HISTOGRAM_EVERY-th sample
        self.histogram: np.ndarray | None = None
        self._spans_bytes = False

    @property
    def spans_bytes(self) -> bool:
        """Every channel has met 0 and 255: no byte sample can change its min or max."""
        if not self._spans_bytes:
            self._spans_bytes = bool((self.low <= 0).all() and (self.high >= 255).all())
        return self._spans_bytes

    def add(self, values: np.ndarray, summary, usable: np.ndarray | None = None) -> None:
        """Add samples of shape (n, C, L) with their ValueSummary; `usable` (n,) leaves out
        samples whose values are not finite. Only bytes are read again (the histogram):
        float samples may be left in their records (record_batches.TaggedRows)."""
        rows = len(values)
        if usable is not None and not usable.all():
            summary, rows = summary.rows(usable), int(usable.sum())
        if not rows:
            return
        if values.dtype == np.uint8:
            self._add_histogram(values)
        self.samples += rows
        self.count += rows * values.shape[2]
        self.low = np.minimum(self.low, summary.mins.min(axis=0))
        self.high = np.maximum(self.high, summary.maxs.max(axis=0))
        self.total += summary.sums.sum(axis=0)
        self.total_sq += summary.squares.sum(axis=0)

    def _add_histogram(self, values: np.ndarray) -> None:
        """Count the values of the samples at positions 0, HISTOGRAM_EVERY, 2 * ... of those
        this ChannelStats has been given, per channel."""
        channels = values.shape[1]
        if self.histogram is None:
            self.histogram = np.zeros((channels, 256), np.int64)
        picked = values[(-self.samples) % HISTOGRAM_EVERY::HISTOGRAM_EVERY]
        kernels.byte_counts(picked, self.histogram)

    def merge(self, other: "ChannelStats") -> None:
        self.samples += other.samples
        self.count += other.count
        self.total += other.total
        self.total_sq += other.total_sq
        self.low = np.minimum(self.low, other.low)
        self.high = np.maximum(self.high, other.high)
        if other.histogram is not None:
            self.histogram = other.histogram.copy() if self.histogram is None else \
                self.histogram + other.histogram

    def as_report(self) -> list[dict]:
        """Per channel min, max, mean and std; a figure that overflowed (values near 1e155
        square beyond float64) or was never seen is None, never NaN or Inf."""
        with np.errstate(invalid="ignore", over="ignore"):
            mean = self.total / np.maximum(self.count, 1)
            var = np.maximum(self.total_sq / np.maximum(self.count, 1) - mean ** 2, 0.0)
            std = np.sqrt(var)
        return [{"min": _finite(lo), "max": _finite(hi), "mean": _finite(m), "std": _finite(s)}
                for lo, hi, m, s in zip(self.low, self.high, mean, std)]


def _finite(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None
