"""The Dask executor on a real distributed.LocalCluster (2 worker processes, loopback): the
same reports as the local pool, worker failures, and records that kill workers."""
import os

import pytest

from scanner.checks import CATALOGUE
from scanner.errors import DscanError
from scanner.executor import LocalExecutor
from scanner.hooks import KILL_HOOK
from scanner.report import json_report
from scanner.scan import scan
from scanner.settings import ScanSettings
from scanner.types import Shard

from . import builders as b
from .conftest import FIXTURES

distributed = pytest.importorskip(
    "distributed", reason="the dask extra is not installed (pip install '.[dask]')")
from scanner.dask_executor import DaskExecutor  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILLER = "00000003_killer.jpg"
TIMING = ("executor", "started_at", "duration_s")


@pytest.fixture(scope="module")
def cluster():
    import dask
    previous = os.environ.get(KILL_HOOK)
    os.environ[KILL_HOOK] = KILLER  # a key only the kill test's store has
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                          host="127.0.0.1", dashboard_address=None) as local:
                yield local.scheduler_address
    finally:
        if previous is None:
            os.environ.pop(KILL_HOOK, None)
        else:
            os.environ[KILL_HOOK] = previous


def _settings(**options) -> ScanSettings:
    # The checkout's fixtures are scanned in place: lock-free, so not even a reader slot
    # is written into their lock.mdb.
    options.setdefault("lmdb_lock", "never")
    return ScanSettings(enabled=frozenset(CATALOGUE), batch_size=16, **options)


def _report(backend: str, path: str, executor=None, **options) -> dict:
    outcome = scan(backend, path, _settings(**options), 2, executor=executor, shard_count=6)
    report = json_report.build(outcome, 0)
    return {key: value for key, value in report.items() if key not in TIMING}


@pytest.mark.parametrize("backend, path, options", [
    ("lmdb", os.path.join(REPO, "sample_data", "faulty_lmdb"), {"num_classes": 4}),
    ("lmdb", os.path.join(REPO, "sample_data", "detection_lmdb"), {}),  # AnnotatedDatum
    ("lmdb", os.path.join(FIXTURES, "faulty_raw_lmdb"), {}),
    ("leveldb", os.path.join(FIXTURES, "faulty_enc_leveldb"), {}),
    ("hdf5", os.path.join(FIXTURES, "hdf5", "hdf5data", "train_h5_list.txt"), {}),
])
def test_reports_equal_the_local_pool_field_by_field(cluster, backend, path, options,
                                                    monkeypatch):
    monkeypatch.chdir(os.path.dirname(path))  # HDF5 list entries resolve from here
    executor = DaskExecutor(cluster)
    try:
        remote = _report(backend, path, executor, **options)
        assert executor.describe()["workers"] == 2
    finally:
        executor.close()
    local = _report(backend, path, LocalExecutor(2), **options)
    assert remote == local
    assert remote["summary"]["records"] > 0


def test_duplicate_groups_equal_the_local_pool(cluster, tmp_path):
    """Fingerprints come back with the shard results; the join in the parent sees the same."""
    from .planted import planted_jpegs

    values, _ = planted_jpegs("quality70", originals=30)
    twice = [b.encoded_datum(b.jpeg(width=64, height=64, seed=99))] * 2  # exact copies
    path = b.make_lmdb(tmp_path / "db", values + twice)  # near copies in `values`
    executor = DaskExecutor(cluster)
    try:
        remote = _report("lmdb", path, executor)
    finally:
        executor.close()
    local = _report("lmdb", path, LocalExecutor(2))
    assert remote == local
    assert {"DS801", "DS802"} <= set(remote["summary"]["by_code"])


def test_a_record_that_kills_workers_is_isolated_as_locally(cluster, tmp_path):
    values = [b.raw_datum(seed=i, label=i % 3) for i in range(8)]
    names = [f"img_{i}.jpg" for i in range(8)]
    names[3] = "killer.jpg"
    path = b.make_lmdb(tmp_path / "db", values, names)
    executor = DaskExecutor(cluster)
    try:
        remote = _report("lmdb", path, executor)
        executor.client.wait_for_workers(2, timeout=60)  # the nannies restart the killed ones
    finally:
        executor.close()
    [finding] = [f for f in remote["findings"] if f["code"] == "DS005"]
    assert (finding["key"], finding["index"]) == (KILLER, 3)
    assert remote["summary"]["records"] == 8
    assert remote == _report("lmdb", path, LocalExecutor(2))


def test_a_worker_that_cannot_open_the_path_is_one_clear_error(cluster):
    executor = DaskExecutor(cluster)
    try:
        with pytest.raises(DscanError, match="workers must see the same path"):
            executor.run([Shard("lmdb", "/no/such/lmdb", 0)], _settings(), lambda n: None)
    finally:
        executor.close()


def test_shards_outnumber_worker_threads(cluster):
    executor = DaskExecutor(cluster)
    try:
        assert executor.jobs == 2 and executor.shard_count() == 16
    finally:
        executor.close()


def test_an_unreachable_scheduler_is_one_line():
    with pytest.raises(DscanError, match="cannot reach the Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout=1)
