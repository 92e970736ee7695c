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
from dataclasses import dataclass, field, replace
from typing import Iterator

import h5py
import numpy as np

from scanner.checks.registry import Problem
from scanner.kinds import kind_of, suggestion
from scanner.errors import InputNotFoundError, StoreReadError, WrongKindError
from scanner.settings import ScanSettings
from scanner.types import Shard

from .base import PlanningFinding
from .hdf5_tops import find_tops
from .keyrange import apportion, even_cuts

INT_MAX = 2 ** 31 - 1
SLAB_BYTES = 8 << 20  # rows read at once, all datasets together
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
    notes: list[Problem] = field(default_factory=list)  # findings that leave the rows usable


def _open(path: str) -> h5py.File:
    return h5py.File(path, "r", locking=False)


def _list_entries(path: str) -> list[tuple[str, str | None, str]]:
    """(entry as written, resolved path or None, what it was resolved against)."""
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        raise WrongKindError(f"{path}: is a directory; dscan hdf5 expects an .h5 file or a "
                             f"source list (a text file of .h5 paths){suggestion(path, 'dscan hdf5')}")
    if h5py.is_hdf5(path):
        return [(path, path, "given")]
    with open(path, "rb") as handle:
        raw = handle.read(1 << 20)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\0" in text or kind_of(path) not in (None, "hdf5-list"):
        raise WrongKindError(f"{path}: neither an HDF5 file nor a source list of .h5 paths"
                             f"{suggestion(path, 'dscan hdf5')}")
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


def _lookup(handle: h5py.File, top: str) -> tuple[object, Problem | None]:
    """The object a top names at the file root, or why the name leads nowhere."""
    try:
        found = handle.get(top)
    except (KeyError, RuntimeError, OSError) as exc:  # a soft-link loop, a dangling link
        link = handle.get(top, getlink=True)
        return None, Problem("DS401", f"'{top}' is a {type(link).__name__} that does not lead "
                             f"to a dataset: {exc}", {"dataset": top, "link": str(link)})
    if isinstance(found, h5py.Dataset):
        return found, None
    where = _find_elsewhere(handle, top)
    root = _root_datasets(handle)
    hint = f"; found at {', '.join(where[:3])}" if where else ""
    if root and not where:  # name the tops after what the file holds
        hint = (f"; the file root holds {', '.join(repr(name) for name in root[:8])}: name "
                "the layer's tops after them (dscan hdf5 --data NAME --label NAME)")
    return None, Problem("DS401", f"no dataset '{top}' at the file root{hint}",
                         {"dataset": top, "found_at": where[:10], "root_datasets": root[:50]})


def _root_datasets(handle: h5py.File) -> list[str]:
    """Names of the datasets at the file root (what the layer's tops could name)."""
    names = []
    for name in handle:
        try:
            if isinstance(handle.get(name), h5py.Dataset):
                names.append(name)
        except (KeyError, RuntimeError, OSError):  # a broken link: not a dataset
            continue
    return names


_TYPE_CLASSES = {getattr(h5py.h5t, name): f"H5T_{name}" for name in (
    "INTEGER", "FLOAT", "TIME", "STRING", "BITFIELD", "OPAQUE", "COMPOUND", "REFERENCE", "ENUM",
    "VLEN", "ARRAY")}


def _type_problems(top: str, dataset: h5py.Dataset) -> list[Problem]:
    """What Caffe's loader refuses in a dataset's type and dataspace."""
    type_class = dataset.id.get_type().get_class()  # what Caffe's loader switches on
    if type_class not in (h5py.h5t.INTEGER, h5py.h5t.FLOAT) or dataset.dtype.kind not in "fiu":
        name = _TYPE_CLASSES.get(type_class, str(type_class))
        return [Problem("DS403", f"dataset '{top}' has type {dataset.dtype} (HDF5 class "
                        f"{name}); Caffe reads float and integer",
                        {"dataset": top, "dtype": str(dataset.dtype), "class": name})]
    if dataset.shape is None:
        return [Problem("DS403", f"dataset '{top}' has a null dataspace (no shape, no values)",
                        {"dataset": top, "dtype": str(dataset.dtype), "dataspace": "null"})]
    if dataset.ndim == 0:
        return [Problem("DS403", f"dataset '{top}' is a scalar",
                        {"dataset": top, "dtype": str(dataset.dtype)})]
    if dataset.size > INT_MAX:
        return [Problem("DS405", f"dataset '{top}' has {dataset.size} elements, over INT_MAX",
                        {"dataset": top, "size": int(dataset.size)})]
    return []


