"""HDF5 tops when none is named: HDF5Data reads the datasets its layer's tops name, so with
no layer to ask, dscan takes every root dataset of the list's first readable file whose
first dimension agrees with the others', and requires them in every file.

Roles, as a layer's tops have them: the first top is the data (its values are checked), the
second the label. `data` is the data top when the file has it, else the first name in order;
`label` is the label top when the file has it, else the next name; the others follow by
name. Datasets Caffe cannot read as a blob (strings, compounds, scalars) and those of
another first dimension are left out, each with the reason. When two groups of the same
size disagree on the first dimension, or a root link leads nowhere, nothing is chosen: the
default tops (`data`, `label`) are looked up as before and the findings say what the file
holds."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import h5py


@dataclass
class FoundTops:
    entry: str  # the list entry the datasets were taken from
    tops: list[str]
    rows: int
    left_out: dict[str, str] = field(default_factory=dict)  # dataset -> why not a top

    def as_report(self) -> dict:
        return {"from": self.entry, "rows": self.rows, "data": self.tops[0],
                "label": self.tops[1] if len(self.tops) > 1 else None,
                "others": self.tops[2:], "left_out": self.left_out}


def find_tops(entries: list[tuple[str, str | None, str]]) -> FoundTops | None:
    """The tops taken from the first list entry that opens (None: nothing clear to take)."""
    for entry, path, _ in entries:
        if path is None:
            continue
        try:
            with h5py.File(path, "r", locking=False) as handle:
                return _choose(entry, _candidates(handle))
        except Exception:  # noqa: BLE001 - any file HDF5 cannot read: planning reports it
            continue
    return None


def _candidates(handle: h5py.File) -> dict[str, tuple[int, None] | tuple[None, str]] | None:
    """Root dataset -> (first dimension, None), or (None, why it cannot be a top); None when
    a root link leads nowhere (what it meant to name is unknown: the default tops are
    looked up, and DS401 names the link)."""
    found = {}
    for name in sorted(handle):
        try:
            item = handle.get(name)
        except (KeyError, RuntimeError, OSError):  # a soft-link loop, a dangling link
            return None
        if item is None:  # a dangling soft link
            return None
        if not isinstance(item, h5py.Dataset):
            continue
        if item.dtype.kind not in "fiu" or item.id.get_type().get_class() not in (
                h5py.h5t.INTEGER, h5py.h5t.FLOAT):
            found[name] = (None, f"type {item.dtype} is no blob Caffe reads")
        elif item.shape is None or item.ndim == 0:
            found[name] = (None, "no first dimension (a scalar or an empty dataspace)")
        else:
            found[name] = (item.shape[0], None)
    return found


def _choose(entry: str, candidates: dict | None) -> FoundTops | None:
    if candidates is None:
        return None
    groups: dict[int, list[str]] = defaultdict(list)
    for name, (rows, _) in candidates.items():
        if rows is not None:
            groups[rows].append(name)
    if not groups:
        return None
    ranked = sorted(groups.items(), key=lambda item: len(item[1]), reverse=True)
    if len(ranked) > 1 and len(ranked[0][1]) == len(ranked[1][1]):
        return None  # e.g. data 100 rows, label 50: no group to prefer, Caffe would fail
    rows, names = ranked[0]
    left_out = {name: why for name, (_, why) in candidates.items() if why}
    left_out.update({name: f"first dimension {other}, not {rows}"
                     for other, group in groups.items() if other != rows for name in group})
    return FoundTops(entry, _ordered(names), rows, dict(sorted(left_out.items())))


def _ordered(names: list[str]) -> list[str]:
    rest = sorted(names)
    data = "data" if "data" in rest else next((n for n in rest if n != "label"), rest[0])
    rest.remove(data)
    label = "label" if "label" in rest else (rest[0] if rest else None)
    if label is not None:
        rest.remove(label)
    return [data] + ([label] if label else []) + rest
