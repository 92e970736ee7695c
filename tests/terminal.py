"""Running dscan under a real pseudo-terminal, as a person at a terminal would."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def on_a_terminal(args: list[str], columns: int = 100, **env) -> tuple[int, str]:
    """Run `python -m scanner ARGS` with stdin, stdout and stderr on a pseudo-terminal of
    `columns` columns; its exit status and everything it wrote there (terminal line ends).
    COLUMNS, NO_COLOR and FORCE_COLOR come only from `env`."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    process = subprocess.Popen([sys.executable, "-m", "scanner", *args], stdin=slave,
                               stdout=slave, stderr=slave, cwd=ROOT,
                               env={**environment, "TERM": "xterm", **env})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.wait(60), b"".join(chunks).decode()
