"""Verify encoded image bytes the way Caffe will meet them, strictly and without bombs.

JPEG goes through libjpeg-turbo (simplejpeg) in strict mode, where every libjpeg warning is
an error, decoded at reduced DCT scale (all entropy data is still read). Other formats go
through Pillow with truncated images refused. A strict failure is then retried leniently,
as Caffe's OpenCV decodes: if that works, Caffe trains on the damaged pixels; if not, it dies.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import simplejpeg
from PIL import Image

Image.MAX_IMAGE_PIXELS = None  # dscan applies its own limit from the header, before decoding

# Signatures of the formats OpenCV's imdecode might be handed.
_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
# Formats OpenCV 4 (Caffe's decoder) cannot read although Pillow can.
_OPENCV_UNSUPPORTED = {"gif"}
# Channels OpenCV's native decode (IMREAD_UNCHANGED) yields for each Pillow mode.
_MODE_CHANNELS = {"1": 1, "L": 1, "I": 1, "I;16": 1, "F": 1, "P": 3, "LA": 4, "RGB": 3,
                  "RGBA": 4, "CMYK": 3, "YCbCr": 3, "PA": 4}
_OBJECT_REPR = re.compile(r" ?<[^<>]* at 0x[0-9a-f]+>")  # Pillow names its BytesIO in messages
_SCALED_MIN_SIDE = 32  # decode at the smallest DCT scale that keeps >= 32 px per side


@dataclass
class ImageCheck:
    """What verifying one encoded image found; `problem` is None for a clean image."""

    format: str | None
    channels: int = 0
    height: int = 0
    width: int = 0
    problem: str | None = None  # "no_image", "undecodable", "damaged", "too_large"
    message: str = ""
    pixels: object = None  # the strict decode's picture (reduced scale), for fingerprints


def sniff_format(data) -> str | None:
    head = bytes(data[:12])
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _start_of_frame(data) -> tuple[int, int, int] | None:
    """Walk the JPEG markers up to the first scan: (SOF marker, height, width) or None."""
    pos, end = 2, len(data)
    while pos + 4 <= end and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and pos + 9 <= end:
            return marker, data[pos + 5] << 8 | data[pos + 6], data[pos + 7] << 8 | data[pos + 8]
        if marker == 0xDA:
            return None
        pos += 2 + (data[pos + 2] << 8 | data[pos + 3])
    return None


def is_progressive_jpeg(data) -> bool:
    frame = _start_of_frame(data)
    return frame is not None and frame[0] in (0xC2, 0xC6, 0xCA, 0xCE)


def check_image(data, max_pixels: int) -> ImageCheck:
    """Verify one encoded image; never allocates for more than `max_pixels` pixels."""
    fmt = sniff_format(data)
    if fmt is None:
        return ImageCheck(None, problem="no_image", message="bytes carry no known image signature")
    if fmt == "jpeg":
        return _check_jpeg(data, max_pixels)
    return _check_pillow(data, fmt, max_pixels)


def _too_large(result: ImageCheck, max_pixels: int) -> ImageCheck | None:
    if result.height * result.width > max_pixels:
        result.problem = "too_large"
        result.message = (f"header declares {result.width}x{result.height} pixels "
                          f"(limit {max_pixels}); not decoded")
        return result
    return None


def _check_jpeg(data, max_pixels: int) -> ImageCheck:
    try:
        height, width, colorspace, _ = simplejpeg.decode_jpeg_header(data, strict=False)
    except ValueError as exc:
        frame = _start_of_frame(data)  # libjpeg refuses sides over 65500: still a bomb
        result = ImageCheck("jpeg", 3, *(frame[1:] if frame else (0, 0)))
        if _too_large(result, max_pixels):
            return result
        return ImageCheck("jpeg", problem="undecodable", message=f"JPEG header: {exc}")
    result = ImageCheck("jpeg", 1 if colorspace == "Gray" else 3, height, width)
    if _too_large(result, max_pixels):
        return result
    target = "GRAY" if colorspace == "Gray" else "RGB"
    try:
        result.pixels = simplejpeg.decode_jpeg(data, colorspace=target, strict=True,
                                               min_height=_SCALED_MIN_SIDE,
                                               min_width=_SCALED_MIN_SIDE)
        return result
    except ValueError as exc:
        result.message = str(exc)
    try:
        simplejpeg.decode_jpeg(data, colorspace=target, strict=False,
                               min_height=_SCALED_MIN_SIDE, min_width=_SCALED_MIN_SIDE)
    except ValueError as exc:
        result.problem, result.message = "undecodable", f"{result.message}; lenient: {exc}"
        return result
    # OpenCV gives up on a progressive JPEG cut short; libjpeg-turbo's lenient mode does not.
    truncated = "premature end" in result.message.lower()
    result.problem = "undecodable" if truncated and is_progressive_jpeg(data) else "damaged"
    return result


def _check_pillow(data, fmt: str, max_pixels: int) -> ImageCheck:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            result = ImageCheck(fmt, _MODE_CHANNELS.get(image.mode, 3), image.height, image.width)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        return ImageCheck(fmt, problem="undecodable",
                          message=f"{fmt.upper()} header: {_OBJECT_REPR.sub('', str(exc))}")
    if _too_large(result, max_pixels):
        return result
    if fmt in _OPENCV_UNSUPPORTED:
        result.problem = "undecodable"
        result.message = f"{fmt.upper()} is not a format OpenCV (Caffe's decoder) reads"
        return result
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
        result.pixels = image
    except Exception as exc:  # Pillow raises many types for broken streams
        result.problem = "undecodable"
        result.message = f"{type(exc).__name__}: {_OBJECT_REPR.sub('', str(exc))}"
    return result

