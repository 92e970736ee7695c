"""JSON reports of `dscan net`, `dscan solver` and `dscan mean` (schemas `dscan-net-report/1`,
`dscan-solver-report/1`, `dscan-mean-report/1`); a net report holds one `dscan-report/1`
per scanned data layer."""
from __future__ import annotations

import json
from importlib import resources

from .. import __version__
from ..config.findings import ConfigFinding, tally
from ..net_scan import NetOutcome, Section, crashes
from ..solver_scan import SolverOutcome
from ..status import EXIT_INTERRUPTED, exit_status
from . import json_report
from .json_report import plain

TOOL = {"name": "dscan", "version": __version__}


def load_schema() -> dict:
    return json.loads(resources.files("scanner.report").joinpath("config_schema.json")
                      .read_text())


def net_report(outcome: NetOutcome, fail_on: str) -> dict:
    sections = [_section(outcome, section) for section in outcome.sections]
    summary = _merged_summary(outcome.findings, [s["report"] for s in sections])
    layers = [s for s in sections if s["report"] or s["caffe"] == "crashes"]
    verdicts = [s["caffe"] for s in layers] + _net_verdicts(outcome.findings)
    caffe = next((v for v in ("crashes", "trains_on_garbage", "unknown") if v in verdicts),
                 "ok")
    return {"schema": "dscan-net-report/1", "tool": TOOL,
            "net": {"path": outcome.path, "name": outcome.name},
            "phases": list(outcome.phases), "started_at": outcome.started_at,
            "duration_s": outcome.duration_s, "partial": outcome.partial,
            "summary": summary, "verdict": {"caffe": caffe},
            "findings": [plain(f.as_json()) for f in outcome.findings],
            "sections": sections,
            "lint_phases": list(outcome.lint_phases), "deploy": outcome.deploy,
            "shapes": {phase: _shapes(shapes) for phase, shapes in outcome.shapes.items()},
            "not_scanned": [{"layer": s.layer.name, "type": s.layer.type,
                             "where": s.layer.where, "phases": s.phases,
                             "skipped": s.skipped} for s in outcome.not_scanned],
            "exit_status": exit_status(summary["by_severity"], fail_on, outcome.interrupted)}


def _net_verdicts(findings: list[ConfigFinding]) -> list[str]:
    """What the net's own errors (shapes, settings) make of the run."""
    effects = {f.effect for f in findings if f.severity == "error"}
    return [v for e, v in (("crash", "crashes"), ("garbage", "trains_on_garbage"))
            if e in effects]


def _shapes(shapes) -> dict:
    """One phase's inferred blob shapes, layer by layer, and the memory they take."""
    def dims(shape):
        return None if shape is None else list(shape)
    return {"layers": [{"layer": item.layer.name, "type": item.layer.type,
                        "bottoms": [dims(b) for b in item.bottoms],
                        "tops": {name: dims(t) for name, t in zip(item.layer.tops, item.tops)}}
                       for item in shapes.layers],
            "unknown_types": [{"layer": name, "type": kind} for name, kind in shapes.unknown],
            "data_not_read": shapes.no_data, "memory": shapes.memory()}


def _section(outcome: NetOutcome, section: Section) -> dict:
    layer, scan = section.layer, section.outcome
    report = None
    if scan is not None:
        report = json_report.build(scan, scan.exit_status)
        if section.read_order:
            _note_skip(report, section.read_order)
    source = section.source
    caffe = "crashes" if crashes(outcome, section) else \
        report["verdict"]["caffe"] if report else "not scanned"
    return {"layer": layer.name, "type": layer.type, "where": layer.where,
            "phases": section.phases, "tops": layer.tops, "backend": section.backend,
            "batch_size": section.batch_size,
            "source": source and {"given": source.given, "path": source.path,
                                  "found_at": source.found_at},
            "num_classes": scan.settings.num_classes if scan else None,
            "num_classes_from": section.classes_from,
            "ignore_label": scan.settings.ignore_label if scan else None,
            "mean": section.mean.as_json() if section.mean else None,
            "skipped": section.skipped, "caffe": caffe, "report": report,
            "top_shapes": section.tops or {}, "read_order": section.read_order}


def _note_skip(report: dict, read_order: dict) -> None:
    """The batch findings were computed with no skip: with rand_skip they are one of a
    range of possibilities."""
    low, high = read_order["skip"]
    for finding in report["findings"]:
        if finding["code"] in ("DS304", "DS305"):
            finding["message"] += (f" (for a skip of 0; rand_skip {read_order['rand_skip']}: "
                                   f"Caffe may start {low}..{high} records later, so which "
                                   "records share a batch is not determined)")
            finding["detail"]["rand_skip"] = read_order["rand_skip"]


def _merged_summary(findings: list[ConfigFinding], reports: list[dict | None]) -> dict:
    summary = tally(findings)
    for report in filter(None, reports):
        for severity, n in report["summary"]["by_severity"].items():
            summary["by_severity"][severity] += n
        for code, n in report["summary"]["by_code"].items():
            summary["by_code"][code] = summary["by_code"].get(code, 0) + n
    summary["by_code"] = dict(sorted(summary["by_code"].items()))
    return summary


def mean_report(path: str, mean, fail_on: str) -> dict:
    summary = tally(mean.findings)
    return {"schema": "dscan-mean-report/1", "tool": TOOL, "mean": plain(mean.as_json()),
            "summary": summary, "findings": [plain(f.as_json()) for f in mean.findings],
            "exit_status": exit_status(summary["by_severity"], fail_on)}


def solver_report(outcome: SolverOutcome, fail_on: str) -> dict:
    summary = tally(outcome.findings)
    net = net_report(outcome.net, fail_on) if outcome.net else None
    status = exit_status(summary["by_severity"], fail_on)
    if net:
        status = EXIT_INTERRUPTED if net["exit_status"] == EXIT_INTERRUPTED else \
            max(status, net["exit_status"])
    params, schedule = outcome.params, outcome.schedule
    return {"schema": "dscan-solver-report/1", "tool": TOOL,
            "solver": {"path": outcome.path, "lr_policy": params.policy,
                       "base_lr": params.base_lr, "max_iter": params.max_iter,
                       "net": outcome.net_file and {"given": outcome.net_file.given,
                                                    "path": outcome.net_file.path,
                                                    "found_at": outcome.net_file.found_at}},
            "schedule": schedule and {
                "horizon": schedule.horizon, "first": schedule.first,
                "iterations": schedule.counts, "min": schedule.minimum,
                "max": schedule.maximum,
                "samples": [{"iteration": i, "lr": lr} for i, lr in schedule.samples]},
            "summary": summary, "findings": [plain(f.as_json()) for f in outcome.findings],
            "net_report": net, "exit_status": status}
