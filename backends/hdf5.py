"""HDF5 sources as Caffe's HDF5Data layer reads them: one .h5 file, or a source list of files.

Caffe opens list entries relative to its working directory; users usually mean relative to
the list. dscan tries the working directory first, then the list's folder, and says which it
used. File-level faults (missing dataset, first dimensions that differ, unsupported type,
unopenable file) are found while planning; rows are read in chunk-aligned slabs into reused
buffers, so memory does not grow with file size.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import h5py
import numpy as np

from scanner.checks.registry import Problem
from scanner.errors import InputNotFoundError, StoreReadError, WrongKindError
from scanner.settings import ScanSettings
from scanner.types import Shard

from .base import PlanningFinding

INT_MAX = 2 ** 31 - 1
SLAB_BYTES = 8 << 20  # rows read at once, per dataset
SMALL_SOURCE_BYTES = 32 << 20  # below this, one shard per file


@dataclass
class _File:
    entry: str
    path: str | None
    relative_to: str
    rows: int = 0
    row_bytes: int = 0
    chunk_rows: int = 1
    shapes: dict[str, tuple] = field(default_factory=dict)


def _open(path: str) -> h5py.File:
    return h5py.File(path, "r", locking=False)


def _list_entries(path: str) -> list[tuple[str, str | None, str]]:
    """(entry as written, resolved path or None, what it was resolved against)."""
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        raise WrongKindError(f"{path}: is a directory; dscan hdf5 expects an .h5 file or a "
                             "source list (a text file of .h5 paths)")
    if h5py.is_hdf5(path):
        return [(path, path, "given")]
    with open(path, "rb") as handle:
        raw = handle.read(1 << 20)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text:
        raise WrongKindError(f"{path}: neither an HDF5 file nor a source list of .h5 paths")
    entries = text.split()
    if not entries:
        raise WrongKindError(f"{path}: the source list names no file")
    list_dir = os.path.dirname(os.path.abspath(path))
    resolved = []
    for entry in entries:
        if os.path.isabs(entry):
            resolved.append((entry, entry if os.path.exists(entry) else None, "absolute"))
        elif os.path.exists(entry):
            resolved.append((entry, os.path.abspath(entry), "working directory"))
        elif os.path.exists(os.path.join(list_dir, entry)):
            resolved.append((entry, os.path.join(list_dir, entry), "list folder"))
        else:
            resolved.append((entry, None, "nowhere"))
    return resolved


def _find_elsewhere(handle: h5py.File, top: str) -> list[str]:
    found = []
    handle.visititems(lambda name, obj: found.append("/" + name)
                      if isinstance(obj, h5py.Dataset) and name.rsplit("/", 1)[-1] == top
                      else None)
    return found


def _check_file(handle: h5py.File, tops: list[str], plan: _File) -> list[Problem]:
    """File-level checks in the order Caffe's loader meets them."""
    problems = []
    for top in tops:
        if not isinstance(handle.get(top), h5py.Dataset):
            where = _find_elsewhere(handle, top)
            hint = f"; found at {', '.join(where[:3])}" if where else ""
            problems.append(Problem("DS401", f"no dataset '{top}' at the file root{hint}",
                                    {"dataset": top, "found_at": where[:10]}))
    if problems:
        return problems
    for top in tops:
        dataset = handle[top]
        enum = h5py.check_enum_dtype(dataset.dtype) is not None
        if enum or dataset.dtype.kind not in "fiu":
            problems.append(Problem("DS403", f"dataset '{top}' has type {dataset.dtype}"
                                    f"{' (enum)' if enum else ''}; Caffe reads float and integer",
                                    {"dataset": top, "dtype": str(dataset.dtype)}))
        elif dataset.size > INT_MAX:
            problems.append(Problem("DS405", f"dataset '{top}' has {dataset.size} elements, "
                                    f"over INT_MAX", {"dataset": top, "size": int(dataset.size)}))
        if dataset.ndim == 0:
            problems.append(Problem("DS403", f"dataset '{top}' is a scalar",
                                    {"dataset": top, "dtype": str(dataset.dtype)}))
    if problems:
        return problems
    counts = {top: handle[top].shape[0] for top in tops}
    if len(set(counts.values())) > 1:
        text = ", ".join(f"{top} {n}" for top, n in counts.items())
        return [Problem("DS402", f"first dimensions differ: {text}", {"first_dims": counts})]
    data = handle[tops[0]]
    plan.rows = data.shape[0]
    plan.shapes = {top: tuple(handle[top].shape[1:]) for top in tops}
    plan.row_bytes = sum(handle[top].dtype.itemsize * int(np.prod(plan.shapes[top]))
                         for top in tops)
    plan.chunk_rows = max((handle[top].chunks or (1,))[0] for top in tops)
    return []


