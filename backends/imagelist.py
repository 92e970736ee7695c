"""Image list files as Caffe's ImageData layer reads them: one `path label` line per image,
paths relative to the working directory (after `root_folder`), read in list order.

Lines are split as Caffe does: the label is what follows the last space, read with atoi
(so a bad label silently becomes a number), and the path is everything before it.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Iterator

from scanner.kinds import suggestion
from scanner.errors import InputNotFoundError, WrongKindError
from scanner.settings import ScanSettings
from scanner.types import Shard

from .keyrange import SMALL_STORE_BYTES, SMALL_STORE_RECORDS

_ATOI = re.compile(rb"[ \t\n\v\f\r]*([+-]?\d+)")


def read_lines(path: str) -> list[bytes]:
    """The list's lines as std::getline gives them (no trailing empty line)."""
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        raise WrongKindError(f"{path}: is a directory; dscan images expects a list file of "
                             f"'path label' lines{suggestion(path, 'dscan images')}")
    with open(path, "rb") as handle:
        data = handle.read()
    if b"\0" in data[:1 << 20]:
        raise WrongKindError(f"{path}: a binary file, not a list of 'path label' lines"
                             f"{suggestion(path, 'dscan images')}")
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def split_line(line: bytes) -> tuple[bytes, int, bool]:
    """(image path, label as Caffe's atoi reads it, whether the label text is clean)."""
    space = line.rfind(b" ")
    path, text = (line, line) if space < 0 else (line[:space], line[space + 1:])
    match = _ATOI.match(text)
    label = _int32(int(match.group(1))) if match else 0
    clean = space >= 0 and re.fullmatch(rb"[+-]?\d+\r?", text) is not None
    return path, label, clean


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


class ImageListBackend:
    name = "images"
    record_format = "image"

    def __init__(self, path: str, settings: ScanSettings | None = None):
        self.path = path
        self.root_folder = (settings or ScanSettings()).root_folder
        self.lines = len(read_lines(path))

    def findings(self) -> list:
        return []

    def describe(self) -> dict:
        return {"backend": self.name, "path": self.path, "entries": self.lines,
                "root_folder": self.root_folder}

    def count(self) -> int:
        return self.lines

    def shards(self, count: int, limit: int | None = None, start: int = 0) -> list[Shard]:
        available = max(self.lines - start, 0)
        total = available if limit is None else min(limit, available)
        small = total < SMALL_STORE_RECORDS and self._bytes(start, total) < SMALL_STORE_BYTES
        parts = 1 if small else max(1, count)
        edges = [start + total * part // parts for part in range(parts + 1)]
        return [Shard(self.name, self.path, number, start=edges[number],
                      stop=edges[number + 1], prefix=self.root_folder)
                for number in range(parts) if edges[number + 1] > edges[number]]

    def _bytes(self, start: int, total: int) -> float:
        """The images' bytes, estimated from the sizes of up to 16 of them spread over the
        lines (files that cannot be read count 0: the scan reports them)."""
        lines = read_lines(self.path)[start:start + total]
        picked = lines[::max(1, len(lines) // 16)][:16]
        sizes, prefix = [], os.fsencode(self.root_folder)
        for line in picked:
            try:
                sizes.append(os.stat(prefix + split_line(line)[0]).st_size)
            except (OSError, ValueError):  # ValueError: a NUL byte in the path
                sizes.append(0)
        return sum(sizes) / max(len(sizes), 1) * total

    def close(self) -> None:
        """The list is read per use."""

    def cleanup(self) -> None:
        """Nothing was made to read the list."""

    @staticmethod
    @contextmanager
    def read(shard: Shard) -> Iterator[Iterator[tuple]]:
        lines = read_lines(shard.path)[shard.start:shard.stop]
        folder = os.path.dirname(os.path.abspath(shard.path))
        yield (_record(line, shard.prefix, folder) for line in lines)

    @staticmethod
    def keys_at(shard: Shard, positions: list[int]) -> dict[int, bytes]:
        lines = read_lines(shard.path)
        return {p: split_line(lines[shard.start + p])[0] for p in positions
                if shard.start + p < len(lines)}


def _record(line: bytes, prefix: str, list_folder: str) -> tuple[bytes, tuple]:
    """(key, (label, label text is clean, image bytes or None, why not))."""
    path, label, clean = split_line(line)
    full = os.fsencode(prefix) + path
    try:
        with open(full, "rb") as handle:
            return path, (label, clean, handle.read(), None)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return path, (label, clean, None, f"cannot read {os.fsdecode(full)!r}: {reason}"
                      f"{_found_elsewhere(path, prefix, list_folder)}")
    except ValueError:  # a NUL byte: no file has that name; imread would stop at it
        return path, (label, clean, None, f"cannot read {os.fsdecode(full)!r}: the path "
                      "holds a NUL byte (OpenCV's imread reads the name up to it)")


def _found_elsewhere(path: bytes, prefix: str, list_folder: str) -> str:
    """Where a missing file is after all, as the root folder to give (Caffe concatenates
    root_folder and the listed path as they are, with no separator)."""
    name = os.fsdecode(path)
    if prefix and not prefix.endswith("/") and os.path.exists(os.path.join(prefix, name)):
        return (f"; root_folder {prefix!r} lacks its trailing '/': with --root-folder "
                f"{prefix}/ (root_folder: \"{prefix}/\") it is found")
    for folder in (os.path.join(list_folder, prefix), list_folder):
        if os.path.exists(os.path.join(folder, name)):
            shown = os.path.relpath(folder).rstrip("/") + "/"
            return f"; it exists under {shown}: give --root-folder {shown} (root_folder: " \
                   f"\"{shown}\" in the net)"
    return ""
