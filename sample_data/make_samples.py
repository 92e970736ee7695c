"""Regenerate the bundled sample datasets (deterministic).

Run from the repository root with the test extras installed:
    python sample_data/make_samples.py
"""
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests import builders as b  # noqa: E402  (the same builders the tests use)

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = (3, 32, 32)


def clean_encoded() -> list[bytes]:
    """64 colour JPEGs 32x32, labels 0..3 shuffled, as `convert_imageset --encoded --shuffle`."""
    labels = np.random.default_rng(0).permutation(np.arange(64) % 4)
    return [b.encoded_datum(b.jpeg(32, 32, seed=i), label=int(label))
            for i, label in enumerate(labels)]


def raw_sorted() -> list[bytes]:
    """64 raw 3x32x32 datums sorted by label, as `convert_imageset` without --shuffle."""
    return [b.raw_datum(label=i // 16, shape=SHAPE, seed=i) for i in range(64)]


def faulty() -> tuple[list[bytes], list[str]]:
    """Clean records with one record per per-record fault (use --num-classes 4)."""
    floats = np.random.default_rng(1).random(3 * 32 * 32).astype(np.float32)
    nan, big = floats.copy(), floats.copy()
    nan[17], big[50] = np.nan, 7e4
    jpg = b.jpeg(32, 32, seed=99)
    faults = [
        ("ds002_invalid_protobuf", b"\x07" + bytes(63)),
        ("ds003_empty_encoded", b.encoded_datum(b"", label=1)),
        ("ds101_nan", b.float_datum(nan, SHAPE, label=2)),
        ("ds102_float16_overflow", b.float_datum(big, SHAPE, label=3)),
        ("ds103_all_black", b.raw_datum(label=0, shape=SHAPE, data=bytes(3072))),
        ("ds201_truncated_progressive", b.encoded_datum(
            b.truncate(b.jpeg(32, 32, progressive=True)), label=1)),
        ("ds202_truncated_baseline", b.encoded_datum(b.truncate(jpg, 0.6), label=2)),
        ("ds202_corrupt_entropy", b.encoded_datum(b.corrupt_scan(jpg, 32), label=3)),
        ("ds203_short_data", b.raw_datum(label=0, shape=SHAPE, data=bytes(range(200)) * 15)),
        ("ds204_channels_zero", b.raw_datum(label=1, shape=(0, 32, 32), data=bytes(3072))),
        ("ds205_other_size", b.raw_datum(label=2, shape=(3, 24, 24), seed=5)),
        ("ds206_jpeg_flagged_raw", b.datum_bytes(channels=3, height=32, width=32, data=jpg,
                                                 label=3)),
        ("ds207_grey_jpeg", b.encoded_datum(b.jpeg(32, 32, gray=True), label=0)),
        ("ds208_bytes_and_floats", b.datum_bytes(channels=1, height=1, width=4, data=b"abcd",
                                                 float_data=[1, 2, 3, 4], label=1)),
        ("ds209_bomb_header", b.encoded_datum(b.bomb_jpeg(), label=2)),
        ("ds301_label_out_of_range", b.raw_datum(label=7, shape=SHAPE, seed=6)),
    ]
    values, names = [], []
    for index in range(48):  # clean records with one fault every third record
        if index % 3 == 1 and faults:
            name, value = faults.pop(0)
        else:
            name, value = f"clean_{index}.jpg", b.encoded_datum(b.jpeg(32, 32, seed=index),
                                                               label=index % 4)
        values.append(value)
        names.append(name)
    return values + [value for _, value in faults], names + [name for name, _ in faults]


def write(name: str, values: list[bytes], names: list[str] | None = None) -> None:
    path = os.path.join(HERE, name)
    shutil.rmtree(path, ignore_errors=True)
    b.make_lmdb(path, values, names)
    os.remove(os.path.join(path, "lock.mdb"))  # readers do not need it; keep the repo small
    print(f"{name}: {len(values)} records")


if __name__ == "__main__":
    write("clean_enc_lmdb", clean_encoded())
    write("raw_lmdb", raw_sorted())
    write("faulty_lmdb", *faulty())
