"""Inspect HDF5 rows: slabs of the data top and the label top, checked many rows at once."""
from __future__ import annotations

import numpy as np

from .checks.registry import Problem
from .inspect import ShardInspector
from .settings import ScanSettings
from .types import MISSING_LABEL


def sample_shape(trailing: tuple) -> tuple[int, int, int]:
    """A row's shape as (channels, height, width): (C, H, W) as is, fewer dims padded with 1,
    more folded into the width."""
    dims = list(trailing) or [1]
    if len(dims) > 3:
        dims = dims[:2] + [int(np.prod(dims[2:]))]
    return tuple([1] * (3 - len(dims)) + dims)


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
        values = data.reshape(rows, channels, height * width)
        self.check_values(values, indices, keys, (str(data.dtype), channels),
                          (channels, height, width))
        self.shape_ids.extend([self.shape_id((channels, height, width))] * rows)
        self.encodings[f"hdf5-{data.dtype}"] += rows
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
        flat = labels.reshape(rows).astype(np.float64)
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
        as_int = np.where(whole, flat, 0).astype(np.int64)
        self.labels.extend(np.where(whole, as_int, MISSING_LABEL).tolist())

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
