"""HDF5 of every type and shape Caffe can meet: a matrix of dtypes x sample shapes x storage
layouts, written with h5py. Every scan must end in a report (no traceback), account for every
row written (scanned, or refused with a file-level finding on that file alone) and write
strict JSON that validates against the shipped schema.

The normal run covers every dtype with every shape (one source list per shape, one file per
dtype) and every dtype with every storage layout; DSCAN_FUZZ_LONG=1 also scans each cell of
the full product on its own."""
import itertools
import json
import os
import re

import h5py
import jsonschema
import numpy as np
import pytest

from scanner.checks import CATALOGUE
from scanner.report import html_report, json_report
from scanner.scan import scan
from scanner.settings import ScanSettings

from . import builders as b

ROWS = 12
INTEGERS = ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]
FLOATS = ["f2", "f4", "f8"]
DTYPES = [np.dtype(code) for code in INTEGERS + FLOATS] + \
    [np.dtype(">" + code) for code in INTEGERS + FLOATS if code[1] != "1"]  # big-endian
# what each sample shape does to a file: rows scanned, or the file-level code that refuses it
SHAPES = {
    "rows": ((ROWS,), None),
    "column": ((ROWS, 1), None),
    "images": ((ROWS, 2, 3, 4), None),
    "no_values": ((ROWS, 0), "DS408"),  # scanned for the labels, with a finding
    "no_rows": ((0, 3), None),
    "scalar": ((), "DS403"),
    "null": (None, "DS403"),
}
STORAGE = ("contiguous", "gzip", "huge_chunk")
SCHEMA = json_report.load_schema()
LONG = os.environ.get("DSCAN_FUZZ_LONG") == "1"


