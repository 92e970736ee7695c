"""Command line: argument parsing, the one place errors become messages and exit codes."""
from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import traceback

from . import __version__, interrupts
from .checks import CATALOGUE, matching
from .errors import DscanError, InputNotFoundError, UsageError
from .interrupts import Interrupted
from .output import guard_standard_streams, require_stdout, writing_stdout
from .progress import Progress
from .report import catalogue
from .settings import ScanSettings
from .status import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INTERRUPTED

SCAN_COMMANDS = {
    "lmdb": "scan a Caffe LMDB directory (data.mdb)",
    "leveldb": "scan a Caffe LevelDB directory (through a private snapshot)",
    "hdf5": "scan a Caffe HDF5Data source list (a text file of .h5 paths) or one .h5 file",
    "images": "scan an ImageData list file ('path label' lines) and the images it names",
}
CONFIG_COMMANDS = {
    "net": "scan every data source of a train_val.prototxt with its own settings",
    "solver": "check a solver.prototxt's learning-rate schedule (and its net: --with-net)",
    "mean": "check a mean file (mean.binaryproto)",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(f"{message}{self._did_you_mean(message)} (see '{self.prog} --help')")

    def _did_you_mean(self, message: str) -> str:
        """'; did you mean --num-classes?' for a misspelt option, subcommand or choice."""
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            words = [w.split("=")[0] for w in unknown.group(1).split() if w.startswith("-")]
            known = self._all_options()
        else:
            choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
            if not choice:
                return ""
            words, known = [choice.group(1)], re.findall(r"'([^']*)'", choice.group(2))
        for word in words:
            close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
            if close:
                return f"; did you mean {close[0]}?"
        return ""

    def _all_options(self) -> list[str]:
        """Option strings of this parser and of its subcommands."""
        options = set(self._option_string_actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    options |= set(sub._option_string_actions)
        return sorted(options)


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
    parser.add_argument("-j", "--jobs", type=_positive, default=_cores(),
                        help="worker processes (default: all cores, %(default)s here)")
    parser.add_argument("--executor", choices=("local", "dask"), default="local",
                        help="where shards run: a local process pool (default) or a Dask "
                             "cluster (needs the dask extra and --scheduler)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        default=os.environ.get("DSCAN_DASK_SCHEDULER"),
                        help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                             "(default: $DSCAN_DASK_SCHEDULER)")
    parser.add_argument("--shards", type=_positive, metavar="N",
                        help="split the store into about N shards (default: 4 per local "
                             "job, 8 per Dask worker thread)")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report here ('-': stdout)")
    parser.add_argument("--html", metavar="FILE",
                        help="write a self-contained HTML report here (plots, thumbnails)")
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
    parser.add_argument("--lmdb-lock", choices=("auto", "never"), default="auto",
                        help="LMDB: auto (default) reads as a reader registered in an existing "
                             "lock.mdb, which keeps a writer off the pages being read (it "
                             "writes a reader slot there); never reads lock-free")
    _duplicate_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("-q", "--quiet", action="store_true", help="summary lines only")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="more examples; tracebacks on errors")


def _duplicate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-duplicates", action="store_true",
                        help="no fingerprints: skip the duplicate and leakage checks (DS8xx)")
    parser.add_argument("--near-distance", type=_hash_distance, default=10, metavar="D",
                        help="near duplicates: at most D of 64 perceptual-hash bits differ "
                             "(0-16, default %(default)s; 0: exact copies only)")
    if parser.prog.split()[-1] in SCAN_COMMANDS:
        parser.add_argument("--against", action="append", default=[], metavar="PATH",
                            help="a training store (any kind) to check this store's records "
                                 "against for leakage (DS804; repeatable)")


def _hash_distance(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 16:
        raise argparse.ArgumentTypeError(f"must lie in 0..16, got {value}")
    return value


def _net_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--phase", type=str.upper, choices=("TRAIN", "TEST", "BOTH"),
                        default="BOTH", help="the phase whose data layers to scan "
                        "(default both)")
    parser.add_argument("--level", type=_integer, default=0,
                        help="the net state's level for include/exclude rules (default 0)")
    parser.add_argument("--stage", action="append", default=[],
                        help="a net state stage for include/exclude rules (repeatable)")
    parser.add_argument("--root", metavar="DIR",
                        help="the directory caffe runs in, against which the prototxt's "
                             "paths resolve (default: the working directory)")


