"""The terminal summary: what Caffe would do, counts by severity and code, first examples."""
from __future__ import annotations

from typing import TextIO

from ..checks import CATALOGUE
from ..detection.summary import terminal_lines
from ..scan import ScanOutcome
from .console import Console
from .keys import key_text, printable

_VERDICT = {"crashes": "CRASHES", "trains_on_garbage": "TRAINS ON GARBAGE", "ok": "ok",
            "unknown": "unknown (the scan was interrupted before finding a problem)"}
_VERDICT_STYLE = {"crashes": "error", "trains_on_garbage": "warning", "ok": "ok",
                  "unknown": "warning"}


EXAMPLES = 3  # examples per code; -v asks for more
GARBAGE_LISTED = 10  # records feeding garbage named one by one with -v


def render(outcome: ScanOutcome, report: dict, out: TextIO, examples: int = EXAMPLES,
           quiet: bool = False, verbose: bool | None = None) -> None:
    """`verbose` None: verbose when more examples than the default were asked for (-v)."""
    verbose = (examples > EXAMPLES if verbose is None else verbose) and not quiet
    console = Console(out)
    summary, verdict = report["summary"], report["verdict"]
    source = report["source"]
    counts = summary["by_severity"]
    tally = ", ".join(f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
                      for s in ("error", "warning", "info"))
    partial = _partial_note(report)
    entries = "?" if source["entries"] is None else source["entries"]
    console.line(f"dscan {source['backend']} {printable(source['path'])}: {summary['records']} "
                 f"of {entries} records in {report['duration_s']:.2f} s "
                 f"({outcome.jobs} job{'s' if outcome.jobs != 1 else ''}"
                 f"{'' if outcome.executor['name'] == 'local' else ' on ' + outcome.executor['name']})"
                 f"{partial}")
    if source.get("found_tops"):
        console.line(found_tops_line(source["found_tops"]), hanging=4)
    headline = _VERDICT[verdict["caffe"]]
    console.line(f"Caffe: {_verdict_line(verdict, report['batches']['batch_size'], verbose)}",
                 hanging=7,
                 marks={headline: _VERDICT_STYLE[verdict["caffe"]]})
    if verbose:
        for line in garbage_lines(verdict):
            console.line(line, indent=7, hanging=9)
    marked = summary["records_with_findings"]
    console.line(f"Findings: {tally}" + (
        f" on {marked} record{'s' if marked != 1 else ''}" if marked else
        " (about the dataset as a whole, not single records)" if sum(counts.values()) else ""))
    if quiet:
        return
    _findings(console, outcome, summary, examples)
    _statistics(console, report)


def _findings(console: Console, outcome: ScanOutcome, summary: dict, examples: int) -> None:
    """Per code: its count and title, the first examples in full, and the fix, once."""
    by_code = outcome.totals.findings()
    severities = _severities(outcome.totals.sink.counts)
    for code, count in sorted(summary["by_code"].items()):
        check = CATALOGUE[code]
        severity = severities[code]
        console.line(f"{code} {severity:<15} {count:>8}  {check.title}", indent=2, hanging=30,
                     marks={severity: severity.split("/")[0]})
        shown = [f for f in by_code if f.code == code][:examples]
        for finding in shown:
            where = "-" if finding.index is None else f"#{finding.index}"
            console.line(f"{where:>9}  {printable(key_text(finding.key))}  "
                         f"{printable(finding.message)}", indent=6, hanging=17)
        if count > len(shown):
            console.line(f"... {count - len(shown)} more (see --json)", indent=17)
        if check.fix:
            console.line(f"fix: {check.fix}", indent=17, hanging=22, marks={"fix:": "dim"})


def _statistics(console: Console, report: dict) -> None:
    stats = report["stats"]
    console.line("Shapes: " + _top(stats["shapes"]) + "   Encodings: " +
                 _top(stats["encodings"]))
    labels = stats["labels"]
    if labels["histogram"]:
        inferred = " (inferred)" if labels.get("num_classes_inferred") else ""
        console.line(f"Labels: {len(labels['histogram'])} distinct, {labels['min']}.."
                     f"{labels['max']}; classes: {labels.get('num_classes')}{inferred}")
    for line in terminal_lines(report):  # detection stores: boxes and lost objects
        console.line(line)
    batches = report["batches"]
    if "distinct_classes_per_batch" in batches:
        console.line(batch_line(batches), hanging=2)


