"""Interrupts at every phase of a run: exit 130, a partial report that names the phase,
no temporary directory left behind."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

import backends
from scanner.interrupts import PHASE_HOOK, Interrupted
from scanner.pipeline import scan_shard
from scanner.report import json_report
from scanner.report.json_report import load_schema
from scanner.scan import _Run
from scanner.settings import ScanSettings
from scanner.checks import CATALOGUE
from scanner.executor import LocalExecutor

from . import builders as b

LONG = os.environ.get("DSCAN_LONG_TESTS") == "1"
PHASES = ["start-up", "planning", "snapshot", "scanning", "checks", "writing"]
BEFORE_READING = {"start-up", "planning", "snapshot", "scanning"}


def _start(tmp_path, path, *extra, env=None):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    target = tmp_path / "r.json"
    if target.exists():
        target.unlink()
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "leveldb", path, "-j", "2", "--no-progress",
         "--json", str(target), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "TMPDIR": str(scratch), **(env or {})})
    return process, target, scratch


def _left_behind(scratch) -> list[str]:
    return [name for name in os.listdir(scratch) if name.startswith("dscan-")]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("store")
    return b.make_leveldb(folder / "db", [b.raw_datum(seed=i, label=i % 3)
                                          for i in range(3000)])


@pytest.mark.parametrize("phase", PHASES)
def test_a_signal_at_each_phase_gives_a_partial_report(tmp_path, store, phase):
    sent = "SIGTERM" if PHASES.index(phase) % 2 else "SIGINT"
    process, target, scratch = _start(tmp_path, store, env={PHASE_HOOK: f"{phase}:{sent}"})
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    report = json.loads(target.read_text())
    jsonschema.validate(report, load_schema())
    assert report["partial"] is True and report["exit_status"] == 130
    assert report["interrupted"] == {"phase": phase, "signal": sent}
    if phase in BEFORE_READING:  # nothing was read: the report says so, and nothing more
        assert report["summary"]["records"] == 0 and report["coverage"]["shards_finished"] == 0
        assert report["coverage"]["not_covered"] and report["verdict"]["caffe"] == "unknown"
    else:
        assert report["summary"]["records"] == 3000
    if phase != "writing":  # read-order results are not computed from a part
        assert report["batches"]["complete"] is False and report["batches"]["count"] is None
    assert _left_behind(scratch) == []


def test_a_signal_after_the_report_changes_nothing(tmp_path, store):
    """Between the end of the run and the end of the process: the exit status stands."""
    process, target, scratch = _start(tmp_path, store, env={PHASE_HOOK: "exit"})
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0 and err == ""
    assert json.loads(target.read_text())["partial"] is False


def _handlers_installed(pid: int) -> bool:
    """dscan catches SIGTERM once it can turn a signal into a report (Python does not)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            caught = next(line for line in handle if line.startswith("SigCgt:"))
    except (FileNotFoundError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("attempt", range(20 if LONG else 2))
def test_a_real_sigint_at_a_random_moment(tmp_path, store, attempt):
    """A loop of 20 with DSCAN_LONG_TESTS=1 (2 otherwise): a signal from the moment the
    handlers are in until the run ends."""
    delay = random.Random(attempt).uniform(0.0, 2.5)
    process, target, scratch = _start(tmp_path, store)
    deadline = time.monotonic() + 60
    while not _handlers_installed(process.pid) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err
    report = json.loads(target.read_text())
    if process.returncode == 130:
        assert report["partial"] is True and report["interrupted"]["signal"] == "SIGINT"
    else:  # the run was over before the signal came
        assert process.returncode == 0, err
        assert report["partial"] is False and report["summary"]["records"] == 3000
    assert _left_behind(scratch) == []


def test_a_partial_report_keeps_every_finished_shard(tmp_path):
    """Shards 0 and 2 of 3 finished, shard 1 not: both are kept, shard 1's key range is
    listed, and records after the gap keep their keys but not an index."""
    values = [b.raw_datum(seed=i, shape=(1, 4, 4), label=i % 3) for i in range(6000)]
    values[5000] = b"\x07" + bytes(20)  # a record that is no Datum, in the last shard
    path = b.make_lmdb(tmp_path / "db", values)
    settings = ScanSettings(enabled=frozenset(CATALOGUE))
    store = backends.get("lmdb")(path, settings)
    shards = store.shards(3)
    store.close()
    assert len(shards) == 3
    run = _Run("lmdb", path, settings, LocalExecutor(1))
    run.source, run.shards = store.describe(), shards
    run.results = [scan_shard(shards[0], settings), scan_shard(shards[2], settings)]
    outcome = run.outcome(Interrupted("scanning", "SIGINT"))
    report = json_report.build(outcome, outcome.exit_status)
    jsonschema.validate(report, load_schema())
    first, last = run.results
    assert report["summary"]["records"] == first.records + last.records
    [gap] = report["coverage"]["not_covered"]
    assert gap["shard"] == 1 and gap["start"] == shards[1].start.decode()
    assert gap["stop"] == shards[2].start.decode()
    assert report["coverage"]["exact_records"] == first.records
    [bad] = [f for f in report["findings"] if f["code"] == "DS002"]
    assert bad["key"] == "00005000_img_5000.jpg" and bad["index"] is None
    assert report["verdict"]["complete"] is False and report["verdict"]["caffe"] == "crashes"
    assert report["verdict"]["first_crash"] is None  # a crash, but maybe not the first
    assert report["batches"]["complete"] is False and outcome.exit_status == 130
