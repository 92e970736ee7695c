"""The record boundary: whatever inspecting one record raises is a finding on that record."""
import subprocess
import sys

import jsonschema
import numpy as np

from scanner import inspect as inspect_module
from scanner.hooks import RAISE_HOOK
from scanner.checks import CATALOGUE
from scanner.inspect import DatumInspector
from scanner.report.json_report import load_schema
from scanner.settings import ScanSettings

from . import builders as b
from .scanning import scan_report


def _jpeg_store(tmp_path, count=6):
    return b.make_lmdb(tmp_path / "db", [b.encoded_datum(b.jpeg(seed=i), label=i % 3)
                                         for i in range(count)])


def test_a_record_that_raises_is_ds009_and_the_scan_goes_on(tmp_path, monkeypatch):
    path = _jpeg_store(tmp_path)
    monkeypatch.setenv(RAISE_HOOK, "00000003_img_3.jpg")
    report = scan_report(path, jobs=2)
    assert report["summary"]["records"] == 6
    [finding] = report["findings"]
    assert (finding["code"], finding["index"]) == ("DS009", 3)
    assert finding["detail"]["exception"] == "RuntimeError"
    assert "hooks.py" in finding["detail"]["at"]
    assert report["stats"]["encodings"] == {"jpeg": 5, "raised": 1}
    assert sum(report["stats"]["labels"]["histogram"].values()) == 5  # its label is not counted
    jsonschema.validate(report, load_schema())


def test_verbose_logs_the_traceback(tmp_path):
    path = _jpeg_store(tmp_path)
    done = subprocess.run([sys.executable, "-m", "scanner", "lmdb", path, "--no-progress",
                           "-v"], capture_output=True, text=True, timeout=120,
                          env={**_environ(), RAISE_HOOK: "00000001_img_1.jpg"})
    assert done.returncode == 1, done.stderr
    assert "Traceback (most recent call last)" in done.stderr
    assert "RuntimeError" in done.stderr and "DS009" in done.stdout


def _environ():
    import os
    return dict(os.environ)


def test_a_value_group_that_raises_is_checked_again_sample_by_sample(monkeypatch):
    """A check that raises on one sample of a group: only that sample is DS009; the others
    are checked and counted, and no finding is counted twice."""
    def picky(values, summary):
        if (values[:, 0, 0] == 7).any():
            raise MemoryError("this sample")
        return {row: inspect_module.Problem("DS103", "flagged")
                for row in range(len(values)) if values[row, 0, 0] == 5}
    monkeypatch.setattr("scanner.checks.value_checks.VALUE_CHECKS", [picky])
    settings = ScanSettings(enabled=frozenset(CATALOGUE))
    inspector = DatumInspector(settings)
    records = [b.raw_datum(shape=(1, 2, 2), data=bytes([first, 1, 2, 3]))
               for first in (1, 5, 7, 2, 5)]
    for number, value in enumerate(records * 3):  # deferred batches, learnt layouts
        if not inspector.take(b"k%d" % number, memoryview(value)):
            inspector.inspect(b"k%d" % number, memoryview(value))
    inspector.finish()
    result = inspector.result(0)
    assert result.records == 15 == len(result.labels) == len(result.shape_ids)
    raised = sorted(f.index for f in result.examples["DS009"])
    assert raised == [2, 7, 12]
    assert sorted(f.index for f in result.examples["DS103"]) == [1, 4, 6, 9, 11, 14]
    assert result.counts[("DS103", "warning")] == 6


def test_a_group_whose_fingerprints_raise_counts_its_findings_once(monkeypatch):
    """When the fingerprint step raises for a group (a library warning turned error, say),
    the group's findings were not counted yet, and the sample-by-sample retry counts each
    once."""
    from scanner.duplicates.fingerprints import FingerprintSink

    real = FingerprintSink.hash_values

    def fussy(self, indices, values, shape, **known):
        if len(values) > 1:
            raise RuntimeWarning("invalid value encountered in reduce")
        return real(self, indices, values, shape, **known)
    monkeypatch.setattr(FingerprintSink, "hash_values", fussy)
    inspector = DatumInspector(ScanSettings(enabled=frozenset(CATALOGUE)))
    values = [[1.0, 2.0, 3.0, 4.0], [float("nan"), 1.0, 1.0, 1.0], [0.5, 0.5, 0.25, 1.0]] * 4
    for number, floats in enumerate(values):
        record = memoryview(b.float_datum(floats, (1, 2, 2), label=0))
        if not inspector.take(b"k%d" % number, record):
            inspector.inspect(b"k%d" % number, record)
    inspector.finish()
    result = inspector.result(0)
    assert result.counts[("DS101", "error")] == 4
    assert sorted(f.index for f in result.examples["DS101"]) == [1, 4, 7, 10]
    assert "DS009" not in result.examples


def test_a_sample_whose_checks_raise_gets_no_fingerprint(monkeypatch):
    """The hashes are made before the value checks but kept only after them: two equal raw
    records whose checks raise (DS009) are not fingerprinted, so no duplicate finding is
    made of them, while the records around them are."""
    from scanner.duplicates.hashing import KIND_NONE

    def picky(values, summary):
        if (values[:, 0, 0] == 77).any():
            raise KeyError(-1)
        return {}
    monkeypatch.setattr("scanner.checks.value_checks.VALUE_CHECKS", [picky])
    inspector = DatumInspector(ScanSettings(enabled=frozenset(CATALOGUE)))
    for number in range(16):
        data = bytes([77]) * 48 if number in (4, 12) else bytes([number]) * 48
        record = memoryview(b.raw_datum(label=number % 3, shape=(3, 4, 4), data=data))
        if not inspector.take(b"k%d" % number, record):
            inspector.inspect(b"k%d" % number, record)
    inspector.finish()
    result = inspector.result(0)
    assert sorted(f.index for f in result.examples["DS009"]) == [4, 12]
    kinds = result.fingerprints.kind
    assert kinds[4] == kinds[12] == KIND_NONE
    assert all(kinds[i] != KIND_NONE for i in range(16) if i not in (4, 12))


def test_a_slab_that_raises_is_inspected_again_row_by_row(tmp_path, monkeypatch):
    """Rows flow: a value check that raises on one row of an HDF5 slab costs that row only."""
    def picky(values, summary):
        if np.isin(values[:, 0, :], [13.0]).any():
            raise KeyError(-1)
        return {}
    monkeypatch.setattr("scanner.checks.value_checks.VALUE_CHECKS", [picky])
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    path = b.make_h5(tmp_path / "a.h5", data=data, label=np.arange(20) % 4)
    report = scan_report(path, backend="hdf5")
    assert report["summary"]["records"] == 20
    assert [(f["code"], f["index"]) for f in report["findings"]
            if f["code"] == "DS009"] == [("DS009", 6)]


def test_an_annotated_record_that_raises_is_ds009(tmp_path, monkeypatch):
    """AnnotatedDatum stores share the record flow, and so its boundary."""
    path = b.make_lmdb(tmp_path / "db", b.annotated_store(6))
    clean = scan_report(path)
    monkeypatch.setenv(RAISE_HOOK, "00000002_img_2.jpg")
    report = scan_report(path)
    assert report["summary"]["records"] == 6
    assert [(f["code"], f["index"]) for f in report["findings"] if f["code"] == "DS009"] == \
        [("DS009", 2)]
    assert sum(report["stats"]["encodings"].values()) == 6
    assert clean["summary"]["records"] == 6 and "DS009" not in clean["summary"]["by_code"]
