"""`dscan log`: its options and its run, kept here so the CLI only has to hand them over."""
from __future__ import annotations

import argparse
import os
import sys

from ..errors import InputNotFoundError, UsageError
from ..output import writing_stdout
from ..report import targets

HELP = "read a Caffe training log: why the loss went NaN, and the records of that batch"


def add_parser(commands, parents=()) -> argparse.ArgumentParser:
    """`dscan log` and its options; `parents` hold the options every subcommand takes
    (--json, --html, -q, -v, --fail-on, --select/--ignore, --no-progress: no bar here)."""
    parser = commands.add_parser("log", help=HELP, description=HELP, parents=list(parents))
    parser.add_argument("path", metavar="LOG",
                        help="the output of 'caffe train' (a file, .gz too, or '-' for stdin)")
    parser.add_argument("--solver", metavar="FILE",
                        help="the solver.prototxt of the run: maps the iteration to records")
    parser.add_argument("--net", metavar="FILE",
                        help="the train_val.prototxt (instead of, or beside, --solver)")
    parser.add_argument("--root", metavar="DIR",
                        help="the directory caffe ran in, against which the prototxt's paths "
                             "resolve (default: the working directory)")
    parser.add_argument("--scan", action="store_true",
                        help="scan the records of the guilty batch with the normal checks")
    parser.add_argument("--solvers", type=int, metavar="S",
                        help="GPUs that trained together (default: the log's 'Using GPUs' "
                             "line, else 1)")
    parser.add_argument("--debug-threshold", type=float, default=1e3, metavar="X",
                        help="debug_info: a mean |x| above this is reported (default 1e3)")
    parser.add_argument("--csv", metavar="DIR",
                        help="write parse_log.py-style tables <log>.train and <log>.test here")
    parser.add_argument("-j", "--jobs", type=int, default=1,
                        help="worker processes for --scan (default 1)")
    return parser


def run(args: argparse.Namespace) -> int:
    from . import report, terminal
    from .analyse import LogRequest, analyse
    from .csv_tables import Tables

    if (args.solvers is not None and args.solvers < 1) or args.jobs < 1:
        raise UsageError("--solvers and --jobs must be at least 1")
    if args.scan and not (args.solver or args.net):
        raise UsageError("--scan needs --solver or --net: they name the data the run read")
    out = sys.stderr if args.json == "-" else sys.stdout
    outputs = {name: os.path.abspath(getattr(args, name)) for name in ("json", "html", "csv")
               if getattr(args, name) and getattr(args, name) != "-"}
    log_path = args.path if args.path == "-" else os.path.abspath(args.path)
    solver, net = (_existing(p) for p in (args.solver, args.net))
    if args.root is not None:
        if not os.path.isdir(args.root):
            raise InputNotFoundError(f"{args.root}: --root is not a directory")
        os.chdir(args.root)  # Caffe resolves the prototxt's paths against where it ran
    rows = Tables(outputs["csv"], args.path) if "csv" in outputs else None
    live = args.path == "-" and not args.quiet

    def notify(kind: str, text: str) -> None:
        if live:
            print(f"dscan log: {text}", file=out, flush=True)

    request = LogRequest(log_path, args.path, solver, net, args.scan, args.solvers,
                         args.debug_threshold, args.jobs, notify, rows)
    try:
        outcome = analyse(request)
    finally:
        if rows is not None:
            rows.close()
    built = report.build(outcome, args.fail_on, _enabled(args))
    files = targets.ReportFiles()
    with writing_stdout():
        if args.json:
            from ..report import json_report
            files.write(args.json, lambda: json_report.write(outputs.get("json", "-"), built))
        if "html" in outputs:
            from . import html
            files.write(args.html, lambda: html.write(outputs["html"], html.render(built)))
        if rows is not None:
            files.written.extend(rows.paths.values())
        terminal.render(built, out, args.quiet)
        files.announce(args.quiet, out)
    files.raise_failures()
    return built["exit_status"]


def _enabled(args: argparse.Namespace) -> set[str]:
    from ..checks import selected
    return selected(args.select, args.ignore)


def _existing(path: str | None) -> str | None:
    if path is None:
        return None
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    return os.path.abspath(path)
