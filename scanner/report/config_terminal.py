"""Terminal summaries of `dscan net`, `dscan solver` and `dscan mean`."""
from __future__ import annotations

from typing import TextIO

from ..net_scan import NetOutcome
from ..checks import CATALOGUE
from . import terminal
from .console import Console
from .keys import printable


def findings(items: list[dict], out: TextIO, indent: str = "  ") -> None:
    console = Console(out)
    fixes_shown = set()
    for item in items:
        layer = f" [{printable(item['layer'])}]" if item.get("layer") else ""
        console.line(f"{item['code']} {item['severity']:<7} {printable(item['where'])}"
                     f"{layer}: {printable(item['message'])}", indent=len(indent),
                     hanging=len(indent) + 14, marks={item["severity"]: item["severity"]})
        fix = CATALOGUE[item["code"]].fix if item["code"] in CATALOGUE else None
        if fix and item["code"] not in fixes_shown:
            fixes_shown.add(item["code"])
            console.line(f"fix: {fix}", indent=len(indent) + 14, hanging=len(indent) + 19,
                         marks={"fix:": "dim"})


def _tally(summary: dict) -> str:
    counts = summary["by_severity"]
    return ", ".join(f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
                     for s in ("error", "warning", "info"))


def render_net(outcome: NetOutcome, report: dict, out: TextIO, examples: int = 3,
               quiet: bool = False) -> None:
    name = f" ({printable(report['net']['name'])})" if report["net"]["name"] else ""
    print(f"dscan net {printable(report['net']['path'])}{name}: phases "
          f"{', '.join(report['phases'])}; {len(report['sections'])} data layer(s) in "
          f"{report['duration_s']:.2f} s", file=out)
    print(f"Caffe: {report['verdict']['caffe'].replace('_', ' ').upper()}; findings: "
          f"{_tally(report['summary'])}", file=out)
    if report["findings"]:
        print("Net:", file=out)
        findings(report["findings"], out)
    for section, data in zip(outcome.sections, report["sections"]):
        print(f"\n== layer '{printable(data['layer'])}' ({data['type']}, "
              f"{'/'.join(data['phases'])}) at {printable(data['where'])}", file=out)
        if data["skipped"]:
            print(f"   not scanned: {data['skipped']}", file=out)
            continue
        classes = data["num_classes"]
        given = f" from layer '{data['num_classes_from']}'" if data["num_classes_from"] else ""
        print(f"   {data['backend']} {printable(data['source']['path'])}, batch "
              f"{data['batch_size']}, classes: {classes if classes else 'unknown'}{given}"
              + (f", ignore_label {data['ignore_label']}" if data["ignore_label"] is not None
                 else ""), file=out)
        if data["caffe"] == "crashes" and data["report"]["verdict"]["caffe"] != "crashes":
            print("   Caffe CRASHES on this layer's settings (see Net findings)", file=out)
        terminal.render(section.outcome, data["report"], out, examples, quiet)


def render_mean(report: dict, out: TextIO) -> None:
    mean = report["mean"]
    print(f"dscan mean {printable(mean['path'])}: " + (
        f"shape {'x'.join(map(str, mean['shape']))} ({mean['values']} {mean['value_type']} "
        f"values); Caffe reads C x H x W = {'x'.join(map(str, mean['caffe_chw']))}"
        if "shape" in mean else "not a BlobProto"), file=out)
    channels = mean.get("channels", [])
    names = ("B", "G", "R") if len(channels) == 3 else ()  # Caffe's images are BGR
    for number, channel in enumerate(channels):
        name = f" ({names[number]})" if names else ""
        print(f"  channel {number}{name}: mean {channel['mean']}, min {channel['min']}, "
              f"max {channel['max']}", file=out)
    print(f"Findings: {_tally(report['summary'])}", file=out)
    findings(report["findings"], out)


def render_solver(report: dict, net: NetOutcome | None, out: TextIO, examples: int = 3,
                  quiet: bool = False) -> None:
    solver, schedule = report["solver"], report["schedule"]
    print(f"dscan solver {printable(solver['path'])}: lr_policy "
          f"'{solver['lr_policy']}', base_lr {solver['base_lr']:g}, max_iter "
          f"{solver['max_iter']}", file=out)
    if schedule:
        low, high = schedule["min"], schedule["max"]
        span = "no finite value" if low is None else f"{low:.4g} .. {high:.4g}"
        print(f"  lr over iterations 0..{schedule['horizon'] - 1}: {span}", file=out)
    print(f"Findings: {_tally(report['summary'])}", file=out)
    findings(report["findings"], out)
    if net is not None:
        print(file=out)
        render_net(net, report["net_report"], out, examples, quiet)
