"""Real encoded images of every kind the decoders meet: Pillow's formats, libjpeg-turbo's
`cjpeg` variants (when installed), a lossless JPEG, and hand-made PNG chunks."""
from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib

import numpy as np
from PIL import Image

from . import builders as b

CJPEG = shutil.which("cjpeg")
CJPEG_MISSING = "cjpeg (libjpeg-turbo-progs) is not installed"
# cjpeg variants: the sampling factors TurboJPEG does not know, arithmetic coding, restarts
CJPEG_VARIANTS = {
    "sample-1x4": ["-sample", "1x4"], "sample-4x1": ["-sample", "4x1"],
    "sample-1x3": ["-sample", "1x3"], "sample-3x1": ["-sample", "3x1"],
    "sample-2x4": ["-sample", "2x4"], "sample-4x2": ["-sample", "4x2"],
    "arithmetic": ["-arithmetic"], "restart": ["-restart", "1"],
    "restart-progressive": ["-restart", "2", "-progressive"], "rgb": ["-rgb"],
}


def pillow(fmt: str, width: int = 32, height: int = 24, seed: int = 0, **options) -> bytes:
    mode_channels = 1 if options.pop("gray", False) else 3
    out = io.BytesIO()
    Image.fromarray(b.pixels(width, height, mode_channels, seed)).save(out, fmt, **options)
    return out.getvalue()


def cjpeg(args: list[str], width: int = 32, height: int = 24, seed: int = 0) -> bytes:
    """A JPEG written by libjpeg-turbo's cjpeg with these switches (needs CJPEG)."""
    ppm = io.BytesIO()
    Image.fromarray(b.pixels(width, height, 3, seed)).save(ppm, "PPM")
    done = subprocess.run([CJPEG, *args], input=ppm.getvalue(), capture_output=True,
                          check=True, timeout=30)
    return done.stdout


def payloads() -> dict[str, bytes]:
    """One small real image per kind; the cjpeg ones only where cjpeg is installed."""
    found = {
        "jpeg-baseline": pillow("JPEG", quality=85),
        "jpeg-progressive": pillow("JPEG", quality=85, progressive=True),
        "jpeg-gray": pillow("JPEG", gray=True),
        "jpeg-lossless": lossless_jpeg(b.pixels(16, 12, 3)),
        "jpeg-cmyk": cmyk_jpeg(),
        "png": pillow("PNG"), "gif": pillow("GIF"), "bmp": pillow("BMP"),
        "tiff": pillow("TIFF"), "webp": pillow("WEBP", quality=80),
    }
    if CJPEG:
        found.update({f"cjpeg-{name}": cjpeg(args) for name, args in CJPEG_VARIANTS.items()})
    return found


def cmyk_jpeg(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.fromarray(b.pixels(width, height, 3)).convert("CMYK").save(out, "JPEG")
    return out.getvalue()


def with_frame(jpeg: bytes, sampling: tuple[int, int] | None = None,
               precision: int | None = None) -> bytes:
    """The JPEG with its frame header (SOF0) claiming another luma sampling or precision; the
    scan data no longer fits, so only a decoder can tell what comes of it."""
    at = jpeg.index(b"\xff\xc0")
    patched = bytearray(jpeg)
    if precision is not None:
        patched[at + 4] = precision
    if sampling is not None:
        patched[at + 11] = sampling[0] << 4 | sampling[1]
    return bytes(patched)


def _huffman_codes(bits: list[int], values: list[int]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes (JPEG Annex C): value -> (code, length)."""
    codes, code, index = {}, 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return codes


_DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # the standard luminance DC table
_DC_VALUES = list(range(12))


def lossless_jpeg(image: np.ndarray) -> bytes:
    """A lossless (SOF3) JPEG, predictor 1 (the sample to the left), 8-bit, interleaved."""
    height, width, count = image.shape
    codes = _huffman_codes(_DC_BITS, _DC_VALUES)
    bits: list[int] = []
    for y in range(height):
        for x in range(width):
            for c in range(count):
                if x == 0:
                    predicted = 128 if y == 0 else int(image[y - 1, 0, c])
                else:
                    predicted = int(image[y, x - 1, c])
                difference = int(image[y, x, c]) - predicted
                size = abs(difference).bit_length()
                code, length = codes[size]
                bits.extend((code >> (length - 1 - i)) & 1 for i in range(length))
                extra = difference if difference >= 0 else difference - 1
                bits.extend((extra >> (size - 1 - i)) & 1 for i in range(size))
    bits.extend([1] * (-len(bits) % 8))
    entropy = bytearray()
    for start in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[start:start + 8])), 2)
        entropy.append(byte)
        if byte == 0xFF:
            entropy.append(0)  # byte stuffing
    components = b"".join(bytes([i + 1, 0x11, 0]) for i in range(count))
    frame = struct.pack(">BHHB", 8, height, width, count) + components
    table = bytes([0x00]) + bytes(_DC_BITS) + bytes(_DC_VALUES)
    scan = bytes([count]) + b"".join(bytes([i + 1, 0x00]) for i in range(count)) + \
        bytes([1, 0, 0])  # predictor 1, Se 0, Ah/Al 0
    return (b"\xff\xd8" + _segment(0xC3, frame) + _segment(0xC4, table) +
            _segment(0xDA, scan) + bytes(entropy) + b"\xff\xd9")


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def png_chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + body) if crc is None else crc
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png(width: int, height: int, before_idat: bytes = b"", idat: bytes | None = None) -> bytes:
    """A grey 8-bit PNG made chunk by chunk; `idat` replaces the compressed rows."""
    rows = png_rows(width, height)
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return (b"\x89PNG\r\n\x1a\n" + header + before_idat +
            png_chunk(b"IDAT", zlib.compress(rows) if idat is None else idat) +
            png_chunk(b"IEND", b""))


def png_rows(width: int, height: int) -> bytes:
    """Grey rows, each after its filter byte (0: none), as IDAT compresses them."""
    rows = np.zeros((height, width + 1), np.uint8)
    rows[:, 1:] = (np.arange(width)[None, :] * 7 + np.arange(height)[:, None]) & 0xFF
    return rows.tobytes()


def junk_between_markers(jpeg: bytes, junk: bytes = b"\x00junk\x00") -> bytes:
    """The JPEG with bytes that are no marker put before its first quantisation table."""
    at = jpeg.index(b"\xff\xdb")
    return jpeg[:at] + junk + jpeg[at:]
