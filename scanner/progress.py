"""Progress on stderr (records/s and ETA) when a person is watching, silence otherwise."""
from __future__ import annotations

import sys


class Progress:
    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def start(self, total: int) -> None:
        if self.enabled:
            from tqdm import tqdm  # only when a bar is drawn: its import is 10% of start-up

            self.bar = tqdm(total=total, unit="rec", unit_scale=True, dynamic_ncols=True,
                            file=sys.stderr, desc="scanning")

    def update(self, records: int) -> None:
        if self.bar is not None:
            self.bar.update(records)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
