"""LMDB backend: the shared contract, plus LMDB's own traps."""
import multiprocessing
import os
import signal

import lmdb
import pytest

import backends
from scanner.errors import InputNotFoundError, StoreError, WrongKindError

from . import builders as b
from .backend_contract import BackendContract
from .scanning import scan_report


class TestLmdbContract(BackendContract):
    backend_name = "lmdb"
    reader_table = True

    def make_store(self, tmp_path, count):
        # Irregular keys (varying length, non-UTF-8 bytes) exercise the key-range splits.
        items = [(b"%d/%s" % (i * 7919 % 100003, b"\xff" * (i % 3)), b.raw_datum(seed=i))
                 for i in range(count)]
        b.put_raw(tmp_path / "db", items)
        return str(tmp_path / "db")


def test_no_lock_file_is_created(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum()])
    os.remove(os.path.join(path, "lock.mdb"))
    store = backends.get("lmdb")(path)
    shard = store.shards(1)[0]
    store.close()  # py-lmdb allows one open handle per environment and process
    with store.read(shard) as records:
        assert len(list(records)) == 1
    assert os.listdir(path) == ["data.mdb"]


def test_shards_of_an_empty_store_are_none(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [])
    store = backends.get("lmdb")(path)
    assert store.count() == 0 and store.shards(4) == []
    store.close()
    report = scan_report(path)
    assert report["summary"]["records"] == 0 and report["summary"]["by_code"] == {"DS006": 1}
    assert report["verdict"]["caffe"] == "crashes"  # as Caffe does: std::bad_alloc


@pytest.mark.parametrize("make, error", [
    (lambda t: str(t / "missing"), InputNotFoundError),
    (lambda t: (t / "file.mdb").write_bytes(b"x") and str(t / "file.mdb"), WrongKindError),
    (lambda t: (t / "empty").mkdir() or str(t / "empty"), WrongKindError),
    (lambda t: (t / "bad").mkdir() or (t / "bad" / "data.mdb").write_bytes(b"\0" * 8192)
     and str(t / "bad"), StoreError),
])
def test_unusable_paths_raise_one_clear_error(tmp_path, make, error):
    with pytest.raises(error) as raised:
        backends.get("lmdb")(make(tmp_path))
    assert str(tmp_path) in str(raised.value)


def _read_and_die(path):
    env = lmdb.open(path, readonly=True, lock=True)
    env.begin()  # a registered reader, killed mid-read: its slot stays in lock.mdb
    os.kill(os.getpid(), signal.SIGKILL)


def _keep_open(path, ready, release, seen):
    env = lmdb.open(path)  # a writer keeps the environment (and the reader table) alive
    ready.set()
    release.wait(60)
    seen.value = env.readers().count("\n") - 1  # lines after the header: live slots
    env.close()


def test_slots_of_killed_workers_are_freed_for_the_writer(tmp_path):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i) for i in range(10)])
    context = multiprocessing.get_context("spawn")
    ready, release, seen = context.Event(), context.Event(), context.Value("i", -1)
    writer = context.Process(target=_keep_open, args=(path, ready, release, seen))
    writer.start()
    try:
        assert ready.wait(60)
        reader = context.Process(target=_read_and_die, args=(path,))
        reader.start()
        reader.join(60)
        store = backends.get("lmdb")(path)
        store.close()
        store.cleanup()  # what a scan does at its end, also after an interrupt
    finally:
        release.set()
        writer.join(60)
    assert seen.value == 0  # the writer may reuse those pages again


def test_few_large_records_are_split_few_small_ones_are_not(tmp_path):
    """Fewer records than SMALL_STORE_RECORDS stay one shard only when they are also few
    bytes: 1200 datums of 3x48x48 (10 MB of pages) are, 1200 of 3x96x96 (34 MB) are not."""
    from scanner.settings import ScanSettings
    counts = {}
    for side in (48, 96):
        value = b.raw_datum(shape=(3, side, side))
        path = b.make_lmdb(tmp_path / f"db{side}", [value] * 1200)
        store = backends.get("lmdb")(path, ScanSettings())
        counts[side] = len(store.shards(4))
        store.close()
    assert counts == {48: 1, 96: 4}
