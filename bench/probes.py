"""The two yardsticks dscan is measured against, run as `python -m bench.probes MODE NAME PATH
JOBS`; each prints one JSON line: records, seconds, bytes.

naive   what a user writes in an afternoon: one process, protobuf runtime, Pillow, numpy.
ceiling the decode or iterate loop alone, nothing checked or collected, same process count.
"""
from __future__ import annotations

import io
import json
import multiprocessing
import os
import sys
import time

import h5py
import lmdb
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _lmdb_items(path: str, part: int = 0, parts: int = 1):
    env = lmdb.open(path, readonly=True, lock=False)
    with env.begin(buffers=True) as txn:
        for index, (key, value) in enumerate(txn.cursor()):
            if index % parts == part:
                yield key, value
    env.close()


def naive(name: str, path: str) -> tuple[int, int]:
    from PIL import Image

    from tests.reference import parse
    records = size = 0
    if name.startswith("hdf5"):
        with h5py.File(path, "r") as handle:
            data = handle["data"][...]  # the whole file at once
            np.isfinite(data).all(axis=tuple(range(1, data.ndim)))
            return len(data), data.nbytes
    for _, value in _lmdb_items(path):
        datum = parse(bytes(value))
        size += len(value)
        records += 1
        if datum.encoded:
            Image.open(io.BytesIO(datum.data)).load()
        elif datum.float_data:
            np.isfinite(np.array(datum.float_data, np.float32)).all()
    return records, size


def _ceiling_part(args) -> tuple[int, int]:
    name, path, part, parts = args
    import simplejpeg

    from scanner.datum import decode_datum
    records = size = 0
    if name.startswith("hdf5"):
        with h5py.File(path, "r") as handle:
            data = handle["data"]
            rows = len(data)
            step = max(1, (8 << 20) // (data.dtype.itemsize * int(np.prod(data.shape[1:]))))
            step = -(-step // 8) * 8
            buffer = np.empty((step, *data.shape[1:]), data.dtype)
            for start in range(part * step, rows, parts * step):
                view = buffer[:min(step, rows - start)]
                data.read_direct(view, np.s_[start:start + len(view)], np.s_[0:len(view)])
                np.isfinite(view.sum(dtype=np.float64))
                records += len(view)
                size += view.nbytes
        return records, size
    for _, value in _lmdb_items(path, part, parts):
        datum = decode_datum(value)
        size += len(value)
        records += 1
        if name.startswith("jpeg"):  # strict, at the smallest scale of at least 32x32 (1/8)
            simplejpeg.decode_jpeg(datum.data, strict=True, min_height=32, min_width=32)
    return records, size


def ceiling(name: str, path: str, jobs: int) -> tuple[int, int]:
    if jobs == 1:
        return _ceiling_part((name, path, 0, 1))
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        parts = pool.map(_ceiling_part, [(name, path, part, jobs) for part in range(jobs)])
    return sum(r for r, _ in parts), sum(s for _, s in parts)


if __name__ == "__main__":
    mode, name, path, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    started = time.perf_counter()
    records, size = naive(name, path) if mode == "naive" else ceiling(name, path, jobs)
    print(json.dumps({"records": records, "seconds": time.perf_counter() - started,
                      "bytes": size}))
