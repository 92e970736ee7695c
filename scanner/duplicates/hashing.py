"""The two 64-bit fingerprints of a record's content: an exact hash of its payload bytes and a
perceptual hash of its picture, computed many records at a time.

Exact: encoded bytes go through xxh3 (about 30 GB/s); fixed-length value payloads (raw
`data`, `float_data`, HDF5 rows) a batch at a time by scanner.kernels.row_hashes (NH sums of
32-bit word pairs with fixed keys, folded by a 64-bit mixer: 76 ns a 784-byte row, 16 GB/s
on long ones).
The record's kind and shape are mixed in, so bytes that mean different things never match.

Perceptual, images: the DCT hash (pHash) of the reduced decode the image check already makes:
grey, area-resized to 32x32, the 8x8 lowest DCT frequencies against their median. Both steps
are linear, so one 8 x h and one 8 x w matrix do them together.
Perceptual, value payloads: the same pHash from a strided view of at most 12 pixels a side
(grid_hash, an average hash of 2x2 cells, was measured against it and finds far more
unrelated pairs).
Both are compiled where the kernels are built with AVX2 (scanner.kernels.phash: the median
by a sorting network; 0.11 against 0.65-0.76 us a raw 28x28 record); numpy's products and
sort give the same bits but for float rounding.
"""
from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np
import xxhash

from .. import kernels

KIND_NONE, KIND_IMAGE, KIND_VALUES = 0, 1, 2  # what a record's fingerprints were made from
NO_PICTURE = 0x80  # kind flag: only the bytes were hashed
_SEED = 0x64736361  # fixed: fingerprints from every worker and every run agree
_GREY = np.array([0.299, 0.587, 0.114], np.float32)  # RGB -> luma, as Pillow's "L"
_BYTES = np.dtype(np.uint8)
_PHASH_SIDE = 32
_SCRATCH_MAX = 16 << 20  # bytes: larger temporaries are not kept between batches
_scratch_space = threading.local()


