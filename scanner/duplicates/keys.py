"""Keys of the records a duplicate finding shows, looked up by read-order index: in the
store still open after its scan, or in a store opened anew (a reference store)."""
from __future__ import annotations

import os
import backends

from ..errors import UsageError
from ..kinds import KINDS, kind_of


def live_keys(backend_class, shards: dict, totals):
    """Keys from the shards of the scan in progress (the store is still open)."""
    def keys_of(indices: list[int]) -> dict[int, bytes]:
        keys: dict[int, bytes] = {}
        for (number, offset), members in totals.locate(indices).items():
            found = backend_class.keys_at(shards[number], [i - offset for i in members])
            keys.update({position + offset: key for position, key in found.items()})
        return keys
    return keys_of


def reopened_keys(backend_name: str, path: str, settings):
    """Keys from the store opened again (its scan has ended), one shard at a time."""
    def keys_of(indices: list[int]) -> dict[int, bytes]:
        backend_class = backends.get(backend_name)
        store = backend_class(path, settings)
        try:
            shards = store.shards(1, settings.limit)
            store.close()
            return _in_shards(backend_class, shards, sorted(set(indices)))
        finally:
            store.cleanup()
    return keys_of


def _in_shards(backend_class, shards: list, indices: list[int]) -> dict[int, bytes]:
    keys: dict[int, bytes] = {}
    offset = 0
    for position, shard in enumerate(shards):
        last = position == len(shards) - 1
        size = None if last or not isinstance(shard.start, int) else shard.stop - shard.start
        members = [i - offset for i in indices if i >= offset and (size is None or
                                                                  i < offset + size)]
        if members:
            found = backend_class.keys_at(shard, members)
            keys.update({p + offset: k for p, k in found.items()})
        if size is None:
            break
        offset += size
    return keys


_BACKEND_OF = {"lmdb": "lmdb", "leveldb": "leveldb", "hdf5": "hdf5", "hdf5-list": "hdf5",
               "image-list": "images"}


def sniff_kind(path: str) -> str:
    """The backend of a store given by path only (`--against`)."""
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file or directory")
    kind = kind_of(path)
    if kind not in _BACKEND_OF:
        what = f"; it is {KINDS[kind][0]}" if kind else ""
        raise UsageError(f"{path}: not a store to check against (an LMDB, LevelDB, HDF5 "
                         f"file or list, or ImageData list){what}")
    return _BACKEND_OF[kind]
