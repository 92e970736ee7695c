"""Duplicates, near duplicates, conflicting labels and leakage on stores with planted copies,
measured against imagehash's pHash on the same stores (recall and false positives)."""
from __future__ import annotations

import io
import itertools
import json
import os

import imagehash
import jsonschema
import numpy as np
import pytest
from PIL import Image

from scanner.checks import CATALOGUE
from scanner.cli import main
from scanner.datum import decode_datum
from scanner.duplicates.hashing import image_phash, hamming, values_phash
from scanner.report.json_report import load_schema

from . import builders as b
from .planted import FIXTURES, COPY_KINDS, encode, fixture_pictures, noisy_raw, planted_jpegs
from .scanning import scan_report as _scan_report

EVERY = frozenset(CATALOGUE)


def scan_report(path, **settings):
    report = _scan_report(path, enabled=EVERY, **settings)
    jsonschema.validate(report, load_schema())  # the groups, as the schema has them
    return report

DISTANCE = 10  # dscan's default near distance, used for both hashes
SEEDS = range(8) if os.environ.get("DSCAN_LONG_TESTS") == "1" else range(1)
SHARED_CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus")


def _grouped_pairs(report: dict, codes=("DS801", "DS802", "DS803")) -> set[tuple[int, int]]:
    pairs = set()
    for finding in report["findings"]:
        if finding["code"] in codes:
            members = [m["index"] for m in finding["detail"]["group"]["members"]]
            pairs.update(itertools.combinations(sorted(members), 2))
    return pairs


def _baseline_pairs(values: list[bytes]) -> set[tuple[int, int]]:
    """imagehash.phash of every record's picture; pairs within DISTANCE."""
    hashes = [imagehash.phash(_picture(v)) for v in values]
    return {(i, j) for i, j in itertools.combinations(range(len(hashes)), 2)
            if hashes[i] - hashes[j] <= DISTANCE}


def _picture(value: bytes) -> Image.Image:
    datum = decode_datum(value)
    if datum.encoded:
        return Image.open(io.BytesIO(bytes(datum.data)))
    planes = np.frombuffer(bytes(datum.data), np.uint8).reshape(datum.channels, datum.height,
                                                                 datum.width)
    return Image.fromarray(planes.transpose(1, 2, 0))


def _measure(tmp_path, values, planted):
    path = b.make_lmdb(tmp_path / "db", values)
    report = scan_report(path, max_examples=10_000)
    ours, theirs, wanted = _grouped_pairs(report), _baseline_pairs(values), set(planted)
    recall = len(ours & wanted) / len(wanted)
    baseline_recall = len(theirs & wanted) / len(wanted)
    return recall, baseline_recall, len(ours - wanted), len(theirs - wanted), report


@pytest.mark.parametrize("kind", sorted(COPY_KINDS))
def test_planted_copies_are_found_as_well_as_imagehash_finds_them(kind, tmp_path):
    """40 copies of 40 photos (DSCAN_LONG_TESTS=1: 8 such stores, other copies each)."""
    found = np.zeros(4)
    for seed in SEEDS:
        values, planted = planted_jpegs(kind, seed=seed)
        (tmp_path / str(seed)).mkdir()
        recall, baseline, false, baseline_false, _ = _measure(tmp_path / str(seed), values,
                                                              planted)
        found += (recall, baseline, false, baseline_false)
    recall, baseline = found[:2] / len(SEEDS)
    false, baseline_false = found[2:]
    print(f"{kind}: dscan recall {recall:.3f} ({false:.0f} false pairs), "
          f"imagehash {baseline:.3f} ({baseline_false:.0f})")
    assert recall >= (0.8 if kind == "crop" else 0.95)
    assert recall >= baseline and false <= baseline_false  # at least as good on each count


def test_raw_copies_with_pixel_noise(tmp_path):
    values, planted = noisy_raw(sigma=2.0)
    recall, baseline, false, baseline_false, _ = _measure(tmp_path, values, planted)
    print(f"raw noise: dscan recall {recall:.3f} ({false}), imagehash {baseline:.3f} "
          f"({baseline_false})")
    assert recall >= 0.95 and recall >= baseline
    assert false <= baseline_false


