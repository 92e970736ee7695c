"""The plan read from LMDB's B-tree pages: the same cuts as the keys-only walk through
liblmdb on real stores of every shape, and a refusal (then the walk) on pages it does not
know."""
import os
import struct
import uuid

import lmdb
import numpy as np
import pytest

from backends import lmdb_tree
from backends.keyrange import skip_keys, walk_splits
from backends.lmdb import LmdbBackend

from . import builders as b


def _store(path, keys, value_size, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    env = lmdb.open(str(path), map_size=1 << 31)
    with env.begin(write=True) as txn:
        for key in keys:
            size = value_size if isinstance(value_size, int) else int(rng.integers(*value_size))
            txn.put(key, rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    env.close()
    return str(path)


def _walked(path, wanted, parts, start):
    env = lmdb.open(path, readonly=True, lock=False)
    try:
        with env.begin(buffers=True) as txn:
            keys, at_start = skip_keys(txn.cursor().iternext(values=False), start)
            return (*walk_splits(keys, wanted, parts), at_start if start else None)
    finally:
        env.close()


def _planned(path, wanted, parts, start):
    env = lmdb.open(path, readonly=True, lock=False)
    try:
        with env.begin(buffers=True) as txn:
            return lmdb_tree.plan(path, env, txn, wanted, parts, start)
    finally:
        env.close()


STORES = {  # name -> (keys, value bytes): inline values, overflow pages, mixed, deep trees
    "caffe_small": (lambda: (b"%08d_train/img_%d.jpg" % (i, i) for i in range(30_000)), 50),
    "overflow": (lambda: (b"%08d" % i for i in range(3_000)), 9_000),
    "mixed_sizes": (lambda: (b"%010d" % i for i in range(6_000)), (10, 6_000)),
    "uuid_random_order": (lambda: (str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128)))
                                   .encode() for i in range(40_000)), 30),
    "long_keys": (lambda: (b"k" * 400 + b"%06d" % i for i in range(5_000)), 20),
    "one_leaf": (lambda: (b"%03d" % i for i in range(20)), 10),
}


