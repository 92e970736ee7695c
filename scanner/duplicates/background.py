"""Work started on a thread of its own, its result (or what it raised) fetched later: the
join's sorts and searches are compiled and release the GIL, so two of them, or one and the
dataset checks, run on two cores at once."""
from __future__ import annotations

import threading
from typing import Callable


def on_thread(work: Callable, name: str = "dscan-duplicates") -> Callable:
    """work() started on a daemon thread; the function returned waits for its result, or
    raises what it raised (to the caller, which has the boundary)."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((work(), None))
        except BaseException as exc:
            outcome.append((None, exc))

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def result():
        thread.join()
        found, exc = outcome[0]
        if exc is not None:
            raise exc
        return found
    return result
