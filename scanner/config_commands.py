"""Run `dscan net`, `dscan solver` and `dscan mean` from parsed arguments."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .config.mean import read_mean
from .checks import selected
from .errors import ConfigError, InputNotFoundError
from .executors import make_executor
from .output import writing_stdout
from .net_scan import NetRequest, scan_net
from .report.evidence import collect
from .report import config_report, config_terminal, html_report, json_report, targets
from .settings import ScanSettings
from .solver_scan import check_solver


def run(args: argparse.Namespace, settings: ScanSettings | None) -> int:
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="dscan[%(process)d]: %(levelname)s: %(message)s")
    if args.command == "mean":
        return _mean(args)
    reads_data = args.command == "net" or args.with_net  # --html without: refused in cli
    path = _absolute(args.path)  # checked before connecting to a cluster
    executor = make_executor(args.executor, args.jobs, args.scheduler) if reads_data else None
    try:
        return _net_or_solver(args, settings, executor, path)
    finally:
        if executor is not None:
            executor.close()


def _net_or_solver(args: argparse.Namespace, settings: ScanSettings, executor,
                   path: str) -> int:
    if args.json and args.json != "-":
        args.json = os.path.abspath(args.json)  # named from where dscan was started
    if args.html:
        args.html = os.path.abspath(args.html)
    _enter(args.root)
    if args.command == "net":
        phases = ("TRAIN", "TEST") if args.phase == "BOTH" else (args.phase,)
        outcome = scan_net(_request(args, settings, path, phases, executor))
        report = config_report.net_report(outcome, settings.fail_on)
        return _emit(args, report, lambda out: config_terminal.render_net(
            outcome, report, out, _examples(args), args.quiet),
            lambda: html_report.render_net(outcome, report))
    request = _request(args, settings, path, ("TRAIN", "TEST"), executor) \
        if args.with_net else None
    outcome = check_solver(path, settings.enabled, args.horizon, request)
    report = config_report.solver_report(outcome, settings.fail_on)
    return _emit(args, report, lambda out: config_terminal.render_solver(
        report, outcome.net, out, _examples(args), args.quiet),
        outcome.net and (lambda: html_report.render_net(outcome.net, report["net_report"])))


def _request(args, settings: ScanSettings, path: str, phases: tuple,
             executor) -> NetRequest:
    return NetRequest(path, phases, getattr(args, "level", 0),
                      tuple(getattr(args, "stage", ())), settings, args.num_classes,
                      args.ignore_label, args.jobs, not (args.no_progress or args.quiet),
                      collect=collect if args.html else None, executor=executor,
                      shard_count=args.shards)


def _mean(args: argparse.Namespace) -> int:
    if not os.path.exists(args.path):
        raise InputNotFoundError(f"{args.path}: no such file or directory")
    if os.path.isdir(args.path):
        raise ConfigError(f"{args.path}: is a directory; dscan mean expects a mean file "
                          "(a BlobProto such as mean.binaryproto)")
    mean = read_mean(args.path)
    enabled = selected(args.select, args.ignore)
    mean.findings = [f for f in mean.findings if f.code in enabled]
    report = config_report.mean_report(args.path, mean, args.fail_on)
    return _emit(args, report, lambda out: config_terminal.render_mean(report, out, args.quiet))


def _absolute(path: str) -> str:
    """The prototxt's path, fixed before changing into the run directory."""
    if not os.path.exists(path):
        raise InputNotFoundError(f"{path}: no such file or directory")
    return os.path.abspath(path)


def _enter(root: str | None) -> None:
    """Caffe resolves every path in the prototxt against its working directory: be there."""
    if root is None:
        return
    if not os.path.isdir(root):
        raise InputNotFoundError(f"{root}: --root is not a directory")
    os.chdir(root)


def _examples(args) -> int:
    return 10 if args.verbose else 3


def _emit(args, report: dict, render, page=None) -> int:
    """The JSON report, the HTML page (`page` makes it), the summary (also when a report
    file failed), and the files written."""
    out = sys.stderr if args.json == "-" else sys.stdout
    files = targets.ReportFiles()
    with writing_stdout():
        if args.json:
            files.write(args.json, lambda: json_report.write(args.json, report))
        if args.html and page:
            files.write(args.html, lambda: html_report.write(args.html, page()))
        render(out)
        files.announce(args.quiet, out)
    files.raise_failures()
    return report["exit_status"]
