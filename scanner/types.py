"""Types shared by every stage: shards, findings, severities."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_RANK = {INFO: 0, WARNING: 1, ERROR: 2}

# What real Caffe does when it reaches a record with a given fault.
CRASH, GARBAGE, NO_EFFECT = "crash", "garbage", "none"
# Labels kept for the dataset analyses are class indices Caffe can hold: Datum labels are int32
# on the wire, image-list labels are read with atoi, and HDF5 labels beyond int32 are reported
# where they are read (DS301) and kept as missing. The sentinel lies outside int32, so it can
# never stand for a real label.
CLASS_INDEX_MIN, CLASS_INDEX_MAX = -(2 ** 31), 2 ** 31 - 1
MISSING_LABEL = -(2 ** 63)  # label of a record with no class index (int64 minimum)


@dataclass(frozen=True)
class Shard:
    """A contiguous piece of a store, in read order; the only thing sent to workers."""

    backend: str
    path: str
    number: int
    name: str | None = None  # how findings name this part of the store (an HDF5 list entry)
    start: Any = None  # inclusive bound (a key, or a row)
    stop: Any = None  # exclusive bound; None means "to the end"
    datasets: tuple[str, ...] = ()  # HDF5: the datasets (top blobs) to read
    prefix: str = ""  # image lists: the root_folder put before every listed path
    registered: bool = False  # LMDB: read as a reader registered in lock.mdb
    # Set after a worker died on this shard (see executor): positions whose inspection
    # killed the worker, and where reading the store itself killed it.
    crashed_at: tuple[int, ...] = ()
    reader_died_at: int | None = None
    # A probe run, to find which record corrupts a worker that dies later: only the records
    # at positions first..last are inspected, the read stops after last; no result is kept.
    probe: tuple[int, int] | None = None


@dataclass
class Finding:
    """One problem at one record (index in read order) or with the dataset as a whole."""

    code: str
    severity: str
    index: int | None
    key: bytes | None
    message: str
    detail: dict = field(default_factory=dict)
