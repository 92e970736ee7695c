"""InfogainLoss's H matrix as InfogainLossLayer::LayerSetUp reads it (a BlobProto), checked
against the number of classes the layer's input has (Reshape's K x K)."""
from __future__ import annotations

import numpy as np

from ..checks.infogain_checks import infogain_rows, infogain_unusable
from ..checks.registry import Problem
from ..errors import WireFormatError
from .blobproto import decode_blob


def infogain_problems(path: str, classes: int | None) -> list[Problem]:
    """Problems Caffe meets with this H for a classifier of `classes` outputs (None:
    unknown, the shape is then not compared)."""
    try:
        with open(path, "rb") as handle:
            blob = decode_blob(handle.read())
    except OSError as exc:
        return [infogain_unusable(f"H matrix cannot be read: {exc.strerror}", {}, True)]
    except WireFormatError as exc:
        return [infogain_unusable(f"H matrix is not a BlobProto: {exc}", {}, True)]
    values = blob.values.astype(np.float64)
    problems = []
    if classes is not None and len(values) != classes * classes:
        problems.append(infogain_unusable(
            f"H has {len(values)} values (shape {blob.shape}) but the layer's input has "
            f"{classes} classes, so Caffe needs {classes}x{classes} = {classes * classes}: "
            "crashes at set-up (Check failed: infogain->count() == num_labels_*num_labels_)",
            {"values": int(len(values)), "classes": classes}, True))
        return problems
    bad = ~np.isfinite(values)
    if bad.any():
        problems.append(infogain_unusable(
            f"{int(bad.sum())} H entries are NaN or infinite (first at {int(bad.argmax())}): "
            "the loss is NaN from the first batch with such a label",
            {"non_finite": int(bad.sum())}, False))
    negative = values < 0
    if negative.any():
        problems.append(infogain_unusable(
            f"{int(negative.sum())} H entries are negative (first at "
            f"{int(negative.argmax())}, {values[negative.argmax()]:g}): the loss has no "
            "lower bound and diverges", {"negative": int(negative.sum())}, False))
    side = int(round(len(values) ** 0.5))
    if not problems and side * side == len(values) and side > 0:
        rows = infogain_rows(values.reshape(side, side).sum(axis=1))
        problems += [rows] if rows else []
    return problems