def batch_line(batches: dict) -> str:
    """The epoch's batches: how many lack any class at all (a shuffle lacks some too), and
    how many lack more than chance explains, which is what DS304 counts."""
    coverage = batches["distinct_classes_per_batch"]
    lacking, real = batches["batches_missing_classes"], batches["batches_with_a_real_deficit"]
    shuffled = batches["expected_batches_missing_classes_if_shuffled"]
    if lacking:
        lack = (f"{lacking} lack at least one of the {batches['classes']} classes present "
                f"(a shuffled epoch: ~{shuffled:g}), of which {real} lack more than chance "
                "explains (DS304 counts these)")
    else:
        lack = f"none lacks any of the {batches['classes']} classes present"
    return (f"Batches of {batches['batch_size']}: {batches['count']} per epoch; {lack}; "
            f"{batches['single_class_batches']} single-class; classes per batch "
            f"{coverage['min']}/{coverage['median']:g}/{coverage['max']} min/median/max "
            f"(a shuffle: {coverage['expected_if_shuffled']:g})")


def found_tops_line(found: dict) -> str:
    """Which datasets were taken as the tops, when none was named (see backends.hdf5_tops)."""
    roles = [f"data '{printable(found['data'])}'"]
    if found["label"] is not None:
        roles.append(f"label '{printable(found['label'])}'")
    roles += [f"'{printable(name)}' (its rows unchecked)" for name in found["others"]]
    text = (f"Tops (none named): {', '.join(roles)}: the root datasets of "
            f"{printable(found['from'])} with {found['rows']} rows")
    if found["left_out"]:
        text += "; left out: " + ", ".join(f"'{printable(name)}' ({why})"
                                           for name, why in found["left_out"].items())
    return text + "; name them with --data/--label"


def _partial_note(report: dict) -> str:
    if not report["partial"]:
        return ""
    interrupted, covered = report.get("interrupted"), report.get("coverage") or {}
    why = f"interrupted ({interrupted['signal']}) during {interrupted['phase']}" \
        if interrupted else "the store changed during the scan"
    if covered.get("shards_finished") == 0 and not report["summary"]["records"]:
        return f"  [PARTIAL: {why}; nothing was scanned]"
    left = len(covered.get("not_covered", []))
    return f"  [PARTIAL: {why}; {left} of {covered.get('shards')} shards not read]" if left \
        else f"  [PARTIAL: {why}]"


def _severities(counts: dict) -> dict[str, str]:
    """Per code, the severities its findings carry, most severe first ("error/warning")."""
    seen: dict[str, list[str]] = {}
    for code, severity in counts:
        seen.setdefault(code, []).append(severity)
    order = ("error", "warning", "info")
    return {code: "/".join(s for s in order if s in found) for code, found in seen.items()}


def _verdict_line(verdict: dict, batch_size: int, verbose: bool) -> str:
    text = _VERDICT[verdict["caffe"]]
    crash = verdict.get("first_crash")
    if crash:
        check = CATALOGUE[crash["code"]]
        text += (f" at record #{crash['index']} ({printable(crash['key'])}) in batch "
                 f"{crash['batch']} (batch size {batch_size}): {crash['code']} {check.title}")
    if verdict["garbage_records"]:
        count = verdict["garbage_records"]
        text += f"; {count} record{'s' if count != 1 else ''} would silently feed garbage" + \
            (":" if verbose else " (-v lists them)")
    return text


def garbage_lines(verdict: dict, most: int = GARBAGE_LISTED) -> list[str]:
    """The records that would feed garbage, the first `most` of them by index."""
    listed = verdict.get("garbage_examples", [])[:most]
    lines = [f"{'#%d' % g['index'] if g['index'] is not None else '#?'}  "
             f"{printable(g['key']) if g['key'] is not None else '(key not known)'}"
             for g in listed]
    rest = verdict["garbage_records"] - len(listed)
    if listed and rest > 0:
        lines.append(f"... and {rest} more")
    return lines


def _top(counter: dict, most: int = 4) -> str:
    if not counter:
        return "-"
    items = list(counter.items())
    text = ", ".join(f"{name} ({count})" for name, count in items[:most])
    return text + (f", +{len(items) - most} more" if len(items) > most else "")
