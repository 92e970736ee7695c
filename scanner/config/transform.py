"""Compare a data layer's `transform_param` with the records a scan found: mean file and
mean values against the channels and size, crop against the smallest records."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..arrays import distinct
from ..aggregate import ScanTotals
from ..checks.net_checks import crop_too_large, ignored_setting, mean_shape, mean_value_count
from ..checks.registry import Problem
from .mean import MeanFile
from .prototxt import Message

_HDF5_TRANSFORMS = ("scale", "mean_file", "mean_value", "crop_size", "mirror", "force_color",
                    "force_gray")
_NOT_ENCODED = ("raw", "float", "invalid", "empty", "image-flagged-raw", "not-inspected")


def transform_problems(layer_type: str, transform: Message, totals: ScanTotals,
                       mean: MeanFile | None) -> list[Problem]:
    """Problems Caffe's DataTransformer would meet with these records, in read order."""
    if layer_type == "HDF5Data":
        written = [name for name in _HDF5_TRANSFORMS if transform.has(name)]
        return [ignored_setting("transform_param." + name, "HDF5Data applies no "
                                "transformation") for name in written]
    problems = []
    encoded = any(kind not in _NOT_ENCODED and totals.encodings[kind]
                  for kind in totals.encodings)
    for name in ("force_color", "force_gray"):
        if layer_type == "Data" and transform.flag(name) and not encoded:
            problems.append(ignored_setting(name, "it applies to encoded datums only, and "
                                            "these are raw"))
    if mean is not None and mean.usable:
        chw = mean.blob.chw
        found = _records(totals, lambda shapes: np.any(shapes != chw, axis=1))
        if found:
            problems.append(mean_shape(chw, *found))
    values = len(transform.numbers("mean_value"))
    if values > 1:
        found = _records(totals, lambda shapes: shapes[:, 0] != values)
        if found:
            shape, first, count = found
            problems.append(mean_value_count(values, shape[0], first, count))
    crop = transform.integer("crop_size", 0)
    if crop > 0:
        found = _records(totals, lambda shapes: np.minimum(shapes[:, 1], shapes[:, 2]) < crop)
        if found:
            problems.append(crop_too_large(crop, _smallest(totals, crop), *found[1:]))
    return problems


def _records(totals: ScanTotals, odd: Callable[[np.ndarray], np.ndarray]):
    """(the first odd record's C, H, W; its index; how many are odd) or None."""
    if not totals.shapes:
        return None
    table = np.array(totals.shapes, np.int64)
    odd_ids = np.flatnonzero(odd(table))
    hits = np.flatnonzero(np.isin(totals.shape_ids, odd_ids))
    if not len(hits):
        return None
    first = int(hits[0])
    return tuple(table[totals.shape_ids[first]].tolist()), first, int(len(hits))


def _smallest(totals: ScanTotals, crop: int) -> tuple[int, int]:
    table = np.array(totals.shapes, np.int64)
    used = distinct(totals.shape_ids[totals.shape_ids >= 0])
    sides = table[used][:, 1:]
    small = sides[np.minimum(sides[:, 0], sides[:, 1]) < crop]
    low = small[np.argmin(np.minimum(small[:, 0], small[:, 1]))]
    return int(low[0]), int(low[1])
