"""Caffe's read order: batches as real Caffe formed them, and the order/coverage checks."""
import json
import os

import numpy as np
import pytest

from scanner.batches import batch_matrix, read_position
from scanner.checks import CATALOGUE
from scanner.scan import scan
from scanner.settings import ScanSettings
from scanner.types import MISSING_LABEL

from .conftest import FIXTURES
from .scanning import scan_report

with open(os.path.join(FIXTURES, "caffe_batches.json")) as _handle:
    CAFFE = json.load(_handle)


def _outcome(path, backend, **settings):
    # The checkout's fixtures are read in place: lock-free, no reader slot in their lock.mdb.
    return scan(backend, path, ScanSettings(enabled=frozenset(CATALOGUE), lmdb_lock="never",
                                            **settings), 2)


@pytest.mark.parametrize("name", sorted(CAFFE["runs"]))
def test_batches_equal_what_caffe_logged(name, monkeypatch):
    """Every batch Caffe logged (more than an epoch: it wraps) holds the labels dscan puts in
    the batch at that position of its read order."""
    path = os.path.join(FIXTURES, name)
    backend = "hdf5" if name.startswith("hdf5") else name.rsplit("_", 1)[1]
    if backend == "hdf5":
        monkeypatch.chdir(os.path.dirname(path))  # Caffe ran from the list's folder
        path = os.path.basename(path)
    totals = _outcome(path, backend, batch_size=16).totals
    records = totals.records

    def multiset(labels):  # a NaN label (logged as "nan") is no class: dscan keeps none
        return sorted("nan" if v in ("nan", MISSING_LABEL) else str(int(v)) for v in labels)

    for batch, logged in enumerate(CAFFE["runs"][name]):
        ours = totals.labels[[(16 * batch + item) % records for item in range(16)]]
        assert multiset(ours.tolist()) == multiset(logged), f"batch {batch}"
    epoch = totals.batches.matrix
    logged_epoch = CAFFE["runs"][name][:len(epoch)]
    assert [multiset(b) for b in logged_epoch] == \
        [multiset(row) for row in totals.labels[epoch[:len(logged_epoch)]].tolist()]


def test_the_last_batch_wraps_to_the_start():
    matrix = batch_matrix(1000, 16)
    assert matrix.shape == (63, 16)
    assert matrix[62].tolist() == list(range(992, 1000)) + list(range(8))


def test_solvers_take_records_round_robin():
    matrix = batch_matrix(10, 2, solvers=2)  # offsets 0,2 | 1,3 | 4,6 | 5,7 | 8,0 | 9,1
    assert matrix.tolist() == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 0], [9, 1]]
    assert [read_position(o, 2, 2) for o in range(4)] == [0, 2, 1, 3]


@pytest.mark.parametrize("name", ["raw_lmdb", "raw_leveldb"])
def test_sorted_sets_have_single_class_batches_and_are_flagged(fixture_copy, name):
    report = scan_report(fixture_copy(name), backend=name.rsplit("_", 1)[1], batch_size=16)
    batches = report["batches"]
    assert batches["count"] == 100 and batches["single_class_batches"] == 100
    assert report["summary"]["by_code"]["DS304"] == 100
    assert report["summary"]["by_code"]["DS305"] == 1
    [order] = [f for f in report["findings"] if f["code"] == "DS305"]
    assert order["detail"]["halves_disjoint"] and "--shuffle" in order["message"]


@pytest.mark.parametrize("name, batch_size", [("enc_lmdb", 16), ("enc_lmdb", 64),
                                              ("enc_lmdb", 4), ("gray_lmdb", 16)])
def test_shuffled_sets_raise_no_order_or_coverage_alarm(fixture_copy, name, batch_size):
    report = scan_report(fixture_copy(name), batch_size=batch_size)
    assert "DS304" not in report["summary"]["by_code"]
    assert "DS305" not in report["summary"]["by_code"]
    coverage = report["batches"]["distinct_classes_per_batch"]
    assert coverage["expected_if_shuffled"] <= min(batch_size, 10)
    assert abs(coverage["median"] - coverage["expected_if_shuffled"]) <= 1.5


def test_small_batches_are_judged_against_chance(tmp_path):
    """Batch 4 over 10 classes always misses 6 or more: that alone is no deficit."""
    from . import builders as b
    rng = np.random.default_rng(3)
    values = [b.raw_datum(label=int(v), shape=(1, 2, 2), seed=i)
              for i, v in enumerate(rng.permutation(np.arange(400) % 10))]
    report = scan_report(b.make_lmdb(tmp_path / "db", values), batch_size=4)
    assert report["batches"]["batches_missing_classes"] == 100
    assert "DS304" not in report["summary"]["by_code"]


def test_label_maps_give_a_pixel_histogram():
    path = os.path.join(FIXTURES, "hdf5", "seg", "seg.h5")
    report = scan_report(path, backend="hdf5")
    histogram = report["stats"]["labels"]["pixel_histogram"]
    assert set(histogram) == {"0", "1", "2"}
    assert sum(histogram.values()) == 24 * 32 * 32


def _exact_tail(absent):
    """P(missing >= m) by the full Poisson-binomial recursion over every class."""
    pmf = np.zeros(len(absent) + 1)
    pmf[0] = 1.0
    for q in absent:
        pmf[1:] = pmf[1:] * (1 - q) + pmf[:-1] * q
        pmf[0] *= 1 - q
    return np.cumsum(pmf[::-1])[::-1]


@pytest.mark.parametrize("seed", range(20))
def test_the_truncated_tail_equals_the_full_recursion_where_batches_can_be(seed):
    from scanner.class_stats import absence_probabilities, missing_tail

    rng = np.random.default_rng(seed)
    classes, batch = int(rng.integers(1, 60)), int(rng.integers(1, 80))
    counts = rng.integers(1, 30, classes)
    absent = absence_probabilities(counts, int(counts.sum()), batch)
    reachable = classes - min(batch, classes)  # a batch misses at least this many classes
    tail = missing_tail(absent, batch)
    assert np.allclose(tail[reachable:], _exact_tail(absent)[reachable:], rtol=0, atol=1e-12)
    assert np.all(tail[:reachable] == 1.0)


def test_first_absent_classes_of_a_batch():
    from scanner.batches import first_absent

    classes = np.arange(0, 1000, 2)
    assert first_absent(classes, np.array([0, 4, 6]), limit=3) == [2, 8, 10]
