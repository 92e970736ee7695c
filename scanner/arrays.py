"""numpy helpers that stay off numpy's slow paths."""
from __future__ import annotations

import numpy as np


def distinct(values) -> np.ndarray:
    """np.unique(values): the same sorted distinct values, NaN once. np.unique's plain form
    imports numpy's masked-array module on its first call (numpy 2: 20 ms, a tenth of a
    small scan's start-up); asking for the counts takes a path that does not."""
    return np.unique(values, return_counts=True)[0]


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
