"""The patterns of the lines `dscan log` reads, and the small helpers that split them.

Each pattern starts with a literal, which the regex engine looks for before it tries the
rest; groups are few, because every group of every match costs an object. A line the
patterns do not find costs no Python at all."""
from __future__ import annotations

import functools
import re

from .glog import VALUE, number

_V = VALUE
# A debug value that may cross a threshold of 1e3 or more: non-finite, >= 4 integer
# digits, or an exponent of at least +03.
_BIG = (rb"(-?(?:[nN][aA][nN]|[iI][nN][fF])[^\n]*|\d{4,}[\d.]*(?:[eE][-+]?\d+)?"
        rb"|\d[\d.]*[eE]\+?0*(?:[3-9]|\d\d+)|\d\.#[A-Za-z]+)")
# Loss lines (`Iteration N (x iter/s, ...), loss = X`, or without the rate) and lr lines
# (`Iteration N, lr = X`), the rest of the line taken whole; Python splits the rest. The
# reference reading of these lines, used line by line where the rate moves.
ITERATION = re.compile(rb"Iteration (\d+)( \(|, l)([^\n]*)")


@functools.lru_cache(maxsize=16)
def display_lines(last_lr: bytes | None) -> re.Pattern:
    """Most of a log: the loss lines with a rate, (iteration, b"", loss), and the other
    lines ITERATION finds, (iteration, b", l", rest), but an lr line that repeats the last
    rate (`last_lr`, as ITERATION spells its rest), which takes no group at all. It reads
    a real Caffe line as ITERATION does; it differs on lines Caffe does not print: on a
    rate line with two `loss = ` it takes the last, and a second `Iteration N` in a line
    is not hidden by the first."""
    repeated = b"" if last_lr is None else rb"(?!" + re.escape(last_lr) + rb"\n)"
    return re.compile(rb"Iteration (\d+)(?: \([^\n]*loss = |(, l)" + repeated + rb")([^\n]*)")


# A test pass starts (`Iteration N, Testing net (#k)`) and prints its outputs: one pattern
TEST = re.compile(rb"Test(?:ing net \(#(\d+)\)| net output #(\d+): (\S+) = " + _V +
                  rb"(?: \(\* (\S+) = \S+ loss\))?)")
OUTPUT = rb"net output #(\d+): (\S+) = " + _V + rb"(?: \(\* (\S+) = \S+ loss\))?"
TRAIN_OUTPUT = re.compile(rb"Train " + OUTPUT)
TEST_OUTPUT = re.compile(rb"Test " + OUTPUT)
# debug_info lines: [Forward], [Backward] and [Update] (older Caffe) share "] Layer "
LAYER_BIG = re.compile(rb"\] Layer ([^,\n]+), (?:(top|bottom|param) blob ([^\n]*?) (?:data|diff)"
                       rb"|param (\S+) data): " + _BIG)
LAYER_ANY = re.compile(rb"\] Layer ([^,\n]+), (?:(top|bottom|param) blob ([^\n]*?) (?:data|diff)"
                       rb"|param (\S+) data): " + _V)
FATAL = re.compile(rb"\nF(?:\d{8}|\d{4}) [^\]\n]*\] ([^\n]*)")
ERROR = re.compile(rb"\nE(?:\d{8}|\d{4}) [^\]\n]*\] ([^\n]*)")
# glog's failure handler (a signal), and the stack trace glog prints after any fatal line:
# the crash is seen even in a log written without line prefixes.
SIGNAL = re.compile(rb"\*\*\* (?:Aborted at|SIG[A-Z]+ \(@|Check failure stack trace)[^\n]*")
RESUME = re.compile(rb"Resuming from ([^\n]*)")
SOLVING = re.compile(rb"\] Solving ?([^\n]*)")
GPUS = re.compile(rb"\] Using GPUs ([\d, ]+)")
BLOCK = re.compile(rb"Initializing (solver|net) from parameters:[^\n]*\n")

# A rare pattern whose literal has a byte most logs hold only a few times a MiB: memchr
# finds that byte (bytes.find of one byte) some thirty times faster than the regex engine
# finds the literal, so the regex is tried only where the literal is. debug_info's
# [Forward] lines make `F` common: past CANDIDATES places, the regex scans by itself.
LITERALS = {FATAL: (b"F", b"\nF"), SOLVING: (b"S", b"] Solving")}
CANDIDATES = 1024


def matches(pattern: re.Pattern, chunk: bytes, start: int, end: int) -> list[re.Match]:
    """`pattern.finditer(chunk, start, end)`, trying the regex only where the literal every
    match starts with is (matches do not overlap)."""
    if pattern not in LITERALS:
        return list(pattern.finditer(chunk, start, end))
    byte, literal = LITERALS[pattern]
    shift = literal.index(byte)
    found, after, seen = [], start, 0
    at = chunk.find(byte, start + shift, end)
    while at >= 0:
        seen += 1
        if seen > CANDIDATES:
            return found + list(pattern.finditer(chunk, after, end))
        if at - shift >= after and chunk.startswith(literal, at - shift):
            match = pattern.match(chunk, at - shift, end)
            if match is not None:
                found.append(match)
                after = match.end()
        at = chunk.find(byte, at + 1, end)
    return found


def train_outputs(raw: bytes) -> list[tuple[int, str, float, float | None]]:
    """The `Train net output` lines of a display block: (index, name, value, weight)."""
    return [(int(m.group(1)), m.group(2).decode("utf-8", "replace"), number(m.group(3)),
             None if m.group(4) is None else number(m.group(4)))
            for m in TRAIN_OUTPUT.finditer(raw)]


def lines_below(chunk: bytes, position: int, end: int) -> bytes:
    """The `Train net output` lines right below the line at `position`."""
    lines = []
    line_end = chunk.find(b"\n", position)
    while 0 <= line_end < end - 1:
        next_end = chunk.find(b"\n", line_end + 1)
        line = chunk[line_end + 1:next_end if next_end >= 0 else end]
        if b"Train net output #" not in line:
            break
        lines.append(line)
        line_end = next_end
    return b"\n".join(lines)


def value_at(text: bytes) -> float:
    """The number at the start of `text` (a line's rest may carry more after it)."""
    try:
        return float(text)
    except ValueError:
        first = text.split(None, 1)[0].rstrip(b",;") if text.strip() else b""
        return number(first) if first else float("nan")
