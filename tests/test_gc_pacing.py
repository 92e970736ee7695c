"""Fewer garbage collections while a shard is read, and the thresholds given back."""
from __future__ import annotations

import gc
import threading

import pytest

import backends
from scanner.gc_pacing import YOUNG_OBJECTS, fewer_collections
from scanner.pipeline import scan_shard
from scanner.settings import ScanSettings
from tests.builders import make_lmdb, raw_datum


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_a_block_collects_less_often_and_gives_the_thresholds_back(thresholds):
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG_OBJECTS, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a shard that fails")
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("threshold", [0, 2 * YOUNG_OBJECTS])
def test_collection_that_is_off_or_rarer_stays_so(thresholds, threshold):
    gc.set_threshold(threshold, 10, 10)
    with fewer_collections():
        assert gc.get_threshold() == (threshold, 10, 10)
    assert gc.get_threshold() == (threshold, 10, 10)


def test_the_last_of_overlapping_blocks_on_threads_gives_them_back(thresholds):
    entered, leave = threading.Event(), threading.Event()

    def other_shard():
        with fewer_collections():
            entered.set()
            leave.wait(10)

    thread = threading.Thread(target=other_shard)
    thread.start()
    assert entered.wait(10)
    with fewer_collections():
        pass
    assert gc.get_threshold()[0] == YOUNG_OBJECTS  # the other shard is still being read
    leave.set()
    thread.join(10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_shard_is_read_with_fewer_collections(tmp_path, thresholds):
    path = make_lmdb(tmp_path / "db", [raw_datum(label=i % 3, seed=i) for i in range(2100)])
    store = backends.get("lmdb")(path, ScanSettings())
    shard = store.shards(1, None, 0)[0]
    store.close()
    seen = []
    result = scan_shard(shard, ScanSettings(), tick=lambda records: seen.append(
        gc.get_threshold()[0]))
    assert result.records == 2100
    assert seen[0] == YOUNG_OBJECTS  # told of the first 1024 records while reading
    assert gc.get_threshold() == (700, 10, 10)
