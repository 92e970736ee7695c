"""Progress on stderr (records/s and ETA) when a person is watching, silence otherwise.

A phase that runs before the bar and can take seconds (LevelDB's private snapshot) gets one
line saying what runs, completed with its duration when the next phase starts, or erased
when the scan stops there (an error, an interrupt)."""
from __future__ import annotations

import shutil
import sys
import time


class Progress:
    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None
        self._phase: tuple[str, float] | None = None  # the phase line shown, since when

    def phase(self, text: str) -> None:
        """Say what runs now, until the next phase or the bar."""
        if not self.enabled:
            return
        self._end_phase(done=True)
        room = shutil.get_terminal_size().columns - 16  # one row, room for "done in" too
        if len(text) > room:  # a wrapped line could not be rewritten in place
            text = "..." + text[-max(room - 3, 10):]
        sys.stderr.write(f"{text} ...")
        sys.stderr.flush()
        self._phase = (text, time.perf_counter())

    def start(self, total: int | None) -> None:
        self._end_phase(done=True)
        if self.enabled:
            from tqdm import tqdm  # only when a bar is drawn: its import is 10% of start-up

            self.bar = tqdm(total=total, unit="rec", unit_scale=True, dynamic_ncols=True,
                            file=sys.stderr, desc="scanning")

    def update(self, records: int) -> None:
        if self.bar is not None:
            self.bar.update(records)

    def close(self) -> None:
        self._end_phase(done=False)
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _end_phase(self, done: bool) -> None:
        if self._phase is None:
            return
        text, began = self._phase
        self._phase = None
        sys.stderr.write(f"\r\x1b[K{text}: done in {time.perf_counter() - began:.1f} s\n"
                         if done else "\r\x1b[K")
        sys.stderr.flush()