def _scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array for a temporary of the hashes, kept between batches in this
    thread: fresh arrays of a few MB a batch cost more than the hashing itself (the allocator
    hands their pages back, and each page touched again is a fault: 0.7 us a raw record)."""
    size = math.prod(shape) * np.dtype(dtype).itemsize
    if size > _SCRATCH_MAX:
        return np.empty(shape, dtype)
    buffers = _scratch_space.__dict__.setdefault("buffers", {})
    buffer = buffers.get(name)
    if buffer is None or len(buffer) < size:
        buffer = buffers[name] = np.empty(max(size, 2 * len(buffer) if buffer is not None
                                              else size), np.uint8)
    return buffer[:size].view(dtype).reshape(shape)


def bytes_hash(data, tag: int = 0) -> int:
    """Exact hash of one payload (an encoded image's bytes)."""
    return xxhash.xxh3_64_intdigest(data, _SEED + tag)


def rows_hash(rows: np.ndarray, tag: int) -> np.ndarray:
    """Exact hashes of n equal-length payloads, (n, ...) of any dtype; `tag` (the shape and
    dtype) is mixed in (scanner.kernels.row_hashes: one pass, compiled where it is built)."""
    flat = rows.reshape(len(rows), -1)  # a view when each row is contiguous
    return kernels.row_hashes(_bytes_of(flat), _SEED ^ tag)


def rows_hashed(values: np.ndarray, tag: int, shape: tuple | None) -> tuple | None:
    """(rows_hash of uint8 or float32 samples (n, C, L), values_phash of them as pictures
    of shape = (C, H, W) (None: no shape, or no pictures), their (sums, squares, mins, maxs)
    as kernels.byte_rows or float_rows give them) in one compiled pass over the values
    (kernels.one_pass); None where it is not compiled for them."""
    picture = _picture(shape[1], shape[2]) if shape else None
    one_pass = kernels.hashed_byte_rows if values.dtype == np.uint8 else \
        kernels.hashed_float_rows
    made = one_pass(values, _SEED ^ tag, picture)
    return None if made is None else (made[0], made[2], made[1])


def values_tag(dtype, shape: tuple) -> int:
    """What row_hashes mixes in for value payloads of this dtype and shape (C, H, W), as
    rows_hash gives it: for hashes taken where the payloads are read (kernels.tagged_prints)."""
    return _SEED ^ shape_tag(KIND_VALUES, dtype, tuple(shape))


@lru_cache(maxsize=256)
def shape_tag(kind: int, dtype, shape: tuple) -> int:  # shape: a tuple
    """The tag mixed into exact hashes of payloads of one kind, dtype (a name or a numpy
    dtype) and shape; kept, as naming a numpy dtype costs several microseconds."""
    return xxhash.xxh3_64_intdigest(f"{kind}:{dtype}:{shape}".encode(), _SEED)


@lru_cache(maxsize=1024)
def _across_matrix(side: int) -> np.ndarray:
    """side x 8: _phash_matrix transposed, as the compiled hash takes it: its frequencies
    the highest first, so that each row of frequencies comes out in the order of its bits."""
    return np.ascontiguousarray(_phash_matrix(side).T[:, ::-1])


@lru_cache(maxsize=1024)
def _phash_matrix(side: int) -> np.ndarray:
    """8 x side: area resize of `side` pixels to 32, then the 8 lowest DCT-II frequencies."""
    scale = side / _PHASH_SIDE
    area = np.zeros((_PHASH_SIDE, side))
    for out in range(_PHASH_SIDE):
        low, high = out * scale, (out + 1) * scale
        for pixel in range(int(low), min(int(np.ceil(high)), side)):
            area[out, pixel] = min(high, pixel + 1) - max(low, pixel)
    area /= scale
    x = np.arange(_PHASH_SIDE)
    dct = np.cos(np.pi * (2 * x[None, :] + 1) * np.arange(8)[:, None] / (2 * _PHASH_SIDE))
    return np.ascontiguousarray((dct @ area).astype(np.float32))


def _bytes_of(flat: np.ndarray) -> np.ndarray:
    """The bytes of (n, k) rows as (n, k * itemsize) uint8, without a copy where each row's
    elements are contiguous."""
    return flat.view(np.uint8) if flat.strides[1] == flat.itemsize else \
        np.ascontiguousarray(flat).view(np.uint8)


def _bits(features: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """(n, 64) features above their row's threshold, packed into uint64 (bit 63 first)."""
    above = _scratch("above", features.shape, bool)
    np.greater(features, threshold, out=above)
    packed = np.packbits(above, axis=1)
    return np.ascontiguousarray(packed).view(">u8").astype(np.uint64).reshape(len(features))


def _product(rows: np.ndarray, matrix: np.ndarray, out: np.ndarray) -> np.ndarray:
    """rows @ matrix into `out`, in pieces small enough that the BLAS library runs each on
    this thread: OpenBLAS starts its threads above m*n*k = 262144, which on a busy machine
    (or beside the other workers) costs a hundred times the product itself."""
    step = max(1, 131072 // (matrix.shape[0] * matrix.shape[1]))
    for start in range(0, len(rows), step):
        np.matmul(rows[start:start + step], matrix, out=out[start:start + step])
    return out


def image_phash(pictures: np.ndarray) -> np.ndarray:
    """pHash of n decoded pictures of one size: (n, h, w) grey or (n, h, w, 3) RGB."""
    n, height, width = pictures.shape[:3]
    if pictures.ndim == 4:  # the channels as planes of the samples, RGB weighted to luma
        planes = pictures.reshape(n, height * width, 3).transpose(0, 2, 1)
        hashes = _compiled(planes, height, width, 1, 1, _GREY)
    else:
        hashes = _compiled(pictures.reshape(n, 1, -1), height, width, 1, 1)
    return _phash(_luma(pictures)) if hashes is None else hashes


def _luma(pictures: np.ndarray) -> np.ndarray:
    """(n, h, w) float32 grey of (n, h, w) grey or (n, h, w, 3) RGB pictures, as numpy's
    pHash takes them."""
    if pictures.ndim == 4:
        return pictures @ _GREY
    grey = _scratch("grey", pictures.shape, np.float32)
    np.copyto(grey, pictures)
    return grey


def pictures_phash(pictures: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """image_phash of decoded pictures of one size, each (h, w) grey or (h, w, 3) RGB and
    C-contiguous, hashed where they lie where it is compiled (no stacked copy), and which
    are flat: one grey value, no detail to hash (their frequencies are rounding noise, alike
    for blanks a power of two apart), their hash left 0."""
    height, width = pictures[0].shape[:2]
    colour = pictures[0].ndim == 3
    compiled = kernels.phash_pictures(pictures, height, width, 3 if colour else 1,
                                      *_matrices(height, width, 1, 1),
                                      _GREY if colour else None)
    if compiled is not None:
        return compiled
    grey = _luma(np.stack(pictures))
    points = grey.reshape(len(grey), -1)
    flat = (points == points[:, :1]).all(axis=1)
    hashes = _phash(grey)
    hashes[flat] = 0
    return hashes, flat


def _compiled(values: np.ndarray, height: int, width: int, step_y: int, step_x: int,
              weights: np.ndarray | None = None) -> np.ndarray | None:
    """The compiled pHash of samples (n, C, height * width) at a stride, where it is built."""
    return kernels.phash(values, height, width, step_y, step_x,
                         *_matrices(height, width, step_y, step_x), weights)


def _matrices(height: int, width: int, step_y: int, step_x: int) -> tuple:
    """(across, down) of the compiled hash for the grid at these strides."""
    return _across_matrix(-(-width // step_x)), _phash_matrix(-(-height // step_y))


def _phash(grey: np.ndarray) -> np.ndarray:
    """pHash of (n, h, w) float32 pictures."""
    n, height, width = grey.shape
    across = _product(grey.reshape(n * height, width), _phash_matrix(width).T,
                      _scratch("across", (n * height, 8), np.float32))
    freqs = _scratch("freqs", (n, 8, 8), np.float32)
    np.matmul(_phash_matrix(height), across.reshape(n, height, 8), out=freqs)
    freqs = freqs.reshape(n, 64)
    # against their median (a sort of 64 values is ten times cheaper than np.median here)
    ordered = _scratch("ordered", (n, 64), np.float32)
    np.copyto(ordered, freqs)
    ordered.sort(axis=1)
    middle = (ordered[:, 31] + ordered[:, 32]) / np.float32(2)
    return _bits(freqs, middle[:, None])


def pictured(height: int, width: int) -> bool:
    """Are samples of this size pictures that a perceptual hash can be taken of?"""
    return height >= 8 and width >= 8


def _picture(height: int, width: int) -> tuple | None:
    """(height, width, step_y, step_x, across, down): what the compiled pHashes take for
    pictures of this size; None when samples of it are no pictures."""
    if not pictured(height, width):
        return None
    steps = _grid_steps(height, width)
    return (height, width, *steps, *_matrices(height, width, *steps))


def _grid_steps(height: int, width: int) -> tuple[int, int]:
    """The strides of the view of at most 12 pixels a side that the pHash of values reads."""
    return -(-height // 12), -(-width // 12)


def tagged_phash(records: list, offset: int, channels: int, height: int,
                 width: int) -> np.ndarray | None:
    """values_phash of unpacked float_data samples left in their records (the first tag at
    `offset`), where it is compiled; None elsewhere, or when they are no pictures."""
    picture = _picture(height, width)
    return None if picture is None else kernels.phash_tagged(records, offset, channels,
                                                             *picture)


def values_phash(values: np.ndarray, height: int, width: int) -> np.ndarray | None:
    """pHash of n samples (n, C, H*W), channels summed, from a strided view of at most 12
    pixels a side (the low frequencies need no more: on the corpus crops it finds fewer
    unrelated pairs than 16 and costs a third less); None when the samples are too small
    to be pictures."""
    if not pictured(height, width):
        return None
    n, channels = values.shape[:2]
    step_y, step_x = _grid_steps(height, width)
    hashes = _compiled(values, height, width, step_y, step_x)
    if hashes is not None:
        return hashes
    planes = values.reshape(n, channels, height, width)
    view = planes[:, :, ::step_y, ::step_x]
    grey = _scratch("grey", (n, *view.shape[2:]), np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/Inf and huge values: data
        if channels > 1:  # channel by channel, as sum(axis=1) adds them, at a third of its cost
            np.add(view[:, 0], view[:, 1], out=grey, dtype=np.float32)
            for channel in range(2, channels):
                np.add(grey, view[:, channel], out=grey, dtype=np.float32)
        else:
            np.copyto(grey, view[:, 0])
        if values.dtype.kind == "f" and not np.isfinite(grey.sum()):  # one sum: all finite?
            np.nan_to_num(grey, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return _phash(grey)


def joined_values(records: list, length: int, payload_at: int, shape: tuple) -> tuple | None:
    """(rows (n, length) uint8, (exact, perceptual)) of raw records of `length` bytes: their
    bytes side by side, and the fingerprints of their uint8 payloads (C, H, W) = shape at
    payload_at as exact_values and values_phash give them (perceptual None: no pictures),
    each record hashed while its copy is in the cache (raw 28x28: 0.36 us a record against
    0.43 to join the batch and then hash it). None where it is not compiled."""
    picture = _picture(*shape[1:])
    steps, (across, down) = (picture[2:4], picture[4:]) if picture else (None, (None, None))
    joined = kernels.joined_prints(records, length, payload_at, shape,
                                   values_tag(_BYTES, shape), steps, across, down)
    return None if joined is None else (joined[0], joined[1:])


def grid_hash(values: np.ndarray, height: int, width: int) -> np.ndarray | None:
    """Average hash of n samples (n, C, H*W) at an 8x8 grid of 2x2 cells; None when the
    samples are too small to be pictures."""
    if height < 8 or width < 8:
        return None
    n, channels = values.shape[:2]
    planes = values.reshape(n, channels, height, width)
    rows, cols = _grid(height), _grid(width)
    total = None
    for dy in range(2 if rows[2] > 1 else 1):
        for dx in range(2 if cols[2] > 1 else 1):
            part = planes[:, :, rows[0] + dy:rows[1]:rows[2], cols[0] + dx:cols[1]:cols[2]]
            part = part.sum(axis=1, dtype=np.float32) if channels > 1 or \
                part.dtype.kind == "f" else part[:, 0].astype(np.uint16)
            total = part if total is None else total + part
    cells = total.reshape(n, 64)
    if cells.dtype.kind == "f":
        cells = np.nan_to_num(cells, nan=0.0, posinf=0.0, neginf=0.0)
    return _bits(cells * 64, cells.sum(axis=1, keepdims=True, dtype=np.float64))


def _grid(side: int) -> tuple[int, int, int]:
    """start, stop, step of 8 evenly spaced cells along a side."""
    step = side // 8
    start = (side - 8 * step) // 2
    return start, start + 8 * step, step


_BITS_OF_BYTE = np.array([bin(value).count("1") for value in range(256)], np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing bits of 64-bit hashes (broadcast); numpy before 2.0 has no bitwise_count,
    so there the bytes are counted through a table."""
    differ = np.bitwise_xor(a, b)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(differ).astype(np.int64)
    as_bytes = np.ascontiguousarray(differ, np.uint64).view(np.uint8)
    return _BITS_OF_BYTE[as_bytes].reshape(*differ.shape, 8).sum(axis=-1, dtype=np.int64)
