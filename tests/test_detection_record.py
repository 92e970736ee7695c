"""The AnnotatedDatum decoder against the protobuf runtime, and on arbitrary bytes."""
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.datum import decode_datum
from scanner.detection.record import AnnotatedDecodeError, decode_annotated
from scanner.detection.sampling import ANNOTATED, DATUM, record_kind

from . import builders as b
from .reference import annotated_bytes, datum_bytes, parse_annotated

_coord = st.floats(-2, 3, width=32) | st.just(float("nan"))
_box = st.tuples(_coord, _coord, _coord, _coord, st.booleans()) | st.none()
_groups = st.lists(st.tuples(st.integers(-5, 100), st.lists(_box, max_size=4)), max_size=5)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=150, deadline=None)
@given(_groups, st.sampled_from([0, None]))
def test_the_decoder_reads_what_the_protobuf_runtime_writes(groups, type_value):
    value = annotated_bytes({"channels": 3, "height": 5, "width": 7, "data": b"\xff\xd8\xff",
                             "encoded": True, "label": -1}, groups, type_value=type_value)
    reference, record = parse_annotated(value), decode_annotated(value)
    assert record.type == (reference.type if reference.HasField("type") else None)
    inner = decode_datum(record.datum)
    assert (inner.height, inner.width, bytes(inner.data)) == (5, 7, b"\xff\xd8\xff")
    assert len(record.groups) == len(reference.annotation_group)
    for group, expected in zip(record.groups, reference.annotation_group):
        assert group.label == expected.group_label
        assert len(group.boxes) == len(expected.annotation)
        for box, annotation in zip(group.boxes, expected.annotation):
            assert box.has_bbox == annotation.HasField("bbox")
            bbox = annotation.bbox
            assert all(_same(x, y) for x, y in zip(
                box.coords, (bbox.xmin, bbox.ymin, bbox.xmax, bbox.ymax)))
            assert box.difficult == bbox.difficult
            assert box.instance_id == annotation.instance_id


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_the_decoders_error(value):
    try:
        decode_annotated(value)
    except AnnotatedDecodeError:
        pass


def test_a_type_the_enum_lacks_counts_as_not_set_as_in_the_runtime():
    record = decode_annotated(b.annotated(type_value=7))
    assert record.type is None and record.raw_type == 7 and 2 in record.unknown


def test_a_plain_datum_read_as_an_annotated_datum_has_no_datum_and_no_type():
    plain = datum_bytes(channels=3, height=96, width=128, data=b.jpeg(), label=-1,
                        encoded=True)
    record = decode_annotated(plain)
    assert record.datum is None and record.type is None and not record.groups
    assert record.unknown == {1, 2, 3, 4, 5, 7}  # as the SSD fork's own parse reports
    assert record_kind(plain) == DATUM and record_kind(b.annotated()) == ANNOTATED


def test_the_inner_datum_is_a_view_into_the_value():
    value = bytearray(b.annotated())
    record = decode_annotated(value)
    data = decode_datum(record.datum).data
    offset = bytes(value).index(bytes(data))
    value[offset] ^= 0xFF  # changing the store's buffer changes the view: nothing was copied
    assert data[0] == value[offset]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(*[st.floats(0, 1, width=32)] * 4), min_size=2, max_size=6))
def test_duplicates_are_the_pairs_of_high_iou(raw):
    from scanner.detection.boxes import DUPLICATE_IOU, duplicates, iou
    boxes = [(min(a, c), min(b, d), max(a, c), max(b, d)) for a, b, c, d in raw]
    found = {(i, j) for i, j, _ in duplicates(boxes)}
    for i, j in found:
        assert iou(boxes[i], boxes[j]) >= DUPLICATE_IOU
    duplicated = {j for _, j in found}
    for j in range(1, len(boxes)):  # every box close to an earlier one is reported
        close = any(iou(boxes[i], boxes[j]) >= DUPLICATE_IOU for i in range(j)
                    if i not in duplicated)
        assert close <= (j in duplicated)


def _fixed32_run(field: int, count: int) -> bytes:
    return b"".join(bytes([field << 3 | 5]) + struct.pack("<f", i / 7) for i in range(count))


def test_a_plain_float_datum_read_as_an_annotated_datum():
    """Its float_data elements, one fixed32 field each, are passed over as one run."""
    plain = datum_bytes(channels=3, height=20, width=20, label=4,
                        float_data=[i / 3 for i in range(1200)])
    record = decode_annotated(plain)
    assert record.datum is None and record.type is None and not record.groups
    assert record.unknown == {1, 2, 3, 5, 6}
    assert record_kind(plain) == DATUM
    with pytest.raises(AnnotatedDecodeError):  # the last element cut short
        decode_annotated(plain[:-2])


@pytest.mark.parametrize("field, count", [(6, 1), (6, 2), (6, 300), (4, 50), (15, 3)])
def test_groups_around_a_run_of_fixed32_fields_are_read_as_the_runtime_reads_them(field,
                                                                                  count):
    first = annotated_bytes({"channels": 1, "height": 2, "width": 2, "data": b"abcd",
                             "label": -1}, [(3, [(0.1, 0.2, 0.3, 0.4)])])
    second = annotated_bytes(None, [(5, [(0.5, 0.5, 0.9, 0.9, True), None])], type_value=None)
    value = first + _fixed32_run(field, count) + second + _fixed32_run(field, 1)
    reference, record = parse_annotated(value), decode_annotated(value)
    assert [group.label for group in record.groups] == \
        [group.group_label for group in reference.annotation_group] == [3, 5]
    assert [len(group.boxes) for group in record.groups] == [1, 2]
    assert record.groups[1].boxes[0].coords == pytest.approx((0.5, 0.5, 0.9, 0.9))
    assert field in record.unknown and bytes(record.datum) == \
        reference.datum.SerializeToString()
