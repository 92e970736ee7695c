"""What a glog line looks like: its prefix (old `I1109 12:00:00.123456  1234 file.cpp:42]`
and glog >= 0.6 `I20261201 ...`), its severity, and the values Caffe prints in it."""
from __future__ import annotations

import math
import re

# The prefix anywhere in a line: lines written by two threads at once can carry a second
# prefix in the middle, and tools (tee with timestamps, job schedulers) can put text before it.
PREFIX = re.compile(rb"([IWEF])(\d{8}|\d{4}) (\d\d):(\d\d):(\d\d(?:\.\d+)?) +(\d+) "
                    rb"([^\s:\]]+):(\d+)\] ")
VALUE = (rb"(-?(?:[nN][aA][nN]|[iI][nN][fF]|\d[\d.]*(?:[eE][-+]?\d+)?(?:#[A-Za-z]+)?)"
         rb"|[-+]?\.\d+(?:[eE][-+]?\d+)?)")


def number(text: bytes) -> float:
    """A value as Caffe prints it (`-nan`, `nan`, `inf`, `1e+03`)."""
    try:
        return float(text)
    except ValueError:  # MSVC spells them 1.#QNAN, 1.#IND, 1.#INF
        if b"INF" in text.upper():
            return -math.inf if text.startswith(b"-") else math.inf
        return math.nan


def is_finite(value: float) -> bool:
    return math.isfinite(value)


def shown(value: float | None) -> str | None:
    """A number for a report: Caffe's spelling for the non-finite ones."""
    if value is None:
        return None
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def seconds_of_day(match: re.Match) -> float:
    return int(match.group(3)) * 3600 + int(match.group(4)) * 60 + float(match.group(5))


def line_around(chunk: bytes, position: int) -> str:
    """The whole line of `chunk` that holds `position`, as text."""
    start = chunk.rfind(b"\n", 0, position) + 1
    end = chunk.find(b"\n", position)
    return chunk[start:end if end >= 0 else len(chunk)].decode("utf-8", "replace").rstrip()
