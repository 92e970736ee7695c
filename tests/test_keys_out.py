"""--keys-out: the keys of the records at or above --fail-on, read back exactly."""
import json
import os

from scanner.cli import main
from scanner.report import keys_out

from . import builders as b
from .conftest import FIXTURES

SAMPLE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "sample_data")

# Keys a clean-up script must get back byte for byte: not UTF-8, control characters, JSON's
# own specials, and the *text* "\xff" beside the byte 0xff (one escaping must not serve both).
HOSTILE = [b"\xff\xfe bad utf8", b"tab\there", b"new\nline", b'quote"and\\back', b"\\xff",
           "猫/img_1.jpg".encode(), b"\x00nul", b"k" * 511]


def test_every_key_round_trips_through_a_line(tmp_path):
    keys = [bytes([value]) for value in range(256)] + HOSTILE
    target = tmp_path / "keys.txt"
    target.write_text("".join(keys_out.line(key, {"DS101", "DS002"}) for key in keys),
                      encoding="utf-8")
    assert keys_out.read(str(target)) == [(key, ["DS002", "DS101"]) for key in keys]
    lines = target.read_text(encoding="utf-8").split("\n")[:-1]
    assert len(lines) == len(keys)  # a newline in a key is escaped, never a line break
    for key, text in zip(keys, lines):  # what a script does, as the module's doc says
        assert json.loads(text.split("\t")[0]).encode("utf-8", "surrogateescape") == key


def test_an_lmdb_with_hostile_keys_gives_them_back_exactly(tmp_path, capsys):
    good = b.raw_datum(shape=(1, 4, 4))
    items = [(key, b"\x07junk") for key in HOSTILE] + [(b"clean_record", good)]
    b.put_raw(tmp_path / "db", items)
    target = tmp_path / "keys.txt"
    assert main(["lmdb", str(tmp_path / "db"), "--no-progress", "--keys-out", str(target),
                 "--ignore", "DS8"]) == 1
    assert [key for key, _ in keys_out.read(str(target))] == sorted(HOSTILE)  # read order
    assert {code for _, codes in keys_out.read(str(target)) for code in codes} == {"DS002"}
    assert f"wrote {target}" in capsys.readouterr().out


def test_fail_on_decides_which_records_are_listed(tmp_path, capsys):
    path = os.path.join(SAMPLE, "faulty_lmdb")
    errors, warnings = tmp_path / "errors.txt", tmp_path / "warnings.txt"
    for level, target in (("error", errors), ("warning", warnings)):
        main(["lmdb", path, "--num-classes", "4", "--no-progress", "--json", "-",
              "--fail-on", level, "--keys-out", str(target)])
        report = json.loads(capsys.readouterr().out)
        assert report["summary"]["records"] == 48
    listed = dict(keys_out.read(str(errors)))
    assert listed[b"00000001_ds002_invalid_protobuf"] == ["DS002"]
    # found in the parent by dataset checks, by index alone: the key is looked up
    assert "DS205" in listed[b"00000031_ds205_other_size"]
    assert not any("DS102" in codes for codes in listed.values())  # a warning
    more = dict(keys_out.read(str(warnings)))
    assert set(listed) < set(more) and "DS102" in more[b"00000010_ds102_float16_overflow"]


def test_every_kept_finding_at_or_above_fail_on_is_listed_even_past_max_examples(
        tmp_path, capsys, fixture_copy):
    target = tmp_path / "keys.txt"
    main(["lmdb", fixture_copy("float_lmdb"), "--no-progress", "--json", "-",
          "--max-examples", "1", "--ignore", "DS8", "--keys-out", str(target)])
    report = json.loads(capsys.readouterr().out)
    listed = keys_out.read(str(target))
    assert len(listed) == report["summary"]["by_code"]["DS101"] == 7  # not the 1 example
    assert len(report["findings"]) == 2


def test_hdf5_keys_are_the_report_rows(tmp_path, capsys, monkeypatch):
    folder = os.path.join(FIXTURES, "hdf5", "hdf5data")
    monkeypatch.chdir(folder)
    target = tmp_path / "keys.txt"
    main(["hdf5", "train_h5_list.txt", "--no-progress", "--json", "-", "--keys-out",
          str(target)])
    report = json.loads(capsys.readouterr().out)
    wanted = {f["key"].encode() for f in report["findings"]
              if f["severity"] == "error" and f["index"] is not None}
    assert wanted and {key for key, _ in keys_out.read(str(target))} == wanted


def test_image_lists_and_leveldb_write_keys_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(os.path.dirname(SAMPLE))
    images = tmp_path / "images.txt"
    assert main(["images", "sample_data/images/train_list.txt", "--root-folder",
                 "sample_data/images/", "--no-progress", "-q", "--keys-out", str(images)]) == 1
    assert sorted(codes[0] for _, codes in keys_out.read(str(images))) == \
        ["DS007", "DS008", "DS202"]
    levels = tmp_path / "leveldb.txt"
    copy = tmp_path / "enc_leveldb"
    import shutil
    shutil.copytree(os.path.join(SAMPLE, "enc_leveldb"), copy)
    assert main(["leveldb", str(copy), "--no-progress", "-q", "--ignore", "DS8",
                 "--keys-out", str(levels)]) == 1
    assert [codes for _, codes in keys_out.read(str(levels))] == [["DS202"], ["DS202"]]
    assert "wrote" not in capsys.readouterr().out  # -q: no closing line


def test_a_scan_without_flagged_records_writes_an_empty_file(tmp_path, fixture_copy):
    target = tmp_path / "keys.txt"
    assert main(["lmdb", fixture_copy("enc_lmdb"), "--no-progress", "-q", "--keys-out",
                 str(target)]) == 0
    assert target.read_bytes() == b""


def test_keys_to_stdout_feed_a_pipe_and_the_summary_goes_to_stderr(capsys):
    path = os.path.join(SAMPLE, "faulty_lmdb")
    assert main(["lmdb", path, "--num-classes", "4", "--no-progress", "--keys-out", "-"]) == 1
    out, err = capsys.readouterr()
    assert "Caffe: CRASHES" in err and "wrote" not in err
    first = out.splitlines()[0].split("\t")
    assert first == ['"00000001_ds002_invalid_protobuf"', "DS002"]
    assert main(["lmdb", path, "--keys-out", "-", "--json", "-"]) == 2
    assert "both write to standard output" in capsys.readouterr().err


def test_leakage_found_against_another_store_is_listed_with_its_key(tmp_path):
    images = [b.encoded_datum(b.jpeg(48, 48, seed=seed)) for seed in range(6)]
    train = b.make_lmdb(tmp_path / "train", images[:4])
    test = b.make_lmdb(tmp_path / "test", [images[5], images[2]], names=["new.jpg", "old.jpg"])
    target = tmp_path / "keys.txt"
    main(["lmdb", test, "--against", train, "--no-progress", "-q", "--fail-on", "warning",
          "--keys-out", str(target)])
    assert keys_out.read(str(target)) == [(b"00000001_old.jpg", ["DS804"])]
