"""The value passes in numpy alone, where the compiled kernels were not built: the same
figures (bytes exactly; float sums in float32 pairs carried on in float64), several passes
over the values instead of one."""
from __future__ import annotations

import numpy as np

from ..datum_layout import _FLOAT_TAG, _TAGGED_FLOAT, _labels
from .byte_sums import byte_sums

# longest byte channel whose length * (sum of squares) stays below 2**53 (exact in float64)
EXACT_SPREAD_LENGTH = int((2 ** 53 / 255 ** 2) ** 0.5)


def byte_rows(values: np.ndarray, extremes: bool = True):
    """(sums, squares, mins, maxs) per sample and channel of uint8 samples (n, C, L).
    extremes=False: mins and maxs are only told apart from the sums (see _byte_bounds)."""
    sums, squares = byte_sums(values)
    if extremes or values.shape[2] > EXACT_SPREAD_LENGTH:
        return sums, squares, values.min(axis=2), values.max(axis=2)
    return (sums, squares, *_byte_bounds(sums, squares, values.shape[2]))


def _byte_bounds(sums: np.ndarray, squares: np.ndarray, length: int):
    """(mins, maxs) as uint8 from exact sums: a channel of `length` bytes is constant exactly
    when length * (sum of squares) == sum ** 2 (Cauchy-Schwarz), then equal to sum / length;
    the others are given 0 and 255."""
    constant = length * squares == sums * sums
    value = sums / length
    return (np.where(constant, value, 0).astype(np.uint8),
            np.where(constant, value, 255).astype(np.uint8))


def mix64(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 values: every input bit reaches every output bit."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64, copy=True)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def row_hashes(rows: np.ndarray, tag: int, keys: np.ndarray, pairs_a_block: int) -> np.ndarray:
    """The exact hashes of byte rows (n, W), as scanner.kernels.row_hashes defines them."""
    count, width = rows.shape
    pairs = -(-width // 8)
    words = np.zeros((count, 2 * pairs), np.uint32)
    words.view(np.uint8)[:, :width] = rows
    hashes = np.full(count, tag, np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, pairs, pairs_a_block):
            block = words[:, 2 * start:2 * (start + pairs_a_block)]
            size = block.shape[1]
            folded = []
            for shift in (0, 2):  # the two key sets, the second two words on
                summed = block + keys[shift:shift + size]  # wraps modulo 2**32, as wanted
                products = summed[:, 0::2].astype(np.uint64) * summed[:, 1::2]
                folded.append(products.sum(axis=1, dtype=np.uint64))
            hashes = mix64(mix64(hashes ^ folded[0]) ^ folded[1])
    return mix64(hashes ^ np.uint64(width))


def byte_counts(values: np.ndarray, counts: np.ndarray) -> None:
    """Add the count of each value of uint8 samples (n, C, L) per channel to counts (C, 256)
    (np.bincount casts each byte to intp first: several times the compiled pass)."""
    for channel in range(values.shape[1] if len(values) else 0):
        counts[channel] += np.bincount(values[:, channel].ravel(), minlength=256)


def float_rows(values: np.ndarray):
    """(sums, squares, mins, maxs) of float samples (n, C, L) of any width: sums as float32
    pairwise sums and squares as float32 dot products (relative error about 1e-6), redone in
    float64 for the samples whose figures overflow float32."""
    mins, maxs = values.min(axis=2), values.max(axis=2)
    if values.dtype.itemsize < 4:  # float16 sums overflow at 65504
        values = values.astype(np.float32)
    sums = values.sum(axis=2).astype(np.float64)
    squares = np.einsum("ncl,ncl->nc", values, values).astype(np.float64)
    finite = np.isfinite(mins).all(axis=1) & np.isfinite(maxs).all(axis=1)
    for row in np.flatnonzero(finite & ~(np.isfinite(sums).all(axis=1) &
                                         np.isfinite(squares).all(axis=1))):
        wide = values[row].astype(np.float64)
        sums[row] = wide.sum(axis=1)
        squares[row] = np.einsum("cl,cl->c", wide, wide)
    return sums, squares, mins, maxs


def record_heads(records: list, fixed: np.ndarray, expected: np.ndarray,
                 label_at: int | None, width: int):
    """(labels, addresses) of records whose fixed bytes and label varint are as given; None
    if one differs (see scanner.kernels.record_heads)."""
    rows = [np.frombuffer(record, np.uint8) for record in records]
    end = max(int(fixed.max()) + 1 if len(fixed) else 0,
              0 if label_at is None else label_at + width)
    if any(len(row) < end for row in rows):
        return None
    if len(fixed) and not (np.stack([row[fixed] for row in rows]) == expected).all():
        return None
    labels = np.zeros(len(rows), np.int64)
    if label_at is not None:
        fits, labels = _labels(np.stack([row[label_at:label_at + width] for row in rows]))
        if not fits.all():
            return None
    return labels, np.array([row.ctypes.data for row in rows], np.int64)


def gather_tagged(records: list, offset: int, count: int) -> np.ndarray | None:
    """The values (n, count) float32 of records holding `count` unpacked float_data elements
    (a tag byte and 4 value bytes each) from `offset`, each copied once straight from its
    buffer; None if a record is too short or an element's tag is not float_data's."""
    payload = np.empty((len(records), count), np.float32)
    tags = np.empty(count, np.uint8)
    for row, record in enumerate(records):
        if len(memoryview(record).cast("B")) < offset + 5 * count:
            return None
        elements = np.ndarray(count, _TAGGED_FLOAT, record, offset=offset, strides=(5,))
        np.copyto(tags, elements["tag"])
        if not (tags == _FLOAT_TAG).all():
            return None
        np.copyto(payload[row], elements["value"])
    return payload
