"""The report files a person named (--json, --html, --keys-out, --csv): checked before any
work starts, so that a long scan never ends in a folder it cannot write; written one by one
after it, a failure kept until the summary has been printed."""
from __future__ import annotations

import fnmatch
import os
import re
import sys
from typing import Callable, NamedTuple, TextIO

from ..errors import DscanError, UsageError
from ..kinds import KINDS, kind_of
from ..output import OutputError
from .keys import printable

# Files a key-value store keeps in its directory: a report must never replace one.
_STORE_FILES = ("data.mdb", "lock.mdb", "CURRENT", "LOCK", "LOG", "LOG.old", "MANIFEST-*",
                "*.log", "*.ldb", "*.sst")
_IMAGE = re.compile(r"\.(jpe?g|png|bmp|gif|tiff?|webp|ppm|pgm)$", re.I)


class Target(NamedTuple):
    option: str  # "--json"
    path: str
    folder: bool = False  # a directory to write into (--csv)


def named(args) -> list[Target]:
    """The report files the arguments name (stdout, '-', is no file)."""
    found = []
    for attribute, folder in (("json", False), ("html", False), ("keys_out", False),
                              ("csv", True)):
        path = getattr(args, attribute, None)
        if path and path != "-":
            found.append(Target("--" + attribute.replace("_", "-"), path, folder))
    return found


def check(wanted: list[Target], scanned: str | None = None) -> None:
    """Raise (one line) if a target cannot be written, is given twice, or would replace
    what is scanned."""
    seen: dict[str, str] = {}
    for target in wanted:
        where = os.path.realpath(target.path)
        if where in seen:
            raise UsageError(f"{target.option} {target.path}: also given to {seen[where]}; "
                             "each report needs its own file")
        seen[where] = target.option
        _writable(target)
        if scanned is not None and scanned != "-":
            _not_the_store(target, scanned)


def _writable(target: Target) -> None:
    path, option = target.path, target.option
    if target.folder:
        if os.path.isdir(path):
            if not os.access(path, os.W_OK | os.X_OK):
                raise OutputError(f"{option} {path}: the folder is not writable")
            return
        if os.path.exists(path):
            raise OutputError(f"{option} {path}: is not a folder")
    elif os.path.isdir(path):
        raise OutputError(f"{option} {path}: is a directory; name a file in it")
    elif os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise OutputError(f"{option} {path}: the file is not writable")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(f"{option} {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: the folder {parent} is not writable")


def _not_the_store(target: Target, scanned: str) -> None:
    """A report may go anywhere the person names, the store's own folder too, but never
    over the scanned input, a name a store directory keeps its own files under, or a file
    that holds data (an HDF5 file, a list, a prototxt, a mean file, an image: the files a
    list names among them)."""
    name = os.path.basename(target.path)
    parent = os.path.dirname(os.path.abspath(target.path))
    if os.path.isdir(scanned) and os.path.isdir(parent) and os.path.samefile(parent, scanned) \
            and any(fnmatch.fnmatchcase(name, pattern) for pattern in _STORE_FILES):
        raise UsageError(f"{target.option} {target.path}: is a file of the store being "
                         "scanned")
    if not os.path.isfile(target.path):
        return
    if os.path.exists(scanned) and os.path.samefile(target.path, scanned):
        raise UsageError(f"{target.option} {target.path}: is the input being scanned")
    kind = kind_of(target.path)
    if kind is not None or _IMAGE.search(name):
        what = KINDS[kind][0] if kind is not None else "an image"
        raise UsageError(f"{target.option} {target.path}: is {what}; a report never "
                         "replaces data (name a new file)")


class ReportFiles:
    """Writes the report files of a run, keeping what failed until the summary is out."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.failures: list[str] = []

    def write(self, path: str, write: Callable[[], None]) -> None:
        """Run `write`, which writes `path` ('-' : standard output, not named at the end)."""
        if path == "-":
            write()
            return
        try:
            write()
        except DscanError as exc:
            self.failures.append(str(exc))
        else:
            self.written.append(path)

    def announce(self, quiet: bool, out: TextIO | None = None) -> None:
        """The closing line naming each file written (not with -q)."""
        if self.written and not quiet:
            print("wrote " + ", ".join(printable(path) for path in self.written),
                  file=out or sys.stdout)

    def raise_failures(self) -> None:
        """One error naming every report that could not be written."""
        if self.failures:
            raise OutputError("; ".join(self.failures))

    def finish(self, quiet: bool, out: TextIO | None = None) -> None:
        self.announce(quiet, out)
        self.raise_failures()
