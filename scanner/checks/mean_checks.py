"""Checks on a mean file (`transform_param { mean_file }`, `dscan mean`)."""
from __future__ import annotations

import numpy as np

from ..types import CRASH, ERROR, GARBAGE
from .registry import Problem, register


@register("DS601", ERROR, "mean file holds NaN or infinite values", "mean", GARBAGE,
          fix="Recompute the mean file (compute_image_mean) from data without NaN/Inf.")
def mean_non_finite(values: np.ndarray) -> Problem | None:
    """What it finds: a mean file (BlobProto) with NaN or ±Inf among its values.

    Why it matters: Caffe subtracts the mean from every input pixel, so each sample that
    touches such a position carries NaN into the net: the loss is nan from the first batch,
    whatever the data holds.

    Example: a mean computed by a script that divided by a zero image count for one channel.
    """
    bad = ~np.isfinite(values)
    if not bad.any():
        return None
    positions = np.flatnonzero(bad)
    return Problem("DS601", f"{len(positions)} of {len(values)} mean values are NaN or "
                   f"infinite (first at value {int(positions[0])})",
                   {"non_finite": int(len(positions)),
                    "first_positions": positions[:20].tolist()})


@register("DS602", ERROR, "mean file that Caffe cannot load", "mean", CRASH,
          fix=("Recompute the mean file with compute_image_mean; it must be a BlobProto whose "
               "shape matches its values."))
def mean_unusable(reason: str) -> Problem:
    """What it finds: a mean file that is not a BlobProto, whose shape does not match its
    number of values, or whose shape Caffe cannot use (negative or more than four axes).

    Why it matters: Caffe reads the mean when the data layer is set up and stops at once:
    `Check failed: count_ == proto.data_size()`, or a parse failure of the binary proto.

    Example: an image saved as `mean.binaryproto`, or a BlobProto written with shape
    1x3x256x256 and the values of a 227x227 crop.
    """
    return Problem("DS602", reason)
