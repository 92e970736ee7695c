"""Small PNG pictures for the HTML report, as data URIs: what a lenient decoder makes of a
damaged image, and where a sample's NaN or Inf values sit."""
from __future__ import annotations

import base64
import io
import math
import warnings

import numpy as np
from PIL import Image, ImageFile

THUMBNAIL_SIDE = 96
MAP_SIDE = 96  # a value map is scaled up (nearest) to about this size
WRAP = 64  # a 1-row sample is wrapped into rows of this many values
BAD = (220, 30, 30)  # non-finite values


def thumbnail(data: bytes) -> str | None:
    """A lenient decode (truncated data allowed, as OpenCV would), shrunk; None when even
    that yields no pixels."""
    picture = lenient_picture(data, keep_grey=True)
    if picture is None:
        return None
    picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return data_uri(picture)


def lenient_picture(data: bytes, keep_grey: bool = False) -> Image.Image | None:
    """The image decoded leniently (truncated data allowed, as OpenCV would) as RGB, or
    grey when it is grey and `keep_grey`; None when no decoder makes pixels of it or its
    header declares a bomb (it is never decoded then)."""
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > 50_000_000:
                    return None
                image.load()
                grey = keep_grey and image.mode in ("L", "1", "I;16")
                return image.convert("L" if grey else "RGB")
    except Exception:  # any decoder failure means: nothing to show  # noqa: BLE001
        return None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def pixel_thumbnail(pixels: np.ndarray) -> str | None:
    """A raw sample (C, H, W) as Caffe holds it: one channel grey, three as BGR (shown as
    RGB); other counts show their first channel. Float samples are stretched to 0..255."""
    planes = np.asarray(pixels)
    if planes.ndim != 3 or not planes.size:
        return None
    if planes.dtype != np.uint8:
        finite = np.nan_to_num(planes.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(finite.min()), float(finite.max())
        planes = ((finite - low) / ((high - low) or 1.0) * 255).astype(np.uint8)
    if planes.shape[0] == 3:
        picture = Image.fromarray(np.ascontiguousarray(planes[::-1].transpose(1, 2, 0)), "RGB")
    else:
        picture = Image.fromarray(np.ascontiguousarray(planes[0]), "L")
    scale = max(1, THUMBNAIL_SIDE // max(picture.size))  # tiny samples scaled up (nearest)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return data_uri(picture)


def value_map(values: np.ndarray) -> tuple[str, dict]:
    """A grey picture of the sample with its non-finite positions in red, and facts about
    them: how many, and the first positions (indices in the sample's own shape)."""
    grid = _as_grid(np.asarray(values, np.float64))
    bad = ~np.isfinite(grid)
    finite = np.where(bad, np.nan, grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plane = np.nanmean(finite, axis=0) if finite.shape[0] > 1 else finite[0]
    low, high = (np.nanmin(plane), np.nanmax(plane)) if np.isfinite(plane).any() else (0, 1)
    grey = np.nan_to_num((plane - low) / ((high - low) or 1.0) * 200 + 30, nan=30)
    rgb = np.repeat(grey[..., None], 3, axis=2).astype(np.uint8)
    rgb[bad.any(axis=0)] = BAD
    scale = max(1, MAP_SIDE // max(rgb.shape[:2]))
    picture = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale),
                                          Image.NEAREST)
    original = ~np.isfinite(np.asarray(values, np.float64))
    facts = {"non_finite": int(original.sum()), "values": int(original.size),
             "first": [tuple(int(v) for v in p) for p in np.argwhere(original)[:5]]}
    return data_uri(picture), facts


def _as_grid(values: np.ndarray) -> np.ndarray:
    """(C, H, W) for any sample: vectors are wrapped into rows, extra axes folded into C."""
    if values.ndim == 0:
        values = values.reshape(1)
    if values.ndim >= 3:
        return values.reshape(-1, *values.shape[-2:])
    if values.ndim == 2 and values.shape[0] > 1:
        return values[None]
    flat = values.ravel()
    width = min(WRAP, len(flat)) or 1
    rows = math.ceil(len(flat) / width)
    padded = np.full(rows * width, 0.0)
    padded[:len(flat)] = flat
    return padded.reshape(1, rows, width)


def data_uri(picture: Image.Image) -> str:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
