"""One pass over sample values for the figures the value checks and the statistics need.

The passes are compiled (`_native`, C with SSE2/SSSE3 and, where the processor has them,
AVX2 and FMA) where the install could build them: x86-64 with a C compiler. Elsewhere, or
with DSCAN_NO_NATIVE=1 in the environment, numpy does the same work in several passes
(numpy_rows). Both give the same figures: bytes exactly, float sums and squares to within
float rounding (the compiled pass adds in float64, numpy in float32 pairs).
"""
from __future__ import annotations

import os

import numpy as np

from . import numpy_rows


def _load_native():
    if os.environ.get("DSCAN_NO_NATIVE"):
        return None
    try:
        from . import _native
    except ImportError:  # not built on this machine
        return None
    return _native


native = _load_native()


def byte_rows(values: np.ndarray, extremes: bool = True):
    """(sums, squares, mins, maxs), shape (n, C), of uint8 samples (n, C, L); sums and
    squares exact in float64. The compiled pass always gives the true extremes; numpy's
    skips them with extremes=False (see numpy_rows.byte_rows)."""
    if native is None or not values.shape[2]:
        return numpy_rows.byte_rows(values, extremes)
    if values.strides[2] != 1:
        values = np.ascontiguousarray(values)
    sums, squares, mins, maxs = _outputs(values.shape, np.uint8)
    native.byte_rows(values, sums, squares, mins, maxs)
    return sums, squares, mins, maxs


def float_rows(values: np.ndarray):
    """(sums, squares, mins, maxs), shape (n, C), of float samples (n, C, L): sums and
    squares float64, mins and maxs in the values' dtype, NaN where the row holds a NaN."""
    if native is None or values.dtype != np.float32 or not values.shape[2]:
        return _zero_unsigned(numpy_rows.float_rows(values))
    if values.strides[2] != 4:
        values = np.ascontiguousarray(values)
    sums, squares, mins, maxs = _outputs(values.shape, np.float32)
    native.float_rows(values, sums, squares, mins, maxs)
    return _zero_unsigned((sums, squares, mins, maxs))


def _zero_unsigned(figures: tuple) -> tuple:
    """The figures with -0.0 as 0.0 in mins and maxs: which zero a min of both gives depends
    on the order of the comparisons, which differs between the passes (and numpy releases)."""
    for extreme in figures[2:]:
        np.add(extreme, 0, out=extreme)  # -0.0 + 0 is +0.0; NaN and Inf stay
    return figures


HASH_PAIRS = 1024  # pairs of 32-bit words a block of the row hash (8 KiB)
_HASH_KEYS = np.random.default_rng(0x64736361).integers(0, 1 << 32, 2 * HASH_PAIRS + 2,
                                                          dtype=np.uint32)


def row_hashes(rows: np.ndarray, tag: int) -> np.ndarray:
    """Exact 64-bit hashes (n,) of byte rows (n, W), `tag` mixed in. The row is read as pairs
    of little-endian 32-bit words (the last zero-padded), in blocks of HASH_PAIRS pairs.
    Each block gives two NH sums, sum((m[2i] + k[2i]) * (m[2i+1] + k[2i+1])) modulo 2**64
    with the words and keys added modulo 2**32, the second with the keys two words on; each
    is folded into the running hash (from `tag`) by the splitmix64 finaliser, and the width
    last. Rows that differ collide with probability about 2**-64 a block, unlike a sum of
    word * key modulo 2**64, which differences of 2**63 in two words never change."""
    tag &= 0xFFFFFFFFFFFFFFFF
    if native is None:
        return numpy_rows.row_hashes(rows, tag, _HASH_KEYS, HASH_PAIRS)
    if rows.shape[1] > 1 and rows.strides[1] != 1:
        rows = np.ascontiguousarray(rows)
    out = np.empty(len(rows), np.uint64)
    native.row_hashes(rows, _HASH_KEYS, tag, out)
    return out


_PHASH_SIDE_MAX, _PHASH_CHANNELS_MAX = 1 << 20, 4096  # the compiled pHash's bounds (phash.c)


def phash(values: np.ndarray, height: int, width: int, step_y: int, step_x: int,
          across: np.ndarray, down: np.ndarray,
          weights: np.ndarray | None = None) -> np.ndarray | None:
    """Perceptual hashes (n,) uint64 of samples (n, C, height * width), uint8 or float32:
    the grey picture at every step_y-th row and step_x-th column (channels added in float32,
    a float that is not finite as 0), its frequencies `down @ grey @ across` (8 x 8; across
    gives each row's the highest first), each against their median (bit 63 the first row's
    lowest). weights (C,) float32, bytes only: the grey is the channels' weighted sum. None
    where it is not compiled (it needs AVX2 and FMA) or for other dtypes:
    scanner.duplicates.hashing computes it with numpy, alike but for float rounding."""
    if native is None or not native.AVX2 or values.dtype not in (np.uint8, np.float32) or \
            (weights is not None and values.dtype != np.uint8) or \
            max(height, width) > _PHASH_SIDE_MAX:
        return None
    out = np.empty(len(values), np.uint64)
    native.phash(values, height, width, step_y, step_x, across, down, out, weights)
    return out


