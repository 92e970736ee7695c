"""The hand-written Datum decoder against the protobuf runtime, and on hostile bytes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.datum import decode_datum
from scanner.errors import DatumDecodeError

from .reference import datum_bytes, parse

int32s = st.integers(-(2 ** 31), 2 ** 31 - 1)
floats32 = st.floats(width=32, allow_nan=False)  # NaN != NaN: compared bitwise below


@st.composite
def datums(draw):
    fields = {}
    for name in ("channels", "height", "width", "label"):
        if draw(st.booleans()):
            fields[name] = draw(int32s)
    if draw(st.booleans()):
        fields["data"] = draw(st.binary(max_size=300))
    if draw(st.booleans()):
        fields["float_data"] = draw(st.lists(floats32 | st.just(float("nan")), max_size=40))
    if draw(st.booleans()):
        fields["encoded"] = draw(st.booleans())
    return fields, draw(st.booleans())


def _same(decoded, message) -> None:
    for name in ("channels", "height", "width", "label", "encoded"):
        assert getattr(decoded, name) == getattr(message, name), name
    assert (bytes(decoded.data) if decoded.data is not None else b"") == message.data
    expected = np.array(message.float_data, np.float32)
    got = decoded.float_data if decoded.float_data is not None else np.empty(0, np.float32)
    assert _quieted(got).tobytes() == _quieted(expected).tobytes()


def _quieted(values: np.ndarray) -> np.ndarray:
    """The bits with every NaN's quiet bit set. protobuf's Python runtime hands floats out as
    doubles, which quiets a signalling NaN, and numpy releases differ on whether the way back
    to float32 keeps it quiet. dscan keeps the stored bits, as Caffe does."""
    bits = np.array(values, np.float32).view(np.uint32)
    return np.where(np.isnan(values), bits | 0x0040_0000, bits).astype(np.uint32)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(datums())
def test_agrees_with_protobuf_on_any_datum(case):
    fields, packed = case
    value = datum_bytes(packed=packed, **fields)
    _same(decode_datum(value), parse(value))


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_decode_errors(value):
    try:
        decoded = decode_datum(value)
    except DatumDecodeError:
        return
    assert decoded.data_len >= 0


@settings(max_examples=300)
@given(datums(), st.data())
def test_mutated_datums_raise_only_decode_errors(case, data):
    fields, packed = case
    value = bytearray(datum_bytes(packed=packed, **fields) or b"\x08\x01")
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(value) - 1))
        value[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(value)))
    try:
        decode_datum(bytes(value[:cut]))
    except DatumDecodeError:
        pass


def test_unpacked_floats_are_a_zero_copy_view():
    value = datum_bytes(channels=1, height=1, width=3, float_data=[1.5, -2.0, 3.25])
    decoded = decode_datum(memoryview(value))
    assert decoded.float_data.tolist() == [1.5, -2.0, 3.25]
    assert decoded.float_data.base is not None  # a view, not a copy


@pytest.mark.parametrize("packed", [False, True])
def test_signalling_nan_keeps_its_stored_bits(packed):
    value = bytearray(datum_bytes(packed=packed, float_data=[float("inf"), 2.0]))
    value[value.index(b"\x00\x00\x80\x7f")] = 1  # +inf's bits + 1: a signalling NaN
    decoded = decode_datum(bytes(value))
    assert decoded.float_data.view(np.uint32).tolist() == [0x7F80_0001, 0x4000_0000]
    _same(decoded, parse(bytes(value)))


def test_negative_label_decodes_as_int32():
    assert decode_datum(datum_bytes(label=-1)).label == -1


@pytest.mark.parametrize("value", [
    b"\x07" + b"\x00" * 10,  # field number 0
    b"\x22\x10abc",  # data length runs past the end
    b"\x08" + b"\xff" * 11,  # varint longer than 10 bytes
    b"\x32\x03abc",  # packed float_data not a multiple of 4
    b"\x0c",  # end-group tag with no group open
])
def test_invalid_values_raise_decode_error(value):
    with pytest.raises(DatumDecodeError):
        decode_datum(value)
    with pytest.raises(Exception):  # the reference rejects them too
        parse(value)


def test_unknown_fields_are_skipped():
    value = datum_bytes(channels=3, label=4) + b"\x48\x05" + b"\x52\x02hi"  # fields 9, 10
    decoded = decode_datum(value)
    assert (decoded.channels, decoded.label) == (3, 4)
