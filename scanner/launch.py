"""The `dscan` command: signals are caught before the scanner's imports, so that an
interrupt in the first moments of a run also ends with a report.

The BLAS library numpy loads runs on one thread (unless the environment says otherwise):
the scan's parallelism is its worker processes, and OpenBLAS's own threads, spinning after
each small product, took CPU from them (raw 28x28, 1M records, 2 workers: 4.43 against 4.67 s
of CPU, 2.47 against 2.58 s of scan, medians of 6)."""
from __future__ import annotations

import atexit
import os
import sys
import threading

for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy is imported
    os.environ.setdefault(_variable, "1")


def main() -> int:
    from . import interrupts
    from .freed_memory import keep_freed_memory, no_huge_pages

    interrupts.install()
    keep_freed_memory()  # before the workers are forked: they inherit it
    no_huge_pages()  # for this process only: the workers take numpy's choice back
    from .cli import main as cli_main
    status = cli_main()
    interrupts.ignore_from_now()
    return status


def run() -> None:
    """The console command: `main`, then out without the interpreter's teardown of every
    module and object (about 40 ms, an eighth of a small scan's whole time). What the
    teardown would do that matters still happens: the exit handlers (logging's flush, the
    worker pools' and Dask's own), the flush of both standard streams. A thread still
    running that is not a daemon gets the usual exit, which waits for it."""
    status = main()
    if any(thread.is_alive() and not thread.daemon and thread is not threading.main_thread()
           for thread in threading.enumerate()):
        sys.exit(status)
    atexit._run_exitfuncs()
    status = _flushed(status)
    os._exit(status)


def _flushed(status: int) -> int:
    """Flush what is still buffered for standard output (e.g. `dscan checks`, which prints
    as it goes) and error; the status it leaves, as the run would have ended with it: a
    reader that stopped (a broken pipe) as in cli.main, a failed write as one error line."""
    from .status import EXIT_FINDINGS, EXIT_USAGE

    try:
        if sys.stdout is not None:  # None: started with the stream closed
            sys.stdout.flush()
    except BrokenPipeError:
        status = EXIT_FINDINGS
    except (OSError, ValueError) as exc:
        print(f"dscan: error: cannot write to standard output: "
              f"{getattr(exc, 'strerror', None) or exc}", file=sys.stderr)
        status = EXIT_USAGE
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):  # nowhere left to say anything
        pass
    return status


if __name__ == "__main__":
    run()
