"""The HTML report (`--html FILE`): one self-contained page built from the JSON report and
the scan outcome. Inline CSS, script and SVG, pictures as data URIs, no network access;
every string from the data is escaped by the template engine."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import jinja2
from markupsafe import Markup, escape

from .. import __version__
from ..detection.pictures import boxed_thumbnail
from ..detection.pictures import plots as detection_plots
from ..checks import CATALOGUE
from ..duplicates.pictures import group_pictures
from ..output import write_text
from ..scan import ScanOutcome
from ..types import SEVERITY_RANK
from . import svg
from .json_report import main_stats
from .evidence import CHANNEL_CODES
from .pictures import pixel_thumbnail, thumbnail, value_map
from .terminal import batch_line, found_tops_line

_VERDICT = {"crashes": "Caffe crashes", "trains_on_garbage": "Caffe trains on garbage",
            "ok": "Caffe runs: no record would crash it or feed it garbage",
            "unknown": "unknown: the scan was interrupted before finding a problem"}
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("scanner.report", "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code_spans(text: str) -> Markup:
    """`code` in any text (docs, titles, fixes, messages) as <code>code</code>, everything
    else escaped: no explanation shows a literal backtick."""
    return Markup(_CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


_ENVIRONMENT.filters["code_spans"] = code_spans
_ENVIRONMENT.filters["found_tops"] = found_tops_line


def render(outcome: ScanOutcome, report: dict) -> str:
    """The page of one store scan."""
    return _page(f"dscan {report['source']['backend']} {report['source']['path']}",
                 [_dataset(outcome, report)], report["summary"]["by_code"])


def render_net(outcome, report: dict) -> str:
    """The page of `dscan net`: the net's own findings, then one part per data layer."""
    parts = []
    for section, data in zip(outcome.sections, report["sections"]):
        heading = (f"Layer '{data['layer']}' ({data['type']}, {'/'.join(data['phases'])}), "
                   f"batch {data['batch_size']}")
        part = _dataset(section.outcome, data["report"]) if data["report"] else \
            {"report": None, "skipped": data["skipped"]}
        if data["report"] and data["caffe"] == "crashes" != part["verdict"]["kind"]:
            part["verdict"] = {"kind": "crashes", "key": None, "garbage": 0,
                               "garbage_examples": [], "garbage_more": 0,
                               "text": "Caffe crashes on this layer's settings against its "
                                       "data (see the net's findings above)"}
        parts.append({**part, "heading": heading})
    verdict = report["verdict"]["caffe"]
    net = {"subtitle": f"{report['net']['path']} · phases {', '.join(report['phases'])} · "
                       f"{len(report['sections'])} data layer(s)",
           "verdict": {"kind": verdict, "text": _VERDICT[verdict]},
           "findings": report["findings"]}
    return _page(f"dscan net {report['net']['name'] or report['net']['path']}", parts,
                 report["summary"]["by_code"], net)


def write(path: str, page: str) -> None:
    write_text(path, (page,), "the HTML report")


def _page(title: str, datasets: list[dict], codes, net: dict | None = None) -> str:
    return _ENVIRONMENT.get_template("report.html").render(
        title=title, version=__version__, datasets=datasets, net=net,
        generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        docs=[CATALOGUE[code] for code in sorted(codes)])


def _dataset(outcome: ScanOutcome, report: dict) -> dict:
    return {"report": report, "verdict": _verdict(report), "rows": _rows(outcome, report),
            "tables": _tables(report), "plots": _plots(outcome, report), "heading": None,
            "skipped": None}


TABLE_ROWS = 20  # rows of a shapes or encodings table; the rest are counted


def _tables(report: dict) -> list[dict]:
    """Records per shape and per encoding, most frequent first, with their share."""
    records = report["summary"]["records"]
    tables = []
    for kind, heading, column in (("shapes", "Records per shape", "C x H x W"),
                                  ("encodings", "Records per encoding", "encoding")):
        counts = report["stats"][kind]
        if not counts:
            continue
        rows = [{"name": name, "count": count,
                 "share": f"{100 * count / records:.1f}%" if records else "-"}
                for name, count in list(counts.items())[:TABLE_ROWS]]
        rest = list(counts.values())[TABLE_ROWS:]
        tables.append({"kind": kind, "heading": heading, "column": column, "rows": rows,
                       "more": len(rest), "more_records": sum(rest)})
    return tables


