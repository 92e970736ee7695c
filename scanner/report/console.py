"""Terminal layout, in one place: lines wrapped to the terminal's width (never cut), colour
by severity on a terminal, NO_COLOR / FORCE_COLOR honoured."""
from __future__ import annotations

import os
import re
import textwrap
from typing import TextIO

PIPE_WIDTH = 100  # lines written to a file or a pipe (no terminal to ask)
MIN_WIDTH = 40
_STYLES = {"error": "1;31", "warning": "33", "info": "36", "ok": "32", "bold": "1",
           "dim": "2"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream
        return False


def _width(out: TextIO, terminal: bool) -> int:
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    if terminal:
        try:
            return max(MIN_WIDTH, os.get_terminal_size(out.fileno()).columns)
        except (OSError, ValueError, AttributeError):
            pass
    return PIPE_WIDTH


def _colour(terminal: bool) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    forced = os.environ.get("FORCE_COLOR")
    if forced is not None and forced not in ("", "0"):
        return True
    return terminal and os.environ.get("TERM") != "dumb"


def visible(text: str) -> str:
    """The text without its colour codes: what a person sees."""
    return _ANSI.sub("", text)


class Console:
    """Writes lines to `out`, each wrapped to the width with a hanging indent."""

    def __init__(self, out: TextIO, width: int | None = None, colour: bool | None = None):
        terminal = _is_terminal(out)
        self.out = out
        self.width = width or _width(out, terminal)
        self.colour = _colour(terminal) if colour is None else colour

    def style(self, text: str, style: str | None) -> str:
        """`text` in the colour of a severity (or "ok", "bold", "dim"), when colour is on."""
        if not self.colour or style not in _STYLES:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def line(self, text: str = "", indent: int = 0, hanging: int | None = None,
             marks: dict[str, str] | None = None) -> None:
        """Print `text` wrapped to the width: the first line indented by `indent`, the
        next ones by `hanging` (default: 4 more). Long words (keys, paths) are not broken:
        they run past the width rather than being cut. `marks` colours words (word ->
        style) once wrapping is done, so colour never changes where lines break."""
        hanging = indent + 4 if hanging is None else hanging
        lines = textwrap.wrap(text, self.width, initial_indent=" " * indent,
                              subsequent_indent=" " * hanging, break_long_words=False,
                              break_on_hyphens=False, replace_whitespace=False,
                              drop_whitespace=True) or [""]
        for number, wrapped in enumerate(lines):
            if marks and number == 0:
                for word, style in marks.items():
                    wrapped = wrapped.replace(word, self.style(word, style), 1)
            print(wrapped, file=self.out)
