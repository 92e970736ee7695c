"""Decode SSD's `AnnotatedDatum` bytes straight from the store's buffer.

Field numbers (the SSD fork's caffe.proto): AnnotatedDatum 1 datum (a Datum), 2 type (enum,
BBOX = 0), 3 annotation_group; AnnotationGroup 1 group_label, 2 annotation; Annotation
1 instance_id, 2 bbox; NormalizedBBox 1 xmin, 2 ymin, 3 xmax, 4 ymax (float), 5 label,
6 difficult, 7 score, 8 size. The inner Datum is handed on as a view, not copied.
As the protobuf runtime does, a known field number with another wire type, and an enum value
the enum does not define, are kept as unknown fields: the field then counts as not set.
"""
from __future__ import annotations

import struct

from ..errors import DatumDecodeError, WireFormatError
from ..wire import int32, skip_field, varint

BBOX = 0  # the only AnnotationType the fork defines
_FLOAT = struct.Struct("<f").unpack_from


class AnnotatedDecodeError(DatumDecodeError):
    """Bytes that do not parse as an AnnotatedDatum message."""


class Box:
    """One annotation's box, as written (normalised coordinates; unset fields read 0)."""

    __slots__ = ("xmin", "ymin", "xmax", "ymax", "difficult", "has_bbox", "instance_id")

    def __init__(self) -> None:
        self.xmin = self.ymin = self.xmax = self.ymax = 0.0
        self.difficult = False
        self.has_bbox = False
        self.instance_id = 0

    @property
    def coords(self) -> tuple[float, float, float, float]:
        return self.xmin, self.ymin, self.xmax, self.ymax


class Group:
    __slots__ = ("label", "boxes")

    def __init__(self) -> None:
        self.label = 0
        self.boxes: list[Box] = []


class AnnotatedDatum:
    """The fields of one record; `datum` is a view of the inner Datum's bytes (or None)."""

    __slots__ = ("datum", "type", "raw_type", "groups", "unknown")

    def __init__(self) -> None:
        self.datum: memoryview | None = None
        self.type: int | None = None  # None: not set (absent, or a value the enum lacks)
        self.raw_type: int | None = None  # the value written, if any
        self.groups: list[Group] = []
        self.unknown: set[int] = set()  # field numbers seen as unknown fields

    @property
    def box_count(self) -> int:
        return sum(len(group.boxes) for group in self.groups)


def decode_annotated(value) -> AnnotatedDatum:
    """Parse AnnotatedDatum bytes; raise AnnotatedDecodeError when they are no valid message."""
    buf = memoryview(value)
    if buf.format != "B" or buf.ndim != 1:
        buf = buf.cast("B")
    try:
        return _record(buf, 0, len(buf))
    except WireFormatError as exc:
        raise AnnotatedDecodeError(str(exc)) from None


def _fields(buf: memoryview, pos: int, end: int):
    """(field, wire, value start, value end or varint value) for each field of a message."""
    while pos < end:
        tag, pos = varint(buf, pos, end)
        field, wire = tag >> 3, tag & 7
        if field == 0:
            raise WireFormatError("field number 0")
        if wire == 2:
            length, start = varint(buf, pos, end)
            pos = start + length
            if pos > end:
                raise WireFormatError(f"field {field} runs past the end of its message")
            yield field, wire, start, pos
        elif wire == 0:
            raw, pos = varint(buf, pos, end)
            yield field, wire, raw, pos
        elif wire == 5:
            if pos + 4 > end:
                raise WireFormatError(f"field {field} runs past the end of its message")
            yield field, wire, pos, pos + 4
            pos += 4
        else:
            start = pos
            pos = skip_field(buf, wire, field, pos, end)
            yield field, wire, start, pos


def _record(buf: memoryview, pos: int, end: int) -> AnnotatedDatum:
    record = AnnotatedDatum()
    for field, wire, start, stop in _fields(buf, pos, end):
        if field == 1 and wire == 2:
            record.datum = buf[start:stop]  # a repeated singular message merges; last wins
        elif field == 2 and wire == 0:
            record.type = start if start == BBOX else None
            record.raw_type = start
            if start != BBOX:
                record.unknown.add(2)
        elif field == 3 and wire == 2:
            record.groups.append(_group(buf, start, stop))
        else:
            record.unknown.add(field)
    return record


def _group(buf: memoryview, pos: int, end: int) -> Group:
    group = Group()
    for field, wire, start, stop in _fields(buf, pos, end):
        if field == 1 and wire == 0:
            group.label = int32(start)
        elif field == 2 and wire == 2:
            group.boxes.append(_annotation(buf, start, stop))
    return group


def _annotation(buf: memoryview, pos: int, end: int) -> Box:
    box = Box()
    for field, wire, start, stop in _fields(buf, pos, end):
        if field == 1 and wire == 0:
            box.instance_id = int32(start)
        elif field == 2 and wire == 2:
            box.has_bbox = True
            _bbox(buf, start, stop, box)
    return box


_COORDS = {1: "xmin", 2: "ymin", 3: "xmax", 4: "ymax"}


def _bbox(buf: memoryview, pos: int, end: int, box: Box) -> None:
    for field, wire, start, _ in _fields(buf, pos, end):
        if wire == 5 and field in _COORDS:
            setattr(box, _COORDS[field], _FLOAT(buf, start)[0])
        elif field == 6 and wire == 0:
            box.difficult = start != 0