def _check_file(handle: h5py.File, tops: list[str], plan: _File) -> list[Problem]:
    """File-level checks in the order Caffe's loader meets them."""
    found = [_lookup(handle, top) for top in tops]
    problems = [problem for _, problem in found if problem]
    if problems:
        return problems
    datasets = {top: dataset for top, (dataset, _) in zip(tops, found)}
    problems = [p for top, dataset in datasets.items() for p in _type_problems(top, dataset)]
    if problems:
        return problems
    counts = {top: dataset.shape[0] for top, dataset in datasets.items()}
    if len(set(counts.values())) > 1:
        text = ", ".join(f"{top} {n}" for top, n in counts.items())
        return [Problem("DS402", f"first dimensions differ: {text}", {"first_dims": counts})]
    plan.rows = counts[tops[0]]
    plan.shapes = {top: tuple(dataset.shape[1:]) for top, dataset in datasets.items()}
    plan.row_bytes = sum(dataset.dtype.itemsize * int(np.prod(plan.shapes[top]))
                         for top, dataset in datasets.items())
    plan.chunk_rows = min(max((d.chunks or (1,))[0] for d in datasets.values()),
                          max(plan.rows, 1))
    plan.notes = [Problem("DS408", f"dataset '{top}' has samples of shape {shape}: every "
                          "sample is empty", {"dataset": top, "shape": list(datasets[top].shape)})
                  for top, shape in plan.shapes.items() if plan.rows and 0 in shape]
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
        entries = _list_entries(path)
        self.found_tops = find_tops(entries) if settings.find_tops else None
        if self.found_tops:
            self.tops = self.found_tops.tops
        self._plan(entries)

    def settled(self, settings: ScanSettings) -> ScanSettings:
        """The settings the rows are checked with: the tops found, when none was named."""
        if not self.found_tops:
            return settings
        tops = self.found_tops.tops
        return replace(settings, data_top=tops[0], label_top=tops[1] if len(tops) > 1 else None)

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
            self.planning.extend(PlanningFinding(entry, p, rows) for p in plan.notes)
            first_shapes = first_shapes or plan.shapes
            rows += plan.rows

    def _inspect(self, plan: _File) -> list[Problem]:
        if plan.path is None:
            return [Problem("DS404", f"'{plan.entry}' exists neither relative to the working "
                            "directory nor to the list file's folder")]
        try:
            handle = _open(plan.path)
        except OSError as exc:
            return [Problem("DS404", f"cannot open '{plan.entry}': {exc}",
                            {"resolved": plan.path})]
        # The planning boundary of one list entry: whatever HDF5 or h5py raise on this file's
        # structure, the file gets a finding and the other files are still scanned.
        try:
            with handle:
                return _check_file(handle, self.tops, plan)
        except Exception as exc:  # noqa: BLE001 - see above
            plan.notes = []
            return [Problem("DS404", f"cannot read the structure of '{plan.entry}': "
                            f"{type(exc).__name__}: {exc}",
                            {"resolved": plan.path, "exception": type(exc).__name__})]

    def findings(self) -> list[PlanningFinding]:
        return self.planning

    def describe(self) -> dict:
        found = self.found_tops and self.found_tops.as_report()
        return {"backend": self.name, "path": self.path, "entries": self.count(),
                "datasets": self.tops, **({"found_tops": found} if found else {}),
                "files": [{"entry": f.entry, "resolved": f.path, "relative_to": f.relative_to,
                           "rows": f.rows} for f in self.files]}

    def count(self) -> int:
        return sum(f.rows for f in self.files)

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        """Shards of about equal bytes: apportioned to the files by size, each file cut on
        chunk boundaries; a small source is one shard per file. Rows continue from one file
        of the list to the next, as HDF5Data reads them: `start` skips rows across files."""
        available = max(self.count() - start, 0)
        files, remaining = [], available if limit is None else min(limit, available)
        skip = start
        for plan in (f for f in self.files if f.rows):
            if remaining <= 0:
                break
            if skip >= plan.rows:
                skip -= plan.rows
                continue
            first, skip = skip, 0
            files.append((plan, first, min(plan.rows - first, remaining)))
            remaining -= files[-1][2]
        sizes = [rows * plan.row_bytes for plan, _, rows in files]
        parts = [1] * len(files) if sum(sizes) < SMALL_SOURCE_BYTES else apportion(
            sizes, max(count, 1), [-(-rows // plan.chunk_rows) for plan, _, rows in files])
        shards = []
        for (plan, first, rows), pieces in zip(files, parts):
            cuts = even_cuts(rows, pieces, plan.chunk_rows)
            for low, high in zip(cuts, cuts[1:]):
                shards.append(Shard(self.name, plan.path, len(shards), name=plan.entry,
                                    start=first + low, stop=first + high,
                                    datasets=tuple(self.tops[:2])))
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
        return {p: f"{shard.name}:{shard.start + p}".encode() for p in positions
                if 0 <= p < shard.stop - shard.start}


def _listed(shapes: dict) -> dict:
    return {top: list(shape) for top, shape in shapes.items()}


def slab_rows(row_bytes: int, chunk_rows: int, shard_rows: int) -> int:
    """Rows read at once: as many as SLAB_BYTES holds (at least one), rounded down to whole
    chunks when a chunk fits in that budget, and never more than the shard has. A chunk shape
    never sizes a buffer: a 20-row dataset may declare chunks of 2^28 rows."""
    rows = max(1, SLAB_BYTES // max(row_bytes, 1))
    if chunk_rows <= rows:
        rows = rows // chunk_rows * chunk_rows
    return max(1, min(rows, shard_rows))


def _with_chunk_cache(handle: h5py.File, top: str) -> h5py.Dataset:
    """The dataset, opened so that one decompressed chunk stays cached between slabs: a
    filtered chunk bigger than HDF5's default cache (1 MiB) would otherwise be decompressed
    again for every slab that reads part of it."""
    dataset = handle[top]
    if not dataset.chunks or not dataset.id.get_create_plist().get_nfilters():
        return dataset
    chunk_bytes = dataset.dtype.itemsize * int(np.prod(dataset.chunks))
    if chunk_bytes <= 1 << 20:
        return dataset
    access = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    access.set_chunk_cache(521, chunk_bytes + (1 << 20), 1.0)
    return h5py.Dataset(h5py.h5d.open(handle.id, top.encode(), dapl=access))


def _slabs(handle: h5py.File, shard: Shard) -> Iterator[tuple[int, dict]]:
    """Rows [start, stop) in slabs bounded by SLAB_BYTES (chunk-aligned where chunks fit),
    read into buffers reused between slabs."""
    datasets = {top: _with_chunk_cache(handle, top) for top in shard.datasets}
    row_bytes = sum(d.dtype.itemsize * int(np.prod(d.shape[1:])) for d in datasets.values())
    chunk = max((d.chunks or (1,))[0] for d in datasets.values())
    per_slab = slab_rows(row_bytes, chunk, shard.stop - shard.start)
    buffers = {top: np.empty((per_slab, *d.shape[1:]), d.dtype) for top, d in datasets.items()}
    for first in range(shard.start, shard.stop, per_slab):
        last = min(first + per_slab, shard.stop)
        arrays = {}
        for top, dataset in datasets.items():
            view = buffers[top][:last - first]
            try:
                if view.size:
                    dataset.read_direct(view, np.s_[first:last], np.s_[0:last - first])
            except (OSError, ValueError) as exc:
                raise StoreReadError(f"cannot read rows {first}..{last - 1} of "
                                     f"{shard.name}/{top}: {exc}", None) from None
            arrays[top] = view
        yield first - shard.start, arrays
