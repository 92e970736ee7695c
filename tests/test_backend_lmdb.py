"""LMDB backend: the shared contract, plus LMDB's own traps."""
import os

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
