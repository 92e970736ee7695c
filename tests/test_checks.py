"""One table of check cases: for every registered code, a store that fires it and one that
does not. A meta test fails when a code has no case or no doc."""
import numpy as np
import pytest

from scanner.hooks import RAISE_HOOK
from scanner.checks import CATALOGUE
from scanner.hooks import KILL_HOOK

from . import builders as b
from .config_cases import CONFIG_CASES
from .detection_cases import DETECTION_CASES
from .duplicate_cases import DUPLICATE_CASES
from .log_cases import LOG_CASES
from .scanning import any_report, scan_report


def _jpegs(count, **kwargs):
    return [b.encoded_datum(b.jpeg(seed=i, **kwargs), label=i % 3) for i in range(count)]


def _corrupt_pages(tmp_path, corrupt: bool):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(3000)])
    if corrupt:
        b.garble_pages(path, seed=0)  # liblmdb answers MDB_CORRUPTED for this garbage
    return path, {}, {}


def _changing(tmp_path, writing: bool):
    """Read lock-free beside a writer that commits every few milliseconds: no shard can be
    read without a commit landing during its read (records enough that a read takes far
    longer than the writer's pause: 3000 of them were once read between two commits)."""
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(30000)])
    if writing:
        b.start_writer(path)
    return path, {"lmdb_lock": "never"}, {}


def _killer(tmp_path, kill: bool):
    path = b.make_lmdb(tmp_path / "db", RAW)
    return path, {}, {KILL_HOOK: "00000002_img_2.jpg"} if kill else {}


def _raiser(tmp_path, raises: bool):
    path = b.make_lmdb(tmp_path / "db", _jpegs(4))
    return path, {}, {RAISE_HOOK: "00000002_img_2.jpg"} if raises else {}


def _store(values, **settings):
    def build(tmp_path):
        return b.make_lmdb(tmp_path / "db", values), settings, {}
    return build


RAW = [b.raw_datum(seed=i, label=i % 3) for i in range(4)]


def _h5(files: dict, listed=None, relative=False, **settings):
    """HDF5 files (name -> datasets) and a source list of them (absolute paths by default)."""
    def build(tmp_path):
        for name, datasets in files.items():
            b.make_h5(tmp_path / name, **datasets)
        entries = listed or list(files)
        paths = entries if relative else [str(tmp_path / e) for e in entries]
        return b.h5_list(tmp_path / "list.txt", paths), {"backend": "hdf5", **settings}, {}
    return build


def _huge_h5(tmp_path, huge: bool):
    import h5py
    rows, width = (70000, 35000) if huge else (70, 35)
    with h5py.File(tmp_path / "x.h5", "w") as handle:  # chunked and never written: tiny file
        handle.create_dataset("data", (rows, width), "f4", chunks=(64, 1024) if huge else None)
        handle.create_dataset("label", data=np.zeros(rows, np.int32))
    return str(tmp_path / "x.h5"), {"backend": "hdf5"}, {}