def test_copies_under_other_labels_are_errors(tmp_path):
    values, planted = planted_jpegs("quality70")
    relabelled = values[:40] + [b.encoded_datum(bytes(decode_datum(v).data), label=9 - i % 10)
                                for i, v in enumerate(values[40:])]
    path = b.make_lmdb(tmp_path / "db", relabelled)
    report = scan_report(path, max_examples=10_000)
    found = _grouped_pairs(report, ("DS803",))
    assert len(found & set(planted)) / len(planted) >= 0.95
    conflict = next(f for f in report["findings"] if f["code"] == "DS803")
    assert conflict["severity"] == "error" and len(conflict["detail"]["group"]["labels"]) == 2


def test_raw_records_differing_in_a_few_bytes_are_no_exact_copies(tmp_path):
    """Two raw records whose bytes differ by 128 at two places (one bit each) are not the
    same content: at most near duplicates, never DS801 or a DS803 of 'the same bytes'."""
    pixels = np.random.default_rng(4).integers(0, 128, 28 * 28, np.uint8)
    changed = pixels.copy()
    changed[[7, 15]] += 128
    values = [b.raw_datum(label=0, shape=(1, 28, 28), data=pixels.tobytes()),
              b.raw_datum(label=1, shape=(1, 28, 28), data=changed.tobytes())]
    report = scan_report(b.make_lmdb(tmp_path / "db", values))
    codes = {f["code"] for f in report["findings"]}
    assert "DS801" not in codes
    assert all(f["detail"]["group"]["kind"] != "exact" for f in report["findings"]
               if f["code"] == "DS803")


def test_blank_samples_of_other_values_are_no_duplicates(tmp_path):
    """Constant samples (blank frames, solid colours) have no picture to hash: their
    frequencies are rounding noise, alike for values a power of two apart. Under other
    labels they are no conflict; two of the same bytes are still exact copies."""
    def blank(value: int, label: int) -> bytes:
        return b.raw_datum(label=label, shape=(3, 28, 28), data=bytes([value]) * 3 * 28 * 28)

    solid = np.repeat(np.array([10, 100, 40], np.uint8), 28 * 28).tobytes()  # one per channel
    values = [blank(value, label) for label, value in enumerate((1, 2, 4, 8, 64, 128))]
    values += [b.raw_datum(label=7, shape=(3, 28, 28), data=solid),
               b.raw_datum(label=8, shape=(3, 28, 28), data=bytes(a * 2 for a in solid)),
               blank(3, 0), blank(3, 0)]
    report = scan_report(b.make_lmdb(tmp_path / "db", values))
    groups = [f for f in report["findings"] if f["code"] in ("DS801", "DS802", "DS803")]
    assert [(f["code"], sorted(m["index"] for m in f["detail"]["group"]["members"]))
            for f in groups] == [("DS801", [8, 9])]
    constant = {f["index"] for f in report["findings"] if f["code"] == "DS103"}
    assert constant == {0, 1, 2, 3, 4, 5, 8, 9}  # the solid colours' channels differ


def test_exact_copies_form_one_group_with_exact_counts(tmp_path):
    image = b.encoded_datum(b.jpeg(seed=1), label=2)
    others = [b.encoded_datum(encode(picture), label=1) for picture in fixture_pictures()[:5]]
    path = b.make_lmdb(tmp_path / "db", others + [image] * 30)
    report = scan_report(path, max_examples=5)
    groups = [f for f in report["findings"] if f["code"] == "DS801"]
    assert len(groups) == 1
    group = groups[0]["detail"]["group"]
    assert group["size"] == 30 and group["kind"] == "exact" and group["max_distance"] == 0
    assert len(group["members"]) == 12  # capped; the size stays exact
    assert groups[0]["key"] == "00000005_img_5.jpg" and groups[0]["index"] == 5
    assert report["summary"]["by_code"]["DS801"] == 1


