"""Standard output as a place reports go: a full or closed device is an error on the
output, one line and exit 2, like an error on the input."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterable

from .errors import DscanError

_closed: set[int] = set()  # standard descriptors that were closed when dscan started


class OutputError(DscanError, OSError):
    """A report or the summary cannot be written where it was asked to go."""


def guard_standard_streams() -> None:
    """Put /dev/null on a closed fd 0, 1 or 2, so that no file dscan opens later (a store's
    data.mdb!) becomes fd 1 and receives what a library prints."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            _closed.add(fd)
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def require_stdout(args) -> None:
    """Every command writes to standard output (the summary, or the JSON report with
    `--json -`): a closed one is refused before any work."""
    if 1 in _closed or sys.stdout is None:
        raise OutputError("standard output is closed; dscan writes its summary there "
                          "(redirect it, e.g. > summary.txt)")


@contextmanager
def writing_stdout():
    """Errors writing to standard output (a full device) become one OutputError; a broken
    pipe (a reader such as `head` that stopped) is left to the caller."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        # What is still buffered would fail again at exit: let it go to /dev/null.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") \
            from None


def write_text(target: str, chunks: Iterable[str], what: str) -> None:
    """Write a report's text to the file `target`, or to standard output for '-'; a file
    that cannot be written is one DscanError naming it and `what` it was to hold."""
    if target == "-":
        sys.stdout.writelines(chunks)
        return
    try:
        with open(target, "w", encoding="utf-8", newline="\n") as handle:
            handle.writelines(chunks)
    except OSError as exc:
        raise DscanError(f"{target}: cannot write {what}: {exc.strerror}") from None
