"""Checks on labels over the whole dataset and over the batches Caffe forms, in read order."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..arrays import distinct, share_any, value_counts
from ..batches import first_absent
from ..class_stats import runs_z
from ..labels import class_labels
from ..types import ERROR, GARBAGE, INFO, MISSING_LABEL, WARNING, Finding
from .registry import Problem, get, register

if TYPE_CHECKING:
    from ..aggregate import ScanTotals

ORDER_Z = -5.0  # runs this far below a shuffle's are no accident (p < 3e-7)


def _records(count: int) -> str:
    return f"{count} record{'s' if count != 1 else ''}"


def _known(totals: ScanTotals) -> np.ndarray:
    return totals.labels[totals.labels != MISSING_LABEL]


def _class_range(totals: ScanTotals) -> tuple[int, bool] | None:
    """(K, inferred?) from --num-classes, or from the labels themselves."""
    settings = totals.sink.settings
    if settings.num_classes is not None:
        return settings.num_classes, False
    inferred = totals.label_range
    return (inferred.num_classes, True) if inferred else None


def _keep(totals: ScanTotals, code: str, message: str, detail: dict,
          index: int | None = None) -> None:
    """A finding about the dataset or a batch: counted, but marks no record."""
    if totals.sink.settings.reports(code):
        totals.sink.keep(Finding(code, get(code).severity, index, None, message, detail))


@register("DS301", ERROR, "label outside [0, num_classes)", "dataset", GARBAGE,
          fix=("Fix the labels at the source, or set num_output (--num-classes) to cover them; "
               "use ignore_label for 'no label'."))
def label_out_of_range(totals: ScanTotals) -> None:
    """What it finds: a label below 0 or at least `--num-classes`, other than `--ignore-label`.
    Without `--num-classes`, a warning for labels that look like typos: negative, or rare
    values with no neighbour far outside the range of the common ones (12 in a 0..9 set).
    An HDF5 label no int holds (3e9, 1e30, a uint64 maximum) is reported where it is read:
    an error with `--num-classes`, a warning without.

    Why it matters: SoftmaxWithLoss and Accuracy check the range only in debug builds; a
    release build reads a neighbouring probability and reports a plausible but wrong loss
    and accuracy, and on GPU the loss can silently turn into nan.

    Example: label 10 in a 10-class dataset after a typo in the list file.
    """
    settings = totals.sink.settings
    labels = totals.labels
    known = labels != MISSING_LABEL
    if settings.num_classes is not None:
        bad = known & ((labels < 0) | (labels >= settings.num_classes))
        if settings.ignore_label is not None:
            bad &= labels != settings.ignore_label
        for index in np.flatnonzero(bad).tolist():
            label = int(labels[index])
            totals.sink.add(index, None, Problem(
                "DS301", f"label {label} outside [0, {settings.num_classes})", {"label": label}))
        return
    inferred = totals.label_range
    if inferred is None or not inferred.outliers:
        return
    for index in np.flatnonzero(known & np.isin(labels, list(inferred.outliers))).tolist():
        label = int(labels[index])
        totals.sink.add(index, None, Problem(
            "DS301", f"label {label} ({_records(inferred.outliers[label])}) lies far outside the "
            f"main range {inferred.low}..{inferred.high}; give --num-classes to check strictly",
            {"label": label, "inferred_range": [inferred.low, inferred.high]},
            severity=WARNING))


@register("DS303", WARNING, "class never present in 0..K-1", "dataset",
          fix=("Check that the class is meant to be absent; otherwise add its records, or "
               "renumber the classes to 0..K-1 and set num_output to K."))
def absent_classes(totals: ScanTotals) -> None:
    """What it finds: class indices in [0, K) with no record, K from `--num-classes` or, when
    not given, inferred from the labels (and said to be inferred). One finding per run of
    absent classes ("classes 6..9999999 have no record"), the first 200 runs one by one and
    any further ones together in one finding.

    Why it matters: the net still has an output for the class and learns to never predict
    it; a gap usually means a conversion list lost a folder, or labels were shifted.

    Example: a 10-class list where every class-7 path was misspelled and skipped.
    """
    known = _class_range(totals)
    if known is None:
        return
    classes, inferred = known
    present = distinct(_known(totals))
    one_based = not np.any(present == 0) and bool(np.any(present == 1))
    suffix = f" in [0, {classes})" + (" (K inferred from the labels)" if inferred else "")
    firsts, lasts = absent_ranges(present, classes)
    listed = min(len(firsts), MAX_ABSENT_RUNS)
    for first, last in zip(firsts[:listed].tolist(), lasts[:listed].tolist()):
        hint = "; labels start at 1, Caffe's classes start at 0" if first == 0 and one_based \
            else ""
        count = last - first + 1
        text = f"class {first} has no record" if count == 1 else \
            f"classes {first}..{last} have no record ({count:,} classes)"
        _keep(totals, "DS303", text + suffix + hint,
              {"class": first, "last": last, "classes": count, "num_classes": classes,
               "inferred": inferred})
    if len(firsts) > listed:  # the rest in one finding: a few hundred lines say it all
        first, last = int(firsts[listed]), int(lasts[-1])
        count = int(np.sum(lasts[listed:] - firsts[listed:] + 1))
        _keep(totals, "DS303", f"{len(firsts) - listed:,} more runs of absent classes between "
              f"{first} and {last} ({count:,} classes){suffix}",
              {"class": first, "last": last, "classes": count, "runs": len(firsts) - listed,
               "num_classes": classes, "inferred": inferred})


MAX_ABSENT_RUNS = 200  # runs of absent classes reported one by one; the rest in one finding


def absent_ranges(present: np.ndarray, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The runs of class indices in [0, classes) with no record: their first and last
    classes. The work grows with the labels present, not with the number of classes."""
    inside = present[(present >= 0) & (present < classes)].astype(np.int64)
    bounds = np.concatenate([[-1], inside, [classes]])
    gaps = np.flatnonzero(np.diff(bounds) > 1)
    return bounds[gaps] + 1, bounds[gaps + 1] - 1


