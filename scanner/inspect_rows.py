"""Inspect HDF5 rows: slabs of the data top and the label top, checked many rows at once."""
from __future__ import annotations

import numpy as np

from .checks.registry import Problem
from .inspect import ShardInspector
from .settings import ScanSettings
from .types import CLASS_INDEX_MAX, CLASS_INDEX_MIN, MISSING_LABEL, WARNING


def sample_shape(trailing: tuple) -> tuple[int, int, int]:
    """A row's shape as (channels, height, width): (C, H, W) as is, fewer dims padded with 1,
    more folded into the width."""
    dims = list(trailing) or [1]
    if len(dims) > 3:
        dims = dims[:2] + [int(np.prod(dims[2:]))]
    return tuple([1] * (3 - len(dims)) + dims)


def _fits_int32(values: np.ndarray) -> np.ndarray:
    """Integer labels of any width that int32 holds (unsigned ones compared unsigned)."""
    if values.dtype.kind == "u":
        return values.astype(np.uint64) <= np.uint64(CLASS_INDEX_MAX)
    wide = values.astype(np.int64)
    return (wide >= CLASS_INDEX_MIN) & (wide <= CLASS_INDEX_MAX)


class RowInspector(ShardInspector):
    """Turns slabs of rows ({top: array}, in read order) into one shard's result."""

    def __init__(self, settings: ScanSettings, name: str, first_row: int):
        super().__init__(settings)
        self.name = name
        self.first_row = first_row  # the shard's first row within its file
        self.pixel_classes: dict[int, int] = {}

    def result(self, number: int, store_error: dict | None = None):
        result = super().result(number, store_error)
        result.pixel_classes = self.pixel_classes
        return result

    def key(self, position: int) -> bytes:
        return f"{self.name}:{self.first_row + position}".encode()

    def inspect_slab(self, position: int, arrays: dict) -> None:
        """Check rows [position, position + n) of the shard."""
        data = arrays[self.settings.data_top]
        rows = len(data)
        indices = range(self.records, self.records + rows)
        keys = [self.key(position + row) for row in range(rows)]
        channels, height, width = sample_shape(data.shape[1:])
        if height * width:  # samples of shape (0,) hold no value to check (DS408)
            values = data.reshape(rows, channels, height * width)
            self.check_values(values, indices, keys, (data.dtype.name, channels),
                              (channels, height, width))
        self.shape_ids.extend([self.shape_id((channels, height, width))] * rows)
        self.encodings[f"hdf5-{data.dtype.name}"] += rows
        label_top = self.settings.label_top
        if label_top and label_top in arrays:
            self._labels(arrays[label_top], indices, keys)
        else:
            self.labels.extend([MISSING_LABEL] * rows)
        self.records += rows

    def _labels(self, labels: np.ndarray, indices, keys) -> None:
        rows = len(labels)
        if labels.ndim > 2:  # (N, 1, H, W) and the like: a label map per sample
            self._label_maps(labels, indices, keys)
            return
        if labels.ndim == 2 and labels.shape[1] != 1:
            self.labels.extend([MISSING_LABEL] * rows)  # multi-label rows: no class index
            return
        flat = labels.reshape(rows)
        if flat.dtype.kind in "iu":  # compared as integers: int64/uint64 exactly, no rounding
            whole = np.ones(rows, bool)
            fits = _fits_int32(flat)
        else:
            flat = flat.astype(np.float64)
            finite = np.isfinite(flat)
            whole = finite & (flat == np.round(flat))
            for row in np.flatnonzero(~finite).tolist():
                self.sink.add(indices[row], keys[row], Problem(
                    "DS302", f"label is {flat[row]}", {"label": str(flat[row])}))
            if self.settings.num_classes is not None:
                for row in np.flatnonzero(finite & ~whole).tolist():
                    self.sink.add(indices[row], keys[row], Problem(
                        "DS302", f"class label {flat[row]:g} is not a whole number",
                        {"label": float(flat[row])}))
            with np.errstate(invalid="ignore"):
                fits = whole & (flat >= CLASS_INDEX_MIN) & (flat <= CLASS_INDEX_MAX)
        for row in np.flatnonzero(whole & ~fits).tolist():
            self.sink.add(indices[row], keys[row], self._beyond_int32(flat[row].item()))
        as_int = np.where(fits, flat, 0).astype(np.int64)
        self.labels.frombytes(np.where(fits, as_int, MISSING_LABEL).astype(np.int64).tobytes())

    def _beyond_int32(self, label) -> Problem:
        """A whole label no int can hold: Caffe casts labels to int, so it is no class."""
        shown = f"{label:g}" if isinstance(label, float) else str(label)
        detail = {"label": label if isinstance(label, int) else shown}
        classes = self.settings.num_classes
        if classes is not None:
            return Problem("DS301", f"label {shown} outside [0, {classes}) (beyond int32)",
                           detail)
        return Problem("DS301", f"label {shown} is beyond int32, so no class index Caffe can "
                       "use; give --num-classes to check strictly", detail, severity=WARNING)

    def _label_maps(self, maps: np.ndarray, indices, keys) -> None:
        """Segmentation: per-class pixel counts, and maps with no foreground (DS307)."""
        rows = len(maps)
        flat = maps.reshape(rows, -1)
        background = flat == self.settings.background
        if self.settings.ignore_label is not None:
            background |= flat == self.settings.ignore_label
        for row in np.flatnonzero(background.all(axis=1)).tolist():
            self.sink.add(indices[row], keys[row], Problem(
                "DS307", f"all {flat.shape[1]} pixels are background "
                f"({self.settings.background}) or ignored", {"pixels": int(flat.shape[1])}))
        classes, counts = np.unique(flat, return_counts=True)
        if np.all(classes == np.round(classes)):
            classes = classes.astype(np.int64)  # float maps of class ids: name them as ints
        for value, count in zip(classes.tolist(), counts.tolist()):
            self.pixel_classes[value] = self.pixel_classes.get(value, 0) + count
        self.labels.extend([MISSING_LABEL] * rows)
