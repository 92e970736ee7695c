"""The loss and lr lines of a log, most of its lines, for LogParser: while the learning
rate stays, one pattern finds the loss lines and passes over the lr lines (see
patterns.display_lines), the losses are converted in one call and a run of them goes to
the handler at once; where the rate moves, or a loss line has no rate, line by line."""
from __future__ import annotations

from .patterns import ITERATION, display_lines, lines_below, train_outputs, value_at


class IterationLines:
    """Part of LogParser: uses its handler, want_times, _last_lr, _steady_lr, _cursor,
    _end and _time."""

    def _iterations(self, chunk: bytes, start: int, end: int) -> None:
        """Loss and lr lines in chunk[start:end], most of a log's lines, as plain tuples
        from findall: in bulk while the rate stays, line by line where it moves."""
        if start >= end:
            return
        if self.want_times:
            self._timed_iterations(chunk, start, end)
            return
        if self._steady_lr:
            if self._display_lines(chunk, start, end):
                return
        last_lr = self._last_lr
        self._line_by_line(chunk, start, ITERATION.findall(chunk, start, end))
        self._steady_lr = self._last_lr == last_lr  # when the rate moves, it often goes on

    def _display_lines(self, chunk: bytes, start: int, end: int) -> bool:
        """The display lines of chunk[start:end], taken in bulk when the rate did not
        change; False (nothing done) when it did."""
        found = display_lines(self._last_lr).findall(chunk, start, end)
        if not found:
            return True
        iterations, others, texts = zip(*found)
        if b", l" not in others:
            self._display(chunk, start, list(iterations), _values(texts))
            return True
        if any(other and text[:1] == b"r" for _, other, text in found):
            return False  # a new rate: line by line
        shown, losses = [], []
        for iteration, other, text in found:
            if not other:
                shown.append(iteration)
                losses.append(text)
            elif text[:6] == b"oss = ":  # a loss line without a rate
                if shown:
                    self._display(chunk, start, shown, _values(losses))
                    shown, losses = [], []
                self._line_by_line(chunk, start, [(iteration, other, text)])
        if shown:
            self._display(chunk, start, shown, _values(losses))
        return True

    def _display(self, chunk: bytes, start: int, iterations: list[bytes],
                 values: list[float]) -> None:
        """Display lines with a rate, in a row; the first non-finite loss of the log is
        handed over on its own, with the train outputs printed below it."""
        handler = self.handler
        total = sum(values)
        if total - total == 0.0 or not handler.wants_outputs:
            handler.display_lines(iterations, values)
            return
        first = next((i for i, value in enumerate(values) if value - value != 0.0), None)
        if first is None:  # the sum overflowed: every loss is finite
            handler.display_lines(iterations, values)
            return
        if first:
            handler.display_lines(iterations[:first], values[:first])
        iteration = iterations[first]
        handler.iteration(int(iteration), values[first], True,
                          self._outputs_below(chunk, iteration, start))
        if first + 1 < len(values):
            self._display(chunk, start, iterations[first + 1:], values[first + 1:])

    def _line_by_line(self, chunk: bytes, start: int, found: list) -> None:
        """The lines of `_iterations` one by one: a learning rate that changed, a loss
        line without a rate (the forward-only pass at the end, or an older Caffe)."""
        handler = self.handler
        last_lr = self._last_lr
        shown, values = [], []  # display lines handed over together: iterations, losses
        wants_outputs = handler.wants_outputs
        for iteration, kind, rest in found:
            rate = kind == b" ("
            if rate:
                at = rest.find(b"loss = ")
                if at < 0:
                    continue
                text = rest[at + 7:]
            elif rest[:1] == b"r":  # lr = X
                if rest != last_lr:
                    if shown:
                        handler.display_lines(shown, values)
                        shown, values = [], []
                    last_lr = rest
                    handler.learning_rate(int(iteration), value_at(rest[4:]))
                continue
            elif rest[:6] == b"oss = ":
                text = rest[6:]
            else:
                continue
            try:
                value = float(text)
            except ValueError:
                value = value_at(text)
            if rate and (value - value == 0.0 or not wants_outputs):
                shown.append(iteration)
                values.append(value)
                continue
            if shown:
                handler.display_lines(shown, values)
                shown, values = [], []
            outputs = None
            if value - value != 0.0 and wants_outputs:  # the first NaN: which output
                outputs = self._outputs_below(chunk, iteration, start)
            handler.iteration(int(iteration), value,
                              rate or self._outputs_follow(chunk, iteration, start), outputs)
            wants_outputs = handler.wants_outputs
        if shown:
            handler.display_lines(shown, values)
        self._last_lr = last_lr

    def _outputs_below(self, chunk: bytes, iteration: bytes, start: int) -> list:
        found = chunk.find(b"Iteration " + iteration + b" (", start)
        if found < 0:
            found = chunk.find(b"Iteration " + iteration + b", loss", start)
        return train_outputs(lines_below(chunk, found, self._end)) if found >= 0 else []

    def _outputs_follow(self, chunk: bytes, iteration: bytes, start: int) -> bool:
        """A loss line without a rate is a display line of an older Caffe when train outputs
        follow it, or else the forward-only pass after the last iteration."""
        found = chunk.find(b"Iteration " + iteration + b", loss = ", max(start, self._cursor))
        if found < 0:
            return True
        self._cursor = chunk.find(b"\n", found) + 1
        following = chunk[self._cursor:chunk.find(b"\n", self._cursor)]
        return b"Train net output #" in following

    def _timed_iterations(self, chunk: bytes, start: int, end: int) -> None:
        """The same with each line's time and train outputs, for the CSV tables."""
        handler = self.handler
        for match in ITERATION.finditer(chunk, start, end):
            iteration, kind, rest = match.groups()
            self._time(match.start())
            if kind == b", l" and rest[:1] == b"r":
                handler.learning_rate(int(iteration), value_at(rest[4:]))
                continue
            at = rest.find(b"loss = ")
            if at < 0:
                continue
            outputs = train_outputs(lines_below(chunk, match.start(), end))
            handler.iteration(int(iteration), value_at(rest[at + 7:]),
                              kind == b" (" or bool(outputs), outputs)


def _values(texts) -> list[float]:
    try:
        return list(map(float, texts))
    except ValueError:  # `-nan` and `inf` convert; MSVC's `1.#QNAN` and junk do not
        return list(map(value_at, texts))
