"""Protocol buffer wire format: the few primitives the hand-written decoders share."""
from __future__ import annotations

from .errors import WireFormatError

MAX_GROUP_DEPTH = 100  # the protobuf runtime's default recursion limit


def varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise WireFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise WireFormatError("varint longer than 10 bytes")


def varint32(buf: memoryview, pos: int, end: int, limit: int, what: str) -> tuple[int, int]:
    """A tag or a length: protobuf's C++ parser (Caffe's) and its Python runtime read these
    in at most 5 bytes, below `limit`."""
    value = 0
    for shift in range(0, 35, 7):  # 5 bytes
        if pos >= end:
            raise WireFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            if value >= limit:
                raise WireFormatError(f"{what} {value} is out of range")
            return value, pos
    raise WireFormatError(f"{what} varint longer than 5 bytes")


def tag(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """A field's tag: at most 5 bytes, below 2^32."""
    return varint32(buf, pos, end, 1 << 32, "tag")


def length(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """A length prefix: at most 5 bytes, below 2^31 (C++ protobuf: "size >= 2gb")."""
    return varint32(buf, pos, end, 1 << 31, "length")


def int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


def skip_field(buf: memoryview, wire: int, field: int, pos: int, end: int,
               depth: int = 0) -> int:
    """Skip one unknown field's payload; return the position after it."""
    if wire == 0:
        return varint(buf, pos, end)[1]
    if wire in (1, 5):
        pos += 8 if wire == 1 else 4
    elif wire == 2:
        size, pos = length(buf, pos, end)
        pos += size
    elif wire == 3:
        return _skip_group(buf, field, pos, end, depth + 1)
    else:
        raise WireFormatError(f"invalid wire type {wire} for field {field}")
    if pos > end:
        raise WireFormatError(f"field {field} runs past the end of the value")
    return pos


def _skip_group(buf: memoryview, field: int, pos: int, end: int, depth: int) -> int:
    if depth > MAX_GROUP_DEPTH:
        raise WireFormatError("groups nested too deeply")
    while True:
        value, pos = tag(buf, pos, end)
        inner, wire = value >> 3, value & 7
        if wire == 4:
            if inner != field:
                raise WireFormatError(f"end of group {inner} inside group {field}")
            return pos
        if inner == 0:
            raise WireFormatError("field number 0")
        pos = skip_field(buf, wire, inner, pos, end, depth)
