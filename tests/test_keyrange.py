"""Shard plans are even whatever the keys: the split primitives, then real stores planned by
their backends (LMDB by a keys-only walk, LevelDB by its size estimate, HDF5 lists by file
size), each checked by counting the records every shard really holds."""
import uuid
from bisect import bisect_left

import lmdb
import numpy as np
import pytest

from backends import keyrange
from backends.hdf5 import Hdf5Backend
from backends.leveldb import LevelDbBackend
from backends.lmdb import LmdbBackend
from scanner.settings import ScanSettings

from . import builders as b

TOLERANCE = 0.15  # every shard within 15% of the mean

KEY_PATTERNS = {
    "caffe": lambda i: b"%08d_train/n%05d/img_%d.JPEG" % (i, i % 997, i),
    "digits": lambda i: b"%010d" % i,
    "uuid": lambda i: str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128))).encode(),
    "bytes": lambda i: bytes(np.random.default_rng(i).integers(0, 256, 12, dtype=np.uint8)),
    "clustered": lambda i: b"train/class_%04d/img_%06d.jpg" % (i // 5000, i),
}


def _assert_even(counts: list[int], parts: int, total: int) -> None:
    assert len(counts) == parts and sum(counts) == total
    mean = total / parts
    assert max(abs(c - mean) for c in counts) <= TOLERANCE * mean, counts


def test_walk_splits_cut_at_exact_positions():
    keys = [b"%03d" % i for i in range(100)]
    splits, beyond = keyrange.walk_splits(keys, 100, 4)
    assert splits == [b"025", b"050", b"075"] and beyond is None
    splits, beyond = keyrange.walk_splits(keys, 10, 3)
    assert splits == [b"003", b"006"] and beyond == b"010"
    assert keyrange.walk_splits(keys[:2], 5, 4) == ([b"001"], None)  # fewer keys than asked


@pytest.mark.parametrize("pattern", sorted(KEY_PATTERNS))
def test_size_splits_follow_the_size_estimate(pattern):
    keys = sorted(KEY_PATTERNS[pattern](i) for i in range(20_000))

    def snap(probe):
        at = bisect_left(keys, probe)
        return keys[at] if at < len(keys) else None

    def size_before(key):  # 100 bytes a record, as a store's estimate would say
        return 100 * bisect_left(keys, key)

    splits = keyrange.size_splits(keys[0], keys[-1], 16, snap, size_before)
    edges = [0, *(bisect_left(keys, key) for key in splits), len(keys)]
    _assert_even([high - low for low, high in zip(edges, edges[1:])], 16, len(keys))


def test_apportion_follows_the_weights_and_the_caps():
    assert keyrange.apportion([30, 70, 100], 32, [99, 99, 99]) == [5, 11, 16]
    assert keyrange.apportion([1, 1000], 4, [99, 99]) == [1, 3]  # every item gets one
    assert keyrange.apportion([50, 50], 8, [2, 99]) == [2, 6]  # a cap holds, the rest moves
    assert keyrange.even_cuts(100, 4, 10) == [0, 20, 50, 80, 100]  # on chunk boundaries
    assert keyrange.even_cuts(100, 4, 1) == [0, 25, 50, 75, 100]


def _lmdb(path, keys) -> str:
    env = lmdb.open(str(path), map_size=1 << 30)
    with env.begin(write=True) as txn:
        for key in keys:
            txn.put(key, b"v" * 24)
    env.close()
    return str(path)


def _lmdb_counts(store: LmdbBackend, shards) -> list[int]:
    counts = []
    with store.env.begin() as txn:
        for shard in shards:
            cursor = txn.cursor()
            placed = cursor.set_range(shard.start) if shard.start is not None else cursor.first()
            count = 0
            for key in (cursor.iternext(values=False) if placed else ()):
                if shard.stop is not None and key >= shard.stop:
                    break
                count += 1
            counts.append(count)
    return counts


def test_a_200k_lmdb_with_caffe_keys_plans_32_even_shards(tmp_path):
    path = _lmdb(tmp_path / "db", (b"%08d_img_%d.jpg" % (i, i) for i in range(200_000)))
    store = LmdbBackend(path)
    _assert_even(_lmdb_counts(store, store.shards(32)), 32, 200_000)
    _assert_even(_lmdb_counts(store, store.shards(7, limit=50_000)), 7, 50_000)
    store.close()


@pytest.mark.parametrize("pattern", sorted(KEY_PATTERNS))
def test_lmdb_plans_are_even_for_every_key_pattern(tmp_path, pattern):
    path = _lmdb(tmp_path / "db", (KEY_PATTERNS[pattern](i) for i in range(20_000)))
    store = LmdbBackend(path)
    _assert_even(_lmdb_counts(store, store.shards(12)), 12, 20_000)
    store.close()


def _leveldb_counts(store: LevelDbBackend, shards) -> list[int]:
    return [sum(1 for _ in store.db.iterator(start=s.start, stop=s.stop, include_value=False))
            for s in shards]


@pytest.mark.parametrize("pattern", ["caffe", "uuid", "clustered"])
def test_leveldb_plans_are_even(tmp_path, pattern):
    import plyvel

    total = 200_000 if pattern == "caffe" else 160_000  # over 16 MB: worth splitting
    db = plyvel.DB(str(tmp_path / "db"), create_if_missing=True)
    # values that do not compress: the store's size estimate then counts records too
    values = np.random.default_rng(0).integers(0, 256, (total, 100), dtype=np.uint8)
    with db.write_batch() as batch:
        for i in range(total):
            batch.put(KEY_PATTERNS[pattern](i), values[i].tobytes())
    db.compact_range()
    db.close()
    store = LevelDbBackend(str(tmp_path / "db"))
    try:
        _assert_even(_leveldb_counts(store, store.shards(32)), 32, total)
        _assert_even(_leveldb_counts(store, store.shards(5, limit=9000)), 5, 9000)
    finally:
        store.cleanup()


def test_an_hdf5_list_of_unequal_files_plans_even_shards(tmp_path):
    entries = []
    for number, (rows, chunks) in enumerate([(30_000, None), (70_000, 500), (100_000, None)]):
        data = np.zeros((rows, 1, 1, 48), np.float32)  # 192 bytes a row: 38 MB in all
        entries.append(b.make_h5(tmp_path / f"part{number}.h5", chunks=chunks, data=data,
                                 label=np.zeros(rows, np.float32)))
    store = Hdf5Backend(b.h5_list(tmp_path / "list.txt", entries), ScanSettings())
    shards = store.shards(32)
    _assert_even([s.stop - s.start for s in shards], 32, 200_000)
    assert all(s.start % 500 == 0 for s in shards if s.name.endswith("part1.h5"))


def test_the_report_shows_the_balance_of_the_shards(tmp_path):
    from scanner.executor import SHARDS_PER_JOB

    from .scanning import scan_report

    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(seed=i % 7, shape=(1, 2, 2))
                                         for i in range(8000)])
    report = scan_report(path, jobs=2)  # as many shards as the local pool plans for 2 jobs
    shards = report["executor"]["shards"]
    _assert_even([s["records"] for s in shards], 2 * SHARDS_PER_JOB, 8000)
    assert all(s["seconds"] > 0 for s in shards)
