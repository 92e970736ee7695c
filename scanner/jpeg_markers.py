"""Read a JPEG's header markers the way libjpeg does, without decoding anything.

The frame header (SOF) says whether the strict libjpeg-turbo pass can judge the image at
all: TurboJPEG knows baseline and progressive Huffman coding, 8-bit samples, grey or
three components, and only the common chroma subsamplings. Anything else (lossless SOF3,
arithmetic coding, 12-bit samples, 1x4 or 3x1 sampling, CMYK) is left to OpenCV alone.
Like libjpeg, the walk steps over junk bytes between markers; `cleaned` rebuilds the
header without them, which libjpeg would have skipped with a warning. The walk is compiled
where the kernels are built (scanner/kernels/native/jpeg.c: 3.8 us against 15.6 for a
256x256 photo's header, the object included); `walk_markers` is the reference, and reads
the headers with junk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import kernels

_NO_LENGTH = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn stand alone
_NOT_SOF = {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC share the SOF range
_SOS, _EOI = 0xDA, 0xD9
# (h, v) of the luma component, chroma 1x1: 4:4:4, 4:2:2, 4:2:0, 4:4:0
_TURBO_SAMPLING = {(1, 1), (2, 1), (2, 2), (1, 2)}
_TURBO_CODINGS = {0xC0, 0xC1, 0xC2}  # baseline, extended and progressive Huffman
LIBJPEG_MAX_SIDE = 65500  # JPEG_MAX_DIMENSION: libjpeg refuses larger images


@dataclass
class JpegHeader:
    """What the markers before the first scan say; `sof` is None when no frame header came."""

    sof: int | None = None
    precision: int = 0
    height: int = 0
    width: int = 0
    sampling: list[tuple[int, int]] = field(default_factory=list)  # (h, v) per component
    scan_at: int | None = None  # offset of the first SOS marker
    junk: int = 0  # bytes skipped between markers
    frames: int = 0  # SOF markers seen (libjpeg refuses a second one)
    # (start, end) of the markers, where there is junk to cut out (what `cleaned` needs)
    segments: list[tuple[int, int]] = field(default_factory=list)

    @property
    def components(self) -> int:
        return len(self.sampling)

    def turbo_can_judge(self) -> bool:
        """Whether the strict libjpeg-turbo pass can decode this kind of JPEG."""
        if self.sof not in _TURBO_CODINGS or self.precision != 8 or self.frames != 1 or \
                self.scan_at is None or not (0 < self.height <= LIBJPEG_MAX_SIDE) or \
                not (0 < self.width <= LIBJPEG_MAX_SIDE):
            return False
        if self.components == 1:
            return True
        return self.components == 3 and self.sampling[0] in _TURBO_SAMPLING and \
            self.sampling[1:] == [(1, 1), (1, 1)]

    def cleaned(self, data) -> bytes:
        """The image without the junk between its header markers."""
        parts = [b"\xff\xd8"] + [bytes(data[start:end]) for start, end in self.segments]
        return b"".join(parts) + bytes(data[self.scan_at:])


def read_header(data) -> JpegHeader:
    """The markers after SOI up to the first scan (or the end of the bytes)."""
    if kernels.native is not None:
        sof, precision, height, width, sampling, scan_at, junk, frames = \
            kernels.native.jpeg_header(data)
        if not junk:
            return JpegHeader(sof, precision, height, width, sampling, scan_at, 0, frames)
    return walk_markers(data)


def walk_markers(data) -> JpegHeader:
    """Walk the markers after SOI up to the first scan (or the end of the bytes)."""
    header, pos, end = JpegHeader(), 2, len(data)
    while pos < end:
        start = pos
        while pos < end and data[pos] != 0xFF:  # libjpeg: "extraneous bytes before marker"
            pos += 1
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            break
        header.junk += _junk_before(data, start, pos)
        marker, marker_at = data[pos], pos - 1
        pos += 1
        if marker in _NO_LENGTH:
            continue
        if marker == _EOI or marker == 0xD8 or pos + 2 > end:
            break
        length = data[pos] << 8 | data[pos + 1]
        if marker == _SOS:
            header.scan_at = marker_at
            break
        if length < 2 or pos + length > end:
            break
        if 0xC0 <= marker <= 0xCF and marker not in _NOT_SOF:
            header.frames += 1
            if header.frames == 1:
                _read_frame(header, marker, data, pos, length)
        header.segments.append((marker_at, pos + length))
        pos += length
    return header


def _junk_before(data, start: int, marker_pos: int) -> int:
    """Bytes between the end of the last segment and the FF run before this marker."""
    first_ff = start
    while first_ff < marker_pos and data[first_ff] != 0xFF:
        first_ff += 1
    return first_ff - start


def _read_frame(header: JpegHeader, marker: int, data, pos: int, length: int) -> None:
    if length < 8:
        return
    header.sof = marker
    header.precision = data[pos + 2]
    header.height = data[pos + 3] << 8 | data[pos + 4]
    header.width = data[pos + 5] << 8 | data[pos + 6]
    count = data[pos + 7]
    if length < 8 + 3 * count:
        header.sof = None  # a frame header cut short: nothing to judge with
        return
    header.sampling = [(data[pos + 9 + 3 * i] >> 4, data[pos + 9 + 3 * i] & 0x0F)
                       for i in range(count)]
