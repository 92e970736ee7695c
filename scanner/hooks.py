"""Test hooks: faults a test can make a worker suffer on a chosen record. Unset in normal
use, they cost one check per record inspected on the spot."""
from __future__ import annotations

import os
import signal

# The worker kills itself (SIGKILL) on the record with this key, as the OOM killer or a
# segfaulting decoder would.
KILL_HOOK = "DSCAN_TEST_KILL_ON_KEY"
# Inspecting the record with this key corrupts the worker: it dies `DELAY` records later,
# as it would after a decoder overran its heap.
KILL_LATER_HOOK = "DSCAN_TEST_KILL_LATER_ON_KEY"
KILL_LATER_DELAY = 3
# Inspecting the record with this key raises, as a buggy decoder would.
RAISE_HOOK = "DSCAN_TEST_RAISE_ON_KEY"


class Hooks:
    """The hooks set in the environment of this worker."""

    def __init__(self) -> None:
        self.kill_on = os.environ.get(KILL_HOOK, "").encode() or None
        self.kill_later_on = os.environ.get(KILL_LATER_HOOK, "").encode() or None
        self.raise_on = os.environ.get(RAISE_HOOK, "").encode() or None
        self.active = bool(self.kill_on or self.kill_later_on or self.raise_on)
        self.doomed_at: int | None = None

    def before_inspecting(self, position: int, key) -> bool:
        """Apply the hooks to the record at `position`; True if inspecting it must raise."""
        key = bytes(key)
        if key == self.kill_on or position == self.doomed_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if key == self.kill_later_on:
            self.doomed_at = position + KILL_LATER_DELAY
        return key == self.raise_on


def raise_for_test(*args) -> None:
    """What the raise hook runs instead of inspecting its record."""
    raise RuntimeError(f"{RAISE_HOOK} names this record")
