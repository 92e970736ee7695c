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


def leveldb_sample() -> list[bytes]:
    """32 encoded JPEGs, two of them damaged (truncated, corrupt entropy data)."""
    values = clean_encoded()[:32]
    values[9] = b.encoded_datum(b.truncate(b.jpeg(32, 32, seed=9)), label=1)
    values[20] = b.encoded_datum(b.corrupt_scan(b.jpeg(32, 32, seed=20), 32), label=0)
    return values


def write_hdf5() -> None:
    """Two files and a source list whose entries are relative to the repository root (run
    dscan from there, as Caffe would be run): a NaN row, a NaN label, a row beyond float16."""
    folder = os.path.join(HERE, "hdf5")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    part0, part1 = b.float_rows(40, (3, 8, 8), seed=0), b.float_rows(30, (3, 8, 8), seed=1)
    part0[7, 1, 2, 3] = np.nan
    part1[12, 0, 0, 0] = 7e4
    labels1 = (np.arange(30) % 4).astype(np.float32)
    labels1[20] = np.nan
    b.make_h5(os.path.join(folder, "part0.h5"), data=part0,
              label=(np.arange(40) % 4).astype(np.float32))
    b.make_h5(os.path.join(folder, "part1.h5"), data=part1, label=labels1, chunks=10,
              compression="gzip")
    b.h5_list(os.path.join(folder, "train_h5_list.txt"),
              ["sample_data/hdf5/part0.h5", "sample_data/hdf5/part1.h5"])
    print("hdf5: 2 files, 70 rows")


def write_images() -> None:
    """An ImageData list of 16 image files relative to its root folder (run from the
    repository root with --root-folder sample_data/images/): a truncated JPEG, a file the
    list names but that is missing, and a label that is not a whole number."""
    folder = os.path.join(HERE, "images")
    shutil.rmtree(folder, ignore_errors=True)
    lines = []
    for index in range(16):
        kind = ("cat", "dog")[index % 2]
        name = f"{kind}/img_{index:02d}.{'png' if index == 5 else 'jpg'}"
        label = "1.5" if index == 11 else str(index % 2)
        lines.append(f"{name} {label}")
        if index == 9:
            continue  # listed, never written: Caffe's ImageData layer stops there
        os.makedirs(os.path.join(folder, kind), exist_ok=True)
        image = b.png(32, 32, seed=index) if index == 5 else b.jpeg(32, 32, seed=index)
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b.truncate(image, 0.6) if index == 3 else image)
    with open(os.path.join(folder, "train_list.txt"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("images: 16 lines, 15 files")


def write_mean(values: list[bytes]) -> None:
    """mean.binaryproto of raw_lmdb, as `compute_image_mean` writes it (legacy 1xCxHxW)."""
    from scanner.datum import decode_datum
    from tests.reference import blob_bytes

    pixels = np.stack([np.frombuffer(bytes(decode_datum(v).data), np.uint8) for v in values])
    with open(os.path.join(HERE, "mean.binaryproto"), "wb") as handle:
        handle.write(blob_bytes(pixels.mean(axis=0), legacy=(1, *SHAPE)))
    print("mean.binaryproto: 1x3x32x32")


def detection() -> tuple[list[bytes], list[str]]:
    """48 AnnotatedDatum records (as convert_annoset writes them; classes 1-3 of
    labelmap.prototxt) with one box or record fault every fourth record."""
    clean = b.annotated_store(48, size=(48, 64))
    box = (0.2, 0.2, 0.45, 0.5)
    faults = [
        ("ds354_box_past_the_edge", b.annotated([(1, [(0.55, 0.3, 1.3, 0.8)])], seed=1)),
        ("ds355_inverted_box", b.annotated([(2, [(0.7, 0.2, 0.3, 0.6)]), (1, [box])], seed=2)),
        ("ds356_zero_width_box", b.annotated([(3, [(0.4, 0.1, 0.4, 0.5)])], seed=3)),
        ("ds357_box_outside", b.annotated([(1, [(34.0, 12.0, 50.0, 30.0)])], seed=4)),
        ("ds358_no_boxes", b.annotated([], seed=0)),
        ("ds365_duplicate_box", b.annotated([(2, [box, (0.2, 0.2, 0.451, 0.5)])], seed=1)),
        ("ds364_all_difficult", b.annotated([(3, [(*box, True)])], seed=2)),
        ("ds362_size_mismatch", b.annotated(datum={
            "channels": 3, "height": 96, "width": 128, "label": -1, "encoded": True,
            "data": b.jpeg(64, 48, seed=3)})),
        ("ds360_label_beyond_the_map", b.annotated([(7, [box])], seed=4)),
        ("ds359_background_label", b.annotated([(0, [box])], seed=0)),
        ("ds351_plain_datum", b.encoded_datum(b.jpeg(64, 48, seed=5), label=-1,
                                              channels=3, height=48, width=64)),
        ("ds353_no_type", b.annotated([(1, [box])], seed=1, type_value=None)),
    ]
    names = [f"SHAPES/{index:06d}.jpg" for index in range(48)]
    for slot, (name, value) in zip(range(3, 48, 4), faults):
        clean[slot], names[slot] = value, f"SHAPES/{name}.jpg"
    return clean, names


def write(name: str, values: list[bytes], names: list[str] | None = None) -> None:
    path = os.path.join(HERE, name)
    shutil.rmtree(path, ignore_errors=True)
    if name.endswith("leveldb"):
        b.make_leveldb(path, values, names, log_only=True)  # as convert_imageset leaves it
        for volatile in ("LOCK", "LOG"):
            os.remove(os.path.join(path, volatile))
    else:
        b.make_lmdb(path, values, names)
        os.remove(os.path.join(path, "lock.mdb"))  # readers do not need it
    print(f"{name}: {len(values)} records")


if __name__ == "__main__":
    write("clean_enc_lmdb", clean_encoded())
    write("raw_lmdb", raw_sorted())
    write_mean(raw_sorted())
    write("faulty_lmdb", *faulty())
    write("enc_leveldb", leveldb_sample())
    write_hdf5()
    write_images()
    write("detection_lmdb", *detection())
    b.label_map(os.path.join(HERE, "labelmap.prototxt"))
    print("labelmap.prototxt: 0 background, 1 circle, 2 square, 3 triangle")
