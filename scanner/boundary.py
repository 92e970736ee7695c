"""The one error boundary of the record flows.

Third-party decoders raise whatever they like (KeyError, MemoryError, RuntimeError...).
Every unit of record work (one Datum, one image file, one HDF5 slab, one batch of deferred
Datums, one group of samples whose values are checked together) runs through `guarded`,
so that whatever one record makes a library raise becomes finding DS009 on that record and
the scan goes on. Nothing else in the record path catches broadly. DscanErrors pass: they
are the library's own verdicts (a store that cannot be read) and are handled above.
"""
from __future__ import annotations

import logging
import os
import traceback
from typing import Any, Callable

from .checks.registry import Problem
from .errors import DscanError

log = logging.getLogger("dscan")


def guarded(work: Callable[..., Any], failed: Callable[[Exception], Any], *args) -> Any:
    """`work(*args)`; if it raises anything but a DscanError, `failed(exception)` instead."""
    try:
        return work(*args)
    except DscanError:
        raise
    except Exception as exc:  # noqa: BLE001  (the boundary: any library error is the record's)
        return failed(exc)


def raised(exc: Exception, key, outcome: str = "not inspected") -> Problem:
    """The DS009 finding for a record whose inspection raised; the traceback goes to the log
    (shown with -v)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno} in {frames[-1].name}" \
        if frames else "?"
    log.debug("inspecting record %r raised:\n%s", None if key is None else bytes(key),
              "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip())
    message = str(exc)[:300]
    return Problem("DS009", f"inspecting the record raised {type(exc).__name__}: {message} "
                   f"(at {where}); {outcome}",
                   {"exception": type(exc).__name__, "message": message, "at": where})
