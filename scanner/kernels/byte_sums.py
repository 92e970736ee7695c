"""Exact sums and sums of squares of uint8 values, per sample and channel, at memory speed.

simsimd's uint8 dot products run over the store's bytes in place (rows may be strided, as
the payloads sliced out of a batch of records are) and accumulate in 32-bit integers. A
dot product is taken over at most 16384 values, whose squares add up to at most
16384 * 255**2 < 2**31, so every partial result is exact; the parts are added in float64,
exact up to 2**53 (a channel of 2**37 values). numpy alone needs a widening copy per value
(an int32 or float copy, or the cast to intp that np.bincount makes) and runs several times
slower.
"""
from __future__ import annotations

import numpy as np
import simsimd

ROW_VALUES = 1 << 14  # values per dot product: 16384 * 255**2 < 2**31 (int32 accumulators)
_ones: dict[int, np.ndarray] = {}


def byte_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and sums of squares, float64 of shape (n, C), of uint8 samples (n, C, L)."""
    samples, channels, length = values.shape
    sums = np.zeros((samples, channels))
    squares = np.zeros((samples, channels))
    if not samples or not length:
        return sums, squares
    if values.strides[2] != 1:  # the dot products read each sample's values contiguously
        values = np.ascontiguousarray(values)
    for start in range(0, length, ROW_VALUES):
        ones = _ones_row(min(ROW_VALUES, length - start))
        for channel in range(channels):
            part = values[:, channel, start:start + ROW_VALUES]
            squares[:, channel] += np.asarray(simsimd.dot(part, part)).reshape(samples)
            sums[:, channel] += np.asarray(
                simsimd.cdist(part, ones, metric="dot")).reshape(samples)
    return sums, squares


def _ones_row(length: int) -> np.ndarray:
    row = _ones.get(length)
    if row is None:
        row = _ones[length] = np.ones((1, length), np.uint8)
    return row
