"""Inferring the class range from the labels alone."""
import numpy as np

from scanner.labels import infer_range


def _labels(*pairs):
    return np.repeat([v for v, _ in pairs], [n for _, n in pairs]).astype(np.int64)


def test_a_rare_isolated_value_far_outside_is_an_outlier():
    inferred = infer_range(_labels(*[(v, 5) for v in range(10)], (12, 1)))
    assert (inferred.low, inferred.high, inferred.outliers) == (0, 9, {12: 1})
    assert inferred.num_classes == 10


def test_a_rare_value_next_to_the_range_is_a_class_not_a_typo():
    assert infer_range(_labels(*[(v, 50) for v in range(10)], (10, 1))).outliers == {}


def test_negative_labels_are_outliers_unless_ignored():
    labels = _labels(*[(v, 50) for v in range(5)], (-1, 40))
    assert infer_range(labels).outliers == {-1: 40}
    assert infer_range(labels, ignore_label=-1).outliers == {}


def test_a_typo_among_large_classes_is_found_by_share():
    labels = _labels(*[(v, 1000) for v in range(10)], (1000, 3))
    assert infer_range(labels).outliers == {1000: 3}


def test_no_labels_no_range():
    assert infer_range(np.empty(0, np.int64)) is None


def test_class_labels_keep_only_valid_classes():
    from scanner.labels import class_labels

    missing = -(2 ** 63)
    labels = np.array([0, 1, 9, 10, -1, 255, missing], np.int64)
    assert class_labels(labels, 10, 255, missing).tolist() == [0, 1, 9] + [missing] * 4
    inferred = _labels(*[(v, 5) for v in range(10)], (12, 1))
    assert 12 not in class_labels(inferred, None, None, missing).tolist()
