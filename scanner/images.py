"""Verify encoded image bytes the way Caffe will meet them, strictly and without bombs.

Caffe decodes with OpenCV's `imdecode`, so OpenCV decides whether an image decodes at all.
Before it, JPEG goes through libjpeg-turbo (simplejpeg) in strict mode, where every libjpeg
warning is an error, decoded at reduced DCT scale (all entropy data is still read). A JPEG
that passes is clean and OpenCV never sees it; one the strict pass rejects is damaged if
OpenCV still decodes it (Caffe trains on the damaged pixels), undecodable if not (Caffe
dies). Kinds of JPEG the strict pass cannot judge (see jpeg_markers) and the other formats
are judged by OpenCV alone. Sizes come from the headers first, so a bomb is never decoded.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import simplejpeg

from . import opencv_decode as opencv
from .jpeg_markers import read_header


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
# Formats the OpenCV releases Caffe is built with (2.4 to 4.10) cannot read.
_OPENCV_UNSUPPORTED = {"gif"}
# Channels OpenCV's native decode (IMREAD_UNCHANGED) yields for each Pillow mode.
_MODE_CHANNELS = {"1": 1, "L": 1, "I": 1, "I;16": 1, "F": 1, "P": 3, "LA": 4, "RGB": 3,
                  "RGBA": 4, "CMYK": 3, "YCbCr": 3, "PA": 4}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 4, 6: 4}  # IHDR colour type -> OpenCV's channels
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
    # The decode that decided: libjpeg-turbo's reduced-scale JPEG (RGB or GRAY) or
    # OpenCV's full image (BGR, or its own channels); None when nothing was decoded.
    pixels: np.ndarray | None = None
    pixel_order: str = ""


def sniff_format(data) -> str | None:
    head = bytes(data[:12])
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:1] == b"P" and head[1:2] in (b"1", b"2", b"3", b"4", b"5", b"6") and \
            head[2:3] in (b" ", b"\t", b"\n", b"\r"):
        return "pnm"
    return None


def is_progressive_jpeg(data) -> bool:
    return read_header(data).sof in (0xC2, 0xC6, 0xCA, 0xCE)


def check_image(data, max_pixels: int, channels: int | None = None) -> ImageCheck:
    """Verify one encoded image as the data layer decodes it (`channels`: 1 or 3 when the
    layer forces grey or colour, None for the image's own); never allocates for more than
    `max_pixels` pixels."""
    fmt = sniff_format(data)
    if fmt is None:
        return ImageCheck(None, problem="no_image", message="bytes carry no known image signature")
    if fmt == "jpeg":
        return _check_jpeg(data, max_pixels, channels)
    return _check_other(data, fmt, max_pixels, channels)


def _refused_by_size(result: ImageCheck, max_pixels: int) -> ImageCheck | None:
    """The header's size alone decides: over --max-pixels (not decoded), or over OpenCV's
    own limits (it refuses the image, so Caffe cannot decode it)."""
    pixels = result.height * result.width
    if pixels > max_pixels:
        result.problem = "too_large"
        result.message = (f"header declares {result.width}x{result.height} pixels "
                          f"(limit {max_pixels}); not decoded")
    elif max(result.height, result.width) > opencv.MAX_SIDE or pixels > opencv.MAX_PIXELS:
        result.problem = "undecodable"
        result.message = (f"{result.width}x{result.height} pixels: OpenCV refuses images with "
                          f"a side over {opencv.MAX_SIDE} or over {opencv.MAX_PIXELS} pixels")
    else:
        return None
    return result


def _check_jpeg(data, max_pixels: int, channels: int | None) -> ImageCheck:
    header = read_header(data)
    result = ImageCheck("jpeg", 1 if header.components == 1 else 3, header.height, header.width)
    if header.sof is not None and _refused_by_size(result, max_pixels):
        return result
    if not header.turbo_can_judge():
        judged = _judged_by_opencv(result, data, channels)
        if judged.problem and header.sof is None:
            judged.message += "; the bytes end before a frame header (SOF)"
        return judged
    strict_input = header.cleaned(data) if header.junk else data
    try:
        result.pixels = simplejpeg.decode_jpeg(
            strict_input, colorspace="GRAY" if header.components == 1 else "RGB", strict=True,
            min_height=_SCALED_MIN_SIDE, min_width=_SCALED_MIN_SIDE)
        result.pixel_order = "GRAY" if header.components == 1 else "RGB"
        return result
    except ValueError as exc:
        strict_message = str(exc)
    # libjpeg-turbo found damage; OpenCV says whether Caffe still gets pixels out of it
    judged = _judged_by_opencv(result, data, channels)
    if judged.problem is None:
        judged.problem, judged.message = "damaged", strict_message
    return judged


def _check_other(data, fmt: str, max_pixels: int, channels: int | None) -> ImageCheck:
    result = _header_size(data, fmt)
    if result.height and _refused_by_size(result, max_pixels):
        return result
    if fmt in _OPENCV_UNSUPPORTED:
        result.problem = "undecodable"
        result.message = (f"{fmt.upper()} is not a format the OpenCV Caffe is built with "
                          "reads (OpenCV reads GIF only from 4.11 on)")
        return result
    return _judged_by_opencv(result, data, channels)


def _pillow():
    """Pillow's Image module, imported when first needed: only the headers of formats other
    than JPEG and PNG are read with it, and most scans never meet one."""
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None  # dscan applies its own limit from the header
    return Image


def _header_size(data, fmt: str) -> ImageCheck:
    """The size a header declares, before anything is decoded (0 x 0 when unreadable)."""
    if fmt == "png":  # IHDR is the first chunk, at a fixed place
        if bytes(data[12:16]) == b"IHDR" and len(data) >= 24:
            width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
            return ImageCheck(fmt, _PNG_CHANNELS.get(data[25] if len(data) > 25 else 2, 3),
                              height, width)
        return ImageCheck(fmt)
    Image = _pillow()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            return ImageCheck(fmt, _MODE_CHANNELS.get(image.mode, 3), image.height, image.width)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return ImageCheck(fmt)  # OpenCV's own reader decides


def _judged_by_opencv(result: ImageCheck, data, channels: int | None) -> ImageCheck:
    """OpenCV's verdict, and the size and channels of the image it made."""
    decoded = opencv.imdecode(data, channels)
    if decoded.image is None:
        result.problem = "undecodable"
        result.message = "OpenCV's imdecode makes no image of it" + \
            (f" ({decoded.message})" if decoded.message else "")
        return result
    result.height, result.width = decoded.image.shape[:2]
    result.channels = decoded.channels
    result.pixels, result.pixel_order = decoded.image, "BGR"
    return result