def _verdict(report: dict) -> dict:
    verdict = report["verdict"]
    crash = verdict.get("first_crash")
    text = _VERDICT[verdict["caffe"]]
    if crash:
        text += (f" at record #{crash['index']} (batch {crash['batch']}): {crash['code']} "
                 f"{CATALOGUE[crash['code']].title}")
    listed = verdict.get("garbage_examples", [])
    return {"kind": verdict["caffe"], "text": text, "key": crash["key"] if crash else None,
            "garbage": verdict["garbage_records"], "garbage_examples": listed,
            "garbage_more": verdict["garbage_records"] - len(listed)}


def _rows(outcome: ScanOutcome, report: dict) -> list[dict]:
    """One row per code: the most severe severity it was reported with, count, examples."""
    severities: dict[str, set] = {}
    for (code, severity), _ in outcome.totals.sink.counts.items():
        severities.setdefault(code, set()).add(severity)
    evidence = outcome.evidence or {}
    groups = group_pictures(report["findings"], report["source"]["backend"],
                            report["source"]["path"], outcome.settings)
    rows = []
    for code, count in sorted(report["summary"]["by_code"].items()):
        found = sorted(severities.get(code, {CATALOGUE[code].severity}),
                       key=SEVERITY_RANK.get, reverse=True)
        examples = [_example(f, evidence.get(f["index"]), groups.get(position))
                    for position, f in enumerate(report["findings"]) if f["code"] == code]
        rows.append({"code": code, "severity": found[0], "severities": "/".join(found),
                     "title": CATALOGUE[code].title, "fix": CATALOGUE[code].fix,
                     "count": count, "examples": examples})
    return rows


def _example(finding: dict, evidence, group: dict | None = None) -> dict:
    example = {"index": finding["index"], "key": finding["key"], "message": finding["message"],
               "picture": None, "caption": None, "group": group}
    if evidence is None:
        return example
    if evidence.boxes is not None:
        example["picture"] = boxed_thumbnail(evidence.image, evidence.boxes)
        example["caption"] = "boxes: green kept, orange clipped, red dropped" if \
            example["picture"] else "no decoder makes pixels of it"
    elif evidence.code in CHANNEL_CODES and (evidence.image is not None or
                                             evidence.pixels is not None):
        example["picture"] = thumbnail(evidence.image) if evidence.image is not None else \
            pixel_thumbnail(evidence.pixels)
        shape, usual = (finding["detail"].get(k) or [None] for k in ("shape", "dominant"))
        example["caption"] = (f"this record: {shape[0]} channel(s), the dataset's: {usual[0]}"
                              if example["picture"] else "no decoder makes pixels of it")
    elif evidence.image is not None:
        example["picture"] = thumbnail(evidence.image)
        example["caption"] = "lenient decode" if example["picture"] else \
            "no decoder makes pixels of it"
    elif evidence.values is not None:
        example["picture"], facts = value_map(evidence.values)
        first = ", ".join(str(list(p)) for p in facts["first"])
        example["caption"] = (f"{facts['non_finite']} of {facts['values']} values not finite "
                              f"(red); first at {first}")
    return example


def _plots(outcome: ScanOutcome, report: dict) -> list[dict]:
    plots = []
    settings = outcome.settings
    histogram = svg.class_histogram(report["stats"]["labels"]["histogram"],
                                    settings.num_classes, settings.ignore_label)
    if histogram:
        plots.append({"title": "Classes" if settings.num_classes is None else
                      f"Classes (the line: num_classes {settings.num_classes}; red: labels "
                      f"outside [0, {settings.num_classes}))", "svg": histogram})
    batches = outcome.totals.batches
    if batches is not None and len(batches.distinct):
        plots.append({"title": f"Classes per batch of {report['batches']['batch_size']}, "
                               "in Caffe's read order (dashed: a shuffled epoch)",
                      "svg": svg.classes_per_batch(batches.distinct,
                                                   batches.expected_distinct,
                                                   len(batches.classes)),
                      "caption": batch_line(report["batches"])})
    plots += detection_plots(outcome.totals, report)
    found = main_stats(outcome.totals.stats)
    values = svg.channel_values(found[1], found[0][0]) if found else None
    if values:
        plots.append({"title": "Values per channel (stored order; BGR for Caffe's images)",
                      "svg": values})
    return plots
