"""LevelDB backend: the shared contract, plus the traps of a store that rewrites itself."""
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile

import plyvel
import pytest

from scanner.checks import CATALOGUE

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


def _caffe_style_log(path, megabytes: int) -> str:
    """A log-only LevelDB as Caffe's convert_imageset leaves it: one put per record under a
    256 MB write buffer, closed before anything reopened (and compacted) it."""
    import numpy as np

    width = 30000  # incompressible raw datums of 3x100x100
    count = megabytes * 1_000_000 // width
    noise = np.random.default_rng(0).integers(0, 256, width * count, dtype=np.uint8).tobytes()
    db = plyvel.DB(str(path), create_if_missing=True, write_buffer_size=256 << 20)
    for index in range(count):
        db.put(b"%08d_img_%d.jpg" % (index, index),
               b.raw_datum(label=index % 10, shape=(3, 100, 100),
                           data=noise[index * width:(index + 1) * width]))
    db.close()
    return str(path)


def _cli_report(path, tmp_path, timeout=120):
    target = tmp_path / f"report-{os.path.basename(path)}.json"
    done = subprocess.run([sys.executable, "-m", "scanner", "leveldb", path, "-j", "2",
                           "--no-progress", "--json", str(target)], capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(target.read_text())


SIZES = [30] + ([155] if os.environ.get("DSCAN_LONG_TESTS") == "1" else [])


@pytest.mark.parametrize("megabytes", SIZES)
def test_a_log_only_store_bigger_than_the_buffer_scans_to_the_end(tmp_path, megabytes):
    """Opening it replays the log into many tables, so a compaction is due: a worker forked
    from a process that opened LevelDB waited forever for it. (DSCAN_LONG_TESTS=1 adds the
    155 MB store of the report that found it.)"""
    path = _caffe_style_log(tmp_path / "db", megabytes)
    assert [n for n in os.listdir(path) if n.endswith(".log")] and \
        not [n for n in os.listdir(path) if n.endswith(".ldb")]
    compacted = shutil.copytree(path, tmp_path / "compacted")
    db = plyvel.DB(str(compacted))
    db.compact_range()
    db.close()
    as_left = _cli_report(path, tmp_path, timeout=60 + megabytes)  # a hang fails here
    after = scan_report(str(compacted), jobs=2, backend="leveldb",
                        enabled=frozenset(CATALOGUE))
    assert as_left["summary"]["records"] == megabytes * 1_000_000 // 30000
    for part in ("summary", "findings", "stats", "verdict"):
        assert as_left[part] == after[part], part


@pytest.mark.parametrize("make", [
    lambda log: os.symlink("/dev/zero", log),
    lambda log: os.mkfifo(log),
], ids=["symlink-to-dev-zero", "fifo"])
def test_a_log_that_is_not_a_regular_file_is_refused(tmp_path, monkeypatch, capsys, make):
    from scanner.cli import main

    path = b.make_leveldb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(10)])
    make(os.path.join(path, "000099.log"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert main(["leveldb", path, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "000099.log is " in err and "not a regular file" in err
    assert os.listdir(scratch) == []  # no snapshot left behind


def test_a_corrupted_table_block_does_not_claim_zero_records_unreached(tmp_path):
    values = [b.raw_datum(seed=i, shape=(1, 16, 16)) for i in range(8000)]
    path = b.make_leveldb(tmp_path / "db", values)
    [table] = [os.path.join(path, n) for n in os.listdir(path) if n.endswith(".ldb")]
    with open(table, "r+b") as handle:  # garbage over a block in the middle
        handle.seek(os.path.getsize(table) // 2)
        handle.write(bytes(range(256)) * 64)
    report = scan_report(path, backend="leveldb")
    [error] = [f for f in report["findings"] if f["code"] == "DS001"]
    assert report["summary"]["records"] < 8000
    assert report["source"]["entries"] is None  # LevelDB claims no count; none is made up
    assert error["detail"]["records_not_reached"] is None
    assert "0 records could not be reached" not in error["message"]
    assert "unknown" in error["message"]
