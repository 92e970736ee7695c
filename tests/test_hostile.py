"""Hostile input: damaged stores, resource bombs, live writers, interrupts."""
import json
import multiprocessing
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import lmdb
import pytest

import backends

from scanner.cli import main

from . import builders as b
from .conftest import FIXTURES
from .scanning import codes_at, scan_report


def test_a_truncated_data_mdb_is_refused_before_any_page_is_touched(capsys, fixture_copy):
    path = fixture_copy("gray_lmdb")
    data = os.path.join(path, "data.mdb")
    os.truncate(data, os.path.getsize(data) // 2)
    assert main(["lmdb", path, "--no-progress"]) == 2  # not a SIGBUS
    err = capsys.readouterr().err
    assert "data.mdb is truncated" in err and err.count("\n") == 1


def test_a_read_only_copy_scans(tmp_path, fixture_copy):
    path = fixture_copy("faulty_enc_lmdb")
    os.remove(os.path.join(path, "lock.mdb"))
    for folder, _, files in os.walk(path):
        for name in files:
            os.chmod(os.path.join(folder, name), stat.S_IRUSR | stat.S_IRGRP)
        os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        report = scan_report(path, jobs=2)
        assert report["summary"]["records"] == 500 and os.listdir(path) == ["data.mdb"]
    finally:
        os.chmod(path, stat.S_IRWXU)


def _keep_writing(path, started, stop, seconds=30.0):
    """A writer that appends, deletes and overwrites records while the scan runs; a map size
    above the store's, so that readers also meet MDB_MAP_RESIZED."""
    import random

    env = lmdb.open(path, map_size=1 << 31)
    rng, number, deadline = random.Random(7), 0, time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        with env.begin(write=True) as txn:
            for _ in range(20):
                victim = b"%08d_img_%d.jpg" % ((index := rng.randrange(20000)), index)
                txn.delete(victim)
                txn.put(b"%08d_img_%d.jpg" % ((index := rng.randrange(20000)), index),
                        b.raw_datum(seed=number, shape=(1, 4, 4)))
                txn.put(b"zz_%08d" % number, b.raw_datum(seed=number, shape=(1, 4, 4)))
                number += 1
        started.set()
        time.sleep(0.002)
    env.close()


def _scan_beside_a_writer(tmp_path, **settings):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(20000)])
    context = multiprocessing.get_context("spawn")
    started, stop = context.Event(), context.Event()
    writer = context.Process(target=_keep_writing, args=(path, started, stop))
    writer.start()
    try:
        assert started.wait(60)
        report = scan_report(path, jobs=2, **settings)
    finally:
        stop.set()
        writer.join(60)
    return report


@pytest.mark.parametrize("lock", ["auto", "never"])
def test_beside_a_writer_that_deletes_and_overwrites(tmp_path, lock):
    """One consistent version of the store, read whole; or a partial report that says the
    store kept changing. Never a complete report that missed records."""
    report = _scan_beside_a_writer(tmp_path, lmdb_lock=lock)
    mode = report["source"]["read_mode"]
    assert mode.startswith("registered" if lock == "auto" else "lock-free")
    codes = report["summary"]["by_code"]
    assert not {"DS001", "DS002", "DS003", "DS203"} & set(codes)  # the writer writes no fault
    if report["partial"]:  # (a lock-free worker may also have died on a reused page: DS005)
        assert "DS010" in codes and report["coverage"]["store_changed"]["versions"]
        disturbed = report["coverage"]["store_changed"]["disturbed_shards"]
        assert set(disturbed) <= {gap["shard"] for gap in report["coverage"]["not_covered"]}
        assert report["verdict"]["caffe"] == "unknown" and report["interrupted"] is None
        assert report["batches"]["complete"] is False
    else:
        snapshot = report["source"]["snapshot"]
        assert snapshot["consistent"] is True
        assert report["summary"]["records"] == report["source"]["entries"]
    if lock == "auto":  # a registered reader can always read one version whole
        assert not report["partial"]


def _grow_map(path):
    env = lmdb.open(path, map_size=1 << 32)
    with env.begin(write=True) as txn:
        txn.put(b"zzz", b.raw_datum())
    env.close()


def test_a_map_resized_by_a_writer_is_reopened(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(10)])
    store = backends.get("lmdb")(path)
    writer = multiprocessing.get_context("spawn").Process(target=_grow_map, args=(path,))
    writer.start()  # a writer in another process grows the map and commits
    writer.join(60)
    try:
        [shard] = store.shards(4)  # not MDB_MAP_RESIZED: the environment is reopened
    finally:
        store.close()
    with store.read(shard) as records:
        assert len(list(records)) == 11


