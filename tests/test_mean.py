"""Mean files: BlobProto decoded as the protobuf runtime writes it, read as Caffe reads it."""
import os

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.config.blobproto import decode_blob
from scanner.config.mean import read_mean
from scanner.errors import WireFormatError
from scanner.report import config_report

from .conftest import FIXTURES
from .reference import blob_bytes
from .scanning import mean_report


def test_the_corpus_mean_file_per_channel_means():
    """compute_image_mean on raw_lmdb: B/G/R 82.94/92.53/124.28 (CORPUS.md)."""
    report = mean_report(os.path.join(FIXTURES, "mean.binaryproto"))
    jsonschema.validate(report, config_report.load_schema())
    mean = report["mean"]
    assert mean["shape"] == [1, 3, 32, 32] and mean["caffe_chw"] == [3, 32, 32]
    assert [round(c["mean"], 1) for c in mean["channels"]] == [82.9, 92.5, 124.3]
    assert report["findings"] == [] and report["exit_status"] == 0


@settings(max_examples=50, deadline=None)
@given(dims=st.lists(st.integers(0, 4), min_size=0, max_size=4), legacy=st.booleans(),
       double=st.booleans(), seed=st.integers(0, 100))
def test_decodes_what_the_protobuf_runtime_writes(dims, legacy, double, seed):
    count = int(np.prod(dims)) if dims else 1
    values = np.random.default_rng(seed).normal(size=count).astype(np.float32)
    shape4 = (dims + [1, 1, 1, 1])[:4]
    raw = blob_bytes(values, legacy=shape4 if legacy else None,
                     shape=None if legacy else dims, double=double)
    blob = decode_blob(raw)
    assert blob.shape == (list(shape4) if legacy else dims)
    assert np.array_equal(blob.values, values.astype(np.float64 if double else np.float32))


def test_a_three_axis_blob_is_read_the_way_caffe_reads_it():
    """Blob::channels() of a C x H x W blob is its second axis: Caffe sees 32 channels."""
    blob = decode_blob(blob_bytes(np.zeros(3 * 32 * 32), shape=[3, 32, 32]))
    assert blob.chw == (32, 32, 1)


@pytest.mark.parametrize("raw", [b"\x07" + bytes(20), b"\xff" * 12, b"\x2a\x40\x00"])
def test_bytes_that_are_no_blobproto_raise_wire_errors(raw):
    with pytest.raises(WireFormatError):
        decode_blob(raw)


def test_count_mismatch_and_non_finite_values(tmp_path):
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(blob_bytes([1.0, np.inf, 3.0], legacy=(1, 1, 2, 2)))
    codes = sorted(f.code for f in read_mean(str(path)).findings)
    assert codes == ["DS601", "DS602"]
    assert not read_mean(str(path)).usable


def test_an_image_given_as_mean_file(tmp_path):
    from . import builders as b
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(b.jpeg())
    report = mean_report(str(path))
    jsonschema.validate(report, config_report.load_schema())
    assert report["findings"][0]["code"] == "DS602" and not report["mean"]["loads"]


def test_an_unreadable_mean_file_is_a_finding_not_a_traceback(tmp_path):
    path = tmp_path / "mean.binaryproto"
    path.mkdir()  # opening a directory fails the way an unreadable file does
    [finding] = read_mean(str(path)).findings
    assert finding.code == "DS602" and "cannot read" in finding.message
