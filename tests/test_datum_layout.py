"""Batched parsing of raw and float datums by byte layout: it must find exactly what the
one-record-at-a-time decoder finds, whatever the records hold."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner import kernels
from scanner.checks import CATALOGUE
from scanner.checks.value_checks import ValueSummary
from scanner.datum import decode_datum
from scanner.datum_layout import Layout, parse_batch
from scanner.record_batches import parse_large, parse_records

from . import builders as b
from .scanning import scan_report


def _without_layouts(monkeypatch):
    monkeypatch.setattr("scanner.inspect._MAX_LAYOUTS", 0)


def _comparable(report: dict) -> dict:
    """The report's content; statistics rounded, as sums taken in other groupings differ
    in their last bits."""
    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.9g}")
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value
    return rounded({key: report[key] for key in ("summary", "verdict", "findings", "stats",
                                                 "batches")})


def _same_both_ways(tmp_path, monkeypatch, values, **options):
    path = b.make_lmdb(tmp_path / "db", values)
    batched = scan_report(path, chunk_records=7, **options)
    with monkeypatch.context() as patch:
        _without_layouts(patch)
        single = scan_report(path, **options)
    assert _comparable(batched) == _comparable(single)
    return batched


def _record(kind: str, label: int, seed: int, shape=(3, 4, 4)) -> bytes:
    size = int(np.prod(shape))
    values = np.random.default_rng(seed).random(size).astype(np.float32)
    if kind == "raw":
        return b.raw_datum(label=label, shape=shape, seed=seed)
    return b.float_datum(values, shape, label=label, packed=kind == "packed")


@pytest.mark.parametrize("kind", ["raw", "packed", "unpacked"])
def test_layout_parse_matches_the_decoder(kind):
    values = [_record(kind, label, seed) for seed, label in enumerate([0, 5, 127, 3])]
    layout = Layout.derive(values[0], decode_datum(values[0]))
    assert layout is not None and layout.length == len(values[0])
    trusted, labels, payloads = parse_batch(layout, values)
    assert trusted.all() and labels.tolist() == [0, 5, 127, 3]
    for value, payload in zip(values, payloads):
        datum = decode_datum(value)
        expected = np.frombuffer(bytes(datum.data), np.uint8) if kind == "raw" else \
            np.asarray(datum.float_data)
        assert np.array_equal(payload.ravel(), expected)


def test_a_batch_of_one_length_is_one_range_and_mixed_lengths_name_their_records():
    """One record length: the group's positions are the whole batch as a range. Labels of
    one and two varint bytes give two lengths of one shape: one group whose positions
    name each payload's record, and every label where its record is."""
    labels = [5, 300, 7, 301, 9, 2]
    values = [b.raw_datum(label, (1, 4, 4), seed) for seed, label in enumerate(labels)]
    layouts = {len(v): Layout.derive(v, decode_datum(v)) for v in values}
    found, groups = parse_records(layouts, values[::2])
    assert len(groups) == 1 and groups[0].positions == range(3)
    assert found.tolist() == [5, 7, 9]
    found, groups = parse_records(layouts, values)
    assert len(groups) == 1 and found.tolist() == labels
    positions, payloads = groups[0].positions, groups[0].payloads
    assert sorted(positions) == list(range(6)) and not isinstance(positions, range)
    for position, payload in zip(positions, payloads):
        assert payload.tobytes() == bytes(decode_datum(values[position]).data)


def test_raw_batches_come_with_their_fingerprints_when_asked():
    """hashed, compiled: a raw group's (exact, perceptual) hashes are those of its payloads,
    in its positions' order, also for a shape whose records have two lengths; not hashed
    (or not compiled, where the fingerprint sink hashes the payloads): none."""
    from scanner.duplicates.hashing import KIND_VALUES, rows_hash, shape_tag, values_phash

    labels = [5, 300, 7, 301, 9, 2, 4]
    values = [b.raw_datum(label, (1, 12, 10), seed) for seed, label in enumerate(labels)]
    layouts = {len(v): Layout.derive(v, decode_datum(v)) for v in values}
    for batch in (values[::2], values):
        _, (group,) = parse_records(layouts, batch, hashed=True)
        payloads = np.stack([np.frombuffer(decode_datum(batch[p]).data, np.uint8)
                             for p in group.positions]).reshape(-1, 1, 120)
        expected = (rows_hash(payloads, shape_tag(KIND_VALUES, payloads.dtype, (1, 12, 10))),
                    values_phash(payloads, 12, 10))
        if kernels.native is None or not kernels.native.AVX2:  # the sink hashes them
            assert group.hashes is None
            continue
        for got, wanted in zip(group.hashes, expected):
            assert np.array_equal(got, wanted)
        assert parse_records(layouts, batch)[1][0].hashes is None


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(["raw", "packed", "unpacked"]), min_size=1, max_size=3),
       labels=st.lists(st.integers(-3, 300), min_size=1, max_size=40),
       poison=st.lists(st.integers(0, 39), max_size=3))
