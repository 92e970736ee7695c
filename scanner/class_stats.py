"""What label statistics a shuffled dataset would show: the baselines the order and batch
checks compare with, so that they flag real deficits and not chance."""
from __future__ import annotations

import math

import numpy as np


def absence_probabilities(class_counts: np.ndarray, records: int, batch_size: int) -> np.ndarray:
    """For each class, the chance that a batch drawn from a shuffled dataset misses it
    (hypergeometric: no record of the class among `batch_size` drawn without replacement)."""
    draws = min(batch_size, records)
    steps = np.arange(draws, dtype=np.float64)
    absent = []
    for count in class_counts.astype(np.float64):
        if records - count < draws:
            absent.append(0.0)
            continue
        absent.append(float(np.exp(np.sum(np.log1p(-count / (records - steps))))))
    return np.array(absent)


def missing_tail(absent: np.ndarray) -> np.ndarray:
    """tail[m] = P(a shuffled batch misses at least m classes), classes taken as independent
    (Poisson binomial, exact by dynamic programming)."""
    pmf = np.zeros(len(absent) + 1)
    pmf[0] = 1.0
    for q in absent:
        pmf[1:] = pmf[1:] * (1 - q) + pmf[:-1] * q
        pmf[0] *= 1 - q
    return np.cumsum(pmf[::-1])[::-1]


def runs_z(labels: np.ndarray) -> tuple[int, float, float]:
    """Label runs in read order against a random permutation (the k-category runs test):
    the runs seen, the runs expected, and the z score (very negative: ordered data)."""
    total = len(labels)
    runs = int(np.count_nonzero(labels[1:] != labels[:-1])) + 1 if total else 0
    counts = np.unique(labels, return_counts=True)[1].astype(np.float64)
    square, cube = float(np.sum(counts ** 2)), float(np.sum(counts ** 3))
    expected = (total * (total + 1) - square) / total if total else 0.0
    if total < 3:
        return runs, expected, 0.0
    variance = (square * (square + total * (total + 1)) - 2 * total * cube - total ** 3) / \
        (total ** 2 * (total - 1))
    return runs, expected, (runs - expected) / math.sqrt(variance) if variance > 0 else 0.0


def bonferroni_floor(tests: int, alpha: float = 0.01) -> float:
    """The tail probability below which one of `tests` results is a real deficit."""
    return alpha / max(tests, 1)
