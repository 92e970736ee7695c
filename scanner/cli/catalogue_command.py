"""`dscan checks` and `dscan explain CODE`, as text or (--json) JSON."""
from __future__ import annotations

import argparse
import difflib

from ..checks import CATALOGUE, selected
from ..errors import UsageError
from ..report import catalogue, json_report, targets
from ..status import EXIT_CLEAN


def run(args: argparse.Namespace) -> int:
    files = targets.ReportFiles()
    if args.command == "checks":
        codes = selected(args.select, args.ignore)
        if args.json:
            files.write(args.json, lambda: json_report.write(
                args.json, catalogue.catalogue_json(codes)))
        if args.json != "-":
            print(catalogue.markdown_table(codes) if args.markdown else
                  catalogue.listing(codes))
        files.finish(args.quiet)
        return EXIT_CLEAN
    check = CATALOGUE.get(args.code.upper())
    if check is None:
        close = difflib.get_close_matches(args.code.upper(), list(CATALOGUE), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown check code {args.code!r}{hint}; 'dscan checks' lists them")
    if args.json:
        files.write(args.json, lambda: json_report.write(args.json, catalogue.as_json(check)))
    if args.json != "-":
        print(catalogue.explanation(check))
    files.finish(args.quiet)
    return EXIT_CLEAN