def test_batches_report_what_the_decoder_reports(tmp_path_factory, kinds, labels, poison):
    values = [_record(kinds[i % len(kinds)], label, i) for i, label in enumerate(labels)]
    for position in poison:  # faults of the same length as their neighbours
        if position < len(values):
            raw = bytearray(values[position])
            raw[len(raw) // 2] ^= 0xFF
            raw[1] = 0  # channels 0 in most layouts: DS204 or a different shape
            values[position] = bytes(raw)
    tmp_path = tmp_path_factory.mktemp("db")
    from _pytest.monkeypatch import MonkeyPatch
    with MonkeyPatch().context() as monkeypatch:
        _same_both_ways(tmp_path, monkeypatch, values, num_classes=5)


def test_nan_and_constant_samples_inside_a_batch(tmp_path, monkeypatch):
    values = [_record("unpacked", i % 3, i) for i in range(20)]
    bad = np.random.default_rng(1).random(48).astype(np.float32)
    bad[7] = np.nan
    values[9] = b.float_datum(bad, (3, 4, 4), label=1)
    values[12] = b.float_datum(np.zeros(48, np.float32), (3, 4, 4), label=2)
    report = _same_both_ways(tmp_path, monkeypatch, values)
    found = {f["code"]: f["index"] for f in report["findings"]}
    assert found == {"DS101": 9, "DS103": 12}


def test_a_record_of_the_same_length_but_another_layout(tmp_path, monkeypatch):
    values = [_record("raw", 1, i, (3, 4, 4)) for i in range(10)]
    values.insert(5, _record("raw", 1, 99, (1, 4, 12)))  # same byte length, other shape
    jpeg = b.jpeg(8, 8)
    values.insert(7, b.encoded_datum(jpeg))
    report = _same_both_ways(tmp_path, monkeypatch, values)
    assert report["stats"]["shapes"]["1x4x12"] == 1
    assert any(f["code"] == "DS205" and f["index"] == 5 for f in report["findings"])


def test_every_code_is_still_known():
    assert "DS101" in CATALOGUE


def test_statistics_survive_values_whose_squares_overflow_float32(tmp_path):
    huge = np.full(48, 1e30, np.float32)
    values = [b.float_datum(huge, (3, 4, 4)), b.float_datum(np.ones(48, np.float32), (3, 4, 4))]
    report = scan_report(b.make_lmdb(tmp_path / "db", values))
    channels = report["stats"]["values"]["channels"]
    assert channels[0]["mean"] == pytest.approx(5e29, rel=1e-6)
    assert channels[0]["std"] == pytest.approx(5e29, rel=1e-4)


def _large_like_batch(layout, values):
    """parse_large on the records, in the shape of parse_batch's answer (None: not trusted)."""
    parsed = parse_large([layout] * len(values), [memoryview(value) for value in values])
    if parsed is None:
        return None
    labels, parts = parsed
    payloads = np.empty((len(values), *parts[0][1].shape[1:]), parts[0][1].dtype)
    for rows, part, figures in parts:
        part = part[:]  # an array, or the values of samples left in their records
        payloads[list(rows)] = part
        if figures is not None:  # taken on the way (unpacked floats): those of the values
            assert all(np.array_equal(a, b, equal_nan=True)
                       for a, b in zip(figures[2:], (part.min(axis=2), part.max(axis=2))))
    return labels, payloads


@pytest.mark.parametrize("kind", ["raw", "packed", "unpacked"])
def test_large_records_are_parsed_alike_one_by_one(kind):
    """Records from LARGE_RECORD bytes on are parsed record by record, straight from their
    buffers: the same labels and payloads as the batch parse for good records (NaN, Inf and
    float16-range values among them), and no trust for a bad element tag, a bad fixed byte
    or a label varint that goes on past its width."""
    floats = np.random.default_rng(5).random((6, 48)).astype(np.float32)
    floats[1, 3], floats[1, 4], floats[2, 0] = np.nan, -np.inf, 7e4
    if kind == "raw":
        values = [b.raw_datum(label=label, shape=(3, 4, 4), seed=i)
                  for i, label in enumerate([1, 2, 127, 4, 5, 6])]
    else:
        values = [b.float_datum(floats[i], (3, 4, 4), label=label, packed=kind == "packed")
                  for i, label in enumerate([1, 2, 127, 4, 5, 6])]
    layout = Layout.derive(values[0], decode_datum(values[0]))
    assert {len(value) for value in values} == {layout.length}
    trusted, labels, payloads = parse_batch(layout, values)
    assert trusted.all()
    ours = _large_like_batch(layout, values)
    assert np.array_equal(ours[0], labels)
    assert np.array_equal(ours[1], payloads, equal_nan=payloads.dtype.kind == "f")
    assert labels.tolist() == [1, 2, 127, 4, 5, 6]

    def flipped(value: bytes, at: int, bits: int) -> bytes:
        return value[:at] + bytes([value[at] ^ bits]) + value[at + 1:]
    faults = [(0, 0x01),  # a fixed byte
              (layout.label_at + layout.label_width - 1, 0x80)]  # the label goes on
    if kind == "unpacked":
        faults.append((layout.payload_at - 1 + 5 * 2, 0x10))  # an element tag
    for at, bits in faults:
        bad = values[:3] + [flipped(values[3], at, bits)] + values[4:]
        assert not parse_batch(layout, bad)[0].all()
        assert _large_like_batch(layout, bad) is None


def test_large_records_of_an_lmdb_are_views_of_its_pages(tmp_path):
    """Large raw records written in order lie at equal distances in LMDB's map: their
    payloads come out as views of the store's pages, equal to what the decoder reads, with
    the label widths of 1 and 2 bytes mixed in one batch; records elsewhere are copied."""
    import lmdb
    shape = (3, 150, 150)  # 67,500 bytes: beyond LARGE_RECORD
    labels = [5, 300, 7, 128, 0, 1, 2, 999, 3, 4]
    values = [b.raw_datum(label=label, shape=shape, seed=i) for i, label in enumerate(labels)]
    path = b.make_lmdb(tmp_path / "db", values)
    layouts = {len(v): Layout.derive(v, decode_datum(v)) for v in values}
    env = lmdb.open(path, readonly=True, lock=False)
    try:
        with env.begin(buffers=True) as txn:
            stored = [value for _, value in txn.cursor()]
            stored.insert(4, memoryview(values[9]))  # a record from elsewhere in memory
            found, groups = parse_records(layouts, stored)
            assert found.tolist() == labels[:4] + [4] + labels[4:]
            seen = {}
            for dtype, group_shape, positions, payloads, *_ in groups:
                assert (dtype, group_shape) == ("uint8", shape)
                for position, payload in zip(positions, payloads):
                    expected = np.frombuffer(decode_datum(stored[position]).data, np.uint8)
                    assert np.array_equal(payload.ravel(), expected)
                    seen[position] = np.shares_memory(payload,
                                                      np.frombuffer(stored[position], np.uint8))
            assert sorted(seen) == list(range(len(stored)))
            assert seen[0] and seen[len(stored) - 1] and not seen[4]
    finally:
        env.close()


def test_large_raw_records_scan_like_the_decoder(tmp_path, monkeypatch):
    """A store of large raw records (views and copies, labels of two widths, a constant
    sample after the statistics have met 0 and 255, a bad record of the same length)
    reports what the record-by-record decoder reports."""
    shape = (3, 150, 150)
    values = [b.raw_datum(label=(i * 61) % 300, shape=shape, seed=i) for i in range(24)]
    values[17] = b.raw_datum(label=3, shape=shape, data=bytes([9]) * (3 * 150 * 150))
    raw = bytearray(values[20])
    raw[1] = 0  # channels 0: DS204
    values[20] = bytes(raw)
    report = _same_both_ways(tmp_path, monkeypatch, values)
    found = {f["code"]: f["index"] for f in report["findings"]}
    assert found["DS103"] == 17 and found["DS204"] == 20


def test_large_unpacked_records_scan_like_the_decoder(tmp_path, monkeypatch):
    monkeypatch.setattr("scanner.record_batches.LARGE_RECORD", 0)
    monkeypatch.setattr("scanner.inspect.LARGE_RECORD", 0)
    test_nan_and_constant_samples_inside_a_batch(tmp_path, monkeypatch)


def test_large_unpacked_copies_are_found_as_the_decoder_finds_them(tmp_path, monkeypatch):
    """Left in their records, large unpacked floats give the duplicate findings of the
    decoder's copies: an exact copy (DS801) and a copy under another label (DS803)."""
    monkeypatch.setattr("scanner.record_batches.LARGE_RECORD", 0)
    monkeypatch.setattr("scanner.inspect.LARGE_RECORD", 0)
    floats = np.random.default_rng(3).random((12, 3 * 16 * 16)).astype(np.float32)
    values = [b.float_datum(row, (3, 16, 16), label=i % 3) for i, row in enumerate(floats)]
    values += [values[4], b.float_datum(floats[7], (3, 16, 16), label=2)]
    report = _same_both_ways(tmp_path, monkeypatch, values, enabled=frozenset(CATALOGUE))
    found = sorted((f["code"], f["index"]) for f in report["findings"])
    assert found == [("DS801", 4), ("DS803", 7)]


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=40), end=st.integers(0, 50), tagged=st.integers(0, 255))
def test_a_run_of_float_elements_ends_where_a_tag_is_missing(raw, end, tagged):
    from scanner.datum_layout import _FLOAT_TAG, _float_run_end
    raw = bytearray(raw)
    for at in range(end, len(raw), 5):  # most element tags in place
        if (at * 7 + tagged) % 11:
            raw[at] = _FLOAT_TAG
    raw = bytes(raw)
    expected = end
    while expected + 5 <= len(raw) and raw[expected] == _FLOAT_TAG:
        expected += 5
    assert _float_run_end(raw, end) == expected


