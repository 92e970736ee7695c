"""The benchmark datasets, generated deterministically and cached under bench/.cache."""
from __future__ import annotations

import io
import os
import sys

import h5py
import lmdb
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.reference import annotated_bytes, datum_bytes  # noqa: E402  (the protobuf runtime)

CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
# name -> (records at full size, at --quick size)
SIZES = {"jpeg": (20_000, 2_000), "float": (20_000, 2_000), "raw": (60_000, 6_000),
         "hdf5": (3_815, 400), "hdf5_gzip": (3_815, 400),
         "raw_1m": (1_000_000, 60_000), "jpeg_200k": (200_000, 20_000),
         "annotated": (20_000, 2_000),
         # what create_imagenet.sh and feature extractors make: few large records
         "raw_256": (10_000, 500), "float_224": (2_000, 200), "jpeg_full": (4_000, 400)}
HDF5_SAMPLE = (3, 128, 256)  # 393 KB of float32 a row: 3815 rows = 1.5 GB


def path_of(name: str, quick: bool) -> str:
    return os.path.join(CACHE, f"{name}{'_quick' if quick else ''}")


def ensure(name: str, quick: bool) -> str:
    path = path_of(name, quick)
    if not os.path.exists(path + ".done"):
        os.makedirs(CACHE, exist_ok=True)
        count = SIZES[name][1 if quick else 0]
        if name.startswith("hdf5"):
            _write_hdf5(path, count, gzip=name.endswith("gzip"))
        else:
            _write_lmdb(path, _values(name, count))
        open(path + ".done", "w").close()
    return path + (".h5" if name.startswith("hdf5") else "")


def _photos(count: int, width: int, height: int, seed: int, noise: float,
            quality: int) -> list[bytes]:
    """`count` distinct photo-like JPEGs: waves of a few periods, noise, a tint per channel."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    images = []
    for index in range(count):
        base = (np.sin(x / (9 + index % 13)) + np.cos(y / (7 + index % 11))) * 60 + 128
        planes = [base + rng.normal(0, noise, base.shape) + 20 * c for c in range(3)]
        out = io.BytesIO()
        Image.fromarray(np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)).save(
            out, "JPEG", quality=quality)
        images.append(out.getvalue())
    return images


def _jpegs() -> list[bytes]:
    """200 distinct 256x256 photo-like JPEGs of about 16 KB."""
    return _photos(200, 256, 256, seed=0, noise=12, quality=80)


def _full_jpegs() -> list[bytes]:
    """100 distinct 500x375 photo-like JPEGs of about 100 KB, an ImageNet image's size."""
    return _photos(100, 500, 375, seed=3, noise=16, quality=93)


def _boxes(index: int) -> list:
    """One to three groups of one or two boxes, as convert_annoset writes VOC-like images."""
    groups = []
    for group in range(1 + index % 3):
        left = 0.05 + 0.3 * group
        boxes = [(left, 0.1, left + 0.25, 0.6)] + \
            ([(left + 0.02, 0.5, left + 0.2, 0.9, True)] if (index + group) % 2 else [])
        groups.append((1 + (index + group) % 20, boxes))
    return groups


def _values(name: str, count: int):
    rng = np.random.default_rng(1)
    if name == "annotated":  # the jpeg workload's images, with boxes (SSD's AnnotatedDatum)
        images = _jpegs()
        return (annotated_bytes({"channels": 3, "height": 256, "width": 256, "label": -1,
                                 "encoded": True, "data": images[i % 200]}, _boxes(i))
                for i in range(count))
    if name == "jpeg_full":
        images = _full_jpegs()
        return (datum_bytes(data=images[i % 100], label=i % 1000, encoded=True)
                for i in range(count))
    if name == "raw_256":  # convert_imageset without --encoded: 196 KB of bytes a record
        return (datum_bytes(channels=3, height=256, width=256, label=i % 1000,
                            data=rng.integers(0, 256, 3 * 256 * 256, np.uint8).tobytes())
                for i in range(count))
    if name == "float_224":  # extracted features: 588 KB of float_data a record
        return (datum_bytes(channels=3, height=224, width=224, label=i % 1000,
                            float_data=rng.standard_normal(3 * 224 * 224, np.float32).tolist())
                for i in range(count))
    if name.startswith("jpeg"):
        images = _jpegs()
        return (datum_bytes(data=images[i % 200], label=i % 10, encoded=True)
                for i in range(count))
    if name == "float":
        return (datum_bytes(channels=3, height=32, width=32, label=i % 10,
                            float_data=rng.random(3072, np.float32).tolist())
                for i in range(count))
    return (datum_bytes(channels=1, height=28, width=28, label=i % 10,
                        data=rng.integers(0, 256, 784, np.uint8).tobytes())
            for i in range(count))


def _write_lmdb(path: str, values) -> None:
    env = lmdb.open(path, map_size=1 << 34)
    txn = env.begin(write=True)
    for index, value in enumerate(values):
        txn.put(b"%08d_img" % index, value)
        if index % 50_000 == 49_999:  # commit in pieces: one huge transaction grows the map
            txn.commit()
            txn = env.begin(write=True)
    txn.commit()
    env.close()


def _write_hdf5(path: str, rows: int, gzip: bool) -> None:
    block = np.random.default_rng(2).random((100, *HDF5_SAMPLE), np.float32)
    options = {"chunks": (8, *HDF5_SAMPLE), "compression": "gzip", "compression_opts": 1} \
        if gzip else {}
    with h5py.File(path + ".h5", "w") as handle:
        data = handle.create_dataset("data", (rows, *HDF5_SAMPLE), np.float32, **options)
        handle.create_dataset("label", data=np.arange(rows) % 10)
        for start in range(0, rows, 100):
            data[start:start + 100] = block[:min(100, rows - start)]


if __name__ == "__main__":  # python -m bench.workloads NAME [quick]: build one, in its own process
    print(ensure(sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "quick"))
