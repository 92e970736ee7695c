"""`dscan lmdb|leveldb|hdf5|images PATH`: settings from the arguments, the scan, and its
reports (files first, then the summary, whatever happened to the files)."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import interrupts
from ..checks import matching, selected
from ..errors import InputNotFoundError
from ..interrupts import Interrupted
from ..output import writing_stdout
from ..progress import Progress
from ..report import targets
from ..settings import ScanSettings


def settings(args: argparse.Namespace) -> ScanSettings:
    enabled = selected(args.select, args.ignore)
    extra = {}
    if args.command == "hdf5":
        extra = _hdf5_tops(args)
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
                        near_distance=args.near_distance,
                        flag_keys=bool(getattr(args, "keys_out", None)), **extra)


def _hdf5_tops(args: argparse.Namespace) -> dict:
    """Tops named: as named (the other one's default: data, label). None named: every root
    dataset whose first dimension agrees (found by the backend)."""
    extra = {"background": args.background, "find_tops": args.data is None and
             args.label is None}
    label = "label" if args.label is None else args.label
    return {**extra, "data_top": args.data or "data",
            "label_top": None if label.lower() == "none" else label}


def _detection_settings(args: argparse.Namespace) -> dict:
    extra = {"record": args.record}
    if args.label_map:
        from ..detection.labelmap import read_label_map
        if not os.path.isfile(args.label_map):
            raise InputNotFoundError(f"{args.label_map}: no such label map file")
        extra.update(label_map=read_label_map(args.label_map),
                     record=args.record or "annotated")
    return extra


def run(args: argparse.Namespace) -> int:
    from ..duplicates.keys import sniff_kind
    from ..duplicates.leakage import against
    from ..executors import make_executor  # the scan machinery loads only for scans
    from ..scan import nothing_scanned, scan

    logging.basicConfig(level=_log_level(args),
                        format="dscan[%(process)d]: %(levelname)s: %(message)s")
    scan_settings = settings(args)
    collect = None
    if args.html:
        from ..report.evidence import collect  # reads back the records the page shows
    executor = None
    try:
        interrupts.started()  # from here on an interrupt still writes a report
        if not os.path.exists(args.path):  # before connecting to a cluster
            raise InputNotFoundError(f"{args.path}: no such file or directory")
        for reference in args.against:  # a wrong path fails before the scan
            sniff_kind(reference)
        executor = make_executor(args.executor, args.jobs, args.scheduler)
        try:
            outcome = scan(args.command, args.path, scan_settings, args.jobs,
                           Progress(enabled=not (args.no_progress or args.quiet)), collect, executor,
                           args.shards)
            if outcome.interrupted is None:
                against(outcome, args.command, args.against, lambda kind, path, quiet: scan(
                    kind, path, quiet, args.jobs, None, None, executor, args.shards))
        finally:
            with interrupts.deferred():
                executor.close()
    except Interrupted as exc:
        outcome = nothing_scanned(args.command, args.path, scan_settings, executor, args.jobs,
                                  exc)
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
    """The report files, then the summary and the files written; a file that failed makes
    it exit 2 after the summary (`files_only`: the report files again, for a run
    interrupted while writing them)."""
    from ..report import json_report, keys_out, terminal

    status = outcome.exit_status
    report = json_report.build(outcome, status)
    files = targets.ReportFiles()
    summary_out = sys.stderr if "-" in (args.json, args.keys_out) else sys.stdout
    with writing_stdout():
        if args.json and not (files_only and args.json == "-"):
            files.write(args.json, lambda: json_report.write(args.json, report))
        if args.html:
            from ..report import html_report
            files.write(args.html, lambda: html_report.write(
                args.html, html_report.render(outcome, report)))
        if args.keys_out and not (files_only and args.keys_out == "-"):
            files.write(args.keys_out, lambda: keys_out.write(args.keys_out, outcome.totals))
        if not files_only:
            terminal.render(outcome, report, summary_out,
                            examples=10 if args.verbose else 3, quiet=args.quiet,
                            verbose=bool(args.verbose))
            files.announce(args.quiet, summary_out)
    files.raise_failures()
    return status
