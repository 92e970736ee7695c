"""The options every subcommand takes, defined once, and what each means where a command
has nothing for it to act on.

The rule, the same for every option: an option with nothing to act on is accepted and does
nothing (`--no-progress` where nothing is read, `--fail-on` for the catalogue); an option
that asks for an output the command cannot make is refused in one line that says what to use
instead (`--html` for a mean file).
"""
from __future__ import annotations

import argparse

from ..errors import UsageError
from .types import codes

COMMON = ("json", "html", "no_progress", "quiet", "verbose", "fail_on", "select", "ignore")

# (command, option) -> why that command cannot make the output the option asks for
_REFUSED = {
    ("mean", "html"): "dscan mean makes no HTML page (a mean file has no records to show); "
                      "use --json FILE",
    ("checks", "html"): "the catalogue has no HTML page; use --json FILE or --markdown",
    ("explain", "html"): "the catalogue has no HTML page; use --json FILE",
    ("net", "keys_out"): "dscan net reads several stores, and a key names a record of one: "
                         "give --keys-out to the scan of one store (dscan lmdb PATH "
                         "--keys-out FILE; the net report names each layer's source)",
}


def common_parser() -> argparse.ArgumentParser:
    """A parent parser holding the common options (argparse copies them into each
    subcommand, so they mean the same everywhere)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("common options (every subcommand)")
    group.add_argument("--json", metavar="FILE",
                       help="write the JSON report here ('-': stdout; the summary then goes "
                            "to stderr)")
    group.add_argument("--html", metavar="FILE",
                       help="write a self-contained HTML report here")
    group.add_argument("--no-progress", action="store_true",
                       help="no progress bar (commands that read no store show none anyway)")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="the summary lines only: no examples, statistics or closing "
                            "'wrote' line")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="more examples; tracebacks on errors; library output")
    group.add_argument("--fail-on", choices=("error", "warning", "never"), default="error",
                       help="exit 1 when a finding has at least this severity (default "
                            "error)")
    group.add_argument("--select", type=codes, action="extend", default=None,
                       metavar="CODES",
                       help="report only these codes or prefixes, e.g. DS2,DS301")
    group.add_argument("--ignore", type=codes, action="extend", default=[],
                       metavar="CODES", help="do not report these codes or prefixes")
    return parent


def refuse_what_cannot_be_made(args: argparse.Namespace) -> None:
    """One line for an option whose output this command cannot make, before any work."""
    for option in ("html", "keys_out"):
        if getattr(args, option, None) and (args.command, option) in _REFUSED:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag}: {_REFUSED[args.command, option]}")
    if args.command == "solver" and args.html and not args.with_net:
        raise UsageError("--html needs --with-net: the page shows the data of the net")
    if getattr(args, "keys_out", None) == "-" and args.json == "-":
        raise UsageError("--json - and --keys-out - would both write to standard output; "
                         "give one of them a file")
    if getattr(args, "keys_out", None) and args.fail_on == "never":
        raise UsageError("--keys-out lists the records with findings at or above "
                         "--fail-on, and --fail-on never names none")
