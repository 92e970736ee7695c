"""What the labels say about the classes when nobody told dscan how many there are."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import value_counts

RARE_SHARE = 0.05  # a value seen less than 5% as often as the median class is rare


@dataclass
class LabelRange:
    low: int
    high: int  # inclusive
    outliers: dict[int, int]  # label value -> count: rare, isolated and outside [low, high]

    @property
    def num_classes(self) -> int:
        return self.high + 1


def infer_range(labels: np.ndarray, ignore_label: int | None = None) -> LabelRange | None:
    """The main block of labels, and the few values that look like typos outside it.

    A value is an outlier when it is rare (seen at most max(1, 5% of the median class count)
    times), has no neighbouring value present (v-1 and v+1 absent), and lies outside the
    range of the common values. Negative values are always outside a Caffe class range."""
    if ignore_label is not None:
        labels = labels[labels != ignore_label]
    if not len(labels):
        return None
    values, counts = value_counts(labels)
    rare_limit = max(1.0, RARE_SHARE * float(np.median(counts)))
    common = values[counts > rare_limit]
    if not len(common):
        common = values
    low, high = int(max(common.min(), 0)), int(common.max())
    present = set(values.tolist())
    outliers = {}
    for value, count in zip(values.tolist(), counts.tolist()):
        isolated = value - 1 not in present and value + 1 not in present
        if value < 0 or (count <= rare_limit and isolated and not low <= value <= high):
            outliers[value] = count
    return LabelRange(low, high, outliers)


def class_labels(labels: np.ndarray, num_classes: int | None, ignore_label: int | None,
                 missing: int, inferred: LabelRange | None = None) -> np.ndarray:
    """Labels that are valid class indices; every other one (out of range, ignored, a likely
    typo) set to `missing`, so batch coverage counts real classes only. Without
    `num_classes`, `inferred` (from infer_range, computed here if not given) says which
    values are typos."""
    known = labels != missing
    valid = known.copy()
    if ignore_label is not None:
        valid &= labels != ignore_label
    if num_classes is not None:
        valid &= (labels >= 0) & (labels < num_classes)
    else:
        inferred = inferred or infer_range(labels[known], ignore_label)
        if inferred is not None and inferred.outliers:
            valid &= ~np.isin(labels, list(inferred.outliers))
    return np.where(valid, labels, missing)
