"""The contract every backend keeps; each backend's test module subclasses this class."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

import backends

from .builders import tree_state
from .scanning import scan_report


class BackendContract:
    backend_name = ""
    reader_table = False  # LMDB: the store has a lock.mdb a registered reader writes to

    def make_store(self, tmp_path, count: int) -> str:
        raise NotImplementedError

    def split_small_stores(self, monkeypatch) -> None:
        """Let a test store of a few thousand records be split (backends keep small stores
        in one shard)."""

    @contextmanager
    def _planned(self, path: str, shard_count: int, limit=None, start: int = 0):
        """Open, plan shards, release the handle; remove temporary files at the end."""
        store = backends.get(self.backend_name)(path)
        try:
            try:
                shards = store.shards(shard_count, limit, start)
            finally:
                store.close()
            yield store, shards
        finally:
            store.cleanup()

    def _keys(self, path: str, shard_count: int, limit=None,
              start: int = 0) -> list[list[bytes]]:
        keys = []
        with self._planned(path, shard_count, limit, start) as (store, shards):
            for shard in shards:
                with store.read(shard) as records:
                    keys.append(_record_keys(store, shard, records))
        return keys

    def test_count_matches_records(self, tmp_path):
        path = self.make_store(tmp_path, 50)
        with self._planned(path, 1) as (store, _):
            assert store.count() in (50, None)  # None: the store cannot count without reading
            assert scan_report(path, backend=self.backend_name)["source"]["entries"] == 50

    def test_shards_cover_every_record_exactly_once_in_order(self, tmp_path, monkeypatch):
        self.split_small_stores(monkeypatch)
        path = self.make_store(tmp_path, 5000)
        whole = _flat(self._keys(path, 1))
        assert len(whole) == len(set(whole)) == 5000
        for shard_count in (2, 3, 7, 16):
            parts = self._keys(path, shard_count)
            assert _flat(parts) == whole
            assert len(parts) >= min(shard_count, 2)

    def test_reads_are_deterministic(self, tmp_path):
        path = self.make_store(tmp_path, 200)
        assert self._keys(path, 4) == self._keys(path, 4)

    def test_limit_takes_the_first_records_in_read_order(self, tmp_path):
        path = self.make_store(tmp_path, 5000)
        everything = _flat(self._keys(path, 1))
        for limit in (0, 37, 4999, 5000, 9000):
            assert _flat(self._keys(path, 3, limit=limit)) == everything[:limit]

    def test_start_and_limit_take_a_range_in_read_order(self, tmp_path, monkeypatch):
        self.split_small_stores(monkeypatch)
        path = self.make_store(tmp_path, 5000)
        everything = _flat(self._keys(path, 1))
        for start, limit in ((1, 1), (960, 64), (4990, 64), (2500, None), (5000, 10)):
            end = None if limit is None else start + limit
            assert _flat(self._keys(path, 3, limit, start)) == everything[start:end]

    def test_a_scan_from_a_start_names_records_by_their_index(self, tmp_path):
        path = self.make_store(tmp_path, 300)
        from scanner.settings import ScanSettings
        from scanner.scan import scan
        outcome = scan(self.backend_name, path, ScanSettings(start=100, limit=50,
                                                             enabled=frozenset({"DS103"})), 1)
        assert outcome.totals.records == 50
        assert [offset for _, offset in outcome.totals.shard_offsets][0] == 100

    @pytest.mark.parametrize("count", [1, 3])
    def test_keys_at_names_records_by_position(self, tmp_path, count):
        """Each shard names its own records only: a position past its end has no key."""
        path = self.make_store(tmp_path, 100)
        parts = self._keys(path, count)
        with self._planned(path, count) as (store, shards):
            for shard, part in zip(shards, parts):
                positions = sorted({0, 1, len(part) // 2, len(part) - 1})
                assert store.keys_at(shard, positions + [len(part)]) == \
                    {p: part[p] for p in positions}

    def test_scan_leaves_the_store_byte_identical(self, tmp_path):
        path = self.make_store(tmp_path, 5000)
        before = tree_state(path, self.reader_table)
        report = scan_report(path, jobs=2, backend=self.backend_name)
        assert report["summary"]["records"] == 5000
        # Same files, bytes and mtimes; nothing added. The one exception, for a store that
        # has one: the reader slots of LMDB's lock.mdb (see tree_state).
        assert tree_state(path, self.reader_table) == before


def _record_keys(store, shard, records) -> list[bytes]:
    """The names of a shard's records: store keys, or `entry:row` for rows of arrays."""
    if store.record_format in ("datum", "image"):
        return [bytes(key) for key, _ in records]
    keys = []
    for position, arrays in records:
        rows = len(next(iter(arrays.values())))
        keys.extend(f"{shard.name}:{shard.start + position + r}".encode() for r in range(rows))
    return keys


def _flat(parts: list[list[bytes]]) -> list[bytes]:
    return [key for part in parts for key in part]