@pytest.mark.skipif(kernels.native is None, reason="the compiled kernels are off or not built")
def test_floats_left_in_their_records_are_checked_and_fingerprinted_as_copies(monkeypatch):
    """Large unpacked floats stay in their records (TaggedRows): the value checks copy out
    only the samples their summary points at, and give the findings of the copied values;
    the fingerprints are those of the copies."""
    from scanner.checks.value_checks import value_problems
    from scanner.duplicates.fingerprints import FingerprintSink
    from scanner.record_batches import TaggedRows

    floats = np.random.default_rng(2).normal(0, 10, (8, 3 * 12 * 12)).astype(np.float32)
    floats[1, 5], floats[2, 0], floats[3, 7], floats[4] = np.nan, -np.inf, 7e4, 3.0
    floats[6] = floats[0]  # an exact copy
    values = [b.float_datum(row, (3, 12, 12), label=1) for row in floats]
    layout = Layout.derive(values[0], decode_datum(values[0]))
    labels, [(rows, left, figures)] = parse_large([layout] * 8, values, hashed=True)
    assert isinstance(left, TaggedRows) and left.shape == (8, 3, 144)
    copied = left[:]
    assert np.array_equal(copied.reshape(8, -1), floats, equal_nan=True)
    assert np.array_equal(left[3], copied[3]) and left[2:4].shape == (2, 3, 144)
    summary = ValueSummary(figures[2], figures[3], figures[0], figures[1])
    found = value_problems(left, summary)
    assert [(row, p.code) for row, p in found] == [(1, "DS101"), (2, "DS101"), (3, "DS102"),
                                                    (4, "DS103")]
    assert [(row, p.message) for row, p in found] == \
        [(row, p.message) for row, p in value_problems(copied, summary)]
    sink = FingerprintSink()
    in_place = sink.hash_values(range(8), left, (3, 12, 12))
    copies = sink.hash_values(range(8), copied, (3, 12, 12))
    assert all(np.array_equal(a, b) for a, b in zip(in_place[1:], copies[1:]))
    assert in_place[1][0] == in_place[1][6]
