"""The parent's shared lock on lock.mdb: while it is held no other process's handle can be
the last user (take the first byte exclusively), whatever this process opens and closes."""
import fcntl
import os
import subprocess
import sys

import lmdb

import backends
from backends.lmdb_anchor import LockTableAnchor
from scanner.settings import ScanSettings

from . import builders as b

_PROBE = """
import fcntl, sys
with open(sys.argv[1], "rb+") as handle:
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0, 0)
    except OSError:
        print("held")
    else:
        print("free")
"""


def _first_byte(lock_path: str) -> str:
    """What another process finds: 'free' if it could be the last user, else 'held'."""
    return subprocess.run([sys.executable, "-c", _PROBE, lock_path], capture_output=True,
                          text=True, check=True).stdout.strip()


def _store(tmp_path) -> str:
    path = b.make_lmdb(tmp_path / "db", [b.encoded_datum(b.jpeg(8, 8))] * 3)
    lock = os.path.join(path, "lock.mdb")
    assert os.path.isfile(lock)
    return path


def test_a_held_anchor_keeps_other_processes_from_the_first_byte(tmp_path):
    lock = os.path.join(_store(tmp_path), "lock.mdb")
    assert _first_byte(lock) == "free"
    anchor = LockTableAnchor(lock)
    assert anchor.hold()
    assert _first_byte(lock) == "held"
    anchor.release()
    assert _first_byte(lock) == "free"


def test_closing_a_handle_in_this_process_keeps_the_anchor(tmp_path):
    path = _store(tmp_path)
    lock = os.path.join(path, "lock.mdb")
    env = lmdb.open(path, readonly=True, lock=True)  # a process-wide fcntl lock ...
    anchor = LockTableAnchor(lock)
    assert anchor.hold()  # taken while a handle is open: the lock table is live
    env.close()  # ... which closing drops, with every other one this process had
    assert _first_byte(lock) == "held"
    for _ in range(3):  # handles come and go (the workers'), the table stays usable
        env = lmdb.open(path, readonly=True, lock=True)
        with env.begin() as txn:
            assert txn.stat()["entries"] == 3
        env.close()
    anchor.release()


def test_the_backend_holds_it_while_registered_and_drops_it_at_cleanup(tmp_path):
    path = _store(tmp_path)
    lock = os.path.join(path, "lock.mdb")
    store = backends.get("lmdb")(path)
    assert store.registered
    store.close()  # before the workers start: the handle goes, the anchor stays
    assert _first_byte(lock) == "held"
    store.cleanup()
    assert _first_byte(lock) == "free"


def test_a_lock_free_read_takes_no_lock(tmp_path):
    path = _store(tmp_path)
    store = backends.get("lmdb")(path, ScanSettings(lmdb_lock="never"))
    assert not store.registered
    assert _first_byte(os.path.join(path, "lock.mdb")) == "free"
    store.close()
    store.cleanup()


def test_a_missing_lock_file_is_no_anchor(tmp_path):
    anchor = LockTableAnchor(str(tmp_path / "lock.mdb"))
    assert not anchor.hold()
    anchor.release()
    assert not os.path.exists(tmp_path / "lock.mdb")
    assert fcntl.F_OFD_SETLK  # the systems dscan runs on have OFD locks (Linux)
