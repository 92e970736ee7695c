"""Per-record fingerprints as a shard collects them and as the merge concatenates them:
17 bytes a record (exact hash, perceptual hash, kind)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hashing import (KIND_IMAGE, KIND_VALUES, NO_PICTURE, bytes_hash, pictures_phash,
                      rows_hash, rows_hashed, shape_tag, values_phash)

_PICTURE_BATCH = 256  # decoded pictures of one size hashed together


@dataclass
class Fingerprints:
    """Dense per-record arrays, local to a shard or global after the merge."""

    exact: np.ndarray  # uint64
    perceptual: np.ndarray  # uint64
    kind: np.ndarray  # uint8: KIND_NONE (nothing hashed), KIND_IMAGE, KIND_VALUES

    @classmethod
    def empty(cls, records: int = 0) -> "Fingerprints":
        return cls(np.zeros(records, np.uint64), np.zeros(records, np.uint64),
                   np.zeros(records, np.uint8))

    @classmethod
    def concatenate(cls, parts: list["Fingerprints"]) -> "Fingerprints":
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, name) for p in parts])
                     for name in ("exact", "perceptual", "kind")))

    def __len__(self) -> int:
        return len(self.kind)


class FingerprintSink:
    """Collects fingerprints in a worker as the inspectors meet the payloads, in any order."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.indices: list[np.ndarray | slice] = []  # where each part's records are
        self.exact: list[np.ndarray] = []
        self.perceptual: list[np.ndarray] = []
        self.kinds: list[int] = []
        # decoded pictures waiting, by size: (indices, exact hashes, pictures)
        self.pictures: dict[tuple, tuple[list, list, list]] = {}
        self.waiting = 0  # pictures held, all sizes

    def add_image(self, index: int, data, pixels, order: str = "RGB") -> None:
        """An encoded image: its bytes, and the pixels its check decoded (or None) in their
        channel order ("RGB", "BGR" from OpenCV, "GRAY")."""
        if not self.enabled or data is None or not len(data):
            return  # no payload: nothing to be the same as
        picture = _as_picture(pixels, order)
        if picture is None:  # undecodable: only its bytes can match
            self._add([index], [bytes_hash(data, KIND_IMAGE)], None, KIND_IMAGE)
            return
        waiting = self.pictures.get(picture.shape)
        if waiting is None:
            waiting = self.pictures[picture.shape] = ([], [], [])
        waiting[0].append(index)
        waiting[1].append(bytes_hash(data, KIND_IMAGE))
        waiting[2].append(picture)
        self.waiting += 1
        if len(waiting[0]) >= _PICTURE_BATCH:
            self._hash_pictures(picture.shape)
        elif self.waiting >= 4 * _PICTURE_BATCH:  # pictures of many sizes: bound the memory
            for shape in list(self.pictures):
                self._hash_pictures(shape)

    def hash_values(self, indices, values: np.ndarray, shape: tuple | None,
                    exact: np.ndarray | None = None, hashes: tuple | None = None
                    ) -> tuple | None:
        """The fingerprints of samples (n, C, L) of one dtype and shape (raw data,
        float_data, HDF5 rows), held until `keep`: the samples' checks run in between, and a
        sample whose checks raise is not fingerprinted. `exact`: their exact hashes, when
        exact_values made them already; `hashes`: both (exact, perceptual), when the parse
        took them as it joined the records (hashing.joined_values). Samples left in their
        records (TaggedRows) hash themselves."""
        if not self.enabled or not len(values):
            return None
        if hashes is not None:
            return indices, *hashes
        if exact is None:
            exact = self.exact_values(values, shape)
        if not shape:
            perceptual = None
        elif not isinstance(values, np.ndarray):  # left in their records (TaggedRows)
            perceptual = values.phash(shape[1], shape[2])
        else:
            perceptual = values_phash(values, shape[1], shape[2])
        return indices, exact, perceptual

    def exact_values(self, values: np.ndarray, shape: tuple | None) -> np.ndarray | None:
        """The exact hashes of samples (n, C, L); None when fingerprints are off."""
        if not self.enabled:
            return None
        if not isinstance(values, np.ndarray):  # left in their records (TaggedRows)
            if values.exact is not None:  # taken as the parse read them
                return values.exact
            values = values[:]
        return rows_hash(values, _values_tag(values, shape))

    def hashed_with_figures(self, indices, values: np.ndarray, shape: tuple | None
                            ) -> tuple | None:
        """(what hash_values gives, (sums, squares, mins, maxs) as kernels.byte_rows or
        float_rows give them) of uint8 or float32 samples (n, C, L), all in one compiled
        pass; None when fingerprints are off or the pass is not compiled for them."""
        if not self.enabled or not isinstance(values, np.ndarray) or \
                values.dtype not in (np.uint8, np.float32):
            return None
        made = rows_hashed(values, _values_tag(values, shape), shape)
        return None if made is None else ((indices, made[0], made[1]), made[2])

    def keep(self, hashed: tuple | None, flat: np.ndarray | None = None) -> None:
        """Add what hash_values made. flat: a mask of the samples whose every channel holds
        one value (a blank frame, a solid colour): their picture has no detail to hash (its
        frequencies are rounding noise, alike for values a power of two apart), so only
        their bytes can match."""
        if hashed is None:
            return
        self._add_with_flat(*hashed, KIND_VALUES, flat)

    def _hash_pictures(self, shape: tuple) -> None:
        indices, exact, pictures = self.pictures.pop(shape)
        self.waiting -= len(indices)
        hashes, flat = pictures_phash(pictures)
        self._add_with_flat(indices, np.asarray(exact, np.uint64), hashes, KIND_IMAGE, flat)

    def _add_with_flat(self, indices, exact, perceptual, kind: int,
                      flat: np.ndarray | None) -> None:
        """_add, the flat samples (see keep) with their bytes only."""
        if perceptual is None or flat is None or not flat.any():
            self._add(indices, exact, perceptual, kind)
            return
        positions = np.asarray(indices, np.int64)
        for part in (~flat, flat):
            if part.any():
                self._add(positions[part], exact[part], None if part is flat else
                          perceptual[part], kind)

    def _add(self, indices, exact, perceptual, kind: int) -> None:
        """Hashes of the records at `indices`: a run of them (a range) is kept as a slice,
        which result() fills as a block rather than record by record."""
        run = isinstance(indices, range) and indices.step == 1
        self.indices.append(slice(indices.start, indices.stop) if run
                            else np.asarray(indices, np.int64))
        self.exact.append(np.asarray(exact, np.uint64))
        self.perceptual.append(np.zeros(len(exact), np.uint64) if perceptual is None
                               else np.asarray(perceptual, np.uint64))
        self.kinds.append(kind if perceptual is not None else -kind)

    def result(self, records: int) -> Fingerprints | None:
        """Dense arrays over the shard's records (KIND_NONE where nothing was hashed)."""
        if not self.enabled:
            return None
        for shape in list(self.pictures):
            self._hash_pictures(shape)
        prints = Fingerprints.empty(records)
        for indices, exact, perceptual, kind in zip(self.indices, self.exact, self.perceptual,
                                                    self.kinds):
            prints.exact[indices] = exact
            prints.perceptual[indices] = perceptual
            prints.kind[indices] = abs(kind) | (0 if kind > 0 else NO_PICTURE)
        return prints


