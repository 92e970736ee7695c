"""Builders for real test data: Datums serialized by the protobuf runtime, real JPEG/PNG
bytes from Pillow, LMDB stores written by py-lmdb, and faults injected into them."""
from __future__ import annotations

import hashlib
import io
import os
import time

import lmdb
import numpy as np
from PIL import Image

from .reference import annotated_bytes, datum_bytes


def pixels(width: int, height: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus noise: compresses like a photo, so truncation shows."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = (x * 255 // max(width - 1, 1) + y * 127 // max(height - 1, 1)) % 256
    planes = [(base + rng.integers(0, 40, base.shape) + 60 * c) % 256 for c in range(channels)]
    image = np.stack(planes, axis=-1).astype(np.uint8)
    return image[..., 0] if channels == 1 else image


def jpeg(width: int = 48, height: int = 48, seed: int = 0, gray: bool = False,
         progressive: bool = False, quality: int = 90) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels(width, height, 1 if gray else 3, seed)).save(
        out, "JPEG", quality=quality, progressive=progressive)
    return out.getvalue()


def png(width: int = 48, height: int = 48, seed: int = 0) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels(width, height, 3, seed)).save(out, "PNG")
    return out.getvalue()


def truncate(data: bytes, fraction: float = 0.5) -> bytes:
    return data[:int(len(data) * fraction)]


def corrupt_scan(data: bytes, count: int = 64, seed: int = 0) -> bytes:
    """Overwrite bytes in the middle of a JPEG's entropy-coded data (no 0xFF: no markers)."""
    rng = np.random.default_rng(seed)
    start = data.rfind(b"\xff\xda") + 20
    offset = start + (len(data) - start) // 3
    noise = rng.integers(0, 0xFF, count, dtype=np.uint8).tobytes()
    return data[:offset] + noise + data[offset + count:]


def bomb_jpeg(width: int = 30000, height: int = 30000) -> bytes:
    """A valid small JPEG whose frame header claims a huge size."""
    data = bytearray(jpeg(16, 16))
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def raw_datum(label: int = 0, shape=(3, 8, 8), seed: int = 0, data: bytes | None = None,
              **fields) -> bytes:
    channels, height, width = shape
    if data is None:
        data = np.random.default_rng(seed).integers(0, 256, channels * height * width,
                                                    dtype=np.uint8).tobytes()
    return datum_bytes(channels=channels, height=height, width=width, data=data, label=label,
                       **fields)


def encoded_datum(image: bytes, label: int = 0, **fields) -> bytes:
    return datum_bytes(data=image, label=label, encoded=True, **fields)


def float_datum(values, shape=None, label: int = 0, packed: bool = False) -> bytes:
    values = np.asarray(values, np.float32).ravel()
    channels, height, width = shape or (1, 1, len(values))
    return datum_bytes(packed=packed, channels=channels, height=height, width=width,
                       float_data=values.tolist(), label=label)


def make_lmdb(path, values: list, names: list[str] | None = None) -> str:
    """Write values under Caffe-style keys (`%08d_name`) into a new LMDB directory."""
    path = str(path)
    env = lmdb.open(path, map_size=1 << 30, subdir=True)
    with env.begin(write=True) as txn:
        for index, value in enumerate(values):
            name = names[index] if names else f"img_{index}.jpg"
            txn.put(b"%08d_%s" % (index, name.encode()), value)
    env.close()
    return path


def put_raw(path, items: list[tuple[bytes, bytes]]) -> None:
    env = lmdb.open(str(path), map_size=1 << 30, subdir=True)
    with env.begin(write=True) as txn:
        for key, value in items:
            txn.put(key, value)
    env.close()


def garble_pages(path, seed: int, pages: int = 4) -> None:
    """Overwrite pages in the middle of an LMDB's data.mdb with seeded garbage."""
    data = os.path.join(str(path), "data.mdb")
    size = os.path.getsize(data)
    garbage = np.random.default_rng(seed).integers(0, 256, 4096 * pages, dtype=np.uint8)
    with open(data, "r+b") as handle:
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(garbage.tobytes())


# lock.mdb (LMDB's reader table) on x86-64 Linux: magic and format (bytes 0-7), the reader
# mutex (8-47), the last transaction id (48-55), the reader count (56-59), the writer mutex
# (64-103), then one 64-byte slot per reader from byte 128.
LOCK_KEPT = ((0, 8), (48, 56))  # what a reader must not change: identity, transaction id


def tree_state(path, reader_table: bool = False) -> dict[str, tuple]:
    """Every file below path with its content hash and mtime: proof nothing was changed.
    With reader_table, lock.mdb is compared by its size, magic, format and transaction id
    only: a registered reader writes its slot, the reader count and the mutexes there (and
    so its mtime), exactly as Caffe's reader does; every other file must keep every byte."""
    state = {}
    for folder, _, files in os.walk(path):
        for name in files:
            full = os.path.join(folder, name)
            with open(full, "rb") as handle:
                content = handle.read()
            if reader_table and name == "lock.mdb":
                kept = b"".join(content[start:end] for start, end in LOCK_KEPT)
                state[os.path.relpath(full, path)] = ("reader table", len(content), kept)
                continue
            digest = hashlib.sha256(content).hexdigest()
            state[os.path.relpath(full, path)] = (digest, os.stat(full).st_mtime_ns)
    return state


def make_leveldb(path, values: list, names: list[str] | None = None,
                 log_only: bool = False) -> str:
    """Write values under Caffe-style keys into a new LevelDB (snappy-compressed tables).
    With log_only, everything stays in the write-ahead log, as convert_imageset leaves it."""
    import plyvel

    path = str(path)
    options = {"write_buffer_size": 256 << 20} if log_only else {}
    db = plyvel.DB(path, create_if_missing=True, compression="snappy", **options)
    with db.write_batch() as batch:
        for index, value in enumerate(values):
            name = names[index] if names else f"img_{index}.jpg"
            batch.put(b"%08d_%s" % (index, name.encode()), value)
    if not log_only:
        db.compact_range()  # into snappy-compressed tables
    db.close()
    return path