class Hdf5Backend:
    name = "hdf5"
    record_format = "rows"

    def __init__(self, path: str, settings: ScanSettings | None = None):
        settings = settings or ScanSettings()
        self.path = path
        self.tops = [settings.data_top] + ([settings.label_top] if settings.label_top else [])
        self.files: list[_File] = []
        self.planning: list[PlanningFinding] = []
        self._plan(_list_entries(path))

    def _plan(self, entries) -> None:
        first_shapes: dict[str, tuple] | None = None
        rows = 0
        for entry, resolved, relative_to in entries:
            plan = _File(entry, resolved, relative_to)
            self.files.append(plan)
            problems = self._inspect(plan)
            if not problems and first_shapes is not None and plan.shapes != first_shapes:
                problems = [Problem("DS406", f"sample shape {plan.shapes} differs from the "
                                    f"first file's {first_shapes}",
                                    {"shapes": _listed(plan.shapes),
                                     "first": _listed(first_shapes)})]
            if relative_to == "list folder":
                self.planning.append(PlanningFinding(entry, Problem(
                    "DS407", f"'{entry}' exists only relative to the list file's folder; Caffe "
                    "resolves it against its working directory", {"resolved": resolved}),
                    rows))
            if problems:
                plan.rows = 0  # Caffe never gets rows from a file it dies on
                self.planning.extend(PlanningFinding(entry, p, rows) for p in problems)
                continue
            first_shapes = first_shapes or plan.shapes
            rows += plan.rows

    def _inspect(self, plan: _File) -> list[Problem]:
        if plan.path is None:
            return [Problem("DS404", f"'{plan.entry}' exists neither relative to the working "
                            "directory nor to the list file's folder")]
        try:
            with _open(plan.path) as handle:
                return _check_file(handle, self.tops, plan)
        except OSError as exc:
            return [Problem("DS404", f"cannot open '{plan.entry}': {exc}",
                            {"resolved": plan.path})]

    def findings(self) -> list[PlanningFinding]:
        return self.planning

    def describe(self) -> dict:
        return {"backend": self.name, "path": self.path, "entries": self.count(),
                "datasets": self.tops,
                "files": [{"entry": f.entry, "resolved": f.path, "relative_to": f.relative_to,
                           "rows": f.rows} for f in self.files]}

    def count(self) -> int:
        return sum(f.rows for f in self.files)

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        """Rows continue from one file of the list to the next, as HDF5Data reads them."""
        usable = [f for f in self.files if f.rows]
        total_bytes = sum(f.rows * f.row_bytes for f in usable)
        target = max(1, -(-self.count() // max(count, 1)))
        available = max(self.count() - start, 0)
        shards, remaining = [], available if limit is None else min(limit, available)
        skip = start
        for plan in usable:
            if skip >= plan.rows:
                skip -= plan.rows
                continue
            first, skip = skip, 0
            stop = min(plan.rows, first + remaining)
            step = stop - first if total_bytes < SMALL_SOURCE_BYTES else \
                max(plan.chunk_rows, -(-target // plan.chunk_rows) * plan.chunk_rows)
            for row in range(first, stop, max(step, 1)):
                shards.append(Shard(self.name, plan.path, len(shards), name=plan.entry,
                                    start=row, stop=min(row + step, stop),
                                    datasets=tuple(self.tops)))
            remaining -= stop - first
            if remaining <= 0:
                break
        return shards

    def close(self) -> None:
        """Files are opened per use."""

    def cleanup(self) -> None:
        """Nothing was made to read the files."""

    @staticmethod
    @contextmanager
    def read(shard: Shard) -> Iterator[Iterator[tuple[int, dict]]]:
        try:
            handle = _open(shard.path)
        except OSError as exc:
            raise StoreReadError(f"cannot open {shard.name}: {exc}", None) from None
        try:
            yield _slabs(handle, shard)
        finally:
            handle.close()

    @staticmethod
    def keys_at(shard: Shard, positions: list[int]) -> dict[int, bytes]:
        return {p: f"{shard.name}:{shard.start + p}".encode() for p in positions}


def _listed(shapes: dict) -> dict:
    return {top: list(shape) for top, shape in shapes.items()}


def _slabs(handle: h5py.File, shard: Shard) -> Iterator[tuple[int, dict]]:
    """Rows [start, stop) in chunk-aligned slabs, read into buffers reused between slabs."""
    datasets = {top: handle[top] for top in shard.datasets}
    row_bytes = sum(d.dtype.itemsize * int(np.prod(d.shape[1:])) for d in datasets.values())
    chunk = max((d.chunks or (1,))[0] for d in datasets.values())
    per_slab = max(chunk, SLAB_BYTES // max(row_bytes, 1) // chunk * chunk)
    buffers = {top: np.empty((per_slab, *d.shape[1:]), d.dtype) for top, d in datasets.items()}
    for first in range(shard.start, shard.stop, per_slab):
        last = min(first + per_slab, shard.stop)
        arrays = {}
        for top, dataset in datasets.items():
            view = buffers[top][:last - first]
            try:
                dataset.read_direct(view, np.s_[first:last], np.s_[0:last - first])
            except (OSError, ValueError) as exc:
                raise StoreReadError(f"cannot read rows {first}..{last - 1} of "
                                     f"{shard.name}/{top}: {exc}", None) from None
            arrays[top] = view
        yield first - shard.start, arrays
