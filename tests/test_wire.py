"""The wire-format primitives agree with the protobuf runtime on what is a valid Datum."""
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.datum import decode_datum
from scanner.errors import DatumDecodeError

from .reference import datum_bytes, parse
from .test_datum import _same, datums

LONG = bool(os.environ.get("DSCAN_FUZZ_LONG"))  # thousands of cases instead of hundreds


def _verdicts(value: bytes):
    """(protobuf's message or None, ours or None)."""
    try:
        message = parse(value)
    except Exception:  # the runtime's DecodeError
        message = None
    try:
        decoded = decode_datum(value)
    except DatumDecodeError:
        decoded = None
    return message, decoded


def _agree(value: bytes) -> None:
    message, decoded = _verdicts(value)
    if message is not None and decoded is None and _overlong_length(value):
        return  # the one known difference between runtimes, see _overlong_length
    assert (message is None) == (decoded is None), (value.hex(), message, decoded)
    if message is not None:
        _same(decoded, message)


def _overlong_length(value: bytes) -> bool:
    """A length written in more than 5 bytes. C++ protobuf (what Caffe links) refuses it, and
    so does dscan; the Python runtime takes it in some releases (4.21, 4.25, 5.29 tried) and
    refuses it in others (5.26 to 5.28, 6.30, 7.36), so it is no reference there."""
    try:
        decode_datum(value)
    except DatumDecodeError as exc:
        return "length varint longer than 5 bytes" in str(exc)
    return False


def _padded(number: int, extra: int) -> bytes:
    """`number` as a varint written in `extra` more bytes than it needs."""
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        if number == 0 and extra == 0:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)
        if number == 0:
            extra -= 1
            if extra == 0:
                out.append(0)
                return bytes(out)


def test_a_first_tag_of_ten_bytes_is_no_datum():
    value = b"\x88\x80\x80\x80\x80\x80\x80\x80\x80\x00\x03"  # channels = 3, tag in 10 bytes
    message, decoded = _verdicts(value)
    assert message is None and decoded is None
    with pytest.raises(DatumDecodeError, match="tag varint longer than 5 bytes"):
        decode_datum(value)


@pytest.mark.parametrize("extra", range(0, 10))
def test_tags_and_lengths_take_at_most_five_bytes_values_ten(extra):
    if extra >= 5:  # lengths of 6 bytes and more: refused, as C++ protobuf refuses them
        with pytest.raises(DatumDecodeError, match="length varint longer than 5 bytes"):
            decode_datum(b"\x22" + _padded(3, extra) + b"abc")
    _agree(_padded(1 << 3, extra) + b"\x03")  # channels: the tag
    _agree(b"\x22" + _padded(3, extra) + b"abc")  # data: the length
    _agree(b"\x32" + _padded(4, extra) + bytes(4))  # packed float_data: the length
    _agree(b"\x4a" + _padded(1, extra) + b"x")  # an unknown field's length
    _agree(b"\x08" + _padded(7, extra))  # channels: the value
    _agree(b"\x48" + _padded(7, extra))  # an unknown varint field
    _agree(b"\x0b" + _padded(1 << 3, extra) + b"\x01\x0c")  # a tag inside a group


@pytest.mark.parametrize("value", [
    b"\x88\x80\x80\x80\x10\x03",  # a 5-byte tag of 2^32 + 8
    b"\x8b\x80\x80\x80\x0f\x0c",  # the largest tag, a group start
    b"\x22\x83\x80\x80\x80\x08abc",  # a length of 2^31 + 3
    b"\x22\x83\x80\x80\x80\x10abc",  # a length of 2^32 + 3
    b"\x08" + b"\xff" * 9 + b"\x7f",  # a 10-byte value with high bits beyond 64
    b"\x08" + b"\xff" * 10 + b"\x01",  # an 11-byte value
])
def test_out_of_range_tags_and_lengths(value):
    _agree(value)


def _fields(value: bytes) -> list[tuple[int, int, int]]:
    """(start, end of the tag, end of the length prefix or -1) per field of a valid Datum."""
    fields, pos = [], 0
    while pos < len(value):
        start = pos
        while value[pos] & 0x80:
            pos += 1
        tag = value[start:pos + 1]
        pos += 1
        wire = tag[0] & 7
        length_end = -1
        if wire == 0:
            while value[pos] & 0x80:
                pos += 1
            pos += 1
        elif wire == 5:
            pos += 4
        else:
            size, shift, length_start = 0, 0, pos
            while True:
                size |= (value[pos] & 0x7F) << shift
                shift += 7
                pos += 1
                if value[pos - 1] < 0x80:
                    break
            length_end = pos
            fields.append((start, length_start, length_end))
            pos += size
            continue
        fields.append((start, start + len(tag), length_end))
    return fields


@settings(max_examples=3000 if LONG else 200, suppress_health_check=[HealthCheck.too_slow])
@given(datums(), st.data())
def test_agrees_with_protobuf_on_wire_mutations(case, data):
    """Tags and lengths re-encoded in more bytes, flipped bytes, bytes inserted, cut short."""
    fields, packed = case
    value = bytearray(datum_bytes(packed=packed, **fields) or b"\x08\x01")
    layout = _fields(bytes(value))
    kind = data.draw(st.sampled_from(["pad tag", "pad length", "flip", "insert", "cut"]))
    if kind in ("pad tag", "pad length") and layout:
        start, tag_end, length_end = data.draw(st.sampled_from(layout))
        extra = data.draw(st.integers(1, 9))
        if kind == "pad tag" or length_end < 0:
            number = _read(value, start)
            value[start:tag_end] = _padded(number, extra)
        else:
            number = _read(value, tag_end)
            value[tag_end:length_end] = _padded(number, extra)
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 3))):
            position = data.draw(st.integers(0, len(value) - 1))
            value[position] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "insert":
        position = data.draw(st.integers(0, len(value)))
        value[position:position] = data.draw(st.binary(min_size=1, max_size=6))
    else:
        del value[data.draw(st.integers(0, len(value))):]
    _agree(bytes(value))


def _read(value: bytearray, pos: int) -> int:
    number = shift = 0
    while True:
        number |= (value[pos] & 0x7F) << shift
        shift += 7
        pos += 1
        if value[pos - 1] < 0x80:
            return number
