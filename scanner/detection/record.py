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

import numpy as np

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


def _length(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """A length-delimited field's (start, stop), its length read at `pos`."""
    if pos < end and buf[pos] < 0x80:
        start = pos + 1
        stop = start + buf[pos]
    elif pos + 1 < end and buf[pos + 1] < 0x80:  # two bytes: an image's length, mostly
        start = pos + 2
        stop = start + (buf[pos] & 0x7F) + (buf[pos + 1] << 7)
    else:
        length, start = varint(buf, pos, end)
        stop = start + length
    if stop > end:
        raise WireFormatError("a field runs past the end of its message")
    return start, stop


def _record(buf: memoryview, pos: int, end: int) -> AnnotatedDatum:
    record = AnnotatedDatum()
    while pos < end:
        tag = buf[pos]
        if tag == 0x1A:  # annotation_group
            start, pos = _length(buf, pos + 1, end)
            record.groups.append(_group(buf, start, pos))
        elif tag == 0x0A:  # datum (a repeated singular message merges; the last wins here)
            start, pos = _length(buf, pos + 1, end)
            record.datum = buf[start:pos]
        elif tag == 0x10:  # type
            if pos + 1 < end and buf[pos + 1] < 0x80:
                raw, pos = buf[pos + 1], pos + 2
            else:
                raw, pos = varint(buf, pos + 1, end)
            record.type = raw if raw == BBOX else None
            record.raw_type = raw
            if raw != BBOX:
                record.unknown.add(2)
        elif tag & 7 == 5 and 8 <= tag < 0x80 and pos + 5 <= end:  # a Datum's float_data
            pos = _fixed32_run_end(buf, pos, end)
            record.unknown.add(tag >> 3)
        else:
            field, wire, _, pos = next(_fields(buf, pos, end))
            record.unknown.add(field)
    return record


def _fixed32_run_end(buf: memoryview, pos: int, end: int) -> int:
    """Past the whole elements (at least the first) of a run of one single-byte fixed32 tag
    at `pos`: the 150528 float_data fields of a plain 3x224x224 Datum, read while sampling
    the record type, took 0.2 s one by one. An element cut short is left to the caller's
    field reader."""
    tags = np.frombuffer(buf, np.uint8, count=end - pos, offset=pos)[::5]
    others = np.flatnonzero(tags != buf[pos])
    whole = int(others[0]) if len(others) else len(tags)
    if pos + 5 * whole > end:
        whole -= 1
    return pos + 5 * whole


_COMMON = struct.Struct("<BBBBxfxfxfxfBB").unpack_from  # see _group
_new_box = object.__new__
_COMMON_SIZE = 26


def _group(buf: memoryview, pos: int, end: int) -> Group:
    group = Group()
    boxes = group.boxes
    while pos < end:
        tag = buf[pos]
        if tag == 0x12:  # annotation
            if pos + 1 < end and buf[pos + 1] == _COMMON_SIZE and pos + 28 <= end:
                start = pos + 2
                pos = start + _COMMON_SIZE
            else:
                start, pos = _length(buf, pos + 1, end)
            if pos - start == _COMMON_SIZE:
                # What convert_annoset writes: instance_id < 128, then a bbox of the four
                # coordinates in order and difficult (22 bytes); one unpack reads it all.
                (id_tag, instance, bbox_tag, bbox_length, xmin, ymin, xmax, ymax,
                 difficult_tag, difficult) = _COMMON(buf, start)
                if id_tag == 0x08 and instance < 0x80 and bbox_tag == 0x12 and \
                        bbox_length == 22 and difficult_tag == 0x30 and difficult < 0x80 and \
                        (buf[start + 4], buf[start + 9], buf[start + 14], buf[start + 19]) \
                        == _FOUR_TAGS:
                    box = _new_box(Box)  # every field is set here: no __init__ needed
                    box.instance_id, box.has_bbox, box.difficult = instance, True, difficult != 0
                    box.xmin, box.ymin, box.xmax, box.ymax = xmin, ymin, xmax, ymax
                    boxes.append(box)
                    continue
            boxes.append(_annotation(buf, start, pos))
        elif tag == 0x08:  # group_label
            if pos + 1 < end and buf[pos + 1] < 0x80:
                group.label, pos = buf[pos + 1], pos + 2
            else:
                raw, pos = varint(buf, pos + 1, end)
                group.label = int32(raw)
        else:
            pos = next(_fields(buf, pos, end))[3]
    return group


def _annotation(buf: memoryview, pos: int, end: int) -> Box:
    box = Box()
    while pos < end:
        tag = buf[pos]
        if tag == 0x12:  # bbox
            start, pos = _length(buf, pos + 1, end)
            box.has_bbox = True
            _bbox(buf, start, pos, box)
        elif tag == 0x08:  # instance_id
            raw, pos = varint(buf, pos + 1, end)
            box.instance_id = int32(raw)
        else:
            pos = next(_fields(buf, pos, end))[3]
    return box


_FOUR = struct.Struct("<xfxfxfxf").unpack_from
_FOUR_TAGS = (0x0D, 0x15, 0x1D, 0x25)
_COORD_TAGS = {0x0D: 0, 0x15: 1, 0x1D: 2, 0x25: 3}


def _bbox(buf: memoryview, pos: int, end: int, box: Box) -> None:
    if pos + 20 <= end and (buf[pos], buf[pos + 5], buf[pos + 10], buf[pos + 15]) == \
            _FOUR_TAGS:  # the four coordinates in order, as every writer puts them
        box.xmin, box.ymin, box.xmax, box.ymax = _FOUR(buf, pos)
        pos += 20
    while pos < end:
        tag = buf[pos]
        if tag == 0x30:  # difficult
            raw, pos = varint(buf, pos + 1, end)
            box.difficult = raw != 0
        elif tag in _COORD_TAGS:
            if pos + 5 > end:
                raise WireFormatError("a coordinate runs past the end of its bbox")
            value = _FLOAT(buf, pos + 1)[0]
            slot = _COORD_TAGS[tag]
            if slot == 0:
                box.xmin = value
            elif slot == 1:
                box.ymin = value
            elif slot == 2:
                box.xmax = value
            else:
                box.ymax = value
            pos += 5
        else:
            pos = next(_fields(buf, pos, end))[3]
