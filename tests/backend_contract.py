"""The contract every backend keeps; each backend's test module subclasses this class."""
from __future__ import annotations

import backends

from .builders import tree_state
from .scanning import scan_report


class BackendContract:
    backend_name = ""

    def make_store(self, tmp_path, count: int) -> str:
        raise NotImplementedError

    def _keys(self, path: str, shard_count: int, limit=None) -> list[list[bytes]]:
        backend_class = backends.get(self.backend_name)
        store = backend_class(path)
        try:
            shards = store.shards(shard_count, limit)
        finally:
            store.close()
        keys = []
        for shard in shards:
            with backend_class.read(shard) as records:
                keys.append([bytes(key) for key, _ in records])
        return keys

    def test_count_matches_records(self, tmp_path):
        path = self.make_store(tmp_path, 50)
        store = backends.get(self.backend_name)(path)
        try:
            assert store.count() == 50 == store.describe()["entries"]
        finally:
            store.close()

    def test_shards_cover_every_record_exactly_once_in_order(self, tmp_path):
        path = self.make_store(tmp_path, 500)
        whole = self._keys(path, 1)
        assert len(whole) == 1 and len(whole[0]) == 500
        for shard_count in (2, 3, 7, 16):
            parts = self._keys(path, shard_count)
            assert [key for part in parts for key in part] == whole[0]
            assert len(parts) > 1

    def test_reads_are_deterministic(self, tmp_path):
        path = self.make_store(tmp_path, 200)
        assert self._keys(path, 4) == self._keys(path, 4)

    def test_limit_takes_the_first_records_in_read_order(self, tmp_path):
        path = self.make_store(tmp_path, 200)
        everything = self._keys(path, 1)[0]
        limited = [key for part in self._keys(path, 3, limit=37) for key in part]
        assert limited == everything[:37]

    def test_keys_at_names_records_by_position(self, tmp_path):
        path = self.make_store(tmp_path, 100)
        backend_class = backends.get(self.backend_name)
        store = backend_class(path)
        shard = store.shards(1)[0]
        store.close()
        everything = self._keys(path, 1)[0]
        assert backend_class.keys_at(shard, [0, 42, 99]) == {
            0: everything[0], 42: everything[42], 99: everything[99]}

    def test_scan_leaves_the_store_byte_identical(self, tmp_path):
        path = self.make_store(tmp_path, 5000)
        before = tree_state(path)
        report = scan_report(path, jobs=2)
        assert report["summary"]["records"] == 5000
        assert tree_state(path) == before  # same files, bytes and mtimes; nothing added
