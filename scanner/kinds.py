"""What a path is, from a look at its first bytes, so that a command given the wrong kind of
input can name the command that reads it: "this is a LevelDB: run `dscan leveldb PATH`"."""
from __future__ import annotations

import os
import re
import shlex

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_SNIFF_BYTES = 64 << 10
_PROTOTXT_NET = re.compile(rb"^\s*(layers?\s*[{<]|input\s*:|input_shape\s*[{<])", re.M)
_PROTOTXT_SOLVER = re.compile(rb"^\s*(base_lr|lr_policy|max_iter|train_net|test_net)\s*:", re.M)
_IMAGE_SUFFIX = re.compile(rb"\.(jpe?g|png|bmp|gif|tiff?|webp|ppm|pgm)$", re.I)

# kind -> (what to call it, the command that reads it)
KINDS = {
    "lmdb": ("an LMDB", "dscan lmdb"),
    "leveldb": ("a LevelDB", "dscan leveldb"),
    "hdf5": ("an HDF5 file", "dscan hdf5"),
    "hdf5-list": ("an HDF5 source list", "dscan hdf5"),
    "image-list": ("an ImageData list of 'path label' lines", "dscan images"),
    "net": ("a net prototxt", "dscan net"),
    "solver": ("a solver prototxt", "dscan solver"),
    "mean": ("a mean file (BlobProto)", "dscan mean"),
}


def kind_of(path: str) -> str | None:
    """One of KINDS, or None when the path is none of them (or cannot be read)."""
    try:
        if os.path.isdir(path):
            return _directory_kind(path)
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return None
    if os.path.basename(path) == "data.mdb":
        return "lmdb"
    if head.startswith(_HDF5_MAGIC):
        return "hdf5"
    try:
        if b"\0" not in head:
            head.decode("utf-8")
            return _text_kind(head)
    except UnicodeDecodeError:
        pass
    return "mean" if path.endswith(".binaryproto") else None


def _directory_kind(path: str) -> str | None:
    names = set(os.listdir(path))
    if "data.mdb" in names:
        return "lmdb"
    if "CURRENT" in names or any(n.startswith("MANIFEST-") for n in names):
        return "leveldb"
    return None


def _text_kind(head: bytes) -> str | None:
    if _PROTOTXT_SOLVER.search(head):  # before layers: a solver may hold its net inline
        return "solver"
    if _PROTOTXT_NET.search(head):
        return "net"
    lines = [line.strip() for line in head.splitlines() if line.strip()][:50]
    if not lines:
        return None
    if all(line.split()[0].lower().endswith((b".h5", b".hdf5")) for line in lines):
        return "hdf5-list"
    images = sum(1 for line in lines if _IMAGE_SUFFIX.search(line.rsplit(b" ", 1)[0]))
    if images >= max(1, len(lines) // 2):
        return "image-list"
    return None


def suggestion(path: str, command: str) -> str:
    """'; this is a LevelDB: run `dscan leveldb PATH`', or '' when the path is of no known
    kind, or already what `command` reads (an LMDB's data.mdb: its folder is)."""
    kind = kind_of(path)
    if kind is None:
        return ""
    what, right = KINDS[kind]
    target = (os.path.dirname(path) or ".") if kind == "lmdb" and os.path.isfile(path) \
        else path
    if right == command and target == path:
        return ""
    return f"; this is {what}: run `{right} {shlex.quote(target)}`"