def _values_tag(values: np.ndarray, shape: tuple | None) -> int:
    """The tag of value samples' exact hashes: their kind, dtype and shape."""
    return shape_tag(KIND_VALUES, values.dtype, tuple(shape or values.shape[1:]))


def _as_picture(pixels, order: str) -> np.ndarray | None:
    """A decoded picture as (h, w) or (h, w, 3) RGB uint8, C-contiguous, of at most about 64
    pixels on its short side (area-reduced); None if there is none to use. Called once an
    image: the common case (RGB uint8 at the reduced decode's size) takes no copy and no
    view."""
    if not isinstance(pixels, np.ndarray) or pixels.ndim not in (2, 3):  # None too
        return None
    kind = pixels.dtype.char
    if kind == "H":  # 16-bit PNG or TIFF as OpenCV decodes it
        pixels = (pixels >> 8).astype(np.uint8)
    elif kind != "B":
        return None
    shape = pixels.shape
    if len(shape) == 3:
        if shape[2] < 3:
            pixels = pixels[:, :, 0]  # grey (and alpha)
        elif order == "BGR":  # OpenCV's BGR as RGB, alpha dropped
            pixels = pixels[:, :, 2::-1]
        elif shape[2] > 3:
            pixels = pixels[:, :, :3]
    short = min(shape[0], shape[1])
    if short < 1:
        return None
    if short >= 128:  # OpenCV decodes at full size; the hash needs no more than this
        return _reduced(np.ascontiguousarray(pixels), short // 64)
    return pixels if pixels.flags.c_contiguous else np.ascontiguousarray(pixels)


def _reduced(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Mean of factor x factor blocks (what a reduced-scale JPEG decode gives)."""
    height, width = (pixels.shape[0] // factor) * factor, (pixels.shape[1] // factor) * factor
    blocks = pixels[:height, :width].reshape(height // factor, factor, width // factor, factor,
                                             *pixels.shape[2:])
    return blocks.mean(axis=(1, 3)).astype(np.uint8)


def merged(results: list) -> Fingerprints | None:
    """The shards' fingerprints concatenated in shard order (results already sorted)."""
    if all(getattr(r, "fingerprints", None) is None for r in results):
        return None
    return Fingerprints.concatenate([r.fingerprints if r.fingerprints is not None
                                     else Fingerprints.empty(r.records) for r in results])
