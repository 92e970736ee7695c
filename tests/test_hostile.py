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

from scanner.cli import main

from . import builders as b
from .conftest import FIXTURES
from .scanning import scan_report


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


def _keep_writing(path, stop):
    env = lmdb.open(path, map_size=1 << 30)
    number = 0
    while not stop.is_set():
        with env.begin(write=True) as txn:
            for _ in range(50):
                txn.put(b"zz_%08d" % number, b.raw_datum(seed=number, shape=(1, 4, 4)))
                number += 1
    env.close()


def _wait_for_writes(path, beyond: int, seconds: float = 60) -> None:
    """Until the writer has committed records (a spawned process can be slow to start)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        env = lmdb.open(path, readonly=True, lock=False)
        try:
            if env.stat()["entries"] > beyond:
                return
        finally:
            env.close()
        time.sleep(0.05)
    raise AssertionError("the writer committed nothing")


def test_scanning_beside_a_live_writer(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(6000)])
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    writer = context.Process(target=_keep_writing, args=(path, stop))
    writer.start()
    try:
        _wait_for_writes(path, beyond=6000)
        report = scan_report(path, jobs=2)
    finally:
        stop.set()
        writer.join(30)
    seen = report["source"]["entries"]
    assert seen > 6000  # the writer's records committed before the scan's snapshot
    assert report["summary"]["records"] >= seen  # every record of that snapshot, read once
    assert "DS001" not in report["summary"]["by_code"]


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
