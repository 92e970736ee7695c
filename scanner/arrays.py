"""numpy helpers that stay off numpy's slow paths."""
from __future__ import annotations

import numpy as np


_COUNTED_SPAN = 1 << 16  # integers spread this much wider than their number are sorted


def distinct(values) -> np.ndarray:
    """np.unique(values): the same sorted distinct values, NaN once. np.unique's plain form
    imports numpy's masked-array module on its first call (numpy 2: 20 ms, a tenth of a
    small scan's start-up); value_counts does not."""
    return value_counts(values)[0]


def value_counts(values) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_counts=True), counted rather than sorted when the values are
    integers within a span not much wider than their number, as class labels are: 1M labels
    take 3-4 ms against 52 ms for np.unique's copy and sort (numpy 2.4), which a scan's end
    made six times over the same labels."""
    values = np.asarray(values)
    if values.dtype.kind in "iu" and values.size:
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * values.size + _COUNTED_SPAN and high < 1 << 63:
            shifted = np.subtract(values.ravel(), low, dtype=np.intp, casting="unsafe")
            counts = np.bincount(shifted, minlength=high - low + 1)
            present = np.flatnonzero(counts)
            return (present + low).astype(values.dtype), counts[present]
    return np.unique(values, return_counts=True)


def absent_from(candidates: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The values of `candidates` (sorted, distinct) that `present` lacks, in their order:
    np.setdiff1d without its call to np.unique's plain form (see `distinct`)."""
    seen = np.sort(np.asarray(present).ravel())
    if not len(seen):
        return candidates
    at = np.minimum(np.searchsorted(seen, candidates), len(seen) - 1)
    return candidates[seen[at] != candidates]


def share_any(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two arrays have a value in common (np.intersect1d(...).size, without it)."""
    values = distinct(first)
    return len(absent_from(values, second)) < len(values)