SORTED = [b.raw_datum(label=i // 16, shape=(1, 2, 2), seed=i) for i in range(64)]
INTERLEAVED = [b.raw_datum(label=i % 4, shape=(1, 2, 2), seed=i) for i in range(64)]
ROWS = {"data": b.float_rows(6), "label": np.arange(6) % 3}
NAN_LABEL = {"data": b.float_rows(6), "label": np.array([0, 1, np.nan, 2, 0, 1], np.float32)}
MAPS = np.ones((4, 1, 8, 8), np.float32)
EMPTY_MAP = MAPS.copy()
EMPTY_MAP[2] = 0
CASES = {
    "DS001": (lambda t: _corrupt_pages(t, True), lambda t: _corrupt_pages(t, False)),
    "DS002": (_store(RAW + [b"\x07" + bytes(63)]), _store(RAW)),
    "DS005": (lambda t: _killer(t, True), lambda t: _killer(t, False)),
    "DS006": (_store([]), _store(RAW)),
    "DS009": (lambda t: _raiser(t, True), lambda t: _raiser(t, False)),
    "DS010": (lambda t: _changing(t, True), lambda t: _changing(t, False)),
    "DS003": (_store(_jpegs(2) + [b.encoded_datum(b"")]), _store(_jpegs(3))),
    "DS101": (_store([b.float_datum([0.5, float("nan"), 1.0], (1, 1, 3))]),
              _store([b.float_datum([0.5, 0.25, 1.0], (1, 1, 3))])),
    "DS102": (_store([b.float_datum([0.5, 7e4, 1.0], (1, 1, 3))]),
              _store([b.float_datum([0.5, 6e4, 1.0], (1, 1, 3))])),
    "DS103": (_store(RAW + [b.raw_datum(data=bytes(192))]), _store(RAW)),
    "DS201": (_store(_jpegs(2) + [b.encoded_datum(b.truncate(b.jpeg(progressive=True)))]),
              _store(_jpegs(2) + [b.encoded_datum(b.jpeg(progressive=True))])),
    "DS202": (_store(_jpegs(2) + [b.encoded_datum(b.corrupt_scan(b.jpeg(seed=9)))]),
              _store(_jpegs(3))),
    "DS203": (_store(RAW + [b.raw_datum(data=bytes(range(100)))]), _store(RAW)),
    "DS204": (_store(RAW + [b.raw_datum(shape=(0, 8, 8), data=b"x" * 8)]), _store(RAW)),
    "DS205": (_store(RAW + [b.raw_datum(shape=(3, 6, 6))]), _store(RAW)),
    "DS206": (_store(RAW + [b.datum_bytes(channels=3, height=8, width=8, data=b.jpeg())]),
              _store(RAW + [b.encoded_datum(b.jpeg())])),
    "DS207": (_store(_jpegs(3) + [b.encoded_datum(b.jpeg(gray=True))]), _store(_jpegs(4))),
    "DS208": (_store(RAW + [b.datum_bytes(channels=1, height=1, width=2, data=b"ab",
                                          float_data=[1.0, 2.0])]), _store(RAW)),
    "DS209": (_store(_jpegs(2) + [b.encoded_datum(b.bomb_jpeg())]), _store(_jpegs(3))),
    "DS303": (_store([b.raw_datum(label=i % 4, seed=i) for i in range(8)], num_classes=5),
              _store([b.raw_datum(label=i % 5, seed=i) for i in range(10)], num_classes=5)),
    "DS304": (_store(SORTED, batch_size=16), _store(INTERLEAVED, batch_size=16)),
    "DS305": (_store(SORTED), _store(INTERLEAVED)),
    "DS306": (_store([b.raw_datum(label=int(i >= 100), seed=i) for i in range(105)]),
              _store([b.raw_datum(label=i % 2, seed=i) for i in range(20)])),
    "DS302": (_h5({"a.h5": NAN_LABEL}), _h5({"a.h5": ROWS})),
    "DS307": (_h5({"a.h5": {"data": b.float_rows(4), "label": EMPTY_MAP}}),
              _h5({"a.h5": {"data": b.float_rows(4), "label": MAPS}})),
    "DS401": (_h5({"a.h5": {"data": b.float_rows(6), "grp__label": np.zeros(6)}}),
              _h5({"a.h5": ROWS})),
    "DS402": (_h5({"a.h5": {"data": b.float_rows(6), "label": np.zeros(5)}}),
              _h5({"a.h5": ROWS})),
    "DS403": (_h5({"a.h5": {"data": b.float_rows(6), "label": np.array([b"cat"] * 6)}}),
              _h5({"a.h5": ROWS})),
    "DS404": (_h5({"a.h5": ROWS}, listed=["a.h5", "gone.h5"]), _h5({"a.h5": ROWS})),
    "DS405": (lambda t: _huge_h5(t, True), lambda t: _huge_h5(t, False)),
    "DS406": (_h5({"a.h5": ROWS, "b.h5": {"data": b.float_rows(6, (3, 5, 5)),
                                          "label": np.zeros(6)}}),
              _h5({"a.h5": ROWS, "b.h5": ROWS})),
    "DS407": (_h5({"a.h5": ROWS}, relative=True), _h5({"a.h5": ROWS})),
    "DS409": (_h5({"a.h5": {"data": np.array([[0.5, 1e39], [0.5, 1.0]]), "label": np.zeros(2)}}),
              _h5({"a.h5": {"data": np.array([[0.5, 3e38], [0.5, 1.0]]), "label": np.zeros(2)}})),
    "DS408": (_h5({"a.h5": {"data": np.zeros((6, 0), np.float32), "label": np.zeros(6)}}),
              _h5({"a.h5": {"data": np.zeros((6, 1), np.float32), "label": np.zeros(6)}})),
    "DS301": (_store(RAW + [b.raw_datum(label=10)], num_classes=10),
              _store(RAW + [b.raw_datum(label=9)], num_classes=10)),
    **CONFIG_CASES,
    **DETECTION_CASES,
    **DUPLICATE_CASES,
    **LOG_CASES,
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_check_fires(code, tmp_path, monkeypatch):
    path, settings, env = CASES[code][0](tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    report = any_report(path, **settings)
    assert code in report["summary"]["by_code"], report["summary"]
    sections = [s["report"]["findings"] for s in report.get("sections", []) if s.get("report")]
    assert any(f["code"] == code for f in report["findings"] + sum(sections, []))


@pytest.mark.parametrize("code", sorted(CASES))
def test_check_passes(code, tmp_path):
    path, settings, _ = CASES[code][1](tmp_path)
    report = any_report(path, **settings)
    assert code not in report["summary"]["by_code"], report["findings"]


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_has_cases_and_a_doc(code):
    check = CATALOGUE[code]
    assert code in CASES, f"{code} has no firing/passing case"
    for part in ("What it finds:", "Why it matters:", "Example:"):
        assert part in check.doc, f"{code} doc lacks {part!r}"
    assert check.title and check.severity in ("error", "warning", "info")


@pytest.mark.parametrize("grey_at, dies_at", [(0, 1), (1, 1), (2, 3), (3, 3)])
def test_caffe_dies_after_an_odd_record_that_leads_its_batch(tmp_path, grey_at, dies_at):
    """A batch takes its first record's shape: after a grey first record the colour one
    fails Caffe's channel check; the grey record is reported as the odd one either way."""
    values = _jpegs(4)
    values[grey_at] = b.encoded_datum(b.jpeg(seed=9, gray=True), label=0)
    path = b.make_lmdb(tmp_path / "db", values)
    report = scan_report(path, batch_size=2)
    verdict = report["verdict"]
    assert verdict["caffe"] == "crashes" and verdict["crash_records"] == 1
    assert (verdict["first_crash"]["index"], verdict["first_crash"]["code"]) == (dies_at, "DS207")
    at = {f["index"]: f for f in report["findings"] if f["code"] == "DS207"}
    assert set(at) == {grey_at, dies_at}
    if grey_at != dies_at:
        assert at[dies_at]["detail"]["batch_led_by"] == grey_at
        assert f"first record (index {grey_at}) has 1" in at[dies_at]["message"]
