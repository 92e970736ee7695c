"""One table of check cases: for every registered code, a store that fires it and one that
does not. A meta test fails when a code has no case or no doc."""
import pytest

from scanner.checks import CATALOGUE
from scanner.pipeline import KILL_HOOK

from . import builders as b
from .scanning import scan_report


def _jpegs(count, **kwargs):
    return [b.encoded_datum(b.jpeg(seed=i, **kwargs), label=i % 3) for i in range(count)]


def _corrupt_pages(tmp_path, corrupt: bool):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(3000)])
    if corrupt:
        b.garble_pages(path, seed=0)  # liblmdb answers MDB_CORRUPTED for this garbage
    return path, {}, {}


def _killer(tmp_path, kill: bool):
    path = b.make_lmdb(tmp_path / "db", RAW)
    return path, {}, {KILL_HOOK: "00000002_img_2.jpg"} if kill else {}


def _store(values, **settings):
    def build(tmp_path):
        return b.make_lmdb(tmp_path / "db", values), settings, {}
    return build


RAW = [b.raw_datum(seed=i, label=i % 3) for i in range(4)]
CASES = {
    "DS001": (lambda t: _corrupt_pages(t, True), lambda t: _corrupt_pages(t, False)),
    "DS002": (_store(RAW + [b"\x07" + bytes(63)]), _store(RAW)),
    "DS005": (lambda t: _killer(t, True), lambda t: _killer(t, False)),
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
    "DS301": (_store(RAW + [b.raw_datum(label=10)], num_classes=10),
              _store(RAW + [b.raw_datum(label=9)], num_classes=10)),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_check_fires(code, tmp_path, monkeypatch):
    path, settings, env = CASES[code][0](tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    report = scan_report(path, **settings)
    assert code in report["summary"]["by_code"], report["summary"]
    assert any(f["code"] == code for f in report["findings"])


@pytest.mark.parametrize("code", sorted(CASES))
def test_check_passes(code, tmp_path):
    path, settings, _ = CASES[code][1](tmp_path)
    report = scan_report(path, **settings)
    assert code not in report["summary"]["by_code"], report["findings"]


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_code_has_cases_and_a_doc(code):
    check = CATALOGUE[code]
    assert code in CASES, f"{code} has no firing/passing case"
    for part in ("What it finds:", "Why it matters:", "Example:"):
        assert part in check.doc, f"{code} doc lacks {part!r}"
    assert check.title and check.severity in ("error", "warning", "info")
