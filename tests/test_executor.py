"""Parallel scans: real worker processes give the same report as one process."""
import threading
from concurrent.futures import Future

import numpy as np
import pytest

from scanner import executor
from scanner.errors import StoreError
from scanner.hooks import KILL_HOOK, KILL_LATER_HOOK

from . import builders as b
from .scanning import scan_report

TIMING = ("started_at", "duration_s", "executor", "coverage")  # how it ran, not what it found


def _faulty_store(tmp_path, count=9000):
    rng = np.random.default_rng(1)
    values = []
    for index in range(count):
        roll = rng.random()
        if roll < 0.01:
            values.append(b"\x07" + bytes(20))
        elif roll < 0.02:
            values.append(b.float_datum([1.0, float("inf"), 2.0], (1, 1, 3), label=index % 7))
        elif roll < 0.03:
            values.append(b.raw_datum(shape=(1, 4, 4), data=bytes(16), label=index % 7))
        else:
            values.append(b.raw_datum(shape=(1, 4, 4), seed=index, label=index % 7))
    return b.make_lmdb(tmp_path / "db", values)


def _without_timing(report):
    return {key: value for key, value in report.items() if key not in TIMING}


def test_one_and_many_workers_give_the_same_report(tmp_path):
    path = _faulty_store(tmp_path)
    one = scan_report(path, jobs=1, num_classes=5)
    two = scan_report(path, jobs=2, num_classes=5)
    assert one["executor"]["jobs"] == 1 and two["executor"]["jobs"] == 2
    assert _without_timing(one) == _without_timing(two)
    assert one["summary"]["records"] == 9000
    assert set(one["summary"]["by_code"]) == {"DS002", "DS101", "DS103", "DS205", "DS301"}


def test_findings_are_in_read_order_with_exact_counts(tmp_path):
    path = _faulty_store(tmp_path)
    report = scan_report(path, jobs=2, max_examples=3)
    indices = [f["index"] for f in report["findings"]]
    assert indices == sorted(indices)
    by_code = report["summary"]["by_code"]
    assert by_code["DS002"] > 3 and sum(1 for f in report["findings"] if f["code"] == "DS002") == 3


def test_a_worker_killed_on_a_record_costs_only_that_record(tmp_path, monkeypatch):
    path = _faulty_store(tmp_path)
    clean = scan_report(path, jobs=2)
    monkeypatch.setenv(KILL_HOOK, "00004321_img_4321.jpg")
    report = scan_report(path, jobs=2)
    assert report["summary"]["records"] == 9000
    killed = [f for f in report["findings"] if f["code"] == "DS005"]
    assert [(f["index"], f["key"]) for f in killed] == [(4321, "00004321_img_4321.jpg")]
    assert 4321 not in {f["index"] for f in clean["findings"]}  # a clean record otherwise
    others = {code: n for code, n in report["summary"]["by_code"].items() if code != "DS005"}
    assert others == clean["summary"]["by_code"]


def test_a_store_that_aborts_its_reader_is_a_finding_not_a_crash(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i, shape=(1, 4, 4))
                                         for i in range(3000)])
    b.garble_pages(path, seed=5)  # this garbage makes liblmdb abort() in mdb_cursor_next
    report = scan_report(path, jobs=2)
    store_errors = [f for f in report["findings"] if f["code"] == "DS001"]
    assert len(store_errors) == 1 and "crashed the reader" in store_errors[0]["message"]
    assert store_errors[0]["detail"]["records_not_reached"] == 3000 - report["summary"]["records"]
    assert report["verdict"]["first_crash"]["code"] == "DS001"


def test_a_record_that_kills_the_worker_later_is_found_by_bisection(tmp_path, monkeypatch):
    """Memory corruption: the worker dies three records after the one that corrupted it. The
    record to blame is isolated (DS005), not the one the worker died on."""
    path = _faulty_store(tmp_path, count=3000)
    clean = scan_report(path, jobs=2)
    monkeypatch.setenv(KILL_LATER_HOOK, "00001234_img_1234.jpg")
    report = scan_report(path, jobs=2)
    assert report["summary"]["records"] == 3000
    killed = [(f["index"], f["key"]) for f in report["findings"] if f["code"] == "DS005"]
    assert killed == [(1234, "00001234_img_1234.jpg")]
    others = {code: n for code, n in report["summary"]["by_code"].items() if code != "DS005"}
    assert others == clean["summary"]["by_code"]


def test_the_retry_budget_counts_only_crashes_that_do_not_repeat(tmp_path, monkeypatch):
    """A record that kills every worker costs more crashes than the budget: still isolated."""
    values = [b.raw_datum(shape=(1, 2, 2), seed=i) for i in range(40)]
    path = b.make_lmdb(tmp_path / "db", values)
    monkeypatch.setattr(executor, "MAX_CRASHES_PER_SHARD", 2)
    monkeypatch.setenv(KILL_HOOK, "00000007_img_7.jpg")
    report = scan_report(path, jobs=1)
    assert report["summary"]["records"] == 40
    assert [f["index"] for f in report["findings"] if f["code"] == "DS005"] == [7]


def test_a_worker_that_fails_while_the_scan_stops_counts_as_stopped():
    failed = Future()
    failed.set_exception(StoreError("db: cannot open as LMDB"))  # its store closed under it
    stop = threading.Event()
    round_ = executor._Round({}, [], [])
    with pytest.raises(StoreError):  # a failure of a running scan is the scan's
        executor.LocalExecutor._collect({failed}, {failed: None}, round_, stop)
    stop.set()
    executor.LocalExecutor._collect({failed}, {failed: None}, round_, stop)  # interrupted
    assert round_.results == {} and round_.broken == []


def test_a_signal_while_the_log_forwarding_is_made_interrupts_just_after(tmp_path,
                                                                         monkeypatch):
    """A SIGINT inside the log-forwarding handler's making once left it half made: logging
    closed it at exit and printed a traceback (a real SIGINT at a random moment). The
    signal is noted there and interrupts the run once the handler is whole."""
    import logging
    import os
    import signal

    import backends
    import multiprocessing_logging

    from scanner import interrupts
    from scanner.settings import ScanSettings

    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(8)])
    store = backends.get("lmdb")(path, ScanSettings())
    shards = store.shards(2, None, 0)
    store.close()
    real_queue = multiprocessing_logging.multiprocessing.Queue

    def interrupted_queue(*args):  # the signal lands inside MultiProcessingHandler()
        os.kill(os.getpid(), signal.SIGINT)
        return real_queue(*args)

    made, wrapper = [], multiprocessing_logging.MultiProcessingHandler
    making = wrapper.__init__

    def recorded(self, *args, **kwargs):
        made.append(self)
        making(self, *args, **kwargs)

    monkeypatch.setattr(multiprocessing_logging.multiprocessing, "Queue", interrupted_queue)
    monkeypatch.setattr(wrapper, "__init__", recorded)
    root, ours = logging.getLogger(), logging.NullHandler()  # a handler to forward to
    root.addHandler(ours)
    interrupts.install()
    try:
        interrupts.started()
        with pytest.raises(interrupts.Interrupted):
            executor.LocalExecutor(2).run(shards, ScanSettings(), None)
    finally:
        interrupts.uninstall()
        root.removeHandler(ours)
    assert made and all(hasattr(handler, "_is_closed") for handler in made)
    assert not [h for h in root.handlers if isinstance(h, wrapper)]  # the forwarding undone
