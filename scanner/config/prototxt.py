"""A reader for protobuf's text format as Caffe writes it (`train_val.prototxt`,
`solver.prototxt`): `name: value`, nested `name { ... }` (or `< ... >`), repeated fields,
`[a, b]` lists, `#` comments, quoted strings with C escapes.

It is schema-free: values keep the kind they were written as (string, number, identifier),
and the typed getters of `Message` say where a value of the wrong kind sits. A syntax error
names the file, line and column.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import PrototxtError

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\f\v]+|\n)
  | (?P<comment>\#[^\n]*)
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fF]?(?![\w.]))
  | (?P<ident>-?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<punct>[{}<>\[\]:,;])
""", re.VERBOSE)
_ESCAPES = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39,
            '"': 34, "?": 63}
_SPECIAL_FLOATS = {"inf": math.inf, "infinity": math.inf, "nan": math.nan}
_CLOSING = {"{": "}", "<": ">"}


class Ident(str):
    """An unquoted word: an enum value (TRAIN, LMDB, MAX) or a bool (true, false)."""


@dataclass
class Token:
    kind: str
    text: str
    line: int
    column: int


@dataclass
class Field:
    name: str
    value: object  # str, Ident, int, float or Message
    line: int
    column: int


@dataclass
class Message:
    """One message's fields in the order written; repeated fields appear several times."""

    fields: list[Field] = field(default_factory=list)
    path: str = "<text>"
    line: int = 1

    def has(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    def field(self, name: str) -> Field | None:
        """The last occurrence, which is what protobuf keeps for a singular field."""
        found = [f for f in self.fields if f.name == name]
        return found[-1] if found else None

    def where(self, name: str | None = None) -> str:
        found = self.field(name) if name else None
        return f"{self.path}:{found.line if found else self.line}"

    def message(self, name: str) -> Message:
        """A nested message; an empty one (all defaults) when it is not written."""
        return self._one(name, self._message, Message(path=self.path, line=self.line))

    def messages(self, name: str) -> list[Message]:
        return self._each(name, self._message)

    def text(self, name: str, default: str | None = None) -> str | None:
        return self._one(name, self._text, default)

    def texts(self, name: str) -> list[str]:
        return self._each(name, self._text)

    def ident(self, name: str, default: str | None = None) -> str | None:
        return self._one(name, lambda f: str(self._typed(f, Ident, "a name")), default)

    def word(self, name: str, default: str | None = None) -> str | None:
        """A string field or an enum name, whichever way it is written."""
        return self._one(name, lambda f: str(self._typed(f, str, "a name or string")), default)

    def number(self, name: str, default: float | None = None) -> float | None:
        return self._one(name, self._number, default)

    def numbers(self, name: str) -> list[float]:
        return self._each(name, self._number)

    def integer(self, name: str, default: int | None = None) -> int | None:
        return self._one(name, self._integer, default)

    def integers(self, name: str) -> list[int]:
        return self._each(name, self._integer)

    def flag(self, name: str, default: bool = False) -> bool:
        return self._one(name, self._flag, default)

    def _one(self, name: str, convert, default):
        found = self.field(name)
        return default if found is None else convert(found)

    def _each(self, name: str, convert) -> list:
        return [convert(f) for f in self.fields if f.name == name]

    def _message(self, found: Field) -> Message:
        return self._typed(found, Message, "a { ... } block")

    def _text(self, found: Field) -> str:
        return self._typed(found, str, "a quoted string", exclude=Ident)

    def _integer(self, found: Field) -> int:
        return self._typed(found, int, "a whole number")

    def _number(self, found: Field) -> float:
        value = found.value
        if isinstance(value, Ident) and value.lower().lstrip("-") in _SPECIAL_FLOATS:
            number = _SPECIAL_FLOATS[value.lower().lstrip("-")]
            return -number if value.startswith("-") else number
        return float(self._typed(found, (int, float), "a number"))

    def _flag(self, found: Field) -> bool:
        value = found.value
        if isinstance(value, Ident) and value.lower() in ("true", "t", "false", "f"):
            return value.lower() in ("true", "t")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise self._wrong(found, "true or false")

    def _typed(self, found: Field, kind, wanted: str, exclude=()):
        if isinstance(found.value, kind) and not (exclude and isinstance(found.value, exclude)):
            return found.value
        raise self._wrong(found, wanted)

    def _wrong(self, found: Field, wanted: str) -> PrototxtError:
        shown = "a { ... } block" if isinstance(found.value, Message) else repr(found.value)
        return PrototxtError(f"{self.path}:{found.line}:{found.column}: '{found.name}' must "
                             f"be {wanted}, not {shown}")


def parse(text: str, path: str = "<text>") -> Message:
    """Read a whole prototxt document into its top-level message."""
    return _Parser(_tokens(text, path), path).document()


def read(path: str) -> Message:
    """Read a prototxt file; a missing or unreadable file is a one-line error."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise PrototxtError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PrototxtError(f"{path}: is a directory, not a prototxt file") from None
    except OSError as exc:
        raise PrototxtError(f"{path}: cannot read: {exc.strerror}") from None
    return parse(text, path)


def _tokens(text: str, path: str) -> list[Token]:
    tokens, line, line_start, pos = [], 1, 0, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise PrototxtError(f"{path}:{line}:{pos - line_start + 1}: unexpected "
                                f"character {text[pos]!r}")
        kind, token_text = match.lastgroup, match.group()
        if kind == "space" and token_text == "\n":
            line, line_start = line + 1, match.end()
        elif kind not in ("space", "comment"):
            tokens.append(Token(kind, token_text, line, pos - line_start + 1))
        pos = match.end()
    tokens.append(Token("end", "", line, pos - line_start + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token], path: str):
        self.tokens, self.path, self.at = tokens, path, 0

    def document(self) -> Message:
        message = self.fields(closing=None, line=1)
        return message

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def error(self, token: Token, what: str) -> PrototxtError:
        seen = "the end of the file" if token.kind == "end" else repr(token.text)
        return PrototxtError(f"{self.path}:{token.line}:{token.column}: expected {what}, "
                             f"found {seen}")

    def fields(self, closing: str | None, line: int) -> Message:
        message = Message(path=self.path, line=line)
        while True:
            token = self.peek()
            if closing is not None and token.text == closing and token.kind == "punct":
                self.take()
                return message
            if token.kind == "end":
                if closing is None:
                    return message
                raise self.error(token, f"'{closing}' to close the block")
            message.fields.extend(self.one_field())

    def one_field(self) -> list[Field]:
        name = self.take()
        if name.kind != "ident" or name.text.startswith("-"):
            raise self.error(name, "a field name")
        colon = self.peek().text == ":" and self.peek().kind == "punct"
        if colon:
            self.take()
        token = self.peek()
        if token.kind == "punct" and token.text in _CLOSING:
            values = [self.block()]
        elif not colon:
            raise self.error(token, f"':' or '{{' after '{name.text}'")
        elif token.kind == "punct" and token.text == "[":
            values = self.listing()
        else:
            values = [self.scalar()]
        if self.peek().kind == "punct" and self.peek().text in ",;":
            self.take()
        return [Field(name.text, value, name.line, name.column) for value in values]

    def block(self) -> Message:
        opening = self.take()
        return self.fields(_CLOSING[opening.text], opening.line)

    def listing(self) -> list:
        self.take()
        values = []
        while not (self.peek().kind == "punct" and self.peek().text == "]"):
            if values:
                comma = self.take()
                if comma.text != ",":
                    raise self.error(comma, "',' or ']'")
            token = self.peek()
            values.append(self.block() if token.text in _CLOSING and token.kind == "punct"
                          else self.scalar())
        self.take()
        return values

    def scalar(self):
        token = self.take()
        if token.kind == "number":
            return _number(token.text)
        if token.kind == "ident":
            return Ident(token.text)
        if token.kind == "string":
            parts = [token]
            while self.peek().kind == "string":  # adjacent strings are one value
                parts.append(self.take())
            return "".join(_unquote(part, self.path) for part in parts)
        raise self.error(token, "a value")


def _number(text: str) -> int | float:
    body = text.rstrip("fF") if not text.lower().startswith(("0x", "-0x")) else text
    if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", body):
        return int(body, 16)
    if re.fullmatch(r"-?\d+", body) and not text.endswith(("f", "F")):
        return int(body)
    return float(body)


def _unquote(token: Token, path: str) -> str:
    body, out, pos = token.text[1:-1], bytearray(), 0
    while pos < len(body):
        char = body[pos]
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            pos += 1
            continue
        escape = body[pos + 1]
        if escape in _ESCAPES:
            out.append(_ESCAPES[escape])
            pos += 2
        elif escape in "01234567":
            digits = re.match(r"[0-7]{1,3}", body[pos + 1:]).group()
            out.append(int(digits, 8) & 0xFF)
            pos += 1 + len(digits)
        elif escape in "xX" and re.match(r"[0-9a-fA-F]", body[pos + 2:pos + 3]):
            digits = re.match(r"[0-9a-fA-F]{1,2}", body[pos + 2:]).group()
            out.append(int(digits, 16))
            pos += 2 + len(digits)
        else:
            raise PrototxtError(f"{path}:{token.line}:{token.column + pos + 1}: unknown "
                                f"escape '\\{escape}' in a string")
    return out.decode("utf-8", "surrogateescape")
