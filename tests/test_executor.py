"""Parallel scans: real worker processes give the same report as one process."""
import numpy as np

from . import builders as b
from .scanning import scan_report

TIMING = ("started_at", "duration_s", "executor")


def _faulty_store(tmp_path, count=9000):
    rng = np.random.default_rng(1)
    values = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.01:
            values.append(b"\x07" + bytes(20))
        elif roll < 0.02:
            values.append(b.float_datum([1.0, float("inf"), 2.0], (1, 1, 3), label=index % 7))
        elif roll < 0.03:
            values.append(b.raw_datum(shape=(1, 4, 4), data=bytes(16), label=index % 7))
        else:
            values.append(b.raw_datum(shape=(1, 4, 4), seed=index, label=index % 7))
    return b.make_lmdb(tmp_path / "db", values)


def _without_timing(report):
    return {key: value for key, value in report.items() if key not in TIMING}


def test_one_and_many_workers_give_the_same_report(tmp_path):
    path = _faulty_store(tmp_path)
    one = scan_report(path, jobs=1, num_classes=5)
    two = scan_report(path, jobs=2, num_classes=5)
    assert one["executor"]["jobs"] == 1 and two["executor"]["jobs"] == 2
    assert _without_timing(one) == _without_timing(two)
    assert one["summary"]["records"] == 9000
    assert set(one["summary"]["by_code"]) == {"DS002", "DS101", "DS103", "DS205", "DS301"}


def test_findings_are_in_read_order_with_exact_counts(tmp_path):
    path = _faulty_store(tmp_path)
    report = scan_report(path, jobs=2, max_examples=3)
    indices = [f["index"] for f in report["findings"]]
    assert indices == sorted(indices)
    by_code = report["summary"]["by_code"]
    assert by_code["DS002"] > 3 and sum(1 for f in report["findings"] if f["code"] == "DS002") == 3
