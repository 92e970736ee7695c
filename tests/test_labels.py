"""Inferring the class range from the labels alone."""
import numpy as np
import pytest

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


# Bounded work whatever the labels: analyses linear in the records, never in label values.

def _h5_labels(tmp_path, labels, name="labels.h5"):
    from . import builders as b

    labels = np.asarray(labels)
    return b.make_h5(tmp_path / name, data=b.float_rows(len(labels), (1, 1, 2)), label=labels)


def test_absent_classes_are_ranges_not_one_finding_per_class(tmp_path):
    from .scanning import scan_report

    report = scan_report(_h5_labels(tmp_path, np.arange(20) % 4), backend="hdf5",
                         num_classes=10_000_000)
    [finding] = [f for f in report["findings"] if f["code"] == "DS303"]
    assert "classes 4..9999999 have no record (9,999,996 classes)" in finding["message"]
    assert (finding["detail"]["class"], finding["detail"]["last"]) == (4, 9_999_999)


def test_absent_ranges_cover_the_gaps_exactly():
    from scanner.checks.label_checks import absent_ranges

    def runs(present, classes):
        firsts, lasts = absent_ranges(np.asarray(present, np.int64), classes)
        return list(zip(firsts.tolist(), lasts.tolist()))

    assert runs([-3, 1, 2, 5, 9, 12], 10) == [(0, 0), (3, 4), (6, 8)]
    assert runs([], 3) == [(0, 2)]
    assert runs([0, 1, 2], 3) == []


def test_beyond_200_runs_of_absent_classes_the_rest_is_one_finding(tmp_path):
    from scanner.checks.label_checks import MAX_ABSENT_RUNS
    from .scanning import scan_report

    labels = np.arange(0, 2 * (MAX_ABSENT_RUNS + 50), 2)  # every odd class absent: 250 runs
    report = scan_report(_h5_labels(tmp_path, labels), backend="hdf5",
                         num_classes=len(labels) * 2, max_examples=1000)
    found = [f for f in report["findings"] if f["code"] == "DS303"]
    assert len(found) == MAX_ABSENT_RUNS + 1
    assert found[-1]["detail"]["runs"] == 50 and found[-1]["detail"]["classes"] == 50
    assert found[-1]["message"].startswith("50 more runs of absent classes between 401 and 499")


@pytest.mark.parametrize("dtype,huge", [("f8", 3e9), ("f8", 1e30), ("f4", 1e30),
                                        ("i8", -(2 ** 63)), ("i8", 2 ** 62),
                                        ("u8", 2 ** 64 - 1), ("u4", 2 ** 32 - 1)])
@pytest.mark.parametrize("num_classes", [None, 4])
def test_labels_no_int_holds_are_ds301_never_the_missing_sentinel(tmp_path, dtype, huge,
                                                                  num_classes):
    """Caffe casts labels to int: 3e9, 1e30 or uint64 values are no class index. Each is
    a DS301 at its row (error with --num-classes), never cast to the missing-label value."""
    from .scanning import scan_report

    labels = np.array([huge] * 6 + [0, 1, 2, 3] * 5, dtype=dtype)
    report = scan_report(_h5_labels(tmp_path, labels), backend="hdf5",
                         num_classes=num_classes)
    beyond = [f for f in report["findings"] if f["code"] == "DS301"]
    assert [f["index"] for f in beyond] == list(range(6))
    assert {f["severity"] for f in beyond} == {"error" if num_classes else "warning"}
    assert report["verdict"]["caffe"] == "trains_on_garbage"
    assert report["stats"]["labels"]["histogram"] == {"0": 5, "1": 5, "2": 5, "3": 5}


def test_labels_of_3e9_as_a_common_class_finish(tmp_path):
    from .scanning import scan_report

    labels = np.tile(np.array([0, 1, 2, 3e9]), 50)
    report = scan_report(_h5_labels(tmp_path, labels), backend="hdf5")
    assert report["summary"]["by_code"]["DS301"] == 50
    assert report["summary"]["records"] == 200


def test_many_distinct_classes_in_read_order(tmp_path):
    """20,000 records of 20,000 sorted classes: batch coverage works in classes x batch."""
    from .scanning import scan_report

    report = scan_report(_h5_labels(tmp_path, np.arange(20_000)), backend="hdf5",
                         batch_size=64)
    assert report["batches"]["classes"] == 20_000
    assert all(len(batch["missing"]) == 50 for batch in report["batches"]["worst"])
    assert "DS303" not in report["summary"]["by_code"]
