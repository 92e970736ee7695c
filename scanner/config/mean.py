"""Read a mean file (`mean.binaryproto`) as Caffe's DataTransformer loads it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..checks.mean_checks import mean_non_finite, mean_unusable
from ..errors import WireFormatError
from .blobproto import BlobProto, decode_blob
from .findings import ConfigFinding, place


@dataclass
class MeanFile:
    path: str
    blob: BlobProto | None  # None when the file is not a BlobProto at all
    findings: list[ConfigFinding] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Would Caffe load it (shape and value count agree)? Only then compare shapes."""
        return self.blob is not None and not any(f.code == "DS602" for f in self.findings)

    def as_json(self) -> dict:
        info: dict = {"path": self.path, "loads": self.usable}
        if self.blob is None:
            return info
        blob = self.blob
        values = blob.values
        info.update(shape=blob.shape, caffe_chw=list(blob.chw), values=int(len(values)),
                    value_type="double" if values.dtype == np.float64 else "float")
        if self.usable and len(values):
            per_channel = _per_channel(blob)
            info["channels"] = [{"mean": _number(row.mean()), "min": _number(row.min()),
                                 "max": _number(row.max())} for row in per_channel]
        return info


def read_mean(path: str, where: str | None = None) -> MeanFile:
    """Decode and check a mean file; `where` is how findings name it (default: its path)."""
    where = where or path
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return MeanFile(path, None, [place(mean_unusable(f"cannot read: {exc.strerror}"),
                                           where)])
    try:
        blob = decode_blob(raw)
    except WireFormatError as exc:
        return MeanFile(path, None, [place(mean_unusable(f"not a BlobProto: {exc}"), where)])
    mean = MeanFile(path, blob)
    problem = _shape_problem(blob)
    if problem:
        mean.findings.append(place(mean_unusable(problem), where))
    problem = mean_non_finite(blob.values)
    if problem:
        mean.findings.append(place(problem, where))
    return mean


def _shape_problem(blob: BlobProto) -> str | None:
    shape, values = blob.shape, blob.values
    if any(dim < 0 for dim in shape):
        return f"negative dimension in shape {shape}"
    if len(shape) > 4:
        return f"{len(shape)}-D shape {shape}: Caffe's mean handling takes at most 4 axes"
    count = math.prod(shape)
    if count != len(values):
        return f"shape {shape} holds {count} values but the file has {len(values)}"
    return None  # it loads; `dscan net` compares what Caffe makes of it (`caffe_chw`)


def _per_channel(blob: BlobProto) -> np.ndarray:
    """Values grouped by Caffe's channel axis: (channels, everything else)."""
    c = blob.legacy_dim(1)
    values = blob.values.reshape(blob.legacy_dim(0), c, -1).astype(np.float64)
    return values.transpose(1, 0, 2).reshape(c, -1)


def _number(value) -> float | None:
    value = float(value)
    return round(value, 4) if math.isfinite(value) else None
