"""Caffe's read order: which records form each batch the net sees.

The DataLayer cursor walks keys in bytewise order and wraps to the first record to complete
the last batch. With S solvers, record offset o goes to solver o % S, and each solver forms
its own batches of B from what it receives.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import absent_from, value_counts
from .class_stats import absence_probabilities, bonferroni_floor, missing_tail


def batch_matrix(records: int, batch_size: int, solvers: int = 1) -> np.ndarray:
    """Record indices of one epoch's batches, one row per batch, in the order they are read
    (batch 0 of every solver, then batch 1, ...); the last batch is completed by wrapping."""
    if records <= 0:
        return np.empty((0, batch_size), np.int64)
    per_solver_batches = -(-records // (batch_size * solvers))
    batch = np.arange(per_solver_batches)[:, None, None]
    solver = np.arange(solvers)[None, :, None]
    item = np.arange(batch_size)[None, None, :]
    offsets = (batch * batch_size + item) * solvers + solver
    return (offsets % records).reshape(-1, batch_size)


def first_positions(matrix: np.ndarray, records: int) -> np.ndarray:
    """For each record, its first position in the read sequence of `matrix`."""
    flat = matrix.ravel()
    positions = np.full(records, -1, np.int64)
    unique, first = np.unique(flat, return_index=True)
    positions[unique] = first
    return positions


def read_position(offset: int, batch_size: int, solvers: int = 1) -> int:
    """Position in the flattened `batch_matrix` order of the record at cursor offset `offset`."""
    solver, per_solver = offset % solvers, offset // solvers
    batch, item = divmod(per_solver, batch_size)
    return (batch * solvers + solver) * batch_size + item


WORST_BATCHES = 10
MAX_LISTED_CLASSES = 50


@dataclass
class BatchAnalysis:
    """Per batch of one epoch: which records, how many distinct classes, which fall short."""

    labels: np.ndarray  # the class labels analysed (invalid ones set to missing)
    matrix: np.ndarray  # record indices, one row per batch in read order
    classes: np.ndarray  # classes present in the dataset
    distinct: np.ndarray  # distinct classes per batch
    deficit_rows: np.ndarray  # batches missing more classes than a shuffle explains
    expected_distinct: float
    summary: dict  # the report's `batches` section


def analyse(labels: np.ndarray, batch_size: int, solvers: int,
            missing_label: int) -> BatchAnalysis | None:
    """Class coverage of every batch Caffe would form in one epoch (with the wrap-around),
    against what a shuffled dataset would give. None when there are no class labels."""
    known = labels != missing_label
    if not known.any():
        return None
    classes, class_counts = value_counts(labels[known])
    matrix = batch_matrix(len(labels), batch_size, solvers)
    ordered = np.sort(labels[matrix], axis=1)
    starts = np.ones(ordered.shape, bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    distinct = np.count_nonzero(starts & (ordered != missing_label), axis=1)
    missing = len(classes) - distinct
    absent = absence_probabilities(class_counts, int(known.sum()), batch_size)
    tail = missing_tail(absent, batch_size)
    deficit = tail[missing] < bonferroni_floor(len(matrix))
    order = np.lexsort((np.arange(len(matrix)), -missing))
    worst = [_describe(row, matrix, labels, classes, solvers, int(missing[row]))
             for row in order[:WORST_BATCHES].tolist() if missing[row] > 0]
    expected = round(float(np.sum(1 - absent)), 2)
    summary = {
        "batch_size": batch_size, "solvers": solvers, "count": len(matrix),
        "classes": len(classes),
        "batches_missing_classes": int(np.count_nonzero(missing)),
        "expected_batches_missing_classes_if_shuffled": round(float(tail[1]) * len(matrix), 2),
        "batches_with_a_real_deficit": int(np.count_nonzero(deficit)),
        "single_class_batches": int(np.count_nonzero(distinct == 1)) if batch_size > 1 else 0,
        "distinct_classes_per_batch": {
            "min": int(distinct.min()), "median": float(np.median(distinct)),
            "max": int(distinct.max()), "expected_if_shuffled": expected,
            "histogram": {str(k): int(v) for k, v in zip(*np.unique(distinct,
                                                                  return_counts=True))}},
        "worst": worst,
    }
    return BatchAnalysis(labels, matrix, classes, distinct, np.flatnonzero(deficit), expected,
                         summary)


def first_absent(classes: np.ndarray, batch_labels: np.ndarray,
                 limit: int = MAX_LISTED_CLASSES) -> list[int]:
    """The first `limit` of the (sorted) dataset classes a batch lacks: they lie among the
    first limit + batch size classes, so the work does not grow with the class count."""
    return absent_from(classes[:limit + len(batch_labels)], batch_labels)[:limit].tolist()


def _describe(row: int, matrix: np.ndarray, labels: np.ndarray, classes: np.ndarray,
              solvers: int, missing: int) -> dict:
    absent = first_absent(classes, labels[matrix[row]])
    return {"batch": row // solvers, "solver": row % solvers,
            "first_index": int(matrix[row, 0]), "last_index": int(matrix[row, -1]),
            "missing_count": missing, "missing": absent[:MAX_LISTED_CLASSES]}
