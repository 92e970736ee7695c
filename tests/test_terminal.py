"""The terminal summary's figures say what they count: the batch line beside DS304, and with
-v the records that would feed garbage."""
import json
import re

import numpy as np

from scanner.cli import main

from . import builders as b


def _garbage_store(tmp_path, bad: int) -> str:
    values = [b.encoded_datum(b.jpeg(32, 32, seed=i), label=i % 2) for i in range(4)]
    values += [b.encoded_datum(b.truncate(b.jpeg(32, 32, seed=9 + i)), label=1)
               for i in range(bad)]
    return b.make_lmdb(tmp_path / "db", values)


def _summary(capsys, *argv) -> str:
    main([*argv, "--no-progress", "-j", "1"])
    return " ".join(capsys.readouterr().out.split())  # wrapping aside


def test_verbose_names_the_first_ten_garbage_records_and_counts_the_rest(tmp_path, capsys):
    path = _garbage_store(tmp_path, 13)
    plain = _summary(capsys, "lmdb", path)
    assert "13 records would silently feed garbage (-v lists them)" in plain
    assert "#4 00000004_img_4.jpg" not in plain.split("Findings:")[0]
    verbose = _summary(capsys, "lmdb", path, "-v")
    listed = re.findall(r"#(\d+) 000000\d\d_img_\d+\.jpg", verbose.split("Findings:")[0])
    assert listed == [str(i) for i in range(4, 14)]
    assert "... and 3 more" in verbose


def test_quiet_lists_nothing_even_when_verbose(tmp_path, capsys):
    text = _summary(capsys, "lmdb", _garbage_store(tmp_path, 2), "-v", "-q")
    assert "#4" not in text and "feed garbage" in text


def _partly_sorted(tmp_path) -> str:
    """8 classes in batches of 16: shuffled batches lack a class by chance; 4 sorted batches
    at the end hold one class each, far beyond chance."""
    rng = np.random.default_rng(3)
    labels = rng.permutation(np.repeat(np.arange(8), 32)).tolist() + \
        [c for c in range(4) for _ in range(16)]
    return b.make_lmdb(tmp_path / "db", [b.raw_datum(label=l, shape=(1, 2, 2), seed=i)
                                         for i, l in enumerate(labels)])


def test_the_batch_line_says_how_its_count_differs_from_ds304(tmp_path, capsys):
    path = _partly_sorted(tmp_path)
    text = _summary(capsys, "lmdb", path, "--batch-size", "16", "--num-classes", "8")
    main(["lmdb", path, "--batch-size", "16", "--num-classes", "8", "--no-progress",
          "--json", "-"])
    report = json.loads(capsys.readouterr().out)
    batches, ds304 = report["batches"], report["summary"]["by_code"]["DS304"]
    assert batches["batches_missing_classes"] > ds304 >= 4
    assert (f"{batches['batches_missing_classes']} lack at least one of the 8 classes present"
            in text)
    assert f"of which {ds304} lack more than chance explains (DS304 counts these)" in text
    assert "DS304 warning" in text and "more classes than chance explains" in text


def test_batches_lacking_nothing_say_so(tmp_path, capsys):
    path = b.make_lmdb(tmp_path / "db", [b.raw_datum(label=i % 2, shape=(1, 2, 2), seed=i)
                                         for i in range(32)])
    text = _summary(capsys, "lmdb", path, "--batch-size", "8")
    assert "Batches of 8: 4 per epoch; none lacks any of the 2 classes present;" in text
