"""Encoded image verification on real JPEG/PNG bytes."""
import io
import zlib

import pytest
from PIL import Image

from scanner.images import check_image, is_progressive_jpeg, sniff_format

from . import builders as b

LIMIT = 100_000_000


def test_clean_jpeg_reports_native_shape():
    result = check_image(b.jpeg(40, 30), LIMIT)
    assert (result.problem, result.channels, result.height, result.width) == (None, 3, 30, 40)


def test_grey_jpeg_has_one_channel():
    assert check_image(b.jpeg(gray=True), LIMIT).channels == 1


@pytest.mark.parametrize("damage", [
    lambda data: b.truncate(data, 0.5),
    lambda data: data[:-2],  # end-of-image marker removed
    b.corrupt_scan,
])
def test_damaged_baseline_jpeg_is_trains_on_garbage(damage):
    assert check_image(damage(b.jpeg()), LIMIT).problem == "damaged"


def test_truncated_progressive_jpeg_is_undecodable():
    data = b.jpeg(progressive=True)
    assert is_progressive_jpeg(data) and not is_progressive_jpeg(b.jpeg())
    assert check_image(b.truncate(data), LIMIT).problem == "undecodable"


def test_png_cut_mid_idat_is_undecodable():
    assert check_image(b.truncate(b.png()), LIMIT).problem == "undecodable"


def test_png_with_bad_crc_is_undecodable():
    data = bytearray(b.png())
    idat = data.find(b"IDAT")
    data[idat + 10] ^= 0xFF  # damage the compressed data; its CRC no longer matches
    assert check_image(bytes(data), LIMIT).problem == "undecodable"


def test_bomb_headers_are_refused_before_decoding():
    result = check_image(b.bomb_jpeg(65535, 65535), LIMIT)
    assert result.problem == "too_large" and result.width == 65535
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    png = bytearray(out.getvalue())
    png[16:24] = (30000).to_bytes(4, "big") * 2  # IHDR width, height
    png[29:33] = zlib.crc32(bytes(png[12:29])).to_bytes(4, "big")  # a valid IHDR again
    assert check_image(bytes(png), LIMIT).problem == "too_large"


def test_no_signature_is_no_image_and_gif_is_undecodable_for_opencv():
    assert check_image(b"\x00" * 100, LIMIT).problem == "no_image"
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    assert sniff_format(out.getvalue()) == "gif"
    assert check_image(out.getvalue(), LIMIT).problem == "undecodable"


def test_messages_are_deterministic():
    first = check_image(b"\x89PNG\r\n\x1a\n" + bytes(40), LIMIT).message
    assert " at 0x" not in first
