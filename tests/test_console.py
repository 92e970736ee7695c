"""Terminal layout: lines wrapped to the width and never cut, colour on a terminal only,
NO_COLOR / FORCE_COLOR; and once for real, dscan under a pseudo-terminal of 80 columns."""
import io

from scanner.report.console import Console, visible

from .terminal import on_a_terminal

MESSAGE = ("4 label runs in read order where a shuffle gives 49 (z = -13.3); longest run 16 "
           "records; the two halves share no class. Shuffle when converting "
           "(convert_imageset --shuffle; HDF5Data: shuffle: true)")


def _lines(width: int, text: str, **options) -> list[str]:
    out = io.StringIO()
    Console(out, width=width, colour=False).line(text, **options)
    return out.getvalue().splitlines()


def test_a_long_message_is_wrapped_whole_with_a_hanging_indent():
    lines = _lines(50, MESSAGE, indent=2, hanging=6)
    assert all(len(line) <= 50 for line in lines) and len(lines) > 2
    assert lines[0].startswith("  4 label") and all(l.startswith("      ") for l in lines[1:])
    assert " ".join(line.strip() for line in lines) == MESSAGE  # nothing cut, nothing lost


def test_a_long_key_is_never_broken():
    key = "00001497_" + "n" * 90 + ".JPEG"
    lines = _lines(60, f"#1497  {key}  truncated")
    assert key in lines[0] or any(key in line for line in lines)


def test_colour_follows_the_terminal_and_the_environment(monkeypatch):
    piped = io.StringIO()
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert not Console(piped).colour  # not a terminal: no colour
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert Console(piped).colour
    monkeypatch.setenv("NO_COLOR", "1")
    assert not Console(piped).colour  # NO_COLOR wins
    coloured = io.StringIO()
    Console(coloured, width=80, colour=True).line("DS202 error 2", marks={"error": "error"})
    assert "\x1b[1;31merror\x1b[0m" in coloured.getvalue()
    assert visible(coloured.getvalue()) == "DS202 error 2\n"


def _under_a_terminal(args: list[str], columns: int, **env) -> str:
    """Run dscan with its output on a pseudo-terminal of `columns` columns."""
    return on_a_terminal(args, columns, **env)[1].replace("\r\n", "\n")


def test_a_real_terminal_gets_wrapped_coloured_full_messages():
    args = ["lmdb", "sample_data/raw_lmdb", "--batch-size", "16", "--no-progress"]
    text = _under_a_terminal(args, 80)
    shown = visible(text)
    assert "\x1b[" in text  # coloured
    for line in shown.splitlines():  # a line runs over only where one word is longer
        assert len(line) <= 80 or len(max(line.split(), key=len)) > 80 - 17, line
    words = " ".join(shown.split())
    assert "(convert_imageset --shuffle; HDF5Data: shuffle: true)" in words
    plain = _under_a_terminal(args, 80, NO_COLOR="1")
    assert "\x1b[" not in plain and visible(plain) == plain