@register("DS304", WARNING, "batches missing more classes than chance explains (read order)",
          "dataset",
          fix=("Shuffle the records when converting (convert_imageset --shuffle; HDF5Data: "
               "shuffle: true)."))
def batches_missing_classes(totals: ScanTotals) -> None:
    """What it finds: batches, as Caffe forms them from the read order at `--batch-size` (and
    `--solvers`), that hold far fewer classes than batches of a shuffled dataset would: a
    shortfall with less than 1% / (number of batches) chance under shuffling. A batch that
    lacks a class or two as a shuffled one would is not counted: the summary's batch line
    counts every batch lacking any class, and how many of them DS304 counts.

    Why it matters: a loss normalised by label frequency in the batch turns nan when a label
    is missing; with sorted data the gradient also swings from class to class every few
    iterations and the loss jumps.

    Example: an unshuffled LMDB at batch 16 where every batch holds a single class.
    """
    analysis = totals.batches
    if analysis is None:
        return
    for row in analysis.deficit_rows.tolist():
        labels = analysis.labels[analysis.matrix[row]]
        absent = first_absent(analysis.classes, labels)
        batch, solver = divmod(row, totals.sink.settings.solvers)
        _keep(totals, "DS304",
              f"batch {batch}{f' (solver {solver})' if solver else ''} holds "
              f"{analysis.distinct[row]} of {len(analysis.classes)} classes where a shuffled "
              f"batch holds {analysis.expected_distinct:g} on average",
              {"batch": batch, "solver": solver, "distinct": int(analysis.distinct[row]),
               "expected_if_shuffled": analysis.expected_distinct, "missing": absent},
              index=int(analysis.matrix[row, 0]))


@register("DS305", WARNING, "records ordered by label (not shuffled)", "dataset",
          fix=("Shuffle the records when converting (convert_imageset --shuffle; HDF5Data: "
               "shuffle: true)."))
def ordered_by_label(totals: ScanTotals) -> None:
    """What it finds: far fewer label changes along the read order than a random order gives
    (k-category runs test, z below -5), with the longest single-label run and whether the two
    halves share any class.

    Why it matters: Caffe reads in key order. Sorted data feeds one class for hundreds of
    iterations, the net forgets the others, and the loss jumps every time the class changes.

    Example: `convert_imageset` without `--shuffle` on a list sorted by folder.
    """
    labels = _known(totals)
    if len(labels) < 20 or len(distinct(labels)) < 2:
        return
    runs, expected, z = runs_z(labels)
    if z >= ORDER_Z:
        return
    changes = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    bounds = np.concatenate([[0], changes, [len(labels)]])
    longest = int(np.argmax(np.diff(bounds)))
    half = len(labels) // 2
    disjoint = not share_any(labels[:half], labels[half:])
    start = int(np.flatnonzero(totals.labels != MISSING_LABEL)[bounds[longest]])
    _keep(totals, "DS305",
          f"{runs} label runs in read order where a shuffle gives {expected:.0f} (z = {z:.1f});"
          f" longest run {int(np.diff(bounds)[longest])} records"
          + ("; the two halves share no class" if disjoint else "")
          + ". Shuffle when converting (convert_imageset --shuffle; HDF5Data: shuffle: true)",
          {"runs": runs, "expected_runs": round(expected, 1), "z": round(z, 2),
           "longest_run": int(np.diff(bounds)[longest]), "halves_disjoint": disjoint},
          index=start)


@register("DS306", INFO, "class imbalance beyond --imbalance-ratio", "dataset",
          fix="Balance the classes (resample, or weight the loss) if the rare classes matter.")
def class_imbalance(totals: ScanTotals) -> None:
    """What it finds: the most frequent class has more than `--imbalance-ratio` (default 10)
    times the records of the least frequent one present. Only valid classes count: labels
    in [0, `--num-classes`) (without it, the range the labels suggest), never the ignore
    label, a label out of range (DS301) or a record without a label.

    Why it matters: an unweighted loss then mostly learns the frequent classes; accuracy
    looks good while the rare classes are never predicted.

    Example: 50000 background crops and 800 of each object class.
    """
    settings = totals.sink.settings
    valid = class_labels(totals.labels, settings.num_classes, settings.ignore_label,
                         MISSING_LABEL, totals.label_range)
    labels = valid[valid != MISSING_LABEL]
    if not len(labels):
        return
    values, counts = value_counts(labels)
    ratio = counts.max() / counts.min()
    limit = settings.imbalance_ratio
    if len(values) > 1 and ratio > limit:
        most, least = int(np.argmax(counts)), int(np.argmin(counts))
        left_out = len(_known(totals)) - len(labels)
        _keep(totals, "DS306",
              f"class {values[most]} has {counts[most]} records, class {values[least]} "
              f"{counts[least]}: ratio {ratio:.1f} > {limit:g}"
              + (f"; {_records(left_out)} whose label is no class (out of range or the "
                 "ignore label) not counted" if left_out else ""),
              {"ratio": round(float(ratio), 2), "most": [int(values[most]), int(counts[most])],
               "least": [int(values[least]), int(counts[least])],
               "classes": len(values), "records_not_counted": left_out})


LABEL_CHECKS = (label_out_of_range, absent_classes, batches_missing_classes, ordered_by_label,
                class_imbalance)