def _images_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root-folder", default="", metavar="DIR",
                        help="put before every listed path, as image_data_param.root_folder")
    parser.add_argument("--gray", action="store_true",
                        help="decode as greyscale (is_color: false); default colour")
    parser.add_argument("--resize", type=_size, metavar="HxW",
                        help="new_height x new_width: every image is resized to this")


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH, e.g. 256x256, got {text!r}")
    return int(parts[0]), int(parts[1])


def _report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="write the JSON report here ('-': stdout)")
    parser.add_argument("--fail-on", choices=("error", "warning", "never"), default="error",
                        help="exit 1 when a finding has at least this severity (default error)")
    parser.add_argument("-q", "--quiet", action="store_true", help="summary lines only")
    parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")


def _hdf5_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data", metavar="NAME",
                        help="dataset of the data top (default: data)")
    parser.add_argument("--label", default="label", metavar="NAME",
                        help="dataset of the label top (default: label; 'none' for no label)")
    parser.add_argument("--background", type=_integer, default=0, metavar="C",
                        help="segmentation: the background class (default 0)")


def _detection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--record", choices=("annotated", "datum"),
                        help="the record type: SSD's AnnotatedDatum (boxes) or a plain Datum "
                             "(default: told by sampling records)")
    parser.add_argument("--label-map", metavar="FILE",
                        help="a detection label map (labelmap.prototxt): box labels must be "
                             "in it")


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
        scan_parser.add_argument("path", help="the store to scan")
        _scan_options(scan_parser)
        {"hdf5": _hdf5_options, "images": _images_options, "lmdb": _detection_options,
         "leveldb": _detection_options}.get(name, lambda p: None)(scan_parser)
    net = commands.add_parser("net", help=CONFIG_COMMANDS["net"],
                              description=CONFIG_COMMANDS["net"])
    net.add_argument("path", help="the net definition (train_val.prototxt)")
    _net_options(net)
    _scan_options(net)
    solver = commands.add_parser("solver", help=CONFIG_COMMANDS["solver"],
                                 description=CONFIG_COMMANDS["solver"])
    solver.add_argument("path", help="the solver definition (solver.prototxt)")
    solver.add_argument("--horizon", type=_positive, metavar="N",
                        help="iterations to evaluate (default: max_iter, else 10000)")
    solver.add_argument("--with-net", action="store_true",
                        help="also run 'dscan net' on the solver's net")
    solver.add_argument("--root", metavar="DIR",
                        help="the directory caffe runs in (default: the working directory)")
    _scan_options(solver)
    mean = commands.add_parser("mean", help=CONFIG_COMMANDS["mean"],
                               description=CONFIG_COMMANDS["mean"])
    mean.add_argument("path", help="the mean file (a BlobProto, e.g. mean.binaryproto)")
    _report_options(mean)
    listing = commands.add_parser("checks", help="list every check: code, severity, title")
    listing.add_argument("--markdown", action="store_true",
                         help="as the Markdown table the README carries")
    listing.add_argument("--json", metavar="FILE",
                         help="every check (code, severity, effect, title, fix, doc) as JSON "
                              "('-': stdout)")
    from .logs import command as log_command  # `dscan log`: options live with the command
    log_command.add_parser(commands)
    explain = commands.add_parser("explain", help="print what a check finds and why it matters")
    explain.add_argument("code")
    explain.add_argument("--json", metavar="FILE", help="the check as JSON ('-': stdout)")
    return parser


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
    if args.command not in SCAN_COMMANDS:
        interrupts.started()  # a signal during start-up ends these here
    if args.command in ("checks", "explain"):
        return _catalogue(args)
    if args.command == "log":
        from .logs import command as log_command
        return log_command.run(args)
    if args.command in CONFIG_COMMANDS:
        from .config_commands import run  # loads the scan machinery only when needed
        return run(args, _settings(args) if args.command != "mean" else None)
    return _run_scan(args)


