"""The JSON report of `dscan log` (schema `dscan-log-report/1`, shipped as
scanner/logs/log_schema.json). Strict JSON: a NaN or infinite value is written as the
string "nan", "inf" or "-inf"."""
from __future__ import annotations

import json
import math
from importlib import resources

from .. import __version__
from ..checks import CATALOGUE
from ..status import exit_status
from ..types import SEVERITY_RANK
from .analyse import LogOutcome
from .run import DebugHit

SCHEMA_ID = "dscan-log-report/1"


def load_schema() -> dict:
    return json.loads(resources.files("scanner.logs").joinpath("log_schema.json").read_text())


def value(number: float | None):
    """A number for strict JSON: non-finite ones as Caffe's words."""
    if number is None:
        return None
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return number


def build(outcome: LogOutcome, fail_on: str = "error", enabled=None) -> dict:
    """The report; `enabled`: the codes to report (None: every one)."""
    run, diagnosis = outcome.run, outcome.diagnosis
    findings = [_finding(p) for p in diagnosis.problems if enabled is None or p.code in enabled]
    by_severity = {s: 0 for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)}
    by_code: dict[str, int] = {}
    for finding in findings:
        by_severity[finding["severity"]] += 1
        by_code[finding["code"]] = by_code.get(finding["code"], 0) + 1
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "dscan", "version": __version__},
        "log": {"path": outcome.request.name or outcome.request.path, "bytes": outcome.size},
        "started_at": outcome.started_at,
        "duration_s": outcome.duration_s,
        "partial": outcome.partial,
        "run": _run(run),
        "context": _context(outcome),
        "diagnosis": _diagnosis(outcome),
        "series": {"loss": [[i, value(v)] for i, v in run.loss.points],
                   "loss_stride": run.loss.stride,
                   "lr": [[i, value(v)] for i, v in run.lr.points]},
        "tests": [{"iteration": t.iteration, "net": t.net,
                   "outputs": {name: value(v) for name, v in t.outputs.items()}}
                  for t in run.tests],
        "notes": outcome.notes,
        "summary": {"by_severity": by_severity, "by_code": dict(sorted(by_code.items()))},
        "findings": findings,
        "exit_status": exit_status(by_severity, fail_on, outcome.partial),
    }


def _finding(problem) -> dict:
    check = CATALOGUE[problem.code]
    detail = _plain(problem.detail or {})
    return {"code": problem.code, "severity": problem.severity or check.severity,
            "message": problem.message, "iteration": detail.get("iteration")
            if isinstance(detail.get("iteration"), int) else None,
            "fix": check.fix, "detail": detail}


def _plain(item):
    if isinstance(item, dict):
        return {str(k): _plain(v) for k, v in item.items()}
    if isinstance(item, (list, tuple)):
        return [_plain(v) for v in item]
    if isinstance(item, float):
        return value(item)
    return item


def _run(run) -> dict:
    final = run.final_pass
    return {"iterations_logged": run.iterations, "first_iteration": run.first_iteration,
            "last_iteration": run.last_iteration, "finished": run.finished,
            "runs": run.runs_started, "debug_info": run.debug_info,
            "resumes": [{"iteration": r.iteration, "from": r.line} for r in run.resumes],
            "final_pass": final and {"iteration": final.iteration,
                                     "loss": value(final.detail["loss"])},
            "test_passes": run.test_count,
            "learning_rate": {"first": value(run.lr_first),
                              "max": run.lr_max and {"iteration": run.lr_max[0],
                                                     "value": value(run.lr_max[1])}}}


def _context(outcome: LogOutcome) -> dict:
    context = outcome.context
    data = context.data
    return {"base_lr": value(context.base_lr), "iter_size": context.iter_size,
            "max_iter": context.max_iter, "lr_policy": context.lr_policy,
            "solver_from": context.solver_from, "net_from": context.net_from,
            "solvers": outcome.request.solvers,
            "train_data": data and {"layer": data.layer, "type": data.type,
                                    "source": data.source, "path": data.path,
                                    "batch_size": data.batch_size, "prefetch": data.prefetch,
                                    "shuffled": data.shuffled, "records": data.records}}


def _diagnosis(outcome: LogOutcome) -> dict:
    run, diagnosis = outcome.run, outcome.diagnosis
    first = run.first_nonfinite
    crash = run.fatal_event
    names = [o["name"] for o in run.outputs_at_nonfinite]
    return {
        "cause": diagnosis.cause,
        "summary": diagnosis.summary,
        "first_nonfinite": first and {"iteration": first.iteration,
                                      "output": names[0] if names else None,
                                      "outputs": names, "loss": value(first.detail["loss"])},
        "first_layer": _layer(run.debug_first),
        "first_nonfinite_layer": _layer(run.debug_first_nonfinite),
        "crash": crash and {"last_iteration": run.last_before_fatal,
                            "last_iteration_logged": run.last_iteration,
                            "fatal_line": crash.line,
                            "errors": crash.detail.get("errors", []),
                            "signal": run.signal_line},
        "batch": outcome.batch.as_json() if outcome.batch else None,
        "culprits": outcome.culprits,
        "growth": _plain(diagnosis.evidence["growth"]),
    }


def _layer(hit: DebugHit | None) -> dict | None:
    if hit is None:
        return None
    return {"iteration": hit.iteration, "layer": hit.layer, "blob": hit.blob,
            "pass": hit.direction.lower(), "kind": hit.kind, "value": value(hit.value),
            "line": hit.line}
