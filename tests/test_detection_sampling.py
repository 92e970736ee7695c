"""Sampling tells an AnnotatedDatum store from a Datum one from a few records a shard, and
reads fewer of them when they are large."""
from backends.lmdb import LmdbBackend
from scanner.detection.sampling import ANNOTATED, DATUM, PER_SHARD, PER_SHARD_BYTES, sample

from . import builders as b


def _sampled(path, shards: int = 2):
    store = LmdbBackend(path)
    planned = store.shards(shards)
    store.close()
    return sample(LmdbBackend, planned)


def test_small_records_are_sampled_per_shard_in_full(tmp_path):
    path = b.make_lmdb(tmp_path / "db", b.annotated_store(40))
    kinds, first_has_type = _sampled(path)
    assert kinds == [ANNOTATED] * PER_SHARD and first_has_type is True  # one shard: small


def test_large_records_stop_a_shard_sample_at_its_byte_budget(tmp_path):
    size = PER_SHARD_BYTES // 3 + 1  # three of them pass the budget
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(shape=(1, 1, size), seed=i)
                                         for i in range(200)])
    kinds, first_has_type = _sampled(path, shards=4)
    assert kinds == [DATUM] * 3 * 4 and first_has_type is False
