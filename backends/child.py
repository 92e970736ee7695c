"""Run one planning step in a forked child process: C libraries abort() on some corrupt
stores (liblmdb on a garbled page), and then the child dies, not the scan."""
from __future__ import annotations

import os
import pickle
from typing import Callable, TypeVar

T = TypeVar("T")


def in_child(step: Callable[[], T]) -> T | None:
    """`step()` computed in a forked child and sent back pickled; None if the child died
    or raised. The child never returns into the caller's code: it leaves with os._exit."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        status = 1
        try:
            os.close(read_end)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # a dying library's last words
            payload = pickle.dumps(step())
            with os.fdopen(write_end, "wb") as out:
                out.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        return None
    return pickle.loads(payload)
