"""Command line: argument parsing, the one place errors become messages and exit codes."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback

from . import __version__
from .checks import CATALOGUE, matching
from .errors import DscanError, UsageError
from .progress import Progress
from .settings import ScanSettings
from .types import SEVERITY_RANK

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
SCAN_COMMANDS = {
    "lmdb": "scan a Caffe LMDB directory (data.mdb)",
    "leveldb": "scan a Caffe LevelDB directory (through a private snapshot)",
    "hdf5": "scan a Caffe HDF5Data source list (a text file of .h5 paths) or one .h5 file",
}
PLANNED_COMMANDS = {
    "net": "scan every data source of a train_val.prototxt with its own settings",
    "solver": "check a solver.prototxt's learning-rate schedule",
    "mean": "check a mean.binaryproto file",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def _codes(text: str) -> list[str]:
    prefixes = [part.strip().upper() for part in text.split(",") if part.strip()]
    for prefix in prefixes:
        if not matching([prefix]):
            raise argparse.ArgumentTypeError(f"no check code starts with {prefix!r}")
    return prefixes


def _scan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the store to scan")
    parser.add_argument("-j", "--jobs", type=_positive, default=_cores(),
                        help="worker processes (default: all cores, %(default)s here)")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report here ('-': stdout)")
    parser.add_argument("--num-classes", type=_positive, metavar="K",
                        help="labels must lie in [0, K)")
    parser.add_argument("--ignore-label", type=_integer, metavar="L",
                        help="a label value the loss ignores (allowed outside the range)")
    parser.add_argument("--batch-size", type=_positive, default=64, metavar="B",
                        help="batch size of the training net (default %(default)s)")
    parser.add_argument("--solvers", type=_positive, default=1, metavar="S",
                        help="solvers (GPUs) sharing the data source (default 1)")
    parser.add_argument("--imbalance-ratio", type=float, default=10.0, metavar="R",
                        help="DS306: most/least frequent class ratio to report (default 10)")
    parser.add_argument("--fail-on", choices=("error", "warning", "never"), default="error",
                        help="exit 1 when a finding has at least this severity (default error)")
    parser.add_argument("--select", type=_codes, action="extend", default=None, metavar="CODES",
                        help="report only these codes or prefixes, e.g. DS2,DS301")
    parser.add_argument("--ignore", type=_codes, action="extend", default=[], metavar="CODES",
                        help="do not report these codes or prefixes")
    parser.add_argument("--max-examples", type=_non_negative, default=20, metavar="N",
                        help="findings kept per code (counts stay exact; default 20)")
    parser.add_argument("--max-pixels", type=_positive, default=100_000_000, metavar="N",
                        help="refuse to decode images declaring more pixels (default 1e8)")
    parser.add_argument("--limit", type=_non_negative, metavar="N",
                        help="scan only the first N records in read order")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-q", "--quiet", action="store_true", help="summary lines only")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="more examples; tracebacks on errors")


def _hdf5_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data", metavar="NAME",
                        help="dataset of the data top (default: data)")
    parser.add_argument("--label", default="label", metavar="NAME",
                        help="dataset of the label top (default: label; 'none' for no label)")
    parser.add_argument("--background", type=_integer, default=0, metavar="C",
                        help="segmentation: the background class (default 0)")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dscan", description="Scan Caffe training datasets for records "
                     "that would crash a training run or silently poison it.")
    parser.add_argument("--version", action="version", version=f"dscan {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, text in SCAN_COMMANDS.items():
        scan_parser = commands.add_parser(name, help=text, description=text)
        _scan_options(scan_parser)
        if name == "hdf5":
            _hdf5_options(scan_parser)
    for name, text in PLANNED_COMMANDS.items():
        planned = commands.add_parser(name, help=f"{text} (not implemented yet)")
        planned.add_argument("rest", nargs=argparse.REMAINDER)
    listing = commands.add_parser("checks", help="list every check: code, severity, title")
    listing.add_argument("--markdown", action="store_true",
                         help="as the Markdown table the README carries")
    explain = commands.add_parser("explain", help="print what a check finds and why it matters")
    explain.add_argument("code")
    return parser


def checks_table() -> str:
    """The README's table of checks, generated from the registry so the two cannot drift."""
    rows = ["| code | severity | Caffe | finds |", "|---|---|---|---|"]
    for check in sorted(CATALOGUE.values(), key=lambda c: c.code):
        effect = {"crash": "crashes", "garbage": "trains on garbage"}.get(check.effect, "-")
        rows.append(f"| {check.code} | {check.severity} | {effect} | {check.title} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    verbose = "-v" in (argv if argv is not None else sys.argv[1:])
    try:
        return _dispatch(build_parser().parse_args(argv))
    except DscanError as exc:
        if verbose:
            traceback.print_exc()
        print(f"dscan: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("dscan: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FINDINGS


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "checks":
        print(checks_table() if args.markdown else "\n".join(
            f"{c.code}  {c.severity:<7}  {c.title}" for c in sorted(CATALOGUE.values(),
                                                                 key=lambda c: c.code)))
        return EXIT_CLEAN
    if args.command == "explain":
        check = CATALOGUE.get(args.code.upper())
        if check is None:
            raise UsageError(f"unknown check code {args.code!r}; 'dscan checks' lists them")
        print(f"{check.code} ({check.severity}): {check.title}\n\n{check.doc}")
        return EXIT_CLEAN
    if args.command in PLANNED_COMMANDS:
        raise UsageError(f"'dscan {args.command}' is not implemented yet in dscan {__version__};"
                         " 'dscan lmdb', 'dscan leveldb' and 'dscan hdf5' scan")
    return _run_scan(args)


def _settings(args: argparse.Namespace) -> ScanSettings:
    enabled = set(CATALOGUE) if args.select is None else matching(args.select)
    enabled -= matching(args.ignore)
    hdf5 = {}
    if args.command == "hdf5":
        hdf5 = {"data_top": args.data, "background": args.background,
                "label_top": None if args.label.lower() == "none" else args.label}
    return ScanSettings(num_classes=args.num_classes, ignore_label=args.ignore_label,
                        batch_size=args.batch_size, solvers=args.solvers,
                        max_examples=args.max_examples, enabled=frozenset(enabled),
                        max_pixels=args.max_pixels, limit=args.limit, fail_on=args.fail_on,
                        imbalance_ratio=args.imbalance_ratio, **hdf5)


def _exit_status(counts: dict, fail_on: str, partial: bool) -> int:
    if partial:
        return EXIT_INTERRUPTED
    if fail_on == "never":
        return EXIT_CLEAN
    floor = SEVERITY_RANK[fail_on]
    hit = any(n and SEVERITY_RANK[s] >= floor for s, n in counts.items())
    return EXIT_FINDINGS if hit else EXIT_CLEAN


def _run_scan(args: argparse.Namespace) -> int:
    from .report import json_report, terminal  # the scan machinery loads only for scans
    from .scan import scan

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="dscan[%(process)d]: %(levelname)s: %(message)s")
    settings = _settings(args)
    outcome = scan(args.command, args.path, settings, args.jobs,
                   Progress(enabled=not args.no_progress))
    counts = {}
    for (_, severity), n in outcome.totals.sink.counts.items():
        counts[severity] = counts.get(severity, 0) + n
    status = _exit_status(counts, settings.fail_on, outcome.partial)
    report = json_report.build(outcome, status)
    if args.json:
        _write_json(args.json, json_report.dumps(report))
    summary_out = sys.stderr if args.json == "-" else sys.stdout
    terminal.render(outcome, report, summary_out, examples=10 if args.verbose else 3,
                    quiet=args.quiet)
    return status


def _write_json(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text + "\n")
        return
    try:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        raise DscanError(f"{target}: cannot write the JSON report: {exc.strerror}") from None
