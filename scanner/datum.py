"""Decode Caffe `Datum` protobuf bytes straight from the store's buffer.

A wire-format reader over a memoryview: no copy of `data`, float_data as a numpy view,
and no protobuf message objects (which leak when reused and cost ~2x the time).
Fields (caffe.proto): 1 channels, 2 height, 3 width, 4 data, 5 label, 6 float_data, 7 encoded.
"""
from __future__ import annotations

import numpy as np

from .errors import DatumDecodeError, WireFormatError
from .wire import int32, length, skip_field, tag, varint

_FLOAT_TAG = (6 << 3) | 5  # unpacked float_data element: one tag byte + 4 bytes
_INT_FIELDS = {1: "channels", 2: "height", 3: "width", 5: "label"}


class Datum:
    """The fields of one decoded Datum; `data` is a view into the store's buffer."""

    __slots__ = ("channels", "height", "width", "data", "label", "float_data", "encoded")

    def __init__(self) -> None:
        self.channels = self.height = self.width = self.label = 0
        self.data: memoryview | None = None
        self.float_data: np.ndarray | None = None
        self.encoded = False

    @property
    def data_len(self) -> int:
        return 0 if self.data is None else len(self.data)

    @property
    def float_count(self) -> int:
        return 0 if self.float_data is None else len(self.float_data)


def _float_run(buf: memoryview, tag_start: int, end: int) -> tuple[np.ndarray, int]:
    """Unpacked float_data: take the whole run of consecutive elements as one strided view."""
    stride_tags = np.frombuffer(buf, np.uint8)[tag_start:end:5]
    is_tag = stride_tags == _FLOAT_TAG  # the run ends at the first other byte in a tag's place
    count = len(stride_tags) if is_tag.all() else int(np.argmin(is_tag))
    if tag_start + 5 * count > end:  # the last element is cut short
        count -= 1
    if count <= 0:
        raise DatumDecodeError("float_data element runs past the end of the value")
    view = np.ndarray((count,), "<f4", buffer=buf, offset=tag_start + 1, strides=(5,))
    return view, tag_start + 5 * count


def decode_datum(value) -> Datum:
    """Parse Datum bytes; raise DatumDecodeError when they are not a valid message."""
    try:
        return _decode(value)
    except DatumDecodeError:
        raise
    except WireFormatError as exc:
        raise DatumDecodeError(str(exc)) from None


def _decode(value) -> Datum:
    buf = memoryview(value).cast("B") if not isinstance(value, memoryview) else value
    if buf.format != "B" or buf.ndim != 1:
        buf = buf.cast("B")
    datum, floats = Datum(), []
    pos, end = 0, len(buf)
    while pos < end:
        tag_start = pos
        field_tag = buf[pos]
        if field_tag < 0x80:  # every Datum tag is one byte: skip the call for the common case
            pos += 1
        else:
            field_tag, pos = tag(buf, pos, end)
        field, wire = field_tag >> 3, field_tag & 7
        if field == 0:
            raise DatumDecodeError("field number 0")
        if wire == 0 and field in (1, 2, 3, 5, 7):
            if pos < end and buf[pos] < 0x80:
                raw = buf[pos]
                pos += 1
            else:
                raw, pos = varint(buf, pos, end)
            if field == 7:
                datum.encoded = raw != 0
            else:
                setattr(datum, _INT_FIELDS[field], int32(raw))
        elif wire == 2 and field in (4, 6):
            size, pos = length(buf, pos, end)
            if pos + size > end:
                raise DatumDecodeError(f"field {field} runs past the end of the value")
            if field == 4:
                datum.data = buf[pos:pos + size]
            elif size % 4:
                raise DatumDecodeError("packed float_data length is not a multiple of 4")
            else:
                floats.append(np.frombuffer(buf[pos:pos + size], "<f4"))
            pos += size
        elif wire == 5 and field == 6:
            if pos == tag_start + 1:
                run, pos = _float_run(buf, tag_start, end)
            else:  # a tag written in more bytes than needed: one element only
                if pos + 4 > end:
                    raise DatumDecodeError("float_data element runs past the end of the value")
                run = np.frombuffer(buf[pos:pos + 4], "<f4")
                pos += 4
            floats.append(run)
        else:
            pos = skip_field(buf, wire, field, pos, end)
    if floats:
        datum.float_data = floats[0] if len(floats) == 1 else np.concatenate(floats)
    return datum
