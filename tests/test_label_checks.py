"""The label checks count classes, not label values: a label out of range, the ignore label
or a record without a label is no class (DS306)."""
from . import builders as b
from .scanning import scan_report


def _store(tmp_path, counts: dict[int, int]) -> str:
    labels = [label for label, count in counts.items() for _ in range(count)]
    return b.make_lmdb(tmp_path / "db", [b.raw_datum(label=label, shape=(1, 2, 2), seed=i)
                                         for i, label in enumerate(labels)])


def _imbalance(report: dict) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == "DS306"]


def test_a_label_out_of_range_is_not_the_rarest_class(tmp_path):
    path = _store(tmp_path, {0: 60, 1: 12, 12: 1})
    report = scan_report(path, num_classes=10)
    assert "DS301" in report["summary"]["by_code"]  # label 12 is reported where it belongs
    assert _imbalance(report) == []  # 60 / 12 = 5: no imbalance among the real classes


def test_the_ratio_counts_valid_classes_and_says_what_it_left_out(tmp_path):
    path = _store(tmp_path, {0: 120, 1: 10, 7: 1, -1: 3})
    (finding,) = _imbalance(scan_report(path, num_classes=2, ignore_label=-1))
    assert finding["detail"]["most"] == [0, 120] and finding["detail"]["least"] == [1, 10]
    assert finding["detail"]["classes"] == 2 and finding["detail"]["records_not_counted"] == 4
    assert "class 1 10: ratio 12.0" in finding["message"]
    assert "4 records whose label is no class" in finding["message"]
    assert "class 7" not in finding["message"] and "class -1" not in finding["message"]


def test_without_num_classes_a_likely_typo_is_no_class_either(tmp_path):
    path = _store(tmp_path, {0: 50, 1: 40, 2: 45, 40: 1})
    report = scan_report(path)
    assert any(f["code"] == "DS301" and f["severity"] == "warning" for f in report["findings"])
    assert _imbalance(report) == []  # before, "class 40 has 1 record": ratio 50
