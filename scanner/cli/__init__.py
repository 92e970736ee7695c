"""Command line: argument parsing, the one place errors become messages and exit codes.

`scanner.cli:main` is the entry point; the parser lives in cli.parser, the options every
subcommand shares in cli.common, the store scans in cli.scan_command."""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from .. import interrupts
from ..errors import DscanError
from ..interrupts import Interrupted
from ..output import guard_standard_streams, require_stdout
from ..report import targets
from ..status import EXIT_FINDINGS, EXIT_INTERRUPTED
from .common import refuse_what_cannot_be_made
from .parser import CONFIG_COMMANDS, SCAN_COMMANDS, build_parser

__all__ = ["CONFIG_COMMANDS", "SCAN_COMMANDS", "build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    verbose = "-v" in (argv if argv is not None else sys.argv[1:])
    interrupts.install()  # a signal from here on ends with a report, once one can be written
    try:
        guard_standard_streams()
        return _dispatch(build_parser().parse_args(argv))
    except DscanError as exc:
        if verbose:
            traceback.print_exc()
        print(f"dscan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (Interrupted, KeyboardInterrupt):
        print("dscan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS
    finally:
        interrupts.uninstall()


def _dispatch(args: argparse.Namespace) -> int:
    require_stdout(args)
    refuse_what_cannot_be_made(args)
    targets.check(targets.named(args), getattr(args, "path", None))  # before any work
    if args.command not in SCAN_COMMANDS:
        interrupts.started()  # a signal during start-up ends these here
    if args.command in ("checks", "explain"):
        from .catalogue_command import run as run_catalogue
        return run_catalogue(args)
    if args.command == "log":
        from ..logs import command as log_command
        return log_command.run(args)
    if args.command in CONFIG_COMMANDS:
        from ..config_commands import run  # loads the scan machinery only when needed
        from .scan_command import settings
        return run(args, settings(args) if args.command != "mean" else None)
    from .scan_command import run as run_scan
    return run_scan(args)