def make_h5(path, chunks=None, compression=None, **datasets) -> str:
    """Write an HDF5 file with h5py: each keyword is a dataset at the root (or, given as
    'group/name', inside a group)."""
    import h5py

    path = str(path)
    with h5py.File(path, "w") as handle:
        for name, values in datasets.items():
            options = {}
            values = np.asarray(values) if not isinstance(values, np.ndarray) else values
            if chunks and values.ndim:
                options = {"chunks": (min(chunks, len(values)), *values.shape[1:]),
                           "compression": compression}
            handle.create_dataset(name.replace("__", "/"), data=values, **options)
    return path


def h5_list(path, entries: list[str]) -> str:
    path = str(path)
    with open(path, "w") as handle:
        handle.write("\n".join(entries) + "\n")
    return path


def caffe_test_layout_h5(folder) -> dict[str, str]:
    """Files laid out like the HDF5 files Caffe's own tests read (src/caffe/test/test_data),
    written here with h5py from the shapes, types, chunking and filters of the originals:

    - sample_data.h5: `data` 10x8x6x5 float32 counting up from 0, `label` 1..10 and `label2`
      2..11 as 10x1 float32, all contiguous (labels start at 1: class 0 is absent);
    - sample_data_2_gzip.h5: the same layout, `data` counting on from 2400, labels uint8, each
      dataset one chunk of the whole, gzip level 1;
    - solver_data.h5: `data` 8x3x10x10 and `targets` 8x1 float32 from a normal distribution, no
      `label` dataset (a regression net names its tops data/targets).
    Returns the file paths by name."""
    import h5py

    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    counting = np.arange(2 * 2400, dtype=np.float32).reshape(20, 8, 6, 5)
    labels = np.arange(1, 11, dtype=np.float32).reshape(10, 1)
    paths = {name: os.path.join(folder, name) for name in
             ("sample_data.h5", "sample_data_2_gzip.h5", "solver_data.h5")}
    with h5py.File(paths["sample_data.h5"], "w") as handle:
        handle["data"], handle["label"], handle["label2"] = counting[:10], labels, labels + 1
    with h5py.File(paths["sample_data_2_gzip.h5"], "w") as handle:
        for name, values in (("data", counting[10:]), ("label", labels.astype(np.uint8)),
                             ("label2", (labels + 1).astype(np.uint8))):
            handle.create_dataset(name, data=values, chunks=values.shape, compression="gzip",
                                  compression_opts=1)
    normal = np.random.default_rng(1701)
    with h5py.File(paths["solver_data.h5"], "w") as handle:
        handle["data"] = normal.standard_normal((8, 3, 10, 10), dtype=np.float32)
        handle["targets"] = normal.standard_normal((8, 1), dtype=np.float32)
    return paths


def float_rows(count: int, shape=(3, 4, 4), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, *shape), dtype=np.float32)


def _append_for(path: str, seconds: float, started) -> None:
    env = lmdb.open(path, map_size=1 << 30)
    number, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        with env.begin(write=True) as txn:
            txn.put(b"zz_%08d" % number, raw_datum(seed=number, shape=(1, 4, 4)))
            number += 1
        started.set()
        time.sleep(0.003)
    env.close()


def start_writer(path, seconds: float = 20.0):
    """A writer process committing to an LMDB every few milliseconds for `seconds` (long
    enough to outlast a scan on a loaded machine; it writes only to its own test store);
    returns once its first commit is in."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    started = context.Event()
    writer = context.Process(target=_append_for, args=(str(path), seconds, started),
                             daemon=True)
    writer.start()
    assert started.wait(60), "the writer did not start"
    return writer


BOXES = [(1, [(0.1, 0.2, 0.5, 0.6)]), (2, [(0.55, 0.1, 0.9, 0.45), (0.05, 0.6, 0.3, 0.95)])]


def annotated(groups=None, image: bytes | None = None, size=(48, 64), seed: int = 0,
              datum: dict | None = None, **options) -> bytes:
    """An AnnotatedDatum as convert_annoset writes it: an encoded JPEG datum (channels 3,
    height/width the image's, label -1), type BBOX and the boxes given per group."""
    height, width = size
    if datum is None:
        datum = {"channels": 3, "height": height, "width": width, "label": -1,
                 "encoded": True,
                 "data": image if image is not None else jpeg(width, height, seed=seed)}
    return annotated_bytes(datum, BOXES if groups is None else groups, **options)


def annotated_store(count: int = 8, faults: dict | None = None, size=(48, 64)) -> list[bytes]:
    """`count` clean detection records (classes 1-3), with `faults` (position -> value)."""
    values = []
    for index in range(count):
        label = 1 + index % 3
        groups = [(label, [(0.1 + 0.01 * (index % 7), 0.15, 0.6, 0.7)]),
                  (1 + (index + 1) % 3, [(0.5, 0.5, 0.95, 0.9)])]
        values.append(annotated(groups, size=size, seed=index % 5))
    for position, value in (faults or {}).items():
        values[position] = value
    return values


def label_map(path, items=((0, "background"), (1, "circle"), (2, "square"),
                           (3, "triangle"))) -> str:
    """A label map in the SSD fork's LabelMap text format."""
    path = str(path)
    with open(path, "w") as handle:
        for label, name in items:
            handle.write(f'item {{\n  name: "{name}"\n  label: {label}\n'
                         f'  display_name: "{name}"\n}}\n')
    return path