@pytest.mark.parametrize("path", [os.path.join(FIXTURES, "natural_enc_lmdb"),
                                  os.path.join(SHARED_CORPUS, "natural_enc_lmdb")])
def test_natural_photos_give_no_duplicate_finding(path):
    if not os.path.isdir(path):
        pytest.skip(f"{path} is not here")
    report = scan_report(path, lmdb_lock="never")  # in place: not even a reader slot written
    assert not {"DS801", "DS802", "DS803"} & set(report["summary"]["by_code"])


def test_leakage_against_a_training_store_names_both_sides(tmp_path, capsys):
    values, planted = planted_jpegs("quality70", originals=30)
    train = b.make_lmdb(tmp_path / "train", values[:30])
    test = b.make_lmdb(tmp_path / "test", values[30:40] +
                       [b.encoded_datum(b.jpeg(seed=s), label=0) for s in range(5)])
    assert main(["lmdb", test, "--against", train, "--no-progress", "-q", "-j", "1",
                 "--json", str(tmp_path / "r.json"), "--max-examples", "100"]) == 1
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, load_schema())
    leaks = [f for f in report["findings"] if f["code"] == "DS804"]
    assert len(leaks) >= 9
    first = leaks[0]["detail"]["group"]
    assert first["members"][0]["key"].startswith("0000000")
    assert first["train_members"][0]["key"] and first["train_store"] == train
    assert {m["index"] for f in leaks for m in f["detail"]["group"]["members"]} <= set(range(10))


def test_no_duplicates_turns_the_step_off(tmp_path):
    image = b.encoded_datum(b.jpeg(seed=1))
    path = b.make_lmdb(tmp_path / "db", [image] * 3)
    assert main(["lmdb", path, "--no-progress", "-q", "-j", "1", "--json",
                 str(tmp_path / "on.json")]) == 0
    assert main(["lmdb", path, "--no-progress", "-q", "-j", "1", "--no-duplicates", "--json",
                 str(tmp_path / "off.json")]) == 0
    on = json.loads((tmp_path / "on.json").read_text())["summary"]["by_code"]
    off = json.loads((tmp_path / "off.json").read_text())["summary"]["by_code"]
    assert on.get("DS801") == 1 and "DS801" not in off


def test_value_and_image_hashes_agree_on_the_same_picture():
    picture = np.asarray(fixture_pictures()[0].convert("L").resize((12, 12)))
    as_image = image_phash(picture[None])
    as_values = values_phash(picture.reshape(1, 1, -1), 12, 12)
    assert hamming(as_image, as_values)[0] == 0


def test_html_shows_each_group_as_thumbnails_train_beside_test(tmp_path):
    values, _ = planted_jpegs("quality70", originals=6)
    train = b.make_lmdb(tmp_path / "train", values[:6] + values[:1])  # one exact copy
    test = b.make_lmdb(tmp_path / "test", values[6:9])
    page = tmp_path / "r.html"
    main(["lmdb", test, "--against", train, "--no-progress", "-q", "-j", "1",
          "--html", str(page)])
    html = page.read_text()
    assert html.count('class="side members"') == 3 == html.count('class="side train_members"')
    # 3 test records; their 3 originals in train, one of them twice
    assert html.count('<figure class="member">') == 7
    assert html.count('src="data:image/png;base64,') >= 7
    main(["lmdb", train, "--no-progress", "-q", "-j", "1", "--html", str(page)])
    within = page.read_text()
    assert within.count('<figure class="member">') == 2
    assert 'class="side train_members"' not in within


def test_hdf5_rows_that_repeat_are_exact_duplicates_named_by_entry_and_row(tmp_path):
    rows = b.float_rows(6, shape=(1, 16, 16), seed=3)
    rows[4] = rows[1]
    path = b.make_h5(tmp_path / "a.h5", data=rows, label=np.array([0, 1, 0, 0, 1, 0]))
    report = scan_report(path, backend="hdf5")
    [finding] = [f for f in report["findings"] if f["code"].startswith("DS80")]
    members = finding["detail"]["group"]["members"]
    assert finding["code"] == "DS801"
    assert [m["key"] for m in members] == [f"{path}:1", f"{path}:4"]
    assert [m["label"] for m in members] == [1, 1]


