"""Read `caffe train` output in chunks and hand each line that matters to a handler.

Speed comes from never looking at a line in Python unless it matters: the loss and lr
lines, most of a log, are taken in bulk (iterations.py); the rarer patterns each scan the
chunk once, those with a rare byte by memchr (patterns.matches), and those only needed
early (parameters) or until found (debug_info) stop running. Lines that match nothing are
skipped: an unknown line is never an error. Chunks end at a line end; the rest waits for
the next piece, so a pipe may deliver any number of bytes."""
from __future__ import annotations

import re
from typing import Protocol

from .glog import PREFIX, number
from .iterations import IterationLines
from .patterns import (BLOCK, ERROR, FATAL, GPUS, LAYER_ANY, LAYER_BIG, RESUME, SIGNAL,
                       SOLVING, TEST, matches)

LOOKBACK = 1 << 16  # bytes before `Solving` in which a `Resuming from` line belongs to it


class Handler(Protocol):
    """What the parser reports, in log order."""

    def iteration(self, iteration: int, loss: float, display: bool,
                  outputs: list | None = None) -> None: ...
    def display_lines(self, iterations: list[bytes], losses: list[float]) -> None: ...
    def learning_rate(self, iteration: int, value: float) -> None: ...
    def test_start(self, iteration: int, net: int) -> None: ...
    def test_output(self, index: int, name: str, value: float, weight: float | None) -> None: ...
    def debug(self, direction: str, layer: str, kind: str, blob: str, value: float,
              line: str) -> None: ...
    def fatal(self, line: str, errors: list[str]) -> None: ...
    def signal(self, line: str) -> None: ...
    def resume(self, text: str) -> None: ...
    def solving(self, name: str) -> None: ...
    def gpus(self, count: int) -> None: ...
    def done(self) -> None: ...
    def parameters(self, kind: str, text: str) -> None: ...
    def line_time(self, seconds: float, date: str) -> None: ...


