"""Decode a Caffe `BlobProto` (a `.binaryproto` mean file) and read its shape as Caffe does.

Fields (caffe.proto): 1 num, 2 channels, 3 height, 4 width (legacy 4-D shape), 5 data
(packed float), 7 shape { 1 dim (packed int64) }, 8 double_data (packed double); 6 and 9
(diffs) are skipped. Repeated numeric fields are accepted packed and unpacked.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import WireFormatError
from ..wire import int32, skip_field, varint

_LEGACY = {1: "num", 2: "channels", 3: "height", 4: "width"}


@dataclass
class BlobProto:
    legacy: dict[str, int] = field(default_factory=dict)  # num/channels/height/width as set
    dims: list[int] | None = None  # shape.dim, when the blob has a `shape`
    data: np.ndarray | None = None  # float32 values
    double_data: np.ndarray | None = None

    @property
    def shape(self) -> list[int]:
        """The blob's shape as Caffe's FromProto sets it: legacy fields win when any is set."""
        if self.legacy:
            return [self.legacy.get(name, 0) for name in ("num", "channels", "height", "width")]
        return list(self.dims or [])

    def legacy_dim(self, axis: int) -> int:
        """Blob::LegacyShape: axes the blob does not have count as 1."""
        shape = self.shape
        if axis >= len(shape) or axis < -len(shape):
            return 1
        return shape[axis]

    @property
    def chw(self) -> tuple[int, int, int]:
        """What DataTransformer compares with a datum: channels(), height(), width()."""
        return self.legacy_dim(1), self.legacy_dim(2), self.legacy_dim(3)

    @property
    def values(self) -> np.ndarray:
        """The values Caffe loads: `double_data` if it has any, else `data`."""
        if self.double_data is not None and len(self.double_data):
            return self.double_data
        return self.data if self.data is not None else np.zeros(0, np.float32)


def decode_blob(value: bytes) -> BlobProto:
    """Parse BlobProto bytes; raise WireFormatError when they are not a valid message."""
    buf = memoryview(value).cast("B")
    blob, floats, doubles = BlobProto(), [], []
    pos, end = 0, len(buf)
    while pos < end:
        tag, pos = varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise WireFormatError("field number 0")
        if number in _LEGACY and wire == 0:
            raw, pos = varint(buf, pos, end)
            blob.legacy[_LEGACY[number]] = int32(raw)
        elif number in (5, 8):
            values, pos = _reals(buf, wire, number, pos, end, "<f4" if number == 5 else "<f8")
            (floats if number == 5 else doubles).append(values)
        elif number == 7 and wire == 2:
            length, pos = varint(buf, pos, end)
            _check_room(pos + length, end, number)
            blob.dims = (blob.dims or []) + _dims(buf[pos:pos + length])
            pos += length
        else:
            pos = skip_field(buf, wire, number, pos, end)
    blob.data = np.concatenate(floats) if floats else None
    blob.double_data = np.concatenate(doubles) if doubles else None
    return blob


def _reals(buf: memoryview, wire: int, number: int, pos: int, end: int, dtype: str):
    size = np.dtype(dtype).itemsize
    if wire == 2:  # packed
        length, pos = varint(buf, pos, end)
        _check_room(pos + length, end, number)
        if length % size:
            raise WireFormatError(f"packed field {number} length is not a multiple of {size}")
        return np.frombuffer(buf[pos:pos + length], dtype).copy(), pos + length
    if wire == (5 if size == 4 else 1):  # one unpacked element
        _check_room(pos + size, end, number)
        return np.frombuffer(buf[pos:pos + size], dtype).copy(), pos + size
    raise WireFormatError(f"invalid wire type {wire} for field {number}")


def _dims(buf: memoryview) -> list[int]:
    """BlobShape: repeated int64 dim = 1, packed or not."""
    dims, pos, end = [], 0, len(buf)
    while pos < end:
        tag, pos = varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 1 and wire == 2:
            length, pos = varint(buf, pos, end)
            _check_room(pos + length, end, number)
            stop = pos + length
            while pos < stop:
                dim, pos = varint(buf, pos, stop)
                dims.append(_int64(dim))
        elif number == 1 and wire == 0:
            dim, pos = varint(buf, pos, end)
            dims.append(_int64(dim))
        else:
            pos = skip_field(buf, wire, number, pos, end)
    return dims


def _int64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= (1 << 63) else value


def _check_room(stop: int, end: int, number: int) -> None:
    if stop > end:
        raise WireFormatError(f"field {number} runs past the end of the message")
