"""Check many raw or float Datums at once when they share one byte layout.

Caffe's tools write every record of a dataset the same way: channels, height, width, the
payload, the label (and maybe `encoded: false`), in field order. Records of the same length
then differ only in their payload and label bytes. A `Layout` is learnt from one record
that the full decoder found valid; a batch of records of known lengths is then parsed and
checked with a few numpy operations on a (records x bytes) array, instead of one decoder
call per record. A record whose fixed bytes differ from its layout's is not trusted: the
batch then goes through the full decoder, one record at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .datum import Datum
from .errors import WireFormatError
from .wire import length, tag, varint

_FLOAT_TAG = (6 << 3) | 5
_TAGGED_FLOAT = np.dtype([("tag", "u1"), ("value", "<f4")], align=False)
LARGE_RECORD = 64 << 10  # bytes from which records are parsed one by one (record_batches)


@dataclass(frozen=True)
class Layout:
    length: int
    template: np.ndarray  # the defining record's bytes
    fixed: np.ndarray  # positions every record of this layout must share with the template
    dtype: str  # "uint8" (data bytes) or "float32" (float_data)
    payload_at: int
    count: int  # values in the payload
    unpacked: bool  # float_data written as one tag + 4 bytes per value
    label_at: int | None  # first byte of the label varint (None: no label field)
    label_width: int
    shape: tuple[int, int, int]

    @cached_property
    def expected(self) -> np.ndarray:
        """The fixed bytes' values, in the order of `fixed`."""
        return self.template[self.fixed]

    @classmethod
    def derive(cls, value, datum: Datum) -> Layout | None:
        """The layout of a valid record (fields 1, 2, 3, one payload, 5, 7 in this order,
        each once); None for anything else, which then always takes the full decoder."""
        shape = (datum.channels, datum.height, datum.width)
        if datum.encoded or min(shape) <= 0:
            return None
        size = shape[0] * shape[1] * shape[2]
        if not ((datum.data_len == size and not datum.float_count) or
                (datum.float_count == size and not datum.data_len)):
            return None
        raw = bytes(value)
        try:
            fields = _fields(raw)
        except WireFormatError:
            return None
        return _build(raw, fields, shape, size)


def _fields(raw: bytes) -> list[tuple[int, int, int, int]]:
    """(field number, start of field, start of value, end) for each field; a run of
    unpacked float elements is one field."""
    buf, pos, found = memoryview(raw), 0, []
    while pos < len(raw):
        start = pos
        field_tag, pos = tag(buf, pos, len(raw))
        number, wire = field_tag >> 3, field_tag & 7
        if number in (1, 2, 3, 5, 7) and wire == 0:
            _, end = varint(buf, pos, len(raw))
        elif number in (4, 6) and wire == 2:
            size, pos = length(buf, pos, len(raw))
            end = pos + size
        elif number == 6 and wire == 5 and field_tag == _FLOAT_TAG:
            end = _float_run_end(raw, pos + 4)
            pos = start  # the run, tags included
        else:
            raise WireFormatError(f"field {number} has no place in a layout")
        if end > len(raw):
            raise WireFormatError("truncated")
        found.append((number, start, pos, end))
        pos = end
    return found


def _float_run_end(raw: bytes, end: int) -> int:
    """The end of a run of unpacked float elements whose first value ends at `end`: each
    further element is a float tag and 4 bytes that fit in the record."""
    further = max(0, (len(raw) - end) // 5)
    if not further:
        return end
    tags = np.frombuffer(raw, np.uint8, count=5 * further, offset=end)[::5]
    others = np.flatnonzero(tags != _FLOAT_TAG)
    return end + 5 * (int(others[0]) if len(others) else further)


def _build(raw: bytes, fields, shape: tuple, size: int) -> Layout | None:
    order = [number for number, *_ in fields]
    if order != sorted(order) or len(set(order)) != len(order) or not {1, 2, 3} <= set(order):
        return None
    template = np.frombuffer(raw, np.uint8).copy()
    fixed = np.ones(len(raw), bool)
    payload = next(f for f in fields if f[0] in (4, 6))
    number, _, value_at, end = payload
    unpacked = number == 6 and raw[payload[1]] == _FLOAT_TAG
    if unpacked:  # the element tags are checked apart, with a strided view
        if (end - value_at) != 5 * size:
            return None
        fixed[value_at:end] = False
        payload_at = value_at + 1
    else:
        fixed[value_at:end] = False
        payload_at = value_at
    label = next((f for f in fields if f[0] == 5), None)
    if label is not None:
        fixed[label[2]:label[3]] = False
    return Layout(len(raw), template, np.flatnonzero(fixed), "uint8" if number == 4 else
                  "float32", payload_at, size, unpacked, label[2] if label else None,
                  (label[3] - label[2]) if label else 0, shape)


def parse_batch(layout: Layout, values: list, rows: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(trusted, labels, payloads (n, C, H*W)) for records of this layout's length, which
    is below LARGE_RECORD (record_batches parses longer ones); rows: their bytes side by
    side (n, length), where they are joined already."""
    if rows is None:
        rows = np.frombuffer(b"".join(values), np.uint8).reshape(len(values), layout.length)
    trusted = (rows[:, layout.fixed] == layout.expected).all(axis=1)
    labels = np.zeros(len(values), np.int64)
    if layout.label_at is not None:
        fits, labels = _labels(rows[:, layout.label_at:layout.label_at + layout.label_width])
        trusted &= fits
    channels, height, width = layout.shape
    if layout.dtype == "uint8":
        payload = rows[:, layout.payload_at:layout.payload_at + layout.count]
    elif layout.unpacked:  # (tag, value) pairs of 5 bytes: read as such, then copy the values
        elements = np.ndarray((len(values), layout.count), _TAGGED_FLOAT, rows.data,
                              offset=layout.payload_at - 1, strides=(layout.length, 5))
        trusted &= (np.ascontiguousarray(elements["tag"]) == _FLOAT_TAG).all(axis=1)
        payload = np.ascontiguousarray(elements["value"])
    else:
        payload = np.ascontiguousarray(
            rows[:, layout.payload_at:layout.payload_at + 4 * layout.count]).view("<f4")
    return trusted, labels, payload.reshape(len(values), channels, height * width)


def _labels(label_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(well formed, int32 labels as int64) from each record's label varint bytes (n, width)."""
    more = label_bytes >= 0x80
    fits = more[:, :-1].all(axis=1) & ~more[:, -1]
    value = np.zeros(len(label_bytes), np.uint64)
    for i in range(label_bytes.shape[1]):
        value |= (label_bytes[:, i].astype(np.uint64) & np.uint64(0x7F)) << np.uint64(7 * i)
    return fits, (value & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32) \
        .astype(np.int64)