def test_a_registered_read_writes_only_reader_slots(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(5000)])
    data = os.path.join(path, "data.mdb")
    before, data_stat = b.tree_state(path, reader_table=True), os.stat(data)
    with open(data, "rb") as handle:
        data_bytes = handle.read()
    report = scan_report(path, jobs=2)
    assert report["source"]["read_mode"].startswith("registered reader")
    # Every file compared byte for byte except lock.mdb's reader slots, count and mutexes.
    assert b.tree_state(path, reader_table=True) == before
    with open(data, "rb") as handle:
        assert handle.read() == data_bytes  # data.mdb: byte-identical, mtime kept
    assert os.stat(data).st_mtime_ns == data_stat.st_mtime_ns
    assert sorted(os.listdir(path)) == ["data.mdb", "lock.mdb"]  # no file created


def test_a_datum_claiming_a_trillion_values_allocates_nothing(tmp_path):
    huge = b.datum_bytes(channels=10_000, height=10_000, width=10_000, data=bytes(100))
    report = scan_report(b.make_lmdb(tmp_path / "db", [b.raw_datum(), huge]))
    [finding] = [f for f in report["findings"] if f["code"] == "DS203"]
    assert finding["detail"]["expected"] == 10 ** 12


def _dscan(*argv, env=None):
    return subprocess.Popen([sys.executable, "-m", "scanner", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_ctrl_c_removes_the_leveldb_snapshot(tmp_path):
    path = b.make_leveldb(tmp_path / "db", [b.encoded_datum(b.jpeg(256, 256))] * 4000)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    process = _dscan("leveldb", path, "-j", "2", "--no-progress", "--json",
                     str(tmp_path / "r.json"), env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 60
    def workspaces():  # other libraries keep temporary files here too
        return [n for n in os.listdir(scratch) if n.startswith("dscan-leveldb-")]

    while process.poll() is None:  # wait for the snapshot and two workers' copies of it
        found = workspaces()
        if found and len(os.listdir(scratch / found[0])) >= 3:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert json.loads((tmp_path / "r.json").read_text())["partial"] is True
    assert workspaces() == []


def test_permission_denied_is_one_line_exit_2():
    """Run as an unprivileged user: root reads everything."""
    setpriv = shutil.which("setpriv")
    top = tempfile.mkdtemp()  # in the system temp folder, which every user can traverse
    os.chmod(top, 0o755)
    path = os.path.join(top, "db")
    shutil.copytree(os.path.join(FIXTURES, "gray_lmdb"), path)
    os.chmod(os.path.join(path, "data.mdb"), 0)
    os.chmod(path, 0o755)
    command = [sys.executable, "-m", "scanner", "lmdb", path, "--no-progress"]
    if os.geteuid() == 0:
        assert setpriv, "setpriv (util-linux) is needed to drop root for this test"
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        probe = subprocess.run(command[:4] + [sys.executable, "-c", "import scanner"],
                               capture_output=True, timeout=60)
        if probe.returncode != 0:
            shutil.rmtree(top)
            pytest.skip("this checkout is not readable by an unprivileged user: "
                        + probe.stderr.decode()[-300:])
    done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    shutil.rmtree(top)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"dscan: error: {path}/data.mdb: permission denied\n"


def test_records_that_ended_scans_are_findings(tmp_path, capsys):
    """The payloads that made a decoder raise or a worker die: a report, each judged as
    OpenCV (Caffe's decoder) judges it."""
    from . import image_builders as ib
    values = {"ok": b.jpeg(), "five_bytes": bytes.fromhex("ffd8ffe000"),
              "lossless": ib.lossless_jpeg(b.pixels(16, 12, 3)),
              "cut": b.truncate(b.jpeg(), 0.5), "tall_png": ib.png(1, 2_000_000)}
    path = b.make_lmdb(tmp_path / "db", [b.encoded_datum(v) for v in values.values()],
                       names=list(values))
    assert main(["lmdb", path, "--no-progress", "--json", str(tmp_path / "r.json")]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    decoding = {"DS201", "DS202", "DS009", "DS005"}
    found = {key.split("_", 1)[1]: codes & decoding for key, codes in codes_at(report).items()}
    assert {key: codes for key, codes in found.items() if codes} == {
        "five_bytes": {"DS201"}, "cut": {"DS202"}, "tall_png": {"DS201"}}
    assert report["summary"]["records"] == 5
