"""Peak private (anonymous) memory of a process and its children, sampled from /proc.

RSS also counts the pages of files mapped read-only (an LMDB's data.mdb), which the kernel
drops at will; RssAnon is what the scan itself holds. Workers are children of the scan."""
from __future__ import annotations

import os
import threading

SAMPLE_S = 0.02


def _anon_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in (int(t) for t in os.listdir(f"/proc/{pid}/task")):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
    except OSError:
        pass
    return found


class PeakAnon:
    """Samples a process tree until stopped; `peak_kib` is the largest sum seen."""

    def __init__(self, pid: int):
        self.pid, self.peak_kib = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = [self.pid, *_children(self.pid)]
            self.peak_kib = max(self.peak_kib, sum(_anon_kib(pid) for pid in tree))
            self._stop.wait(SAMPLE_S)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak_kib
