"""The facts a training log is made of: events at an iteration, test passes, debug_info
values, and how non-finite values are told and spelled."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


def finite(value: float) -> bool:
    return value - value == 0.0  # False for NaN and +-inf, cheaper than math.isfinite


@dataclass
class Event:
    iteration: int | None
    line: str | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class TestPass:
    iteration: int
    net: int
    outputs: dict[str, float] = field(default_factory=dict)
    before_training: bool = False


@dataclass
class DebugHit:
    iteration: int | None  # known once the iteration's loss line arrives
    direction: str  # Forward / Backward / Update
    layer: str
    kind: str  # top / bottom / param
    blob: str
    value: float
    line: str
    phase: str  # TRAIN or TEST

    @property
    def non_finite(self) -> bool:
        return not finite(self.value)


def is_accuracy(name: str) -> bool:
    return "acc" in name.lower()


def spell(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"
