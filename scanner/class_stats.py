"""What label statistics a shuffled dataset would show: the baselines the order and batch
checks compare with, so that they flag real deficits and not chance."""
from __future__ import annotations

import math

import numpy as np

from .arrays import value_counts


def absence_probabilities(class_counts: np.ndarray, records: int, batch_size: int) -> np.ndarray:
    """For each class, the chance that a batch drawn from a shuffled dataset misses it
    (hypergeometric: no record of the class among `batch_size` drawn without replacement).
    Classes of equal size share one computation: at most sqrt(2 * records) distinct sizes."""
    draws = min(batch_size, records)
    steps = np.arange(draws, dtype=np.float64)
    sizes, position = np.unique(np.asarray(class_counts, np.float64), return_inverse=True)
    absent = np.zeros(len(sizes))
    for number, count in enumerate(sizes.tolist()):
        if records - count >= draws:
            absent[number] = float(np.exp(np.sum(np.log1p(-count / (records - steps)))))
    return absent[position]


def missing_tail(absent: np.ndarray, batch_size: int) -> np.ndarray:
    """tail[m] = P(a shuffled batch misses at least m classes), classes taken as independent
    (Poisson binomial). A batch holds at most `batch_size` classes, so only the chances of
    holding 0..batch_size of them are needed: the work grows with classes x batch size, and
    classes with the same chance of absence are taken together as one binomial."""
    classes = len(absent)
    cap = min(batch_size, classes)
    held = np.zeros(cap + 1)  # held[k] = P(the batch holds exactly k classes), k <= cap
    held[0] = 1.0
    chances, multiplicity = np.unique(absent, return_counts=True)
    for chance, count in zip(chances.tolist(), multiplicity.tolist()):
        held = np.convolve(held, _binomial(count, 1.0 - chance, cap))[:cap + 1]
    tail = np.ones(classes + 1)  # a batch always misses at least classes - cap classes
    tail[classes - cap:] = np.minimum(np.cumsum(held), 1.0)[::-1]
    return tail


def _binomial(trials: int, chance: float, cap: int) -> np.ndarray:
    """P(k successes in `trials`) for k = 0..min(trials, cap)."""
    top = min(trials, cap)
    if chance <= 0.0 or chance >= 1.0:
        pmf = np.zeros(top + 1)
        hit = 0 if chance <= 0.0 else trials
        if hit <= top:
            pmf[hit] = 1.0
        return pmf
    k = np.arange(top + 1, dtype=np.float64)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log((trials - k[1:] + 1) / k[1:]))])
    return np.exp(log_choose + k * math.log(chance) + (trials - k) * math.log1p(-chance))


def runs_z(labels: np.ndarray) -> tuple[int, float, float]:
    """Label runs in read order against a random permutation (the k-category runs test):
    the runs seen, the runs expected, and the z score (very negative: ordered data)."""
    total = len(labels)
    runs = int(np.count_nonzero(labels[1:] != labels[:-1])) + 1 if total else 0
    counts = value_counts(labels)[1].astype(np.float64)
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