def _catalogue(args: argparse.Namespace) -> int:
    """`dscan checks` and `dscan explain CODE`, as text or (--json) JSON."""
    from .report import json_report

    if args.command == "checks":
        if args.json:
            json_report.write(args.json, catalogue.catalogue_json())
        if args.json != "-":
            print(catalogue.markdown_table() if args.markdown else catalogue.listing())
        return EXIT_CLEAN
    check = CATALOGUE.get(args.code.upper())
    if check is None:
        close = difflib.get_close_matches(args.code.upper(), list(CATALOGUE), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown check code {args.code!r}{hint}; 'dscan checks' lists them")
    if args.json:
        json_report.write(args.json, catalogue.as_json(check))
    if args.json != "-":
        print(catalogue.explanation(check))
    return EXIT_CLEAN


def _settings(args: argparse.Namespace) -> ScanSettings:
    enabled = set(CATALOGUE) if args.select is None else matching(args.select)
    enabled -= matching(args.ignore)
    extra = {}
    if args.command == "hdf5":
        extra = {"data_top": args.data, "background": args.background,
                "label_top": None if args.label.lower() == "none" else args.label}
    if args.command == "images":
        extra = {"root_folder": args.root_folder, "force_channels": 1 if args.gray else 3,
                "resize_to": args.resize}
    if args.command in ("lmdb", "leveldb"):
        extra = _detection_settings(args)
    return ScanSettings(num_classes=args.num_classes, ignore_label=args.ignore_label,
                        batch_size=args.batch_size, solvers=args.solvers,
                        max_examples=args.max_examples, enabled=frozenset(enabled),
                        max_pixels=args.max_pixels, limit=args.limit, fail_on=args.fail_on,
                        imbalance_ratio=args.imbalance_ratio, lmdb_lock=args.lmdb_lock,
                        duplicates=not args.no_duplicates and bool(matching(["DS8"]) & enabled),
                        near_distance=args.near_distance, **extra)


def _detection_settings(args: argparse.Namespace) -> dict:
    extra = {"record": args.record}
    if args.label_map:
        from .detection.labelmap import read_label_map
        if not os.path.isfile(args.label_map):
            raise InputNotFoundError(f"{args.label_map}: no such label map file")
        extra.update(label_map=read_label_map(args.label_map),
                     record=args.record or "annotated")
    return extra


def _run_scan(args: argparse.Namespace) -> int:
    from .executors import make_executor  # the scan machinery loads only for scans
    from .duplicates.keys import sniff_kind
    from .duplicates.leakage import against
    from .scan import nothing_scanned, scan

    logging.basicConfig(level=_log_level(args),
                        format="dscan[%(process)d]: %(levelname)s: %(message)s")
    settings = _settings(args)
    collect = None
    if args.html:
        from .report.evidence import collect  # reads back the records the page shows
    executor = None
    try:
        interrupts.started()  # from here on an interrupt still writes a report
        if not os.path.exists(args.path):  # before connecting to a cluster
            raise InputNotFoundError(f"{args.path}: no such file or directory")
        for reference in args.against:  # a wrong path fails before the scan
            sniff_kind(reference)
        executor = make_executor(args.executor, args.jobs, args.scheduler)
        try:
            outcome = scan(args.command, args.path, settings, args.jobs,
                           Progress(enabled=not args.no_progress), collect, executor,
                           args.shards)
            if outcome.interrupted is None:
                against(outcome, args.command, args.against, lambda kind, path, quiet: scan(
                    kind, path, quiet, args.jobs, None, None, executor, args.shards))
        finally:
            with interrupts.deferred():
                executor.close()
    except Interrupted as exc:
        outcome = nothing_scanned(args.command, args.path, settings, executor, args.jobs, exc)
    with interrupts.deferred("writing"):
        status = _write_reports(args, outcome)
    late = interrupts.received()
    if outcome.interrupted is None and late is not None:  # interrupted while writing
        outcome.interrupted, outcome.partial = late.as_report(), True
        with interrupts.deferred():
            status = _write_reports(args, outcome, files_only=True)
        print("dscan: interrupted while writing the report; it is marked partial",
              file=sys.stderr)
    return status


def _log_level(args: argparse.Namespace) -> int:
    if args.verbose:
        return logging.DEBUG
    return logging.ERROR if args.quiet else logging.WARNING


def _write_reports(args: argparse.Namespace, outcome, files_only: bool = False) -> int:
    """The JSON and HTML reports, then the summary (`files_only`: the report files again,
    for a run interrupted while writing them)."""
    from .report import json_report, terminal

    status = outcome.exit_status
    report = json_report.build(outcome, status)
    if files_only:
        if args.json and args.json != "-":
            json_report.write(args.json, report)
        if args.html:
            from .report import html_report
            html_report.write(args.html, html_report.render(outcome, report))
        return status
    with writing_stdout():
        if args.json:
            json_report.write(args.json, report)
        if args.html:
            from .report import html_report
            html_report.write(args.html, html_report.render(outcome, report))
        summary_out = sys.stderr if args.json == "-" else sys.stdout
        terminal.render(outcome, report, summary_out, examples=10 if args.verbose else 3,
                        quiet=args.quiet)
    return status
