"""Checks that need the whole dataset in read order: shapes per batch, label ranges."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..batches import batch_matrix
from ..types import CRASH, ERROR, GARBAGE, NO_EFFECT, WARNING

if TYPE_CHECKING:
    from ..aggregate import ScanTotals
from .registry import Problem, register


@register("DS205", WARNING, "shape differs from the dominant shape (error if it shares a batch)",
          "dataset", CRASH,
          fix=("Resize every image to one size when converting (convert_imageset "
               "--resize_height/--resize_width), or use batch size 1 with a net that accepts any "
               "size."))
def shape_outliers(totals: ScanTotals) -> None:
    """What it finds: records whose height x width differs from the most common one. It is an
    error when the record shares a batch (in Caffe's read order, at `--batch-size`) with a
    record of another size, a warning otherwise.

    Why it matters: Caffe shapes each batch after its first record. A smaller record later in
    the batch fails `Check failed: height <= img_height`; a larger one is silently cut to its
    top-left corner. Even in batches of one, layers such as InnerProduct reject a new size.

    Example: an encoded LMDB built without `--resize_height/--resize_width` from photos of
    different sizes.
    """
    _shape_findings(totals, channels=False)


@register("DS207", ERROR, "channel count differs from the rest of the dataset", "dataset",
          CRASH,
          fix=("Convert with one channel count for all records (convert_imageset --gray, or "
               "force_color / force_gray in transform_param)."))
def channel_outliers(totals: ScanTotals) -> None:
    """What it finds: records whose channel count differs from the dataset's dominant one,
    e.g. a greyscale JPEG among colour ones (Caffe decodes encoded data natively).

    Why it matters: Caffe dies with `Check failed: channels == img_channels (3 vs. 1)` at the
    first batch that mixes them.

    Example: a 1-channel JPEG stored as-is by `convert_imageset --encoded` with no resize.
    """
    _shape_findings(totals, channels=True)


def _shape_findings(totals: ScanTotals, channels: bool) -> None:
    known = totals.shape_ids >= 0
    if len(totals.shapes) < 2 or not known.any():
        return  # one shape: no record differs from it
    table = np.array(totals.shapes, np.int64)
    counts = np.bincount(totals.shape_ids[known], minlength=len(table))
    dominant = table[counts.argmax()]
    crash, cropped, leader = batch_conflicts(totals)
    mixed = crash | cropped
    own = table[np.where(known, totals.shape_ids, 0)]
    if channels:
        odd = known & (own[:, 0] != dominant[0])
        usual = f"{dominant[0]} channels"
    else:
        odd = known & np.any(own[:, 1:] != dominant[1:], axis=1)
        usual = f"{dominant[1]}x{dominant[2]}"
        if counts.max() * 2 <= known.sum():  # no majority size: flag every conflicting record
            odd |= known & mixed
            usual = f"{len(set(map(tuple, table[:, 1:].tolist())))} different sizes"
    for index in np.flatnonzero(odd).tolist():
        c, h, w = own[index].tolist()
        effect = CRASH if crash[index] else GARBAGE if cropped[index] else NO_EFFECT
        what = f"{c} channel{'s' if c != 1 else ''}" if channels else f"{h}x{w}"
        problem = Problem("DS207" if channels else "DS205",
                          f"{what} where the dataset has {usual}"
                          + (" (shares a batch with another shape)" if mixed[index] else ""),
                          {"shape": [c, h, w], "dominant": dominant.tolist()},
                          severity=ERROR if channels or mixed[index] else WARNING,
                          effect=effect)
        totals.sink.add(index, None, problem)
    _led_astray(totals, own, odd, leader, channels)


def _led_astray(totals: ScanTotals, own: np.ndarray, odd: np.ndarray, leader: np.ndarray,
                channels: bool) -> None:
    """A usual record where Caffe fails because an odd record leads its batch: the odd one
    is reported above, without a crash of its own; this is where Caffe dies."""
    for index in np.flatnonzero((leader >= 0) & ~odd).tolist():
        head = int(leader[index])
        if not odd[head]:
            continue
        mine, theirs = own[index].tolist(), own[head].tolist()
        if channels != (mine[0] != theirs[0]):
            continue  # the other check's failure (channels vs. size)
        what = (f"{mine[0]} channels" if channels else f"{mine[1]}x{mine[2]}") + \
            f" in a batch whose first record (index {head}) has " + \
            (f"{theirs[0]}" if channels else f"{theirs[1]}x{theirs[2]}")
        totals.sink.add(index, None, Problem(
            "DS207" if channels else "DS205",
            f"{what}: the batch takes that shape, and Caffe's check fails here",
            {"shape": mine, "batch_led_by": head}, severity=ERROR, effect=CRASH))


def batch_conflicts(totals: ScanTotals) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record: does it crash its batch, or get silently cropped, in Caffe's read order?
    And for the first record that fails in each batch, the batch's first record (else -1).

    A batch takes the shape of its first record; a record with other channels or a smaller
    side fails Caffe's checks, a larger one is cut to the batch's size."""
    settings = totals.sink.settings
    matrix = batch_matrix(totals.records, settings.batch_size, settings.solvers)
    crash = np.zeros(totals.records, bool)
    cropped = np.zeros(totals.records, bool)
    leader = np.full(totals.records, -1, np.int64)
    if not len(matrix) or not totals.shapes:
        return crash, cropped, leader
    table = np.vstack([np.array(totals.shapes, np.int64), [[-1, -1, -1]]])
    shapes = table[totals.shape_ids[matrix]]  # unknown ids (-1) pick the sentinel row
    head = shapes[:, :1, :]
    usable = (shapes[..., 0] >= 0) & (head[..., 0] >= 0)
    fails = usable & ((shapes[..., 0] != head[..., 0]) | np.any(shapes[..., 1:] < head[..., 1:],
                                                                axis=-1))
    cut = usable & ~fails & np.any(shapes[..., 1:] > head[..., 1:], axis=-1)
    crash[matrix[fails]] = True
    cropped[matrix[cut]] = True
    failing = np.flatnonzero(fails.any(axis=1))
    first = matrix[failing, fails[failing].argmax(axis=1)]
    leader[first[::-1]] = matrix[failing, 0][::-1]  # a wrapped record: its first batch
    return crash, cropped, leader


DATASET_CHECKS = (shape_outliers, channel_outliers)