def joined_prints(records: list, length: int, payload_at: int, shape: tuple, tag: int,
                  steps: tuple | None, across: np.ndarray | None, down: np.ndarray | None
                  ) -> tuple | None:
    """(rows (n, length) uint8, exact (n,), perceptual (n,) or None): records of `length`
    bytes side by side, as b"".join gives them, and the hashes of their raw payloads (C, H,
    W) = shape at payload_at, each taken as its record is copied: exact as row_hashes gives
    them (`tag`), perceptual as phash gives the samples (n, C, H * W) at `steps` (step_y,
    step_x) with across and down (None: no perceptual hash). None where it is not compiled,
    or without AVX2 when a perceptual hash is asked for. ValueError for a record of another
    length."""
    if native is None or (across is not None and not native.AVX2) or \
            max(shape[1:]) > _PHASH_SIDE_MAX:
        return None
    rows = np.empty((len(records), length), np.uint8)
    exact = np.empty(len(records), np.uint64)
    perceptual = None if across is None else np.empty(len(records), np.uint64)
    step_y, step_x = steps or (1, 1)
    if native.joined_prints(records, length, rows, payload_at, *shape, _HASH_KEYS,
                            tag & 0xFFFFFFFFFFFFFFFF, exact, step_y, step_x, across, down,
                            perceptual) >= 0:
        raise ValueError("a record is not as long as the others")
    return rows, exact, perceptual


def byte_counts(values: np.ndarray, counts: np.ndarray) -> None:
    """Add the count of each value of uint8 samples (n, C, L) per channel to counts (C, 256)
    int64."""
    if native is None or not counts.flags.c_contiguous or counts.dtype != np.int64:
        numpy_rows.byte_counts(values, counts)
        return
    if values.strides[2] != 1:
        values = np.ascontiguousarray(values)
    native.byte_counts(values, counts)


def record_heads(records: list, fixed: np.ndarray, expected: np.ndarray,
                 label_at: int | None, width: int):
    """(labels, addresses) as int64 of records (buffers) whose bytes at positions `fixed` all
    equal `expected` and whose label varint of `width` bytes at `label_at` (None: no label,
    0) ends exactly there, read as protobuf's int32; None if a record differs."""
    if native is None:
        return numpy_rows.record_heads(records, fixed, expected, label_at, width)
    labels, addresses = np.empty(len(records), np.int64), np.empty(len(records), np.int64)
    fixed = np.ascontiguousarray(fixed, np.int64)
    expected = np.ascontiguousarray(expected, np.uint8)
    at = -1 if label_at is None else label_at
    if native.record_heads(records, fixed, expected, at, width, labels, addresses) >= 0:
        return None
    return labels, addresses


def gather_tagged(records: list, offset: int, channels: int, length: int):
    """(values (n, C, L) float32, their figures as float_rows gives them) of records holding
    C * L unpacked float_data elements (a tag byte and 4 value bytes each) from `offset`,
    the figures taken as the values are copied; None if a record is too short or an
    element's tag is not float_data's."""
    if native is None or not length:
        payload = numpy_rows.gather_tagged(records, offset, channels * length)
        if payload is None:
            return None
        values = payload.reshape(len(records), channels, length)
        with np.errstate(invalid="ignore", over="ignore"):
            return values, _zero_unsigned(numpy_rows.float_rows(values))
    payload = np.empty((len(records), channels, length), np.float32)
    figures = _outputs(payload.shape, np.float32)
    if native.unpack_tagged(records, offset, channels, length, payload, None, 0, *figures,
                            None) >= 0:
        return None
    return payload, _zero_unsigned(figures)


def tagged_prints(records: list, offset: int, channels: int, length: int, tag: int | None):
    """(figures as gather_tagged gives them, exact hashes (n,) or None) of records of
    unpacked float_data, in one pass that keeps no values: each record is read once, a hash
    block at a time, and its values' hash is row_hashes' of what gather_tagged would copy
    out (with `tag`; None: no hashes). None if a record is too short or a tag is not
    float_data's. Compiled only: callers check `native` first."""
    figures = _outputs((len(records), channels), np.float32)
    hashes = None if tag is None else np.empty(len(records), np.uint64)
    keys = None if tag is None else _HASH_KEYS
    if native.unpack_tagged(records, offset, channels, length, None, keys,
                            0 if tag is None else tag & 0xFFFFFFFFFFFFFFFF, *figures,
                            hashes) >= 0:
        return None
    return _zero_unsigned(figures), hashes