def _values(dtype: np.dtype, count: int) -> np.ndarray:
    """Ordinary values with the type's extremes among them (int64 minimum, float64 maximum)."""
    if dtype.kind == "f":
        info = np.finfo(dtype)
        special = [0.0, 1.5, -2.0, float(info.max), -float(info.max), float(info.tiny)]
    else:
        info = np.iinfo(dtype)
        special = [0, 1, 2, info.max, info.min, info.max // 2]
    return np.resize(np.array(special, dtype=dtype), count)


def _labels(dtype: np.dtype, rows: int) -> np.ndarray:
    labels = (np.arange(rows) % 4).astype(dtype)
    if rows > 5:  # one label at the type's extreme: beyond int32 for the wide types
        labels[5] = np.finfo(dtype).max if dtype.kind == "f" else np.iinfo(dtype).max
    return labels


def _options(storage: str, shape: tuple) -> dict:
    if storage == "contiguous" or not shape or 0 in shape:
        return {}
    chunk_rows = 5
    if storage == "huge_chunk":  # far more rows than exist (labels: 2^20 rows, data: 2^10)
        chunk_rows = 2 ** 20 if len(shape) == 1 else 2 ** 10
    return {"chunks": (chunk_rows, *shape[1:]), "maxshape": (None, *shape[1:]),
            "compression": "gzip"}


def write_file(path, dtype: np.dtype, shape_name: str, storage: str = "contiguous") -> int | str:
    """One file of `data` (shape and dtype as asked) and `label` (same dtype); what the scan
    must make of it: the rows it holds, or the code of the finding that refuses it."""
    shape, refused = SHAPES[shape_name]
    with h5py.File(path, "w") as handle:
        if shape is None:
            handle.create_dataset("data", data=h5py.Empty(dtype))
            rows = ROWS
        else:
            rows = shape[0] if shape else ROWS
            count = int(np.prod(shape))
            data = _values(dtype, count).reshape(shape)
            handle.create_dataset("data", data=data, **_options(storage, shape))
        labels = _labels(dtype, rows)
        handle.create_dataset("label", data=labels, **_options(storage, labels.shape))
    return refused if refused in ("DS403",) else rows


def _scan(path: str, **settings):
    settings = ScanSettings(enabled=frozenset(CATALOGUE), max_examples=1000, **settings)
    outcome = scan("hdf5", path, settings, 2)
    report = json_report.build(outcome, outcome.exit_status)
    return outcome, report


def check_report(report: dict, expected: dict) -> None:
    """Strict JSON that validates; each file scanned whole or refused with its own finding."""
    text = json_report.dumps(report)  # allow_nan=False: raises on NaN or Inf
    jsonschema.validate(json.loads(text), SCHEMA)
    file_codes: dict[str, set] = {}
    for finding in report["findings"]:
        if finding["index"] is None and finding["code"].startswith("DS4"):
            file_codes.setdefault(finding["key"], set()).add(finding["code"])
    rows = {entry["entry"]: entry["rows"] for entry in report["source"]["files"]}
    for entry, outcome in expected.items():
        if isinstance(outcome, str):
            assert outcome in file_codes.get(entry, set()), (entry, file_codes)
            assert rows[entry] == 0
        else:
            assert rows[entry] == outcome, (entry, rows[entry], file_codes.get(entry))
    scanned = sum(n for n in expected.values() if not isinstance(n, str))
    assert report["summary"]["records"] == scanned


@pytest.mark.parametrize("shape_name", sorted(SHAPES))
def test_every_dtype_with_each_shape(shape_name, tmp_path):
    """One list per shape, one file per dtype: a refused file never costs the others."""
    expected = {}
    for dtype in DTYPES:
        path = str(tmp_path / f"{shape_name}-{dtype.str[0]}{dtype.name}.h5")
        expected[path] = write_file(path, dtype, shape_name)
    good = str(tmp_path / "good.h5")  # a usable file after the refused ones
    refused = SHAPES[shape_name][1] == "DS403"
    expected[good] = write_file(good, np.dtype("f4"), "rows" if refused else shape_name)
    _, report = _scan(b.h5_list(tmp_path / "list.txt", list(expected)))
    check_report(report, expected)
    if refused:
        assert report["source"]["files"][-1]["rows"] == ROWS  # the good file after them
    if shape_name == "no_values":
        assert report["summary"]["by_code"]["DS408"] == len(DTYPES) + 1  # one per file
    if shape_name in ("rows", "column", "images"):
        values = report["stats"]["values"]
        assert values is not None and values["samples"] > 0


def test_every_storage_of_every_dtype(tmp_path):
    """One list of every dtype in every storage layout: one statistics group per dtype, the
    integer figures exact, and a label no int holds (the type's maximum) a DS301 per file."""
    expected, files = {}, {}
    for dtype in DTYPES:
        for storage in STORAGE:
            path = str(tmp_path / f"{dtype.str[0]}{dtype.name}-{storage}.h5")
            expected[path] = write_file(path, dtype, "images", storage)
            files[path] = dtype
    outcome, report = _scan(b.h5_list(tmp_path / "list.txt", list(expected)))
    check_report(report, expected)
    assert set(outcome.totals.stats) == {(dtype.name, 2) for dtype in DTYPES}
    for (name, _), stats in outcome.totals.stats.items():
        if np.dtype(name).kind in "iu":  # integers: exact, finite figures
            assert stats.low.min() == float(np.iinfo(name).min)
            assert all(c["mean"] is not None for c in stats.as_report())
    beyond = {}
    for finding in report["findings"]:
        if finding["code"] == "DS301":
            entry = finding["key"].rsplit(":", 1)[0]
            beyond[entry] = beyond.get(entry, 0) + 1
    for path, dtype in files.items():
        wide = dtype.kind == "f" and dtype.itemsize > 2 or dtype.kind == "u" and \
            dtype.itemsize >= 4 or dtype.kind == "i" and dtype.itemsize == 8
        assert beyond.get(path, 0) == (1 if wide else 0), (path, beyond.get(path))


CELLS = list(itertools.product(DTYPES, sorted(SHAPES), STORAGE)) if LONG else [pytest.param(
    None, None, None, marks=pytest.mark.skip(reason="the full product: DSCAN_FUZZ_LONG=1"))]


@pytest.mark.parametrize("dtype,shape_name,storage", CELLS, ids=lambda v: getattr(v, "str", v))
def test_each_cell_on_its_own(dtype, shape_name, storage, tmp_path):
    path = str(tmp_path / "x.h5")
    expected = {path: write_file(path, dtype, shape_name, storage)}
    _, report = _scan(path)
    check_report(report, expected)


def _broken_files(tmp_path) -> dict:
    """Files whose structure leads nowhere, between good ones."""
    files = {}
    good = lambda name: b.make_h5(tmp_path / name, data=b.float_rows(4), label=np.arange(4))
    files[good("first.h5")] = 4
    with h5py.File(tmp_path / "self_loop.h5", "w") as handle:
        handle["data"] = h5py.SoftLink("/data")
        handle["label"] = np.arange(4)
    files[str(tmp_path / "self_loop.h5")] = "DS401"
    with h5py.File(tmp_path / "two_loop.h5", "w") as handle:
        handle["data"] = b.float_rows(4)
        handle["label"] = h5py.SoftLink("/other")
        handle["other"] = h5py.SoftLink("/label")
    files[str(tmp_path / "two_loop.h5")] = "DS401"
    with h5py.File(tmp_path / "dangling.h5", "w") as handle:
        handle["data"] = h5py.ExternalLink(str(tmp_path / "absent.h5"), "/data")
        handle["label"] = np.arange(4)
    files[str(tmp_path / "dangling.h5")] = "DS401"
    with h5py.File(tmp_path / "null.h5", "w") as handle:
        handle["data"] = b.float_rows(4)
        handle.create_dataset("label", data=h5py.Empty("f4"))
    files[str(tmp_path / "null.h5")] = "DS403"
    with h5py.File(tmp_path / "bitfield.h5", "w") as handle:  # h5py reads it as uint8
        h5py.h5d.create(handle.id, b"data", h5py.h5t.NATIVE_B8.copy(),
                        h5py.h5s.create_simple((4,)))
        handle["label"] = np.arange(4)
    files[str(tmp_path / "bitfield.h5")] = "DS403"  # Caffe: Unsupported ... H5T_BITFIELD
    files[good("last.h5")] = 4
    return files


def test_link_loops_and_null_dataspaces_cost_only_their_file(tmp_path):
    files = _broken_files(tmp_path)
    _, report = _scan(b.h5_list(tmp_path / "list.txt", list(files)))
    check_report(report, files)
    assert report["summary"]["records"] == 8


def test_a_chunk_shape_never_sizes_the_buffers(tmp_path):
    """20 rows whose label declares chunks of 2^28 rows: buffers of 2^28 rows of data and
    label would be 48 GiB."""
    path = tmp_path / "huge_chunk.h5"
    with h5py.File(path, "w") as handle:  # the label chunk is never written: all fill value
        handle["data"] = b.float_rows(20, (3, 4, 4))
        handle.create_dataset("label", (20,), "u1", chunks=(2 ** 28,), maxshape=(None,),
                              compression="gzip")
    _, report = _scan(str(path))
    check_report(report, {str(path): 20})
    assert report["stats"]["labels"]["histogram"] == {"0": 20}


def test_slab_rows_follow_the_byte_budget():
    from backends.hdf5 import SLAB_BYTES, slab_rows

    assert slab_rows(192, 2 ** 28, 20) == 20  # the shard, not the chunk
    assert slab_rows(192, 2 ** 28, 10 ** 9) == SLAB_BYTES // 192  # the budget, unaligned
    assert slab_rows(1000, 64, 10 ** 9) % 64 == 0  # chunks that fit stay whole
    assert slab_rows(10 ** 9, 1, 100) == 1  # one huge row is still read


def test_values_near_float64_max_give_null_statistics_and_no_nan_in_the_html(tmp_path):
    """Squares of 1e155 and more overflow float64: the figures are null, the plot has none."""
    data = np.full((20, 2, 1, 3), 1e160)
    data[:, 1, 0] = [-1e308, 0.0, 1e308]
    path = b.make_h5(tmp_path / "big.h5", data=data, label=np.arange(20) % 2)
    outcome, report = _scan(path)
    check_report(report, {path: 20})
    channels = report["stats"]["values"]["channels"]
    assert channels[0]["std"] is None and channels[1]["mean"] is not None
    assert report["summary"]["by_code"]["DS409"] == 20  # Caffe's float32 read: Inf
    assert report["verdict"]["caffe"] == "trains_on_garbage"
    plots = re.findall(r"<svg.*?</svg>", html_report.render(outcome, report), re.S)
    assert any("Value range per channel" in plot for plot in plots)
    for plot in plots:  # no coordinate, size or text drawn from a NaN or an Inf
        assert not re.search(r'="[^"]*(nan|inf)|>[^<]*\b(nan|inf)\b', plot, re.I), plot


def test_the_command_line_reports_a_broken_list_with_exit_1(tmp_path):
    """The same list through the real command: a report and exit 1, never exit 2 or a
    traceback."""
    import subprocess
    import sys

    files = _broken_files(tmp_path)
    listed = b.h5_list(tmp_path / "list.txt", list(files))
    done = subprocess.run([sys.executable, "-m", "scanner", "hdf5", listed, "--no-progress",
                           "--json", "-", "-q"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    check_report(json.loads(done.stdout), files)


def test_a_sample_of_nothing_but_inf_is_written_as_strict_json(tmp_path):
    """DS103's 'every value equals inf' keeps its message; its detail value is null."""
    data = b.float_rows(6, (1, 2, 2))
    data[2] = np.inf
    path = b.make_h5(tmp_path / "inf.h5", data=data, label=np.arange(6) % 3)
    _, report = _scan(path)
    check_report(report, {path: 6})
    [constant] = [f for f in report["findings"] if f["code"] == "DS103"]
    assert constant["detail"]["value"] is None and "inf" in constant["message"]
