"""Real Caffe training logs (tests/fixtures/logs, copied from runs of BVLC/caffe) and the
data they read, rebuilt small with the real libraries: an HDF5 source with a NaN at the
faulty row and an encoded LMDB with a record that is not an image, both laid out under the
paths the prototxts name (`../data/...` from the scenario folder)."""
from __future__ import annotations

import gzip
import json
import os
import shutil

import numpy as np

from . import builders as b

LOGS = os.path.join(os.path.dirname(__file__), "fixtures", "logs")
SCENARIOS = sorted(name for name in os.listdir(LOGS) if os.path.isdir(os.path.join(LOGS, name)))
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus", "logs")


def log_bytes(scenario: str, name: str = "caffe.log.gz") -> bytes:
    with gzip.open(os.path.join(LOGS, scenario, name), "rb") as handle:
        return handle.read()


def truth(scenario: str) -> dict:
    with open(os.path.join(LOGS, scenario, "truth.json"), encoding="utf-8") as handle:
        return json.load(handle)


def write_log(tmp_path, scenario: str, text: bytes | None = None, name="caffe.log") -> str:
    path = tmp_path / name
    path.write_bytes(log_bytes(scenario) if text is None else text)
    return str(path)


def scenario_folder(tmp_path, scenario: str, fault: bool = True) -> str:
    """tmp/<scenario>/ with its prototxts and the log, and tmp/data/ with its train data
    (faulty as in the run, or clean with `fault=False`). Returns the scenario folder."""
    folder = tmp_path / scenario
    folder.mkdir()
    for name in ("solver.prototxt", "train_val.prototxt"):
        shutil.copy(os.path.join(LOGS, scenario, name), folder / name)
    (folder / "caffe.log").write_bytes(log_bytes(scenario))
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    facts = truth(scenario)
    source = facts["datasets"]["train"]["source"]
    records = facts["datasets"]["train"]["records"]
    row = facts.get("fault", {}).get("row") if fault else None
    if facts["datasets"]["train"]["type"] == "HDF5Data":
        _hdf5_source(tmp_path, folder, source, records, row)
    else:
        _encoded_lmdb(folder, source, records, row)
    return str(folder)


def _hdf5_source(tmp_path, folder, source: str, records: int, row: int | None) -> None:
    rows = np.random.default_rng(7).random((records, 1, 4, 4), dtype=np.float32)
    if row is not None:
        rows[row, 0, 2, 2] = np.nan
    labels = (np.arange(records) % 10).astype(np.float32)
    h5_name = os.path.basename(source).replace("_list.txt", ".h5")
    b.make_h5(tmp_path / "data" / h5_name, data=rows, label=labels)
    list_path = os.path.normpath(os.path.join(folder, source))
    b.h5_list(list_path, [f"../data/{h5_name}"])


def _encoded_lmdb(folder, source: str, records: int, row: int | None) -> None:
    values = [b.encoded_datum(b.jpeg(8, 8, seed=i % 7), label=i % 10) for i in range(records)]
    if row is not None:
        values[row] = b.encoded_datum(b"not an image", label=row % 10)
    b.make_lmdb(os.path.normpath(os.path.join(folder, source)), values)
