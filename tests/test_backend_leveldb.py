"""LevelDB backend: the shared contract, plus the traps of a store that rewrites itself."""
import multiprocessing
import os

import plyvel
import pytest

from . import builders as b
from .backend_contract import BackendContract
from .builders import tree_state
from .scanning import scan_report


class TestLevelDbContract(BackendContract):
    backend_name = "leveldb"

    def make_store(self, tmp_path, count):
        values = [b.raw_datum(seed=i, label=i % 5) for i in range(count)]
        return b.make_leveldb(tmp_path / "db", values)

    def split_small_stores(self, monkeypatch):
        monkeypatch.setattr("backends.leveldb.SMALL_STORE_BYTES", 0)


def test_a_log_only_store_is_read_without_being_rewritten(tmp_path):
    path = b.make_leveldb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(300)],
                          log_only=True)
    assert not [n for n in os.listdir(path) if n.endswith(".ldb")]  # as Caffe leaves it
    before = tree_state(path)
    report = scan_report(path, backend="leveldb")
    assert report["summary"]["records"] == 300
    assert tree_state(path) == before
    assert "snapshot" in report["source"]


def _hold_open(path, ready, release):
    db = plyvel.DB(path)
    ready.set()
    release.wait(60)
    db.close()


def test_a_store_locked_by_a_running_job_scans(tmp_path):
    path = b.make_leveldb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(100)])
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_open, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(plyvel.IOError):
            plyvel.DB(path)  # the lock is real
        assert scan_report(path, backend="leveldb", jobs=2)["summary"]["records"] == 100
    finally:
        release.set()
        holder.join(60)


def test_the_newest_value_of_each_key_wins(fixture_copy):
    """faulty_enc_leveldb: the table holds the old values, the newer log the faulty ones."""
    report = scan_report(fixture_copy("faulty_enc_leveldb"), backend="leveldb")
    assert report["summary"]["by_code"] == {"DS003": 1, "DS202": 6, "DS206": 1}


def test_no_snapshot_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    os.mkdir(tmp_path / "tmp")
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    path = b.make_leveldb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(50)])
    scan_report(path, backend="leveldb", jobs=2)
    assert os.listdir(tmp_path / "tmp") == []


def test_snappy_tables_are_read(tmp_path):
    values = [b.raw_datum(label=i % 3, data=bytes([i % 7]) * 192) for i in range(2000)]
    path = b.make_leveldb(tmp_path / "db", values)
    tables = [os.path.join(path, n) for n in os.listdir(path) if n.endswith(".ldb")]
    assert tables and not [n for n in os.listdir(path) if n.endswith(".log") and
                           os.path.getsize(os.path.join(path, n))]
    raw_bytes = sum(len(v) for v in values)
    assert sum(map(os.path.getsize, tables)) < raw_bytes / 4  # compressed blocks
    report = scan_report(path, backend="leveldb")
    assert report["summary"]["records"] == 2000
    assert report["summary"]["by_code"] == {"DS103": 2000}  # every value read back intact


def test_no_room_for_a_snapshot_exits_2(tmp_path, monkeypatch, capsys):
    import tempfile

    from scanner.cli import main

    path = b.make_leveldb(tmp_path / "db", [b.raw_datum()])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no" / "such" / "dir"))
    assert main(["leveldb", path, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "cannot make a private snapshot" in err and err.count("\n") == 1
