"""The terminal summary of `dscan log`: the diagnosis in one line, then the evidence."""
from __future__ import annotations

from typing import TextIO

from ..report.console import Console
from ..report.keys import printable


def render(report: dict, out: TextIO, quiet: bool = False) -> None:
    """The diagnosis line, then the evidence wrapped to the terminal; nothing is cut."""
    console = Console(out)
    diagnosis = report["diagnosis"]
    partial = "  [PARTIAL: interrupted]" if report["partial"] else ""
    name = "stdin" if report["log"]["path"] == "-" else report["log"]["path"]
    # the diagnosis stays one line, however long: scripts read it with `head -1`
    print(f"dscan log {printable(name)}: {diagnosis['summary']}{partial}", file=out)
    if quiet:
        return
    for finding in report["findings"]:
        console.line(f"{finding['code']} {finding['severity']:<7}  "
                     f"{printable(finding['message'])}", indent=2, hanging=17,
                     marks={finding["severity"]: finding["severity"]})
    batch = diagnosis["batch"]
    if batch is not None:
        console.line(batch_line(batch), indent=2)
    for culprit in diagnosis["culprits"] or []:
        key = f" ({printable(culprit['key'])})" if culprit.get("key") else ""
        console.line(f"culprit: record {culprit['index']}{key}: {culprit['code']} "
                     f"{printable(culprit.get('message', ''))}", indent=2)
    if diagnosis["culprits"] == [] and batch is not None:
        console.line("--scan: the normal checks found nothing in these records", indent=2)
    for note in report["notes"]:
        console.line(f"note: {note}", indent=2)
    hints = {f["code"]: f["fix"] for f in report["findings"] if f["fix"] and
             f["severity"] == "error"}
    for code, fix in list(hints.items())[:3]:
        console.line(f"fix ({code}): {fix}", indent=2)
    run = report["run"]
    console.line(f"log: {report['log']['bytes']} bytes, {run['iterations_logged']} iterations "
                 f"logged ({run['first_iteration']}..{run['last_iteration']}), "
                 f"{run['test_passes']} test passes in {report['duration_s']:.2f} s", indent=2)


def batch_line(batch: dict) -> str:
    ranges = " and ".join(f"{first}..{last}" for first, last in batch["ranges"])
    if batch["iteration"] is None:
        first, last = batch["iterations"]
        what = f"the prefetch could have been reading iterations {first}..{last}: records"
    else:
        what = f"iteration {batch['iteration']} read records"
    return (f"batch: {what} {ranges} of {printable(batch['source'])} "
            f"({batch['record_count']} records, epoch {batch['epoch']}, batch "
            f"{batch['samples']} records)")
