"""The --keys-out file: the key of every record with a finding at or above --fail-on, the
input of a clean-up script.

One line per record, in read order: the key as a JSON string, a tab, the record's codes
(sorted, comma-separated):

    "00000007_cat/img.jpg"\tDS201,DS202

A key that is not UTF-8 keeps its bytes exactly: each undecodable byte is written as the
escape \\udc80..\\udcff (Python's surrogateescape), so that
`json.loads(field).encode("utf-8", "surrogateescape")` gives the key's bytes back (`read`
does that). HDF5 keys are `entry:row`, as in the report. Findings about no single record
(a store or file that cannot be read, a class never present) name no key and are not listed.
"""
from __future__ import annotations

import json
import re

from ..output import write_text

_SURROGATE = re.compile("[\udc80-\udcff]")


def line(key: bytes, codes) -> str:
    text = json.dumps(key.decode("utf-8", "surrogateescape"), ensure_ascii=False)
    text = _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return f"{text}\t{','.join(sorted(codes))}\n"


def lines(totals) -> list[str]:
    """The file's lines from a scan's totals (records whose key is unknown are left out:
    a writer changed the store under a scan before their keys were looked up)."""
    return [line(key, codes) for _, (key, codes) in sorted(totals.sink.flagged.items())
            if key is not None]


def write(target: str, totals) -> None:
    """Write the file, or to standard output for '-'."""
    write_text(target, lines(totals), "the keys")


def read(path: str) -> list[tuple[bytes, list[str]]]:
    """The (key bytes, codes) of a --keys-out file, as a clean-up script reads them."""
    found = []
    with open(path, encoding="utf-8", newline="\n") as handle:
        for text in handle:
            key, codes = text.rstrip("\n").rsplit("\t", 1)
            found.append((json.loads(key).encode("utf-8", "surrogateescape"),
                          codes.split(",")))
    return found