def test_pictures_of_many_sizes_are_hashed_as_they_come():
    from scanner.duplicates.fingerprints import FingerprintSink

    sink = FingerprintSink()
    for index in range(1200):  # 1200 sizes: no size fills a batch
        size = (32 + index % 30, 32 + index // 30)
        picture = np.arange(size[0] * size[1], dtype=np.uint8).reshape(size)  # not blank
        sink.add_image(index, b"%d" % index, picture)
        assert sink.waiting < 1024
    prints = sink.result(1200)
    assert (prints.kind == 1).all() and len(np.unique(prints.exact)) == 1200


def test_blank_images_of_other_shades_are_no_duplicates(tmp_path):
    """Blank frames (one grey value) have no picture to hash, whatever their format: under
    other labels they are no conflict; the same bytes twice are still exact copies."""
    shades = [Image.new("RGB", (48, 48), (value,) * 3) for value in (1, 2, 4, 8, 64, 128)]
    values = [b.encoded_datum(encode(picture), label=label)
              for label, picture in enumerate(shades)]
    values += [b.encoded_datum(encode(shades[2]), label=2)] * 2  # the bytes of record 2
    report = scan_report(b.make_lmdb(tmp_path / "db", values))
    groups = [(f["code"], sorted(m["index"] for m in f["detail"]["group"]["members"]))
              for f in report["findings"] if f["code"] in ("DS801", "DS802", "DS803")]
    assert groups == [("DS801", [2, 6, 7])]


def test_against_a_path_that_is_no_store_is_one_line_before_scanning(tmp_path, capsys):
    store = b.make_lmdb(tmp_path / "db", [b.encoded_datum(b.jpeg(seed=1))])
    (tmp_path / "notes.txt").write_bytes(b"\x00\x01binary")
    assert main(["lmdb", store, "--against", str(tmp_path / "gone"), "--no-progress"]) == 2
    assert main(["lmdb", store, "--against", str(tmp_path / "notes.txt"), "--no-progress"]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("dscan: error:") == 2 and "no such file" in err and "not a store" in err
    assert "records in" not in captured.out  # nothing was scanned


def test_dscan_net_reports_test_records_that_are_in_train_with_keys_from_both(tmp_path):
    from .scanning import net_report

    pictures = fixture_pictures()
    train = b.make_lmdb(tmp_path / "train", [b.encoded_datum(encode(p), label=i % 4)
                                             for i, p in enumerate(pictures[:12])],
                        names=[f"train_{i}.jpg" for i in range(12)])
    test = b.make_lmdb(tmp_path / "test", [b.encoded_datum(encode(p, 75), label=i % 4)
                                           for i, p in enumerate(pictures[10:16])],
                       names=[f"test_{i}.jpg" for i in range(6)])
    (tmp_path / "net.prototxt").write_text("".join(
        f'layer {{ name: "{phase.lower()}" type: "Data" top: "data" top: "label" '
        f'include {{ phase: {phase} }} data_param {{ source: "{source}" batch_size: 4 '
        f'backend: LMDB }} }}\n' for phase, source in (("TRAIN", train), ("TEST", test))))
    report = net_report(tmp_path / "net.prototxt", enabled=EVERY)
    train_part, test_part = [s["report"] for s in report["sections"]]
    assert not [f for f in train_part["findings"] if f["code"] == "DS804"]
    leaks = [f for f in test_part["findings"] if f["code"] == "DS804"]
    assert [f["key"] for f in leaks] == ["00000000_test_0.jpg", "00000001_test_1.jpg"]
    assert [f["detail"]["group"]["train_members"][0]["key"] for f in leaks] == \
        ["00000010_train_10.jpg", "00000011_train_11.jpg"]
    assert report["summary"]["by_code"]["DS804"] == 2
