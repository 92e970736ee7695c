"""Per-record checks on one decoded Datum: structure, payload and encoded images."""
from __future__ import annotations

from ..datum import Datum
from ..images import ImageCheck, check_image, sniff_format
from ..types import CRASH, ERROR, GARBAGE, WARNING
from .registry import Problem, register


@register("DS002", ERROR, "value is not a valid Datum", "record", CRASH)
def invalid_datum(message: str) -> Problem:
    """What it finds: a value whose bytes do not parse as a Caffe `Datum` protobuf message
    (bad tag, truncated field, length running past the end).

    Why it matters: Caffe ignores the parse result, then dies in the data transformer
    (`Check failed: datum_channels > 0`); a Datum cut inside a length varint can even
    segfault the reader.

    Example: a value overwritten with 64 random bytes starting with 0x07 (invalid wire type).
    """
    return Problem("DS002", f"not a valid Datum: {message}")


@register("DS003", ERROR, "Datum carries no data", "record", CRASH)
def no_data(datum: Datum) -> Problem | None:
    """What it finds: a Datum with neither `data` bytes nor `float_data` values.

    Why it matters: for an encoded Datum, OpenCV's `imdecode` throws on an empty buffer and
    Caffe aborts (SIGABRT, no glog line); for a raw one Caffe reads past the end of an
    empty array and trains on whatever memory holds.

    Example: `data=""` with `encoded=true`, written by a conversion script whose image read
    failed silently.
    """
    if datum.data_len or datum.float_count:
        return None
    effect = CRASH if datum.encoded else GARBAGE
    return Problem("DS003", "Datum has neither data bytes nor float_data", effect=effect)


@register("DS208", WARNING, "both data bytes and float_data set", "record", GARBAGE)
def both_payloads(datum: Datum) -> Problem | None:
    """What it finds: a Datum carrying `data` bytes and `float_data` values at once.

    Why it matters: Caffe uses the bytes and silently ignores the floats, so whichever the
    writer meant to train on, the net may see the other.

    Example: a script that fills `float_data` on a Datum copied from an image datum.
    """
    if datum.data_len and datum.float_count:
        return Problem("DS208", f"both {datum.data_len} data bytes and {datum.float_count} "
                       "float_data values; Caffe uses the bytes")
    return None


@register("DS204", ERROR, "non-positive channels/height/width on a raw datum", "record", CRASH)
def non_positive_shape(datum: Datum) -> Problem | None:
    """What it finds: a raw (not encoded) Datum whose channels, height or width is 0 or negative.

    Why it matters: Caffe's data transformer checks `datum_channels > 0` and the blob shape
    against each datum; the run dies at this record with `Check failed`.

    Example: `channels=0` on a 3x32x32 record (`Check failed: channels == datum_channels
    (3 vs. 0)`).
    """
    shape = (datum.channels, datum.height, datum.width)
    if min(shape) > 0:
        return None
    return Problem("DS204", "raw datum has channels x height x width = %d x %d x %d" % shape,
                   {"shape": list(shape)})


@register("DS203", ERROR, "data length differs from channels x height x width", "record",
          GARBAGE)
def length_mismatch(datum: Datum) -> Problem | None:
    """What it finds: a raw Datum whose `data` length (or `float_data` count) is not
    channels x height x width.

    Why it matters: Caffe does not check it. Shorter data makes it read past the end of the
    string (heap garbage becomes pixels); longer data is silently ignored.

    Example: 3000 bytes on a 3x32x32 record, which needs 3072.
    """
    expected = datum.channels * datum.height * datum.width
    actual, unit = (datum.data_len, "bytes") if datum.data_len else (datum.float_count, "floats")
    if actual == expected:
        return None
    return Problem("DS203", f"{actual} data {unit} for a {datum.channels}x{datum.height}x"
                   f"{datum.width} datum, which needs {expected}",
                   {"actual": actual, "expected": expected, "unit": unit})


@register("DS206", ERROR, "`encoded` flag disagrees with the bytes", "record", CRASH)
def encoded_flag_mismatch(datum: Datum) -> Problem | None:
    """What it finds: a Datum marked `encoded=false` whose data bytes are an image file (JPEG,
    PNG, ...), or one marked `encoded=true` whose bytes carry no image signature at all.

    Why it matters: Caffe trusts the flag. Image bytes read as raw pixels train on noise;
    random bytes sent to the image decoder end in `Could not decode datum` and a crash.

    Example: a JPEG stored with `encoded` unset by a hand-written conversion script.
    """
    if datum.encoded or not datum.data_len or \
            datum.data_len == datum.channels * datum.height * datum.width:
        return None  # no bytes, or exactly the pixels the shape asks for
    fmt = sniff_format(datum.data)
    if fmt is None:
        return None
    return Problem("DS206", f"encoded=false but the data bytes are a {fmt.upper()} file",
                   {"format": fmt}, effect=GARBAGE)


@register("DS201", ERROR, "encoded image cannot be decoded", "record", CRASH)
def undecodable_image():
    """What it finds: an encoded image that OpenCV's `imdecode`, Caffe's decoder, makes no
    pixels of (random bytes with an image signature, a progressive JPEG or PNG cut short, a
    PNG with a bad CRC, a side over OpenCV's limit of 2^20 pixels, a format the OpenCV
    releases Caffe is built with do not read, such as GIF).

    Why it matters: Caffe logs `Could not decode datum` and dies on the next shape check.

    Example: a PNG cut in the middle of its IDAT chunk.
    """


@register("DS202", ERROR, "encoded image decodes only with warnings (damaged)", "record",
          GARBAGE)
def damaged_image():
    """What it finds: a JPEG that libjpeg-turbo in strict mode rejects (truncated, corrupt
    entropy data, missing end marker) but OpenCV's `imdecode`, Caffe's decoder, still turns
    into pixels.

    Why it matters: Caffe's OpenCV decoder accepts it with at most a libjpeg warning on
    stderr, and the net trains on a grey or smeared image under a real label.

    Example: a JPEG truncated to half its bytes; the bottom half decodes grey.
    """


@register("DS209", ERROR, "image header declares absurd dimensions", "record", CRASH)
def decompression_bomb():
    """What it finds: an encoded image whose header declares more pixels than `--max-pixels`
    (default 100 megapixels). dscan reads only the header and does not decode it.

    Why it matters: Caffe allocates the full image before failing or training on it; a
    30000x30000 header made Caffe allocate 2.7 GB for one record.

    Example: a 2 KB JPEG declaring 65535x65535 pixels.
    """


_IMAGE_CODES = {"no_image": "DS206", "undecodable": "DS201", "damaged": "DS202",
                "too_large": "DS209"}


def encoded_image(data, max_pixels: int, in_datum: bool = True, channels: int | None = None
                  ) -> tuple[ImageCheck, Problem | None]:
    """Verify the bytes of an encoded image (in a Datum, or an image file of a list), decoded
    to `channels` (1, 3, or None for its own) as the data layer does; the problem, if any,
    carries its code."""
    result = check_image(data if data is not None else b"", max_pixels, channels)
    if result.problem is None:
        return result, None
    detail = {"format": result.format}
    if result.height:
        detail.update(height=result.height, width=result.width)
    if result.problem == "no_image":
        if not in_datum:  # a listed file that is no image: imread fails, Caffe stops
            return result, Problem("DS201", result.message, detail)
        return result, Problem("DS206", "encoded=true but " + result.message, detail)
    return result, Problem(_IMAGE_CODES[result.problem], result.message, detail)