@pytest.mark.parametrize("name", sorted(STORES))
def test_the_tree_cuts_where_the_keys_walk_cuts(tmp_path, name):
    keys, value_size = STORES[name]
    path = _store(tmp_path / name, keys(), value_size)
    with lmdb.open(path, readonly=True, lock=False) as env:
        total, depth = env.stat()["entries"], env.stat()["depth"]
    if name == "caffe_small":
        assert depth >= 3  # branch pages of branch pages
    for parts, start, wanted in [(1, 0, total), (2, 0, total), (16, 0, total),
                                 (32, 0, total), (7, 13, min(500, total - 13)),
                                 (5, total // 3, total - total // 3), (3, 1, total - 1),
                                 (4, 0, total // 2)]:
        parts = min(parts, wanted)
        assert _planned(path, wanted, parts, start) == _walked(path, wanted, parts, start), \
            (parts, start, wanted)


def test_a_leaf_that_holds_fewer_records_than_the_entries_say_is_refused(tmp_path):
    path = _store(tmp_path / "db", (b"%06d" % i for i in range(2_000)), 40)
    with lmdb.open(path, readonly=True, lock=False) as env:
        psize = env.stat()["psize"]
    data = os.path.join(path, "data.mdb")
    with open(data, "r+b") as handle:  # the first leaf page: one node fewer in its header
        content = handle.read()
        for page in range(2, len(content) // psize):
            flags, lower = struct.unpack_from("<HH", content, page * psize + 10)
            if flags & lmdb_tree.P_LEAF:
                handle.seek(page * psize + 12)
                handle.write(struct.pack("<H", lower - 2))
                break
    with pytest.raises(lmdb_tree.TreeUnreadable, match="add up"):
        _planned(path, 2_000, 4, 0)


@pytest.mark.parametrize("seed", range(6))
def test_garbled_pages_are_refused_or_cut_as_the_walk_cuts(tmp_path, seed):
    """Garbage over pages in the middle: the tree is refused (the backend then walks the
    keys in a child), or the pages it reads were spared and it cuts as the walk does."""
    path = _store(tmp_path / "db", (b"%08d_x" % i for i in range(20_000)), 100)
    b.garble_pages(path, seed, pages=2 + seed)
    try:
        planned = _planned(path, 20_000, 8, 0)
    except lmdb_tree.TreeUnreadable:
        return
    try:
        assert planned == _walked(path, 20_000, 8, 0)
    except lmdb.Error:
        pass  # liblmdb itself cannot walk it; the tree's cuts stand


def test_a_database_of_duplicate_keys_is_left_to_the_walk(tmp_path):
    """DUPSORT's leaves hold a key's values in sub-pages: the leaves' nodes do not count the
    records. (py-lmdb sets no flags on the main database: the meta pages say it here.)"""
    path = _store(tmp_path / "db", (b"%06d" % i for i in range(3_000)), 40)
    with lmdb.open(path, readonly=True, lock=False) as env:
        psize = env.stat()["psize"]
    with open(os.path.join(path, "data.mdb"), "r+b") as handle:
        for page in (0, 1):  # md_flags of the main database, in both meta pages
            handle.seek(page * psize + lmdb_tree.PAGE_HEADER + 76)
            handle.write(struct.pack("<H", 0x04))
    with pytest.raises(lmdb_tree.TreeUnreadable, match="duplicate"):
        _planned(path, 3_000, 4, 0)


def test_the_backend_plans_from_the_tree_and_falls_back_to_the_walk(tmp_path, monkeypatch):
    path = _store(tmp_path / "db", (b"%08d_img" % i for i in range(20_000)), 300)
    store = LmdbBackend(path)
    from_tree = store.shards(8)
    refused = []

    def unreadable(*args):
        refused.append(args)
        raise lmdb_tree.TreeUnreadable("as if the pages were garbled")

    monkeypatch.setattr(lmdb_tree, "plan", unreadable)
    from_walk = store.shards(8)
    store.close()
    assert refused and len(from_tree) == 8 and from_tree == from_walk


@pytest.mark.parametrize("name", ["caffe_small", "uuid_random_order", "mixed_sizes"])
def test_a_large_whole_store_is_cut_at_sampled_leaves_about_evenly(tmp_path, monkeypatch,
                                                                    name):
    """From SAMPLED_FROM leaves a whole-store plan reads SAMPLES of them (made small here):
    the cuts fall on leaf boundaries, the shards within 15% of each other (values of many
    sizes in the leaves: every leaf is counted instead); a plan with a start or a limit
    still cuts at exact positions."""
    keys, value_size = STORES[name]
    path = _store(tmp_path / name, keys(), value_size)
    monkeypatch.setattr(lmdb_tree, "SAMPLED_FROM", 16)
    monkeypatch.setattr(lmdb_tree, "SAMPLES", 40)
    with lmdb.open(path, readonly=True, lock=False) as env:
        total, leaves = env.stat()["entries"], env.stat()["leaf_pages"]
        ordered = [bytes(key) for key in env.begin().cursor().iternext(values=False)]
    assert leaves >= 4 * 40  # a stride of 4 leaves or more
    counted = []
    count_every_leaf = lmdb_tree.Tree.counted
    monkeypatch.setattr(lmdb_tree.Tree, "counted",
                        lambda tree: counted.append(1) or count_every_leaf(tree))
    splits, beyond, first = _planned(path, total, 8, 0)
    # Caffe's writer fills its leaves alike: sampled; values of many sizes: every leaf
    assert bool(counted) is (name == "mixed_sizes")
    assert beyond is None and first is None and splits == sorted(set(splits))
    bounds = [0] + [ordered.index(key) for key in splits] + [total]
    sizes = [high - low for low, high in zip(bounds, bounds[1:])]
    assert max(abs(size - total / 8) for size in sizes) <= 0.15 * total / 8, sizes
    assert _planned(path, total - 5, 8, 5) == _walked(path, total - 5, 8, 5)


def _edit(path, edit) -> None:
    """Apply edit(buffer, psize, meta page of the newest version) to a store's data.mdb."""
    data = os.path.join(path, "data.mdb")
    with lmdb.open(path, readonly=True, lock=False) as env:
        psize, txnid = env.stat()["psize"], env.info()["last_txnid"]
    with open(data, "r+b") as handle:
        buffer = bytearray(handle.read())
        edit(buffer, psize, txnid & 1)
        handle.seek(0)
        handle.write(buffer)


def _meta_field(offset: int) -> int:
    return lmdb_tree.PAGE_HEADER + offset  # within a meta page


def test_an_empty_leaf_whose_records_the_entries_no_longer_count_is_refused(tmp_path):
    """liblmdb's cursor takes node 0 of an empty leaf: counting it as 0 would shift every
    position after it by one (found by a fuzz of this reader)."""
    path = _store(tmp_path / "db", (b"%06d" % i for i in range(2_000)), 40)

    def empty_a_leaf(buffer, psize, meta):
        for page in range(2, len(buffer) // psize):
            flags, lower = struct.unpack_from("<HH", buffer, page * psize + 10)
            if flags & lmdb_tree.P_LEAF:
                struct.pack_into("<H", buffer, page * psize + 12, lmdb_tree.PAGE_HEADER)
                entries = struct.unpack_from("<Q", buffer, meta * psize + _meta_field(104))[0]
                struct.pack_into("<Q", buffer, meta * psize + _meta_field(104),
                                 entries - (lower - lmdb_tree.PAGE_HEADER) // 2)
                return

    _edit(path, empty_a_leaf)
    with pytest.raises(lmdb_tree.TreeUnreadable, match="without a node"):
        _planned(path, 1_900, 4, 0)


def test_a_meta_page_claiming_more_pages_than_the_file_holds_is_refused(tmp_path):
    """A root that names itself, a depth of 40 and 2**40 branch pages claimed: liblmdb
    opens it; the reader refuses before making any array (a fuzz grew one to 63 GiB)."""
    path = _store(tmp_path / "db", (b"%08d_x" % i for i in range(30_000)), 50)

    def cycle(buffer, psize, meta):
        root = struct.unpack_from("<Q", buffer, meta * psize + _meta_field(112))[0]
        lower = lmdb_tree.PAGE_HEADER + 4
        struct.pack_into("<HH", buffer, root * psize + 12, lower, lower)
        struct.pack_into("<HH", buffer, root * psize + 16, lower, lower)
        struct.pack_into("<HHHH", buffer, root * psize + lower, root & 0xFFFF, root >> 16, 0, 0)
        struct.pack_into("<H", buffer, meta * psize + _meta_field(78), 40)
        struct.pack_into("<Q", buffer, meta * psize + _meta_field(80), 1 << 40)

    _edit(path, cycle)
    with pytest.raises(lmdb_tree.TreeUnreadable, match="more pages than the file"):
        _planned(path, 30_000, 8, 0)


def test_the_version_is_read_from_the_meta_page_liblmdb_reads(tmp_path):
    """liblmdb reads version t from meta page t & 1; both pages naming one version (a lock
    file then makes it take the other page than a lock-free open) are refused."""
    path = _store(tmp_path / "db", (b"%06d" % i for i in range(2_000)), 40)
    env = lmdb.open(path, map_size=1 << 31)
    with env.begin(write=True) as txn:
        txn.put(b"000500a", b"moved")
    env.close()
    walked = _walked(path, 2_001, 4, 0)
    assert _planned(path, 2_001, 4, 0) == walked  # the newest version, from page t & 1

    def same_version_twice(buffer, psize, meta):
        txnid = struct.unpack_from("<Q", buffer, meta * psize + _meta_field(128))[0]
        struct.pack_into("<Q", buffer, (1 - meta) * psize + _meta_field(128), txnid)

    _edit(path, same_version_twice)
    with pytest.raises(lmdb_tree.TreeUnreadable, match="both do"):
        _planned(path, 2_001, 4, 0)
