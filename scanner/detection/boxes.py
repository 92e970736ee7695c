"""What SSD's data layer does with each box it reads (no batch sampler, no crop): it projects
the box onto the image, clips it to [0, 1] and drops it when the clipped box has no positive
size. A dropped box never reaches the loss, and no message says so."""
from __future__ import annotations

import numpy as np

from .record import Box

KEPT, CLIPPED = "kept", "clipped"
# why a box is dropped, in the order the reasons are told (the first that applies)
NAN, INVERTED, ZERO, OUTSIDE, NO_BBOX = "nan", "inverted", "zero_area", "outside", "no_bbox"
CLIP_TOLERANCE = 1e-6  # float noise of a converter writing 1.0 as 1.0000001 moves nothing
DUPLICATE_IOU = 0.95
MAX_PAIRED = 256  # boxes per group compared pairwise for duplicates


def fate(box: Box) -> str:
    """KEPT, CLIPPED, or the reason the data layer drops the box."""
    if not box.has_bbox:
        return NO_BBOX
    xmin, ymin, xmax, ymax = box.xmin, box.ymin, box.xmax, box.ymax
    if xmin != xmin or ymin != ymin or xmax != xmax or ymax != ymax:
        return NAN
    if xmin > xmax or ymin > ymax:
        return INVERTED
    if xmin == xmax or ymin == ymax:
        return ZERO
    if xmin >= 1 or xmax <= 0 or ymin >= 1 or ymax <= 0:
        return OUTSIDE  # ProjectBBox: no overlap with the image
    width, height = min(xmax, 1.0) - max(xmin, 0.0), min(ymax, 1.0) - max(ymin, 0.0)
    area = width * height
    if area < 1e-30 and not np.float32(width) * np.float32(height) > 0:  # Caffe's is a float
        return ZERO
    low, high = -CLIP_TOLERANCE, 1 + CLIP_TOLERANCE
    if min(xmin, ymin) < low or max(xmax, ymax) > high:
        return CLIPPED
    return KEPT


def clipped(box: Box) -> tuple[float, float, float, float]:
    return (min(max(box.xmin, 0.0), 1.0), min(max(box.ymin, 0.0), 1.0),
            min(max(box.xmax, 0.0), 1.0), min(max(box.ymax, 0.0), 1.0))


def kept_share(box: Box) -> float:
    """The share of the written box's area that survives clipping."""
    area = (box.xmax - box.xmin) * (box.ymax - box.ymin)
    xmin, ymin, xmax, ymax = clipped(box)
    return (xmax - xmin) * (ymax - ymin) / area if area > 0 else 0.0


def iou(a: tuple, b: tuple) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def duplicates(boxes: list[tuple]) -> list[tuple[int, int, float]]:
    """Pairs (i, j, IoU) of boxes that overlap by at least DUPLICATE_IOU, each box paired with
    the first box it duplicates."""
    found, matched = [], set()
    limit = min(len(boxes), MAX_PAIRED)
    # IoU >= t needs every coordinate within (1 - t) x the box's side (<= 1 after clipping)
    apart = 1 - DUPLICATE_IOU
    for j in range(1, limit):
        b = boxes[j]
        for i in range(j):
            a = boxes[i]
            if i in matched or abs(a[0] - b[0]) > apart or abs(a[1] - b[1]) > apart or \
                    abs(a[2] - b[2]) > apart or abs(a[3] - b[3]) > apart:
                continue
            overlap = iou(a, b)
            if overlap >= DUPLICATE_IOU:
                found.append((i, j, overlap))
                matched.add(j)
                break
    return found


def emitted(box: Box, emit: tuple | None) -> bool:
    """Whether a box that reaches past the image meets the layer's emit_constraint against
    the whole image (no crop): its centre inside (CENTER), or more than `overlap` of its
    area inside (MIN_OVERLAP)."""
    if emit is None:
        return True
    if emit[0] == "CENTER":
        x, y = (box.xmin + box.xmax) / 2, (box.ymin + box.ymax) / 2
        return 0 <= x <= 1 and 0 <= y <= 1
    return kept_share(box) > emit[1]
