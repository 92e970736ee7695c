"""Compatibility with data made by the real Caffe tools (copied from the shared corpus):
every faulty key in a truth file is found with the right code; clean sets give no error."""
import json
import os

import pytest

from . import builders as b
from .builders import tree_state
from .conftest import FIXTURES
from .scanning import codes_at, scan_report

# truth fault kind -> codes that count as finding it
KIND_CODES = {
    "jpeg_truncated": {"DS201", "DS202"},
    "jpeg_corrupt_entropy_data": {"DS201", "DS202"},
    "empty_data": {"DS201", "DS003"},
    "not_an_image": {"DS201", "DS206"},
    "data_size_mismatch": {"DS203"},
    "channels_zero": {"DS204"},
    "invalid_protobuf": {"DS002"},
    "label_out_of_range": {"DS301"},
    "nan": {"DS101"}, "posinf": {"DS101"}, "neginf": {"DS101"},
    "f16_overflow": {"DS102"},
    "channel_count_mismatch": {"DS205", "DS207"},
}
FAULTY = [("faulty_enc_lmdb", {}), ("faulty_raw_lmdb", {"num_classes": 10}),
          ("float_lmdb", {}), ("natural_enc_lmdb", {}),  # label 12 found without --num-classes
          ("faulty_enc_leveldb", {})]
CLEAN = ["enc_lmdb", "gray_lmdb", "raw_lmdb", "enc_leveldb", "raw_leveldb"]


def _backend(name: str) -> str:
    return "leveldb" if name.endswith("leveldb") else "lmdb"


def _truth(name: str) -> dict:
    with open(os.path.join(FIXTURES, name + ".truth.json")) as handle:
        return json.load(handle)


@pytest.mark.parametrize("name, settings", FAULTY)
def test_every_truth_fault_is_found(fixture_copy, name, settings):
    path = fixture_copy(name)
    before = tree_state(path, reader_table=True)  # every byte but lock.mdb's reader slots
    report = scan_report(path, jobs=2, max_examples=100_000, backend=_backend(name), **settings)
    found = codes_at(report)
    missed = [(key, kind) for key, kinds in _truth(name)["faults"].items() for kind in kinds
              if kind in KIND_CODES and not found.get(key, set()) & KIND_CODES[kind]]
    assert not missed
    assert tree_state(path, reader_table=True) == before


@pytest.mark.parametrize("name", CLEAN)
def test_clean_sets_have_no_error(fixture_copy, name):
    path = fixture_copy(name)
    before = tree_state(path, reader_table=True)  # every byte but lock.mdb's reader slots
    report = scan_report(path, jobs=2, backend=_backend(name))
    assert report["summary"]["by_severity"]["error"] == 0, report["findings"][:3]
    assert report["summary"]["records"] == _truth(name)["num_records"]
    assert tree_state(path, reader_table=True) == before


def test_caffe_crash_point_matches_the_oracle(fixture_copy):
    """Real Caffe died at the channels=0 record of faulty_raw_lmdb (position 210)."""
    report = scan_report(fixture_copy("faulty_raw_lmdb"), batch_size=16)
    crash = report["verdict"]["first_crash"]
    assert (crash["index"], crash["code"], crash["batch"]) == (210, "DS204", 13)


def test_mixed_sizes_crash_where_caffe_did(fixture_copy):
    """natural_enc_lmdb with batch 16: `Check failed: height <= img_height (127 vs. 95)`."""
    report = scan_report(fixture_copy("natural_enc_lmdb"), batch_size=16)
    crash = report["verdict"]["first_crash"]
    assert (crash["index"], crash["code"]) == (1, "DS205")
    assert report["stats"]["shapes"]["3x95x88"] == 1


def test_float_stats_exclude_non_finite_samples(fixture_copy):
    values = scan_report(fixture_copy("float_lmdb"))["stats"]["values"]
    assert values["dtype"] == "float32" and values["samples"] == 320 - 7
    assert len(values["channels"]) == 3


