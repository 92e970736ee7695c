"""Fresh memory, which the kernel clears page by page, taken as little as a scan can: the C
allocator told to keep the memory the scan frees, for its next allocation, and the
command's own process (not its workers) asking for no huge pages.

glibc's malloc gives a block above its mmap threshold (128 KiB at first, then the size of
the largest such block freed, up to 32 MiB) pages of its own and returns them on free, and
gives back the top of its heap once 2 thresholds of it are free. A scan allocates and frees
the same few sizes thousands of times (a batch's records joined, 1-2 MB; the parent's
results, the join's sorted copies, 8 MB for 1M records), and each time the pages came back
new: the kernel cleared them, a fault each 4 KiB. With the threshold at its ceiling and
the top kept up to TRIM_BYTES, the freed blocks are used again. 1M raw 28x28 records, 2
workers, these settings given in GLIBC_TUNABLES against none, medians of 8 rounds in turn:
3.99 s of CPU against 4.53 with the duplicate step, 3.56 against 3.82 without it (2.24
against 2.60 s, 2.09 against 2.19 s of scan); the parent's faults 42k against 48k, the
workers' 23k against 29k; the workers' peak 136 MB against 120 (README: "Freed memory
kept").

Only in dscan's own processes (the command and its local workers, not a Dask cluster's),
only with glibc, and not where the environment already says how malloc should behave.

numpy advises the kernel to back arrays of 4 MB or more with huge pages (2 MB, cleared
whole at the first touch, compacted for when memory is fragmented, as a page cache full of
the store leaves it). The parent's large arrays after a scan (the shards' results
concatenated, the join's sorted copies) live for milliseconds: there the huge pages cost
more than they give. 1M raw 28x28 records, 2 workers, rounds in turn: the merge and
the checks 145 ms against 161 with the duplicate step, 93 against 151 without it (medians;
the slowest round 154 against 242 ms). The workers keep numpy's choice (everywhere off,
their CPU came out higher in 10 of 16 rounds). Not where NUMPY_MADVISE_HUGEPAGE says
what numpy should do (README: "No huge pages in the command")."""
from __future__ import annotations

import ctypes
import os
import platform

MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's ceiling for it (64-bit)
TRIM_BYTES = 64 << 20  # free memory kept at the top of the heap
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_SAID_BY_ENVIRONMENT = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_done = False
_numpys_choice: list[bool] = []  # numpy's own setting, as the command found it


def keep_freed_memory() -> bool:
    """Set this process's malloc to keep what is freed (once); whether it was set."""
    global _done
    if _done:
        return True
    if platform.libc_ver()[0] != "glibc" or _environment_says():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and \
        bool(mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES))
    return _done


def _environment_says() -> bool:
    return any(name in os.environ for name in _SAID_BY_ENVIRONMENT) or \
        "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", "")


def no_huge_pages() -> bool:
    """This process's numpy told to advise no huge pages (once), its own choice kept for
    the workers (huge_pages_as_numpy_chose); whether it was told."""
    if _numpys_choice:
        return True
    setting = _numpy_setting()
    if setting is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    _numpys_choice.append(bool(setting(False)))  # it returns the setting it had
    return True


def huge_pages_as_numpy_chose() -> None:
    """In a worker forked from the command (which inherited no_huge_pages): numpy's own
    setting back. A worker that started afresh has it already."""
    setting = _numpy_setting()
    if _numpys_choice and setting is not None:
        setting(_numpys_choice[0])


def _numpy_setting():
    """numpy's switch of its huge-page advice (numpy 2: in _core; numpy.core, which numpy 2
    warns of, only where there is no _core), or None."""
    import numpy as np
    for name in ("_core", "core"):
        switch = getattr(getattr(getattr(np, name, None), "multiarray", None),
                         "_set_madvise_hugepage", None)
        if switch is not None:
            return switch
    return None
