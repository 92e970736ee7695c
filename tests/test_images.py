"""Encoded image verification on real JPEG/PNG bytes."""
import dataclasses
import io
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from scanner import kernels
from scanner.images import check_image, is_progressive_jpeg, sniff_format
from scanner.jpeg_markers import read_header, walk_markers

from . import builders as b
from . import image_builders as ib

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


# The cases that ended scans or were judged against OpenCV, Caffe's decoder.

def test_five_bytes_of_jpeg_header_are_undecodable_not_a_keyerror():
    result = check_image(bytes.fromhex("ffd8ffe000"), LIMIT)
    assert result.problem == "undecodable" and "frame header" in result.message


def test_every_prefix_of_a_jpeg_gets_a_verdict():
    for data in (b.jpeg(24, 16), b.jpeg(24, 16, progressive=True)):
        verdicts = {check_image(data[:n], LIMIT).problem for n in range(3, len(data))}
        assert verdicts <= {"undecodable", "damaged"}


def test_lossless_jpeg_is_left_to_opencv_which_decodes_it():
    data = ib.lossless_jpeg(b.pixels(16, 12, 3))
    header = read_header(data)
    assert header.sof == 0xC3 and not header.turbo_can_judge()  # simplejpeg never sees it
    result = check_image(data, LIMIT)
    assert (result.problem, result.channels, result.height, result.width) == (None, 3, 12, 16)
    assert result.pixel_order == "BGR" and result.pixels.shape == (12, 16, 3)


@pytest.mark.skipif(not ib.CJPEG, reason=ib.CJPEG_MISSING)
@pytest.mark.parametrize("sampling", ["1x4", "4x1", "1x3", "3x1", "2x4", "4x2"])
def test_unusual_sampling_is_judged_by_opencv(sampling):
    data = ib.cjpeg(["-sample", sampling])
    assert not read_header(data).turbo_can_judge()
    assert check_image(data, LIMIT).problem is None  # OpenCV decodes it; so does Caffe
    assert check_image(b.truncate(data, 0.3), LIMIT).problem == "undecodable"


@pytest.mark.parametrize("frame", [{"sampling": (1, 4)}, {"sampling": (3, 1)},
                                   {"precision": 12}], ids=["1x4", "3x1", "12-bit"])
def test_frames_turbojpeg_does_not_know_go_to_opencv(frame):
    """The 4:4:1 header that made simplejpeg raise KeyError: 6, without needing cjpeg."""
    data = ib.with_frame(b.jpeg(), **frame)
    assert not read_header(data).turbo_can_judge()
    decodes = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) is not None
    assert (check_image(data, LIMIT).problem is None) == decodes


def test_cmyk_jpeg_is_judged_by_opencv():
    data = ib.cmyk_jpeg()
    assert read_header(data).components == 4 and not read_header(data).turbo_can_judge()
    assert check_image(data, LIMIT).problem is None


@pytest.mark.skipif(not ib.CJPEG, reason=ib.CJPEG_MISSING)
def test_arithmetic_coding_is_judged_by_opencv():
    data = ib.cjpeg(["-arithmetic"])
    assert read_header(data).sof == 0xC9 and check_image(data, LIMIT).problem is None


def test_junk_between_header_markers_is_clean():
    """libjpeg skips it with a warning; the pixels are whole, so the strict pass judges the
    image without the junk."""
    data = ib.junk_between_markers(b.jpeg())
    assert read_header(data).junk == 6
    assert check_image(data, LIMIT).problem is None
    assert check_image(ib.junk_between_markers(b.corrupt_scan(b.jpeg())), LIMIT).problem == \
        "damaged"


def test_png_text_chunk_over_a_megabyte_is_clean():
    text = ib.png_chunk(b"tEXt", b"comment\x00" + b"a" * (2 << 20))
    assert check_image(ib.png(8, 8, before_idat=text), LIMIT).problem is None


@pytest.mark.parametrize("damage", ["cut", "crc", "zlib"])
def test_damaged_pngs_are_undecodable_as_for_opencv(damage):
    data = ib.png(16, 16)
    if damage == "cut":
        data = data[:len(data) - 20]
    elif damage == "crc":  # the IDAT chunk's CRC no longer matches its bytes
        crc = data.index(b"IEND") - 8
        data = data[:crc] + bytes([data[crc] ^ 1]) + data[crc + 1:]
    else:
        data = ib.png(16, 16, idat=zlib.compress(ib.png_rows(16, 16))[:-6])
    result = check_image(data, LIMIT)
    assert result.problem == "undecodable" and "libpng" in result.message
    if damage == "crc":
        assert "CRC error" in result.message


def test_a_side_over_opencvs_limit_is_undecodable():
    result = check_image(ib.png(1, 2_000_000), LIMIT)
    assert result.problem == "undecodable" and "1048576" in result.message
    assert check_image(ib.png(1, 1_000_000), LIMIT).problem is None


def test_grey_decode_is_what_the_layer_asks_for():
    result = check_image(b.jpeg(), LIMIT, channels=1)  # clean: not decoded by OpenCV
    assert result.problem is None and result.channels == 3
    damaged = check_image(b.truncate(b.jpeg(), 0.6), LIMIT, channels=1)
    assert damaged.problem == "damaged" and damaged.pixels.ndim == 2


@pytest.mark.skipif(kernels.native is None, reason="the compiled kernels are off or not built")
def test_the_compiled_marker_walk_reads_what_the_reference_reads():
    """read_header's compiled walk against walk_markers on real headers of every kind here,
    then on thousands of them cut short and with bytes changed (junk found hands the walk
    to the reference, which keeps the segments to cut)."""
    def same(a, c):
        return dataclasses.replace(a, segments=[]) == dataclasses.replace(c, segments=[])
    headers = [b.jpeg(40, 30), b.jpeg(gray=True), b.jpeg(24, 16, progressive=True),
               ib.lossless_jpeg(b.pixels(16, 12, 3)), ib.cmyk_jpeg(),
               ib.with_frame(b.jpeg(), sampling=(1, 4)), ib.junk_between_markers(b.jpeg())]
    for data in headers:
        assert same(read_header(data), walk_markers(data))
    rng = np.random.default_rng(0)
    junk = 0
    for case in range(6000):
        data = bytearray(headers[case % len(headers)][:rng.integers(0, 700)])
        for _ in range(rng.integers(0, 6)):
            if data:
                data[rng.integers(0, len(data))] = rng.integers(0, 256)
        got, expected = read_header(bytes(data)), walk_markers(bytes(data))
        assert got == expected if expected.junk else same(got, expected), bytes(data)
        junk += expected.junk > 0
    assert junk > 100  # both ways were taken
