"""One pass over value samples for both their exact hashes and their figures (sums,
squares, extremes), where the kernels are compiled (native/hashed_bytes.c,
native/hashed_floats.c): each load of a sample feeds the two, so that large samples come
from memory once and are not read again from the cache (raw 3x256x256 records in memory:
12.8 us a record for both, against 23.3 for the two passes and 11.5 for the figures
alone). Their results are the two passes', bit for bit."""
from __future__ import annotations

import numpy as np

import scanner.kernels as kernels


def hashed_byte_rows(values: np.ndarray, tag: int, picture: tuple | None = None
                     ) -> tuple | None:
    """(row_hashes of each uint8 sample's bytes (n,), byte_rows' (sums, squares, mins,
    maxs) (n, C), phash's perceptual hashes (n,) or None) of samples (n, C, L) in one pass:
    each load feeds the hash and its channel's figures, so that large samples come from
    memory once and are not read again from the cache, and each sample's pHash is taken
    while it is in the cache. picture: (height, width, step_y, step_x, across, down) as
    phash takes them, or None for no perceptual hashes. None where it is not compiled (it
    needs AVX2) or where a sample's bytes are not contiguous (then the two passes do it)."""
    return _one_pass(values, np.uint8, 1, tag, picture)


def hashed_float_rows(values: np.ndarray, tag: int, picture: tuple | None = None
                      ) -> tuple | None:
    """(row_hashes of each float32 sample's bytes (n,), float_rows' (sums, squares, mins,
    maxs) (n, C), bit for bit, phash's perceptual hashes (n,) or None) of samples (n, C, L)
    in one pass, as hashed_byte_rows; None where it is not compiled (it needs AVX2), where
    a sample's values are not contiguous, or where L is not a multiple of 16 (its sums would
    not come in float_rows' order)."""
    made = _one_pass(values, np.float32, 16, tag, picture)
    return None if made is None else (made[0], kernels._zero_unsigned(made[1]), made[2])


def _one_pass(values: np.ndarray, dtype, multiple: int, tag: int, picture: tuple | None):
    """(exact, figures, perceptual or None) from the compiled pass for `dtype`, or None
    where it cannot take these samples."""
    native = kernels.native
    if native is None or not native.AVX2 or values.dtype != dtype or values.ndim != 3 or \
            not values.shape[2] or values.shape[2] % multiple or \
            values.strides[2] != values.itemsize or \
            (values.shape[1] > 1 and values.strides[1] != values.itemsize * values.shape[2]) or \
            not _pictures_fit(values, picture):
        return None
    exact = np.empty(len(values), np.uint64)
    figures = kernels._outputs(values.shape, dtype)
    perceptual = None if picture is None else np.empty(len(values), np.uint64)
    one_pass = native.hashed_byte_rows if dtype == np.uint8 else native.hashed_float_rows
    one_pass(values, kernels._HASH_KEYS, tag & 0xFFFFFFFFFFFFFFFF, exact, *figures,
             *(() if picture is None else (*picture, perceptual)))
    return exact, figures, perceptual


def _pictures_fit(values: np.ndarray, picture: tuple | None) -> bool:
    """Within the compiled pHash's bounds (or no pictures asked for)."""
    return picture is None or (max(picture[:2]) <= kernels._PHASH_SIDE_MAX and
                               values.shape[1] <= kernels._PHASH_CHANNELS_MAX)
