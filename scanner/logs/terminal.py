"""The terminal summary of `dscan log`: the diagnosis in one line, then the evidence."""
from __future__ import annotations

from typing import TextIO

from ..report.keys import printable


def render(report: dict, out: TextIO, quiet: bool = False) -> None:
    diagnosis = report["diagnosis"]
    partial = "  [PARTIAL: interrupted]" if report["partial"] else ""
    name = "stdin" if report["log"]["path"] == "-" else report["log"]["path"]
    print(f"dscan log {printable(name)}: {diagnosis['summary']}{partial}", file=out)
    if quiet:
        return
    for finding in report["findings"]:
        print(f"  {finding['code']} {finding['severity']:<7}  {printable(finding['message'], 200)}",
              file=out)
    batch = diagnosis["batch"]
    if batch is not None:
        print("  " + batch_line(batch), file=out)
    for culprit in diagnosis["culprits"] or []:
        key = f" ({printable(culprit['key'], 60)})" if culprit.get("key") else ""
        print(f"  culprit: record {culprit['index']}{key}: {culprit['code']} "
              f"{printable(culprit.get('message', ''), 120)}", file=out)
    if diagnosis["culprits"] == [] and batch is not None:
        print("  --scan: the normal checks found nothing in these records", file=out)
    for note in report["notes"]:
        print(f"  note: {note}", file=out)
    hints = {f["code"]: f["fix"] for f in report["findings"] if f["fix"] and
             f["severity"] == "error"}
    for code, fix in list(hints.items())[:3]:
        print(f"  fix ({code}): {fix}", file=out)
    run = report["run"]
    print(f"  log: {report['log']['bytes']} bytes, {run['iterations_logged']} iterations "
          f"logged ({run['first_iteration']}..{run['last_iteration']}), "
          f"{run['test_passes']} test passes in {report['duration_s']:.2f} s", file=out)


def batch_line(batch: dict) -> str:
    ranges = " and ".join(f"{first}..{last}" for first, last in batch["ranges"])
    if batch["iteration"] is None:
        first, last = batch["iterations"]
        what = f"the prefetch could have been reading iterations {first}..{last}: records"
    else:
        what = f"iteration {batch['iteration']} read records"
    return (f"batch: {what} {ranges} of {printable(batch['source'], 100)} "
            f"({batch['record_count']} records, epoch {batch['epoch']}, batch "
            f"{batch['samples']} records)")
