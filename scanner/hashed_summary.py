"""A group's fingerprints and value summary, made while its samples are in the cache.

Both read every value. Bytes, and float32 samples whose channels hold a multiple of 16
values, go through one compiled pass where it is built (kernels.one_pass: each load feeds
the exact hash and the figures; a byte sample's pHash follows while it is in the cache; raw
3x256x256 in memory, the group's fingerprints and summary 11.7 us a record against 11.0 for
the summary alone, 20.5 with the hashes and the figures in two passes and the pHash after
the group). Otherwise the exact hash streams the samples from memory, and the summary then
finds them in the cache. A group of large samples (8 MiB of raw 3x256x256 records) does not
fit the cache, so it goes a piece of CACHE_PIECE bytes at a time, each piece hashed and then
summarized: one trip to memory instead of two (raw 3x256x256, in memory: 37 us a record
against 59). The perceptual hash reads a few values a sample and takes the whole group.
Unpacked floats come with their figures, taken as the parse copied them out of their tags.
"""
from __future__ import annotations

import numpy as np

from .checks.value_checks import ValueSummary, summarize
from .duplicates.fingerprints import FingerprintSink

CACHE_PIECE = 512 << 10  # bytes of samples hashed and summarized together
WHOLE_BELOW = 4 << 20  # a group this small stays in the cache whole (small records: 2 MiB)


def hashed_summary(prints: FingerprintSink, indices, values: np.ndarray, shape: tuple | None,
                   extremes: bool, figures: tuple | None = None, hashes: tuple | None = None
                   ) -> tuple[tuple | None, ValueSummary]:
    """(what prints.hash_values gives, the summary) of samples (n, C, L); figures: their
    (sums, squares, mins, maxs), hashes their (exact, perceptual) fingerprints, where they
    are known already."""
    if figures is None and hashes is None:  # the hashes and the figures in one pass
        both = prints.hashed_with_figures(indices, values, shape)
        if both is not None:
            hashed, (sums, squares, mins, maxs) = both
            return hashed, ValueSummary(mins, maxs, sums, squares)
    if figures is not None:
        sums, squares, mins, maxs = figures
        return prints.hash_values(indices, values, shape, hashes=hashes), \
            ValueSummary(mins, maxs, sums, squares)
    step = max(1, CACHE_PIECE // max(values[0].nbytes, 1)) if len(values) else 1
    if values.nbytes < WHOLE_BELOW or step >= len(values) or not prints.enabled or \
            hashes is not None:
        return prints.hash_values(indices, values, shape, hashes=hashes), \
            summarize(values, extremes)
    exact, parts = [], []
    for start in range(0, len(values), step):
        piece = values[start:start + step]
        exact.append(prints.exact_values(piece, shape))
        parts.append(summarize(piece, extremes))
    hashed = prints.hash_values(indices, values, shape, exact=np.concatenate(exact))
    return hashed, ValueSummary.joined(parts)
