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
          f"{', '.join(report['phases'])}; {len(report['sections'])} data layer(s)"
          + (f" and {len(report['not_scanned'])} of a fork's type, not scanned"
             if report.get("not_scanned") else "")
          + f" in {report['duration_s']:.2f} s", file=out)
    print(f"Caffe: {report['verdict']['caffe'].replace('_', ' ').upper()}; findings: "
          f"{_tally(report['summary'])}", file=out)
    if report.get("deploy"):
        print("A deploy net (no data layer, no loss): linted as the TEST net Caffe runs",
              file=out)
    if report["findings"]:
        print("Net:", file=out)
        findings(report["findings"], out)
    _shapes(report.get("shapes", {}), out, detailed=examples > 3)
    for item in report.get("not_scanned", []):
        print(f"\n== layer '{printable(item['layer'])}' ({printable(item['type'])}, "
              f"{'/'.join(item['phases'])}) at {printable(item['where'])}\n"
              f"   not scanned: {item['skipped']}", file=out)
    for section, data in zip(outcome.sections, report["sections"]):
        print(f"\n== layer '{printable(data['layer'])}' ({data['type']}, "
              f"{'/'.join(data['phases'])}) at {printable(data['where'])}", file=out)
        for phase, tops in (data.get("top_shapes") or {}).items():
            print(f"   {phase} tops: " + ", ".join(
                f"{printable(name)} {_dims(shape)}" for name, shape in
                zip(data["tops"], tops)), file=out)
        if data["skipped"]:
            print(f"   not scanned: {data['skipped']}", file=out)
            continue
        classes = data["num_classes"]
        given = f" from layer '{data['num_classes_from']}'" if data["num_classes_from"] else ""
        print(f"   {data['backend']} {printable(data['source']['path'])}, batch "
              f"{data['batch_size']}, classes: {classes if classes else 'unknown'}{given}"
              + (f", ignore_label {data['ignore_label']}" if data["ignore_label"] is not None
                 else ""), file=out)
        if data.get("read_order"):
            low, high = data["read_order"]["skip"]
            print(f"   read order not determined: rand_skip {data['read_order']['rand_skip']}; "
                  f"the batches below assume no skip, Caffe may start {low}..{high} records "
                  "later", file=out)
        if data["caffe"] == "crashes" and data["report"]["verdict"]["caffe"] != "crashes":
            print("   Caffe CRASHES on this layer's settings (see Net findings)", file=out)
        terminal.render(section.outcome, data["report"], out, examples, quiet)


def _dims(shape) -> str:
    if shape is None:
        return "unknown"
    return "x".join(map(str, shape)) if shape else "scalar"


def _shapes(shapes: dict, out: TextIO, detailed: bool) -> None:
    """Per phase: the net's output shapes and memory; every layer's tops with -v."""
    for phase, facts in shapes.items():
        layers, memory = facts["layers"], facts["memory"]
        known = [item for item in layers if any(t is not None for t in item["tops"].values())]
        print(f"Shapes {phase}: {len(known)} of {len(layers)} layers inferred" + (
            f"; memory for data {memory['caffe_memory_required']:,} bytes (as Caffe counts "
            "it)" + (", more in the layers of unknown shape" if not memory["complete"] else "")
            if known else ""), file=out)
        if facts["unknown_types"]:
            first = facts["unknown_types"][0]
            kinds = sorted({item["type"] for item in facts["unknown_types"]})
            print(f"  unknown downstream of layer '{printable(first['layer'])}': type(s) "
                  f"{', '.join(printable(k) for k in kinds)} not modelled", file=out)
        if facts["data_not_read"]:
            print(f"  unknown downstream of data layer(s) "
                  f"{', '.join(printable(n) for n in facts['data_not_read'])}: their "
                  "records were not read", file=out)
        rows = layers if detailed else [item for item in layers
                                        if item["type"] in ("Pooling", "Convolution",
                                                            "Deconvolution", "InnerProduct")]
        rows = [item for item in rows if any(t is not None for t in item["tops"].values())]
        if len(rows) > 8 and not detailed:
            rows = rows[:4] + [None] + rows[-3:]
        if rows:
            print("  " + "; ".join("..." if item is None else f"{printable(item['layer'])} "
                                   + ", ".join(_dims(t) for t in item["tops"].values())
                                   for item in rows), file=out)


def render_mean(report: dict, out: TextIO, quiet: bool = False) -> None:
    mean = report["mean"]
    print(f"dscan mean {printable(mean['path'])}: " + (
        f"shape {'x'.join(map(str, mean['shape']))} ({mean['values']} {mean['value_type']} "
        f"values); Caffe reads C x H x W = {'x'.join(map(str, mean['caffe_chw']))}"
        if "shape" in mean else "not a BlobProto"), file=out)
    channels = [] if quiet else mean.get("channels", [])
    names = ("B", "G", "R") if len(channels) == 3 else ()  # Caffe's images are BGR
    for number, channel in enumerate(channels):
        name = f" ({names[number]})" if names else ""
        print(f"  channel {number}{name}: mean {channel['mean']}, min {channel['min']}, "
              f"max {channel['max']}", file=out)
    print(f"Findings: {_tally(report['summary'])}", file=out)
    if not quiet:
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
    elif solver["max_iter"] <= 0:
        print("  `caffe train` trains 0 iterations and uses no rate (--horizon N shows the "
              "rates a script stepping the solver would get)", file=out)
    print(f"Findings: {_tally(report['summary'])}", file=out)
    if not quiet:
        findings(report["findings"], out)
    if net is not None:
        print(file=out)
        render_net(net, report["net_report"], out, examples, quiet)