HDF5_KIND_CODES = {"nan": "DS101", "posinf": "DS101", "neginf": "DS101", "f16_overflow": "DS102",
                   "nan_label": "DS302", "first_dim_mismatch": "DS402",
                   "no_foreground": "DS307", "truncated_file": "DS404"}
HDF5_LISTS = ["hdf5data/train_h5_list.txt", "mismatch/mismatch_list.txt",
              "seg/seg_list.txt", "truncated/truncated_list.txt"]


def _hdf5_truth() -> dict:
    with open(os.path.join(FIXTURES, "hdf5", "truth.json")) as handle:
        return json.load(handle)


def _expected_hdf5(list_name: str) -> set[tuple[str, str]]:
    """(finding key, code) pairs the truth file asks for, for the files of one list."""
    folder = os.path.dirname(list_name)
    wanted = set()
    for file_name, facts in _hdf5_truth()["files"].items():
        if os.path.dirname(file_name) != folder:
            continue
        entry = os.path.basename(file_name)
        for where, kinds in facts["faults"].items():
            key = entry if where == "file" else f"{entry}:{where.split('[')[1].rstrip(']')}"
            wanted |= {(key, HDF5_KIND_CODES[kind]) for kind in kinds}
    return wanted


@pytest.mark.parametrize("list_name", HDF5_LISTS)
def test_every_hdf5_truth_fault_is_found(list_name, monkeypatch):
    folder, name = os.path.split(os.path.join(FIXTURES, "hdf5", list_name))
    before = tree_state(folder)
    monkeypatch.chdir(folder)  # as Caffe was run: entries relative to the working directory
    report = scan_report(name, backend="hdf5", jobs=2, max_examples=100_000)
    found = {(f["key"], f["code"]) for f in report["findings"]}
    assert _expected_hdf5(list_name) <= found
    assert tree_state(folder) == before


# Caffe's own test files, when the shared corpus is beside the repository (never bundled).
CAFFE_TEST_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               os.pardir, "shared", "corpus", "hdf5", "caffe_test_data")
SAMPLE_FILES = ["sample_data.h5", "sample_data_2_gzip.h5"]


def _assert_clean_one_based(report: dict) -> None:
    assert report["summary"]["records"] == 10 and report["summary"]["by_severity"]["error"] == 0
    [one_based] = report["findings"]  # their labels run 1..10
    assert one_based["code"] == "DS303" and "labels start at 1" in one_based["message"]


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_files_in_caffes_test_layout_are_clean(tmp_path, name):
    path = b.caffe_test_layout_h5(tmp_path)[name]
    _assert_clean_one_based(scan_report(path, backend="hdf5"))


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_caffes_own_sample_files_are_clean(name):
    path = os.path.join(CAFFE_TEST_DATA, name)
    if not os.path.exists(path):
        pytest.skip(f"Caffe's own test files are not here ({CAFFE_TEST_DATA})")
    _assert_clean_one_based(scan_report(path, backend="hdf5"))


def test_a_list_relative_to_caffes_source_root_fails_where_caffe_failed(tmp_path,
                                                                       monkeypatch):
    """Caffe's own sample_data_list.txt names its entries relative to the Caffe source root,
    not to the list: run from anywhere else, both entries are missing; run from the root,
    both are found."""
    b.caffe_test_layout_h5(tmp_path / "src" / "caffe" / "test" / "test_data")
    os.makedirs(tmp_path / "lists")
    listing = b.h5_list(tmp_path / "lists" / "sample_data_list.txt",
                        [f"src/caffe/test/test_data/{name}" for name in SAMPLE_FILES])
    report = scan_report(listing, backend="hdf5")
    assert report["summary"]["by_code"] == {"DS404": 2}
    assert report["verdict"]["first_crash"]["code"] == "DS404"
    monkeypatch.chdir(tmp_path)
    report = scan_report(listing, backend="hdf5")
    assert report["summary"]["records"] == 20 and report["summary"]["by_severity"]["error"] == 0