def phash_tagged(records: list, offset: int, channels: int, height: int, width: int,
                 step_y: int, step_x: int, across: np.ndarray, down: np.ndarray
                 ) -> np.ndarray | None:
    """phash of unpacked float_data samples left in their records (the first tag at
    `offset`); None where it is not compiled or beyond its bounds."""
    if native is None or not native.AVX2 or max(height, width) > _PHASH_SIDE_MAX or \
            channels > _PHASH_CHANNELS_MAX:
        return None
    out = np.empty(len(records), np.uint64)
    if native.phash_tagged(records, offset, channels, height, width, step_y, step_x, across,
                           down, out) >= 0:
        raise ValueError("a record is shorter than its samples")
    return out


def phash_pictures(pictures: list, height: int, width: int, channels: int,
                   across: np.ndarray, down: np.ndarray, weights: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """phash of decoded pictures, each a C-contiguous uint8 array of height x width x
    channels (the channels of a pixel side by side), without stacking them, and which are
    flat (one grey value: their hash is 0); None where it is not compiled or beyond its
    bounds."""
    if native is None or not native.AVX2 or max(height, width) > _PHASH_SIDE_MAX or \
            channels > _PHASH_CHANNELS_MAX:
        return None
    out, flat = np.empty(len(pictures), np.uint64), np.empty(len(pictures), np.uint8)
    if native.phash_pictures(pictures, height, width, channels, across, down, out, flat,
                             weights) >= 0:
        raise ValueError("a picture of another size")
    return out, flat.view(bool)


class PairLimit(Exception):
    """A search for pairs found more than the caller's limit of them."""


def band_pairs(hashes: np.ndarray, shifts: list[int], width: int, flips: list[int],
               distance: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(first, second) int64 positions, first < second, of the `hashes` (n,) uint64 that
    agree on a band, (hash >> shift) & (2**width - 1) for one of `shifts`, or differ there
    by one of `flips`, and lie within `distance` bits; a pair found on two bands comes
    twice. None where it is not compiled; PairLimit past `limit` pairs (it stops there)."""
    if native is None:
        return None
    found = native.band_pairs(_words(hashes),
                              np.asarray(shifts, np.int64), width,
                              np.asarray(flips, np.int64), distance,
                              -1 if limit is None else limit)
    if found is None:
        raise PairLimit(limit)
    pairs = np.frombuffer(found, np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


_VECTOR_SORT = int(np.__version__.split(".")[0]) >= 2  # numpy's sort of 64-bit integers


def sorted_hashes(values: np.ndarray, rotate: int = 0, top_bits: int = 64) -> np.ndarray:
    """uint64 `values` rotated left by `rotate` bits (0-63), in a new array ordered by their
    top `top_bits` bits (rounded up to whole bytes; 64: wholly sorted). Wholly sorted and not
    rotated: numpy's sort where it is 2.0 or newer (a vectorised sort: 1M hashes in 12 ms
    with AVX-512, 32 ms with AVX2, against 33 and 50 ms for the radix sort on the machine
    measured). Else, compiled: a radix sort (10-17 ms on the top three bytes); numpy's sort
    elsewhere, which orders them wholly."""
    values = _words(values)
    if native is None or (_VECTOR_SORT and not rotate and top_bits >= 64):
        return np.sort(rotated(values, rotate) if rotate else values)
    out = np.empty_like(values)
    if len(values):
        native.sorted_hashes(values, rotate, -(-top_bits // 8), out)
    return out


def repeated_values(values: np.ndarray) -> np.ndarray | None:
    """The uint64 values that occur twice or more, once each, ascending, found without
    sorting them all (a sieve on their low bits); None where it is not compiled, or where
    many may repeat (then a sort of them all is the faster way)."""
    if native is None:
        return None
    found = native.repeated_values(_words(values))
    return None if found is None else np.frombuffer(found, np.uint64).copy()


def rotated(values: np.ndarray, bits: int) -> np.ndarray:
    """uint64 values rotated left by `bits` (0 < bits < 64), in numpy."""
    turned = values << np.uint64(bits)
    turned |= values >> np.uint64(64 - bits)
    return turned


def band_neighbours(ordered: np.ndarray, width: int, distance: int, turn: int,
                    limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(lows, highs) uint64: every two of `ordered` (hashes rotated left by `turn` bits,
    those with equal top `width` bits adjoining, as sorted_hashes leaves them) that share
    those bits and lie within `distance` bits, rotated back, the lower first. None where
    it is not compiled; PairLimit past `limit` pairs (it stops there)."""
    if native is None:
        return None
    found = native.band_neighbours(_words(ordered), width, distance, turn,
                                   -1 if limit is None else limit)
    if found is None:
        raise PairLimit(limit)
    pairs = np.frombuffer(found, np.uint64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _words(values: np.ndarray) -> np.ndarray:
    """uint64 values, contiguous and aligned, as the compiled sorts and searches read them."""
    return np.require(values, np.uint64, ["C", "A"])


def _outputs(shape: tuple, dtype) -> tuple:
    rows = shape[:2]
    return np.empty(rows), np.empty(rows), np.empty(rows, dtype), np.empty(rows, dtype)


# the one passes over samples, re-exported (they read this module's native at each call)
from .one_pass import hashed_byte_rows, hashed_float_rows  # noqa: E402,F401