class LogParser(IterationLines):
    """Feed bytes in any pieces; every complete line is parsed once, in order."""

    def __init__(self, handler: Handler, want_times: bool = False,
                 debug_threshold: float = 1e3):
        self.handler = handler
        self.want_times = want_times  # CSV tables need a time per row; nothing else does
        self.layer_pattern = LAYER_BIG if debug_threshold >= 1e3 else LAYER_ANY
        self.offset = 0  # bytes of the log before the current chunk
        self.prefixed_lines = 0  # lines with a glog prefix in the first 64 KiB
        self.first_bytes = b""
        self._last_lr = None
        self._steady_lr = True  # the rate did not change in the last lines read
        self._tail = b""  # the end of the previous piece, for looking back across pieces
        self._done_pending = False  # the log so far ends with `Optimization Done.`
        self._cursor = 0  # where _outputs_follow looks next in the current chunk
        self._rest = b"\n"  # a line end before the first line lets line-start patterns match
        self._block: tuple[str, list[bytes]] | None = None  # parameters still being read
        self._minor = [(TEST, self._test),
                       (self.layer_pattern, self._debug), (FATAL, self._fatal),
                       (SIGNAL, self._signal), (SOLVING, self._solving), (BLOCK, self._block_start),
                       (GPUS, self._gpus)]

    def feed(self, data: bytes) -> None:
        chunk = self._rest + data
        end = chunk.rfind(b"\n") + 1
        if end <= 1 and len(chunk) < (1 << 24):
            self._rest = chunk  # no complete line yet
            return
        if end <= 1:
            end = len(chunk)  # a line longer than 16 MiB: parse what there is
        last_line = chunk.rfind(b"\n", 0, end - 1) + 1
        if chunk.find(b", loss = ", last_line, end) >= 0 and \
                chunk.find(b"iter/s", last_line, end) < 0 and len(chunk) < (1 << 24):
            if last_line <= 1:  # a loss line without a rate: the next line tells what it is
                self._rest = chunk
                return
            end = last_line
        self._parse(chunk, end)
        if end - 1 >= LOOKBACK:  # one small copy, not two of the whole chunk
            self._tail = chunk[end - LOOKBACK:end]
        else:
            self._tail = (self._tail + chunk[1:end])[-LOOKBACK:]
        self._rest = b"\n" + chunk[end:]
        self.offset += end - 1

    def close(self) -> None:
        """Parse a last line that has no line end."""
        if len(self._rest) > 1:
            chunk = self._rest + b"\n"
            self._parse(chunk, len(chunk))
            self._rest = b"\n"
        if self._done_pending:
            self.handler.done()
        if self._block is not None:
            self._end_block()

    def _parse(self, chunk: bytes, end: int) -> None:
        # `Optimization Done.` matters only at the end of the log (did the last run end?):
        # it is looked for in the last piece parsed, not in every one.
        done = chunk.rfind(b"] Optimization Done.", max(1, end - (1 << 16)), end)
        if done >= 0 and chunk.find(b"] Iteration ", done, end) < 0:
            self._done_pending = True
        elif chunk.find(b"] Iteration ", max(1, end - (1 << 16)), end) >= 0:
            self._done_pending = False
        if len(self.first_bytes) < 1 << 16:
            head = chunk[1:min(end, (1 << 16) - len(self.first_bytes))]
            self.first_bytes += head
            self.prefixed_lines += len(PREFIX.findall(head))
        self._chunk, self._end, self._cursor = chunk, end, 0
        start = self._continue_block(chunk, end, 1) if self._block is not None else 1
        minor = self._minor_events(chunk, start - 1, end)  # from the line end before: a
        # line-start pattern also matches the first line
        for position, step, event in minor:
            self._iterations(chunk, start, position)
            step(event)
            start = position
        self._iterations(chunk, start, end)

    def _minor_events(self, chunk: bytes, start: int, end: int) -> list:
        """Matches of the rarer patterns, in log order."""
        found = []
        for pattern, step in self._minor:
            if step == self._debug and not self.handler.wants_debug or \
                    step in (self._block_start, self._gpus) and \
                    not self.handler.wants_parameters:
                continue
            found.extend((m.start(), step, m) for m in matches(pattern, chunk, start, end))
        found.sort(key=lambda item: item[0])
        return found

    def _time(self, position: int) -> None:
        chunk = self._chunk
        start = chunk.rfind(b"\n", 0, position) + 1
        prefix = PREFIX.search(chunk, start, position + 2)
        if prefix is not None:
            hours, minutes = int(prefix.group(3)), int(prefix.group(4))
            self.handler.line_time(hours * 3600 + minutes * 60 + float(prefix.group(5)),
                                   prefix.group(2).decode())

    def _line(self, match: re.Match) -> str:
        chunk = self._chunk
        start = chunk.rfind(b"\n", 0, match.start()) + 1
        end = chunk.find(b"\n", match.end())
        return chunk[start:end if end >= 0 else len(chunk)].decode("utf-8", "replace")

    def _test(self, m: re.Match) -> None:
        if m.group(1) is None:
            self.handler.test_output(int(m.group(2)), m.group(3).decode("utf-8", "replace"),
                                     number(m.group(4)),
                                     None if m.group(5) is None else number(m.group(5)))
            return
        chunk = self._chunk
        at = chunk.rfind(b"Iteration ", max(0, m.start() - 34), m.start())
        if at < 0 or not chunk[at + 10:m.start() - 2].isdigit():
            return
        if self.want_times:
            self._time(at)
        self.handler.test_start(int(chunk[at + 10:m.start() - 2]), int(m.group(1)))

    def _debug(self, m: re.Match) -> None:
        chunk, start = self._chunk, m.start()
        direction = next((name for name in ("Forward", "Backward", "Update")
                          if chunk.endswith(name.encode(), max(start - 9, 0), start)), None)
        if direction is None:
            return
        kind, blob = m.group(2), m.group(3)
        if kind is None:  # [Update] Layer conv1, param 0 data: ...; diff: ...
            kind, blob = b"param", m.group(4)
        self.handler.debug(direction, m.group(1).decode("utf-8", "replace"), kind.decode(),
                           blob.decode("utf-8", "replace"), number(m.group(5).split()[0]),
                           self._line(m))

    def _fatal(self, m: re.Match) -> None:
        line_start = m.start() + 1
        before = self._chunk[max(line_start - 4096, 0):line_start]
        errors = [e.group(0)[1:].decode("utf-8", "replace").rstrip()
                  for e in ERROR.finditer(b"\n" + before) if b"[Backward]" not in e.group(0)]
        self.handler.fatal(m.group(0)[1:].decode("utf-8", "replace").rstrip(), errors[-3:])

    def _signal(self, m: re.Match) -> None:
        self.handler.signal(m.group(0).decode("utf-8", "replace").rstrip())

    def _gpus(self, m: re.Match) -> None:
        """`caffe train --gpu 0,1` logs `Using GPUs 0, 1`: solvers that share the reader."""
        self.handler.gpus(len([g for g in m.group(1).split(b",") if g.strip()]))

    def _solving(self, m: re.Match) -> None:
        """A run starts. `Resuming from ...` comes a few lines before `Solving` (caffe.cpp
        restores the solverstate, then solves): it is looked for there, not in every line."""
        before = self._chunk[max(1, m.start() - LOOKBACK):m.start()]
        if len(before) < LOOKBACK:
            before = self._tail + before
        last = before.rfind(b"Resuming from ")
        if last >= 0 and before.find(b"] Solving", last) < 0:  # not a previous run's
            found = RESUME.match(before, last)
            self.handler.resume(found.group(1).decode("utf-8", "replace").strip())
        if self.want_times:
            self._time(m.start())
        self.handler.solving(m.group(1).decode("utf-8", "replace").strip())

    # Parameter blocks: the text after `Initializing ... from parameters:` has no prefix
    # and runs until the next prefixed line, possibly in a later chunk.
    def _block_start(self, m: re.Match) -> None:
        if self._block is None:
            self._block = (m.group(1).decode(), [])
            self._continue_block(self._chunk, self._end, m.end())

    def _continue_block(self, chunk: bytes, end: int, start: int) -> int:
        following = PREFIX.search(chunk, start, end)
        while following is not None and chunk[following.start() - 1] != 0x0A:
            following = PREFIX.search(chunk, following.end(), end)
        stop = end if following is None else following.start()
        self._block[1].append(chunk[start:stop])
        if following is not None:
            self._end_block()
        return stop

    def _end_block(self) -> None:
        kind, parts = self._block
        self._block = None
        self.handler.parameters(kind, b"".join(parts).decode("utf-8", "replace"))

