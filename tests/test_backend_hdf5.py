"""HDF5 backend: the shared contract, source lists and Caffe's file-level rules."""
import os
import subprocess
import sys

import h5py
import numpy as np

from . import builders as b
from .backend_contract import BackendContract
from .scanning import scan_report


class TestHdf5Contract(BackendContract):
    backend_name = "hdf5"

    def make_store(self, tmp_path, count):
        first = count // 3
        b.make_h5(tmp_path / "a.h5", data=b.float_rows(first, (1, 2, 2)),
                  label=np.arange(first) % 5, chunks=64, compression="gzip")
        b.make_h5(tmp_path / "b.h5", data=b.float_rows(count - first, (1, 2, 2), seed=1),
                  label=np.arange(count - first) % 5)
        return b.h5_list(tmp_path / "list.txt", [str(tmp_path / "a.h5"), str(tmp_path / "b.h5")])

    def split_small_stores(self, monkeypatch):
        monkeypatch.setattr("backends.hdf5.SMALL_SOURCE_BYTES", 0)


def test_rows_continue_across_files_and_keys_name_entry_and_row(tmp_path, monkeypatch):
    data = b.float_rows(10)
    data[7, 0, 0, 0] = np.nan
    b.make_h5(tmp_path / "p0.h5", data=b.float_rows(5), label=np.arange(5))
    b.make_h5(tmp_path / "p1.h5", data=data, label=np.arange(10) % 3)
    monkeypatch.chdir(tmp_path)
    report = scan_report(b.h5_list("list.txt", ["p0.h5", "p1.h5"]), backend="hdf5")
    [finding] = report["findings"]
    assert (finding["code"], finding["key"], finding["index"]) == ("DS101", "p1.h5:7", 12)
    assert report["source"]["files"][1]["relative_to"] == "working directory"


def test_entries_resolve_against_the_working_directory_first(tmp_path, monkeypatch):
    os.mkdir(tmp_path / "data")
    b.make_h5(tmp_path / "data" / "x.h5", data=b.float_rows(4), label=np.zeros(4))
    b.make_h5(tmp_path / "x.h5", data=b.float_rows(6), label=np.zeros(6))
    listed = b.h5_list(tmp_path / "data" / "list.txt", ["x.h5"])
    monkeypatch.chdir(tmp_path)
    assert scan_report(listed, backend="hdf5")["summary"]["records"] == 6
    monkeypatch.chdir(tmp_path / "data")
    assert scan_report(listed, backend="hdf5")["summary"]["records"] == 4


def test_a_large_file_scans_in_flat_memory(tmp_path):
    """1.5 GB of float32 rows; the scan's peak RSS must not grow with the file."""
    path = tmp_path / "big.h5"
    rows, shape = 12_000, (3, 128, 256)
    with h5py.File(path, "w") as handle:
        data = handle.create_dataset("data", (rows, *shape), np.float32, chunks=(16, *shape))
        handle.create_dataset("label", data=np.arange(rows) % 10)
        block = b.float_rows(500, shape)
        for start in range(0, rows, 500):
            data[start:start + 500] = block
    assert os.path.getsize(path) > 1.5e9
    # the peak of the scan and its workers, measured by a wrapper process of its own: the
    # test run's own RUSAGE_CHILDREN also holds every other child it ever reaped
    wrapper = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
               "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", wrapper, sys.executable, "-m", "scanner",
                           "hdf5", str(path), "-j", "2", "--no-progress", "-q"],
                          capture_output=True, text=True, timeout=300)
    status, peak_kib = map(int, done.stdout.split()[-2:])
    assert status == 0, done.stderr
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_a_missing_top_names_the_datasets_the_file_has(tmp_path):
    """Caffe's own solver_data.h5 layout: `data` and `targets`, no `label`."""
    path = b.caffe_test_layout_h5(tmp_path)["solver_data.h5"]
    [finding] = scan_report(path, backend="hdf5")["findings"]
    assert finding["code"] == "DS401" and finding["detail"]["root_datasets"] == ["data",
                                                                                 "targets"]
    assert "'data', 'targets'" in finding["message"] and "--label NAME" in finding["message"]
    assert scan_report(path, backend="hdf5", label_top="targets")["summary"]["records"] == 8
