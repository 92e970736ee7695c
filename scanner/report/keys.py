"""Show store keys faithfully: UTF-8 keys as they are, other bytes escaped, never dropped."""
from __future__ import annotations


def key_text(key: bytes | None) -> str | None:
    """The key as JSON text: decoded UTF-8, or with undecodable bytes as \\xNN escapes."""
    if key is None:
        return None
    try:
        return key.decode("utf-8")
    except UnicodeDecodeError:
        return key.decode("utf-8", "backslashreplace")


def quoted_key(key) -> str:
    """A key for a message: its text (undecodable bytes as \\xNN) in quotes, never a Python
    bytes literal."""
    return "'" + printable(key_text(bytes(key))) + "'" if key is not None else "(none)"


def is_utf8(key: bytes) -> bool:
    try:
        key.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def printable(text: str | None) -> str:
    """Text safe for a terminal: control characters escaped, nothing shortened (the
    console wraps long lines)."""
    if text is None:
        return "-"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)
