"""Argument types: whole numbers, sizes, check codes, each refused in one line."""
from __future__ import annotations

import argparse

from ..checks import matching


def positive(text: str) -> int:
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative(text: str) -> int:
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def codes(text: str) -> list[str]:
    prefixes = [part.strip().upper() for part in text.split(",") if part.strip()]
    for prefix in prefixes:
        if not matching([prefix]):
            raise argparse.ArgumentTypeError(f"no check code starts with {prefix!r}")
    return prefixes


def hash_distance(text: str) -> int:
    value = integer(text)
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError(f"must lie in 0..16, got {value}")
    return value


def size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, e.g. 256x256, got {text!r}")
    return int(parts[0]), int(parts[1])
