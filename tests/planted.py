"""Stores with planted copies, for the duplicate checks: natural photos (from the corpus
fixtures made with Caffe's tools) and their byte copies, re-encodes, resizes, crops, copies
under other labels, and raw datums with pixel noise."""
from __future__ import annotations

import io
import os

import lmdb
import numpy as np
from PIL import Image

from scanner.datum import decode_datum

from . import builders as b

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture_pictures(name: str = "natural_enc_lmdb") -> list[Image.Image]:
    """The decodable pictures of a fixture store, in key order."""
    env = lmdb.open(os.path.join(FIXTURES, name), readonly=True, lock=False)
    pictures = []
    with env.begin() as txn:
        for _, value in txn.cursor():
            datum = decode_datum(value)
            try:
                image = Image.open(io.BytesIO(bytes(datum.data)))
                image.load()
            except Exception:  # the fixture's broken records
                continue
            pictures.append(image.convert("RGB"))
    env.close()
    return pictures


def encode(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _crop(image: Image.Image, pixels: int, rng) -> Image.Image:
    sides = rng.integers(0, pixels + 1, 4)
    sides[rng.integers(0, 4)] = pixels
    return image.crop((sides[0], sides[1], image.width - sides[2], image.height - sides[3]))


COPY_KINDS = {
    "bytes": lambda image, rng: encode(image),
    "quality50": lambda image, rng: encode(image, 50),
    "quality70": lambda image, rng: encode(image, 70),
    "resize75": lambda image, rng: encode(image.resize(
        (int(image.width * 0.75), int(image.height * 0.75)), Image.LANCZOS)),
    "crop": lambda image, rng: encode(_crop(image, int(rng.integers(1, 4)), rng)),
}


def planted_jpegs(kind: str, originals: int = 40, seed: int = 0):
    """(datum values, pairs): `originals` distinct pictures at quality 90, then one copy of
    each made as `kind` says, with the same label; pairs are (original, copy) positions."""
    rng = np.random.default_rng(seed)
    pictures = (fixture_pictures() + fixture_pictures("enc_lmdb")[::37])[:originals]
    values = [b.encoded_datum(encode(p), label=i % 10) for i, p in enumerate(pictures)]
    copies = [b.encoded_datum(COPY_KINDS[kind](p, rng), label=i % 10)
              for i, p in enumerate(pictures)]
    return values + copies, [(i, len(pictures) + i) for i in range(len(pictures))]


def noisy_raw(originals: int = 40, sigma: float = 2.0, seed: int = 0):
    """Raw 3xHxW datums of distinct pictures, then each again with Gaussian pixel noise."""
    rng = np.random.default_rng(seed)
    pictures = fixture_pictures("enc_lmdb")[::40][:originals]
    planes = [np.asarray(p).transpose(2, 0, 1) for p in pictures]
    noisy = [np.clip(x + rng.normal(0, sigma, x.shape).round(), 0, 255).astype(np.uint8)
             for x in planes]
    values = [b.raw_datum(label=i % 10, shape=x.shape, data=x.tobytes())
              for i, x in enumerate(planes + noisy)]
    return values, [(i, len(planes) + i) for i in range(len(planes))]
