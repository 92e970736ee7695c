"""The verdict names the records that would feed garbage (the first --max-examples, by
index, with their keys), also those only the dataset checks find (a label out of range)."""
import jsonschema

from scanner.report.json_report import load_schema

from . import builders as b
from .scanning import scan_report


def _store(tmp_path) -> str:
    values = [b.encoded_datum(b.jpeg(32, 32, seed=i), label=i % 3) for i in range(6)]
    values += [b.encoded_datum(b.truncate(b.jpeg(32, 32, seed=20 + i)), label=1)
               for i in range(4)]  # DS202, found by the workers (they know the key)
    values += [b.encoded_datum(b.jpeg(32, 32, seed=40 + i), label=9) for i in range(3)]
    values += [b.encoded_datum(b"not an image at all", label=9)]  # crashes: not garbage
    return b.make_lmdb(tmp_path / "db", values, [f"r{i:02d}.jpg" for i in range(len(values))])


def test_the_garbage_records_are_listed_by_index_with_their_keys(tmp_path):
    report = scan_report(_store(tmp_path), num_classes=3)
    jsonschema.validate(report, load_schema())
    verdict = report["verdict"]
    assert verdict["garbage_records"] == 7
    listed = verdict["garbage_examples"]
    # 6..9 truncated (DS202), 10..12 label 9 of 3 classes (DS301, a dataset check)
    assert [g["index"] for g in listed] == list(range(6, 13))
    assert [g["key"] for g in listed] == [f"{i:08d}_r{i:02d}.jpg" for i in range(6, 13)]


def test_the_list_is_capped_by_max_examples_and_the_count_stays_exact(tmp_path):
    report = scan_report(_store(tmp_path), num_classes=3, max_examples=2)
    jsonschema.validate(report, load_schema())
    assert report["verdict"]["garbage_records"] == 7
    assert [g["index"] for g in report["verdict"]["garbage_examples"]] == [6, 7]


def test_a_clean_store_lists_none(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(label=i % 2, seed=i) for i in range(4)])
    report = scan_report(path)
    assert report["verdict"]["garbage_examples"] == [] and report["verdict"]["caffe"] == "ok"
