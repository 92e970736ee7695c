"""Feed a log to the parser from a file (plain or gzip) or from stdin as it grows, in
bounded pieces; decide early whether it is a Caffe log at all."""
from __future__ import annotations

import gzip
import os
import sys
from typing import Iterator

from ..errors import InputNotFoundError, WrongKindError
from .parser import LogParser

PIECE = 1 << 20  # bytes read at once; a pipe returns what is there, so lines arrive as written
SNIFF = 1 << 16  # bytes after which a log without one glog line is refused


def pieces(path: str) -> Iterator[bytes]:
    """The log's bytes in pieces; '-' reads stdin without waiting for a full piece."""
    if path == "-":
        descriptor = sys.stdin.buffer.fileno()
        while True:
            data = os.read(descriptor, PIECE)
            if not data:
                return
            yield data
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        raise WrongKindError(f"{path}: is a directory; dscan log reads a training log file "
                             "(or '-' for stdin)")
    with open(path, "rb") as handle:
        magic = handle.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as handle:
            while True:
                data = handle.read(PIECE)
                if not data:
                    return
                yield data
    except (OSError, EOFError) as exc:
        raise WrongKindError(f"{path}: cannot read: {exc}") from None


def read_log(path: str, parser: LogParser, counts_as_log) -> int:
    """Parse the whole log; returns its size in bytes. `counts_as_log()` tells whether the
    handler has seen anything of a training run."""
    size = 0
    checked = False
    for data in pieces(path):
        size += len(data)
        parser.feed(data)
        if not checked and size >= SNIFF:
            checked = True
            _refuse_unless_log(path, parser, counts_as_log, size)
    parser.close()
    if not checked:
        _refuse_unless_log(path, parser, counts_as_log, size)
    return size


def _refuse_unless_log(path: str, parser: LogParser, counts_as_log, size: int) -> None:
    name = "stdin" if path == "-" else path
    if size == 0:
        raise WrongKindError(f"{name}: empty; expected the output of 'caffe train'")
    if parser.prefixed_lines == 0 and not counts_as_log():
        raise WrongKindError(f"{name}: not a Caffe training log (no glog line such as "
                             "'I1109 12:00:00.123456  1234 solver.cpp:228] ...' in the first "
                             f"{min(size, SNIFF) // 1024 or 1} KiB)")
