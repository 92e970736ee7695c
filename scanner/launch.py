"""The `dscan` command: signals are caught before the scanner's imports, so that an
interrupt in the first moments of a run also ends with a report."""
from __future__ import annotations

import sys


def main() -> int:
    from . import interrupts

    interrupts.install()
    from .cli import main as cli_main
    status = cli_main()
    interrupts.ignore_from_now()
    return status


if __name__ == "__main__":
    sys.exit(main())
