"""Checks on sample values, run on many samples at once: an array of shape (n, C, L).

The values are read once into a per-sample, per-channel summary (min, max, and for floats
the sum and sum of squares); the checks and the statistics work from it, and only the few
flagged samples are looked at again for exact positions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..types import ERROR, GARBAGE, WARNING
from .registry import Problem, register

FLOAT16_MAX = 65504.0
FLOAT32_MAX = float(np.finfo(np.float32).max)
_MAX_POSITIONS = 5
_WIDE_BLOCK = 2 << 20  # values widened to float64 at once (16 MiB)


@dataclass
class ValueSummary:
    """Per sample and channel, shape (n, C). NaN propagates into min and max, so a sample
    holds a NaN or an Inf exactly when one of its mins or maxs is not finite."""

    mins: np.ndarray
    maxs: np.ndarray
    sums: np.ndarray | None = None  # float64 (exact for integers: see scanner.kernels)
    squares: np.ndarray | None = None

    @classmethod
    def joined(cls, parts: list["ValueSummary"]) -> "ValueSummary":
        """The summaries of consecutive pieces of samples as one."""
        def whole(name: str):
            pieces = [getattr(part, name) for part in parts]
            return None if pieces[0] is None else np.concatenate(pieces)
        return cls(whole("mins"), whole("maxs"), whole("sums"), whole("squares"))

    def rows(self, chosen) -> "ValueSummary":
        """The summary of the samples at `chosen` (indices or a mask)."""
        return ValueSummary(*(None if part is None else part[chosen] for part in
                              (self.mins, self.maxs, self.sums, self.squares)))

    @property
    def finite_rows(self) -> np.ndarray:
        return np.isfinite(self.mins).all(axis=1) & np.isfinite(self.maxs).all(axis=1)


def summarize(values: np.ndarray, extremes: bool = True) -> ValueSummary:
    """One pass over the values where the compiled kernels are built (scanner.kernels), one
    reduction per figure in numpy otherwise. Bytes are summed exactly, floats in float64
    (numpy: float32 pairwise, relative error about 1e-6), integers wider than a byte in
    float64.

    extremes=False (bytes only, once the statistics have met 0 and 255 in every channel, so
    that no min or max can change them) lets numpy tell a channel's min and max apart from
    its sums alone, exactly: constant channels get their value, the others 0 and 255. That
    is all the checks need (DS103 asks whether a sample is constant) and saves two passes."""
    if values.dtype == np.uint8:
        sums, squares, mins, maxs = kernels.byte_rows(values, extremes)
        return ValueSummary(mins, maxs, sums, squares)
    with np.errstate(invalid="ignore", over="ignore"):
        if values.dtype.kind == "f":
            sums, squares, mins, maxs = kernels.float_rows(values)
            return ValueSummary(mins, maxs, sums, squares)
        summary = ValueSummary(values.min(axis=2), values.max(axis=2))
        if values.dtype.kind in "iu":
            summary.sums, summary.squares = _integer_sums(values)
    return summary


def _integer_sums(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and sums of squares of HDF5 integers of any width, in float64 (exact up to 2^53),
    a block of samples at a time so that the float64 copy stays small."""
    samples, channels, length = values.shape
    sums, squares = np.empty((samples, channels)), np.empty((samples, channels))
    block = max(1, _WIDE_BLOCK // max(channels * length, 1))
    for start in range(0, samples, block):
        wide = values[start:start + block].astype(np.float64)
        sums[start:start + block] = wide.sum(axis=2)
        squares[start:start + block] = np.einsum("ncl,ncl->nc", wide, wide)
    return sums, squares


def _rows(values: np.ndarray) -> np.ndarray:
    return values.reshape(len(values), -1)


@register("DS101", ERROR, "NaN or Inf in float data", "values", GARBAGE,
          fix=("Find where the NaN/Inf came from (a division, a log of 0, a failed feature "
               "extractor), then rewrite or drop those records."))
def non_finite(values: np.ndarray, summary: ValueSummary) -> dict[int, Problem]:
    """What it finds: NaN, +Inf or -Inf among a sample's float values (Datum `float_data`,
    HDF5 rows), with their count and first positions.

    Why it matters: one non-finite input makes the forward pass non-finite, the loss becomes
    `nan` and every weight it touches is ruined at the next update; Caffe never checks.

    Example: element 17 of a 3x8x8 feature vector is NaN after a division by zero upstream.
    """
    rows = _rows(values)
    if rows.dtype.kind != "f":
        return {}
    found = {}
    for row in np.flatnonzero(~summary.finite_rows):
        sample = rows[row]
        bad = np.flatnonzero(~np.isfinite(sample))
        nan = int(np.isnan(sample[bad]).sum())
        posinf = int((sample[bad] == np.inf).sum())
        counts = {"nan": nan, "posinf": posinf, "neginf": len(bad) - nan - posinf}
        kinds = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        found[int(row)] = Problem(
            "DS101", f"{len(bad)} non-finite values ({kinds}) at element(s) "
            f"{', '.join(map(str, bad[:_MAX_POSITIONS]))}{'...' if len(bad) > _MAX_POSITIONS else ''}",
            {"count": len(bad), **counts, "first_positions": bad[:_MAX_POSITIONS].tolist()})
    return found


@register("DS102", WARNING, "finite value beyond float16 range", "values",
          fix=("Rescale the values (e.g. to [0, 1] or standardised) before storing them, or train"
               " in float32 only."))
def beyond_float16(values: np.ndarray, summary: ValueSummary) -> dict[int, Problem]:
    """What it finds: finite values with |x| > 65504, the largest float16.

    Why it matters: invisible in float32 training, but the value becomes Inf under half
    precision (fp16 inference, mixed-precision fine-tuning), and a sum of squares of a 1e30
    already overflows float32.

    Example: a feature vector holding 7e4 where the rest lie in [0, 1].
    """
    if values.dtype.kind != "f":
        return {}
    return {row: Problem("DS102", f"{len(big)} finite values beyond float16 range "
                         f"(|x| > 65504), largest {largest:.6g}",
                         {"count": len(big), "first_positions": big[:_MAX_POSITIONS].tolist()})
            for row, big, largest in _beyond(values, summary, FLOAT16_MAX)}


def _beyond(values: np.ndarray, summary: ValueSummary, limit: float):
    """(row, positions, largest |x|) of the samples holding finite values beyond +-limit;
    only the rows whose summary shows such a value (or a NaN) are looked at again."""
    rows = _rows(values)
    with np.errstate(invalid="ignore"):  # candidates: also rows whose min or max is NaN
        inside = (summary.maxs <= limit).all(axis=1) & (summary.mins >= -limit).all(axis=1)
    for row in np.flatnonzero(~inside):
        sample = rows[row]
        with np.errstate(invalid="ignore"):
            big = np.flatnonzero(np.isfinite(sample) & (np.abs(sample) > limit))
        if big.size:
            yield int(row), big, float(np.abs(sample[big]).max())


@register("DS409", ERROR, "HDF5: value beyond float32 range (Caffe reads it as Inf)", "values",
          GARBAGE, fix="rescale or clip the values to float32 range before writing the file")
def beyond_float32(values: np.ndarray, summary: ValueSummary) -> dict[int, Problem]:
    """What it finds: finite values with |x| > 3.4e38 (the largest float32) in data wider than
    float32 (float64 and longer HDF5 datasets).

    Why it matters: Caffe reads HDF5 data as float32 (H5LTread_dataset_float), and HDF5's
    conversion turns every such value into +Inf or -Inf: the forward pass and the loss
    become inf or nan, although the file itself holds no Inf at all.

    Example: a float64 feature column of 1e160 left by a division by a near-zero norm.
    """
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return {}
    return {row: Problem("DS409", f"{len(big)} values beyond float32 range (|x| > 3.4e38), "
                         f"largest {largest:.6g}: Caffe reads them as Inf",
                         {"count": len(big), "first_positions": big[:_MAX_POSITIONS].tolist()})
            for row, big, largest in _beyond(values, summary, FLOAT32_MAX)}


@register("DS103", WARNING, "constant sample (every value equal)", "values",
          fix=("Look at the record's source image: a blank frame or a failed crop; drop it unless"
               " it is meant to be there."))
def constant_sample(values: np.ndarray, summary: ValueSummary) -> dict[int, Problem]:
    """What it finds: a sample whose values are all equal, e.g. an all-black image or an
    all-zero feature vector.

    Why it matters: it carries no signal; many such samples usually mean a failed read or
    a padding bug in the conversion script.

    Example: a 3x32x32 raw datum whose 3072 bytes are all 0.
    """
    if values.shape[1] * values.shape[2] < 2:
        return {}
    lows, highs = summary.mins.min(axis=1), summary.maxs.max(axis=1)
    return {int(row): Problem("DS103", f"every value equals {lows[row].item():.6g}",
                              {"value": lows[row].item()})
            for row in np.flatnonzero(lows == highs)}


VALUE_CHECKS = (non_finite, beyond_float16, beyond_float32, constant_sample)
# the checks that read values beyond the summary: each only those of samples that hold a
# value not finite or beyond float16's range, which their summary shows
_READING = (non_finite, beyond_float16, beyond_float32)


def value_problems(values, summary: ValueSummary) -> list[tuple[int, Problem]]:
    """(row, problem) of every value check, check by check. Samples left in their records
    (scanner.record_batches.TaggedRows) are copied out only where a check will look."""
    if isinstance(values, np.ndarray):
        return [(row, problem) for check in VALUE_CHECKS
                for row, problem in check(values, summary).items()]
    with np.errstate(invalid="ignore"):
        inside = (summary.maxs <= FLOAT16_MAX).all(axis=1) & \
            (summary.mins >= -FLOAT16_MAX).all(axis=1)
    looked_at = np.flatnonzero(~inside)
    part, part_summary = values.take(looked_at), summary.rows(looked_at)
    found = []
    for check in VALUE_CHECKS:
        if check not in _READING:
            found += check(values, summary).items()
        elif len(looked_at):
            found += [(int(looked_at[row]), problem)
                      for row, problem in check(part, part_summary).items()]
    return found
