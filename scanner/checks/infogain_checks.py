"""Checks on an InfogainLoss layer's H matrix (`infogain_loss_param { source }`)."""
from __future__ import annotations

import numpy as np

from ..types import CRASH, ERROR, GARBAGE, WARNING
from .registry import Problem, register

ROW_SUM_TOLERANCE = 1e-3  # relative spread of row sums still taken as "consistent"


@register("DS519", ERROR, "InfogainLoss H matrix Caffe cannot use", "net", GARBAGE,
          fix="write H as a K x K BlobProto of finite, non-negative float values, K = the "
              "classifier's num_output")
def infogain_unusable(message: str, detail: dict, crash: bool) -> Problem:
    """What it finds: an InfogainLoss `H` matrix (a BlobProto) that is missing or does not
    parse (Caffe stops at set-up), whose value count is not K x K for the K classes the
    layer's input has (`Check failed: infogain->count() == num_labels_*num_labels_`), or
    that holds NaN, infinite or negative entries.

    Why it matters: the loss is -sum_k H[label, k] log p_k: a NaN or infinite entry makes
    the loss NaN from the first batch that has that label; a negative one rewards the net
    for pushing that probability to 0, so the loss runs off to -inf.

    Example: an H matrix written for 21 classes used with a 20-class classifier.
    """
    return Problem("DS519", message, detail, effect=CRASH if crash else None)


@register("DS520", WARNING, "InfogainLoss H rows do not sum to one value", "net",
          fix="normalise H's rows to the same sum (e.g. 1) unless the class weights are meant")
def infogain_rows(sums: np.ndarray) -> Problem | None:
    """What it finds: an InfogainLoss `H` whose rows sum to different values, or a row that
    sums to 0.

    Why it matters: row `l` scales the loss and the gradient of every sample labelled `l`,
    so uneven rows are class weights: meant for rebalancing, otherwise an unnormalised
    matrix that makes some classes dominate; a zero row means samples of that class give
    no loss and no gradient at all.

    Example: an H built from raw confusion counts instead of normalised ones.
    """
    sums = np.asarray(sums, np.float64)
    zero = np.flatnonzero(sums == 0)
    low, high = float(sums.min()), float(sums.max())
    if not len(zero) and high - low <= ROW_SUM_TOLERANCE * max(abs(high), 1e-30):
        return None
    text = (f"row(s) {zero[:10].tolist()} sum to 0: those classes give no loss; "
            if len(zero) else "")
    return Problem("DS520", f"{text}rows sum from {low:.6g} (row {int(sums.argmin())}) to "
                   f"{high:.6g} (row {int(sums.argmax())}): class weights x{high / low:.3g}"
                   if low > 0 else f"{text}rows sum from {low:.6g} to {high:.6g}",
                   {"min": low, "max": high, "zero_rows": zero[:100].tolist()})
